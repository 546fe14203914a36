"""Exact remedies for one environment: install commands, environment variables, code lines.

A fix names the environment it applies to and can be pasted as is: pip environments get
``"<python>" -m pip install ...``, uv-made virtual environments ``uv pip install --python``,
conda prefixes ``conda install -p`` (with whichever of conda/mamba/micromamba is on PATH).
Version targets are computed from :mod:`envdoctor.knowledge` (never "upgrade X" without a
version): the tf-keras matching the TensorFlow minor, ``numpy<2`` below TF 2.18, the newest
Keras that fixes an advisory and runs on this Python.
"""

from __future__ import annotations

import re
import shutil
from typing import Optional

from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import key, minor, parse, satisfies
from envdoctor.types import Environment, Fix

CONDA_EXECUTABLES = ("conda", "mamba", "micromamba")
"""Executables looked for on PATH, in this order, for conda prefixes."""


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def _conda_spec(requirement: str) -> str:
    """Turn a pip requirement into a conda match spec (``keras==3.6.*`` -> ``keras=3.6``)."""
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([0-9][0-9.]*)\.\*", requirement.strip())
    if match:
        return f"{match.group(1)}={match.group(2)}"
    return requirement.strip()


def _is_conda(env: Environment) -> bool:
    return env.manager == "conda" or env.kind == "conda"


def install_command(env: Environment, *requirements: str) -> Fix:
    """Return the command that installs ``requirements`` into ``env``.

    Args:
        env: the target environment.
        *requirements: PEP 508 requirement strings, e.g. ``"keras==3.6.*"``.

    Returns:
        A ``command`` fix carrying ``requirements`` and ``target`` as data: pip
        (``"<python>" -m pip install "..."``), uv
        (``uv pip install --python "<python>" "..."``) or conda
        (``conda install -p "<prefix>" -c conda-forge "..."``); for a conda prefix without a
        conda/mamba/micromamba on PATH, pip inside the prefix, with a note saying so.
    """
    reqs = " ".join(_quote(r) for r in requirements)
    data = tuple(r.strip() for r in requirements)
    if _is_conda(env):
        exe = next((e for e in CONDA_EXECUTABLES if shutil.which(e)), None)
        if exe:
            specs = " ".join(_quote(_conda_spec(r)) for r in requirements)
            return Fix(
                "command",
                f"{exe} install -y -p {_quote(env.prefix)} -c conda-forge {specs}",
                f"install into the conda environment {env.prefix}",
                data, env.prefix,
            )
        return Fix(
            "command",
            f"{_quote(env.python)} -m pip install {reqs}",
            f"no conda/mamba/micromamba on PATH: pip inside the conda prefix {env.prefix} "
            "(conda will not track these packages)",
            data, env.prefix,
        )
    if env.manager == "uv":
        return Fix(
            "command",
            f"uv pip install --python {_quote(env.python)} {reqs}",
            f"install into the uv environment {env.prefix}",
            data, env.prefix,
        )
    return Fix(
        "command", f"{_quote(env.python)} -m pip install {reqs}", f"install into {env.prefix}",
        data, env.prefix,
    )


def _pip_spec(spec: str) -> str:
    """Turn a conda match spec made by :func:`_conda_spec` back into a pip requirement."""
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)=([0-9][0-9.]*)", spec.strip())
    if match:
        return f"{match.group(1)}=={match.group(2)}.*"
    return spec.strip()


def install_requirements(env: Environment, fix: Fix) -> Optional[tuple[str, ...]]:
    """Return the requirements of an install command that :func:`install_command` made for ``env``.

    This is the inverse of :func:`install_command`, so that ``envdoctor fix`` can merge the
    requirements of several findings into one resolver run instead of running their
    commands one by one.  Every form ``install_command`` writes is recognised: pip, uv, and
    conda/mamba/micromamba (match specs turned back into pip requirements).

    Args:
        env: the environment the fix was made for.
        fix: a fix of a finding about ``env``.

    Returns:
        The PEP 508 requirement strings, in order (e.g. ``("numpy<2",)``), or None when the
        fix is not an install command for ``env`` (another kind, another environment, or a
        command such as ``envdoctor verify ...``).
    """
    import shlex

    if fix.kind != "command":
        return None
    heads: list[tuple[str, bool]] = [
        (f"{_quote(env.python)} -m pip install ", False),
        (f"uv pip install --python {_quote(env.python)} ", False),
    ]
    heads += [
        (f"{exe} install -y -p {_quote(env.prefix)} -c conda-forge ", True)
        for exe in CONDA_EXECUTABLES
    ]
    for head, conda in heads:
        if not fix.text.startswith(head):
            continue
        try:
            words = shlex.split(fix.text[len(head):])
        except ValueError:
            return None
        if not words or any(w.startswith("-") for w in words):
            return None
        return tuple(_pip_spec(w) if conda else w for w in words)
    return None


def env_fix(name: str, value: str) -> tuple[Fix, Fix]:
    """Return the shell and the R way of setting environment variable ``name``.

    The variable must be set before Python imports TensorFlow/Keras (in R: before
    reticulate initializes Python).

    Returns:
        ``(Fix("env", "export NAME=value"), Fix("r", 'Sys.setenv(NAME = "value")'))``.
    """
    return (
        Fix("env", f"export {name}={value}", f"set {name} before Python starts"),
        Fix("r", f'Sys.setenv({name} = "{value}")', "in R, before reticulate initializes Python"),
    )


def env_unset(name: str) -> tuple[Fix, Fix]:
    """Return the shell and the R way of removing environment variable ``name``."""
    return (
        Fix("env", f"unset {name}", f"remove {name} before Python starts"),
        Fix("r", f'Sys.unsetenv("{name}")', "in R, before reticulate initializes Python"),
    )


def lit(value: object) -> str:
    """Return ``value`` as a quoted string literal valid in both Python and R.

    Paths and names come from model files and may hold quotes, backslashes or newlines; a
    fix line must stay one literal, never code.  JSON string syntax (double quotes with
    backslash escapes) is a valid string literal in Python and in R.
    """
    import json

    return json.dumps(str(value), ensure_ascii=False)


def is_dotted_identifier(name: str) -> bool:
    """True when ``name`` is ``a.b.c`` of Python identifiers (safe to paste as code)."""
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def python_fix(line: str, description: str = "") -> Fix:
    """Return a line of Python to paste (kind ``python``)."""
    return Fix("python", line, description)


def r_fix(line: str, description: str = "") -> Fix:
    """Return a line of R to paste (kind ``r``)."""
    return Fix("r", line, description)


def note(text: str) -> Fix:
    """Return a remedy in words (kind ``note``)."""
    return Fix("note", text)


def tensorflow_dist(env: Environment) -> str:
    """Return the TensorFlow distribution name installed in ``env`` (``tensorflow`` if none)."""
    for name in tables.tf_distributions():
        if env.version_of(name):
            return name
    return "tensorflow"


def tf_keras_requirement(tf_version: Optional[str]) -> Optional[str]:
    """Return ``"tf-keras==X.Y.*"`` matching the TensorFlow minor, None when none exists.

    Source: tf-keras X.Y pins tensorflow X.Y (``knowledge/tf_keras.json``).
    """
    m = minor(tf_version)
    return f"tf-keras=={m}.*" if m and tables.tf_keras_release(m) else None


def numpy_requirement(tf_version: Optional[str]) -> Optional[str]:
    """Return the NumPy requirement that fits TensorFlow ``tf_version``.

    ``numpy<2`` for TF < 2.18 (TF 2.12/2.13 get their tighter ``<=1.24.3`` pin); for 2.18+
    the wheel's own specifier.  Source: ``knowledge/tensorflow.json``.
    """
    rel = tables.tf_release(tf_version)
    if rel is None:
        return None
    if rel.numpy2:
        return f"numpy{rel.numpy}"
    if "<" in rel.numpy and "<2" not in rel.numpy:
        return f"numpy{rel.numpy}"
    return "numpy<2"


def protobuf_requirement(tf_version: Optional[str]) -> Optional[str]:
    """Return ``protobuf<spec>`` from TensorFlow's own requirement (knowledge data)."""
    rel = tables.tf_release(tf_version)
    if rel is None:
        return None
    spec = ",".join(p for p in rel.protobuf.split(",") if not p.startswith("!="))
    return f"protobuf{spec}"


def _python_ok(env: Environment, spec: Optional[str]) -> bool:
    if not env.python_version or not spec:
        return True
    return bool(satisfies(env.python_version, spec))


def tensorflow_target(env: Environment, keras3: bool = True) -> Optional[tables.TFRelease]:
    """Return the newest TensorFlow minor whose tested Python range holds ``env``'s Python.

    Args:
        env: the target environment.
        keras3: True to require a TF whose tf.keras is Keras 3 (2.16+), False for Keras 2
            (2.15 and older).
    """
    best = None
    for rel in tables.tf_releases():
        if (rel.keras_generation == 3) != keras3:
            continue
        if env.python_version and not rel.python_tested(env.python_version):
            continue
        best = rel
    return best


def keras_target(
    env: Environment, minimum: Optional[str] = None, tf_version: Optional[str] = None
) -> Optional[str]:
    """Return the newest Keras 3 release >= ``minimum`` that runs on ``env``'s Python.

    Args:
        env: the target environment (its Python decides via Keras' Requires-Python).
        minimum: lowest acceptable version (e.g. an advisory's fixed version).
        tf_version: a TensorFlow version whose Keras requirement must also hold.

    Returns:
        A version string such as ``"3.15.1"``, or None when no release qualifies.
    """
    tf_rel = tables.tf_release(tf_version) if tf_version else None
    tf_spec = (
        tf_rel.keras.removeprefix("keras") if tf_rel and tf_rel.keras_generation == 3 else None
    )
    best: Optional[str] = None
    for version in tables.keras_releases():
        if minimum and parse(version) is not None and key(version) < key(minimum):
            continue
        if not _python_ok(env, tables.keras_requires_python(version)):
            continue
        if tf_spec and not satisfies(version, tf_spec):
            continue
        best = version
    return best


def keras3_install(env: Environment, minimum: Optional[str] = None) -> list[Fix]:
    """Return the fixes that give ``env`` a Keras 3 >= ``minimum`` (with a TF that uses it).

    When TensorFlow is installed it is moved to the newest 2.16+ minor tested on this
    Python (tf.keras is Keras 3 there); the Keras version is the newest that fits.
    """
    has_tf = any(env.version_of(n) for n in tables.tf_distributions())
    tf_rel = tensorflow_target(env, keras3=True) if has_tf else None
    target = keras_target(env, minimum, tf_rel.latest if tf_rel else None)
    if target is None:
        return [
            note(f"no Keras 3 release >= {minimum or '3.0'} supports Python {env.python_version}")
        ]
    reqs = [f"keras=={target}"]
    if tf_rel is not None:
        reqs.insert(0, f"{tensorflow_dist(env)}=={tf_rel.minor}.*")
    return [install_command(env, *reqs)]
