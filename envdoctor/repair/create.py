"""``envdoctor env create MODEL --path DIR``: build a new environment that loads and runs MODEL.

The choice is made by envdoctor's own checks, not by a separate rule set:

1. :func:`find_interpreters` lists the base interpreters present (pyenv versions, uv-managed
   Pythons, ``python3.X`` on PATH), from :mod:`envdoctor.discovery`.
2. :func:`candidate_stacks` proposes, for each Python minor, the stacks the knowledge data
   allows: TensorFlow <= 2.15 with its own tf.keras (Keras 2), TensorFlow >= 2.16 with
   Keras 3, TensorFlow >= 2.16 with tf-keras and ``TF_USE_LEGACY_KERAS=1``, or Keras 3 on
   JAX/PyTorch when asked; each pinned to the newest patch the knowledge data names
   (``knowledge/tensorflow.json``), NumPy capped as that TensorFlow needs, Keras the newest
   release that fits the TensorFlow, the Python and the model's saver.
3. :func:`rank` runs every check (:func:`envdoctor.app.check_pair`) against each
   candidate as if it were installed, and orders them: fewest predicted errors, then the
   stack closest to the model's evidence (requirement files saved beside it, the saving
   Keras/TensorFlow version), then the newest Python that TensorFlow tested.
4. :func:`create` resolves the best candidate (``uv pip compile``), creates the environment
   (``uv venv`` when uv is found, else ``python -m venv`` + pip), installs, checks it, and
   verifies it by really loading the model and running a forward pass
   (:func:`envdoctor.verify.run_harness`).  When the verification fails the next candidate
   is tried (``attempts``).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from envdoctor.errors import EnvdoctorError, UsageError
from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import key, minor, parse, python_minor, satisfies
from envdoctor.repair import installer
from envdoctor.types import Environment, Finding, ModelInfo, Package, Severity

if TYPE_CHECKING:
    from envdoctor.verify import HarnessRun

BASE_KINDS = ("pyenv", "uv-python", "system")
"""Discovery kinds that are base interpreters (a new environment is made from one)."""

BACKENDS = ("tensorflow", "jax", "torch")
"""Keras 3 backends ``env create`` can install."""

BACKEND_REQUIREMENTS: dict[str, tuple[str, ...]] = {"jax": ("jax[cpu]",), "torch": ("torch",)}
"""What each non-TensorFlow backend installs beside Keras 3."""

_H5PY_VERSION = "3.11.0"
"""h5py version assumed in a predicted environment (TensorFlow and Keras both require h5py)."""


class NoFit(EnvdoctorError):
    """No candidate environment can load the model with the interpreters present (exit 1)."""


@dataclass(frozen=True)
class Interpreter:
    """A base Python interpreter present on this machine.

    Attributes:
        python: its path.
        version: e.g. ``"3.11.7"``.
        source: the discovery kind that found it (``pyenv``, ``uv-python``, ``system``).
    """

    python: str
    version: str
    source: str

    @property
    def minor(self) -> str:
        """``"3.11"``."""
        return minor(self.version) or self.version


@dataclass(frozen=True)
class Stack:
    """The distributions of a candidate environment.

    Attributes:
        label: e.g. ``"TensorFlow 2.15 (tf.keras 2.15)"``.
        kind: ``tf-keras2`` (TF <= 2.15), ``keras3-tf``, ``tf-keras-legacy`` (tf-keras with
            TF_USE_LEGACY_KERAS=1) or ``keras3-<backend>``.
        requirements: what to install, e.g. ``("tensorflow==2.15.1", "numpy<2")``.
        packages: name → version assumed installed, for the predicted check.
        env_vars: variables the environment needs at run time.
        preference: lower is closer to the model's evidence.
    """

    label: str
    kind: str
    requirements: tuple[str, ...]
    packages: dict[str, str]
    env_vars: dict[str, str] = field(default_factory=dict)
    preference: int = 0


@dataclass(frozen=True)
class Candidate:
    """A stack on one Python, with the findings the checks predict for it.

    Attributes:
        stack: the distributions.
        python_version: the Python minor, e.g. ``"3.11"``.
        interpreter: the interpreter present for that minor, None when there is none.
        findings: the findings the checks predict (errors first).
    """

    stack: Stack
    python_version: str
    interpreter: Optional[Interpreter]
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        """Predicted errors."""
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)


@dataclass(frozen=True)
class Attempt:
    """One try at building the environment.

    Attributes:
        candidate: what was tried.
        stage: where it stopped: ``resolve``, ``venv``, ``install``, ``verify`` or ``ok``.
        detail: the tool's output or the failure, when it failed.
        resolved: ``name==version`` lines the resolver chose.
        verify: the real load, when it ran.
        findings: the findings of a check of the environment as built (with the stack's
            variables set).
    """

    candidate: Candidate
    stage: str
    detail: str = ""
    resolved: tuple[str, ...] = ()
    verify: Optional[HarnessRun] = None
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class CreateResult:
    """The result of :func:`create`.

    Attributes:
        path: the new environment's directory.
        python: its interpreter ("" when none was built).
        ok: True when it was built and the model really loaded and ran.
        attempts: every try, in order.
        candidates: the ranked candidates (present interpreters first).
        missing: what would fit better (or at all) but needs a Python that is not installed.
        dry_run: True when nothing was created.
    """

    path: str
    python: str
    ok: bool
    attempts: tuple[Attempt, ...]
    candidates: tuple[Candidate, ...]
    missing: str = ""
    dry_run: bool = False

    @property
    def chosen(self) -> Optional[Candidate]:
        """The candidate of the last attempt (the one built), or the best one in a dry run."""
        if self.attempts:
            return self.attempts[-1].candidate
        return self.candidates[0] if self.candidates else None


# ---------------------------------------------------------------- interpreters


_RELEASE = re.compile(r"^\d+\.\d+\.\d+$")


def find_interpreters(environ: Optional[Mapping[str, str]] = None) -> list[Interpreter]:
    """Return the base Python 3 interpreters present, newest first, one per version.

    pyenv versions, uv-managed Pythons and the system's ``python3.X`` on PATH, as
    :func:`envdoctor.discovery.discover` finds them.  Versions come from pyenv's directory
    names, else from reading the interpreter statically (run once when needed).

    Args:
        environ: the environment variables discovery reads (default ``os.environ``).

    Returns:
        Interpreters sorted by version, newest first; earlier discovery sources win ties.
    """
    from envdoctor.discovery import discover
    from envdoctor.inventory import read_environment

    found: dict[str, Interpreter] = {}
    for cand in discover(environ=environ):
        if cand.broken or cand.kind not in BASE_KINDS or not cand.python:
            continue
        version = cand.name if _RELEASE.match(cand.name) else ""
        if not version:
            try:
                version = read_environment(cand.python, environ=environ).python_version
            except EnvdoctorError:
                continue
        if not version or (python_minor(version) or (0, 0)) < (3, 6):
            continue
        found.setdefault(version, Interpreter(cand.python, version, cand.kind))
    return sorted(found.values(), key=lambda i: key(i.version), reverse=True)


def given_interpreter(path: str) -> Interpreter:
    """Read the interpreter the user named with ``--python PATH``.

    Raises:
        EnvironmentReadError: it cannot be read.
    """
    from envdoctor.inventory import read_environment

    env = read_environment(path)
    if not env.python_version:
        raise UsageError(f"--python {path}: cannot tell its Python version")
    return Interpreter(env.python, env.python_version, "given")


# ---------------------------------------------------------------- candidate stacks


def _lower_bound(spec: str) -> Optional[str]:
    match = re.search(r">=\s*([0-9][0-9.]*)", spec)
    return match.group(1) if match else None


_NUMPY_VERSIONS = ("2.1.3", "1.26.4", "1.24.3", "1.23.5", "1.22.4")
_PROTOBUF_VERSIONS = ("6.31.1", "5.29.5", "4.25.9", "3.20.3", "3.19.6")


def _pick(options: Sequence[str], *specs: Optional[str]) -> str:
    """The first version of ``options`` every specifier allows (the first option otherwise).

    Used to give a predicted environment plausible versions of what TensorFlow pulls in.
    """
    for version in options:
        if all(s is None or satisfies(version, s) is not False for s in specs):
            return version
    return options[0]


def _numpy_for(spec: str, requirement: Optional[str]) -> str:
    """A NumPy version both TensorFlow's specifier and our requirement allow."""
    return _pick(_NUMPY_VERSIONS, spec, requirement.removeprefix("numpy") if requirement else None)


def _protobuf_for(rel: tables.TFRelease) -> str:
    """A protobuf version TensorFlow's specifier allows."""
    return _pick(_PROTOBUF_VERSIONS, rel.protobuf)


@dataclass(frozen=True)
class Evidence:
    """What the model says about the environment that saved it.

    Attributes:
        generation: the saving Keras generation (1, 2, 3) or None.
        keras: the saving Keras version.
        tf_minor: the saving TensorFlow minor (SavedModel, or tf.keras 2.x version).
        pins: name → exact version pinned by requirement files saved beside the model.
        python_minor: the training Python minor from those files.
    """

    generation: Optional[int]
    keras: Optional[str]
    tf_minor: Optional[str]
    pins: dict[str, str]
    python_minor: Optional[str]


def evidence(model: ModelInfo) -> Evidence:
    """Collect the saver's versions from the model and the files beside it."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    from envdoctor.checks.runtime import saver_generation

    gen = saver_generation(model)
    tf_minor = minor(model.tensorflow_version)
    if tf_minor is None and gen == 2 and key(model.keras_version) >= (2, 6, 0):
        tf_minor = minor(model.keras_version)
    pins: dict[str, str] = {}
    py = None
    if model.sidecar is not None:
        py = minor(model.sidecar.python_version)
        for text in model.sidecar.requirements:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            specs = list(req.specifier)
            exact = len(specs) == 1 and specs[0].operator in ("==", "===")
            if exact and "*" not in specs[0].version:
                pins[canonicalize_name(req.name)] = specs[0].version
    for dist in tables.tf_distributions():
        if dist in pins and tf_minor is None:
            tf_minor = minor(pins[dist])
    return Evidence(gen, model.keras_version, tf_minor, pins, py)


def _tf_pin(ev: Evidence, rel: tables.TFRelease, tf_dist: str) -> tuple[str, str]:
    """The TensorFlow distribution and version for a release (the sidecar's pin if it names it)."""
    for dist in tables.tf_distributions():
        pinned = ev.pins.get(dist)
        if pinned and minor(pinned) == rel.minor:
            return dist, pinned
    return tf_dist, rel.latest


def _tf_distance(ev: Evidence, rel: tables.TFRelease) -> int:
    """How far a TensorFlow minor is from the saver's: 0 same, then newer, then older."""
    saved = parse(ev.tf_minor)
    here = parse(rel.minor)
    if saved is None or here is None:
        return 0
    gap = (here.minor - saved.minor) + 100 * (here.major - saved.major)
    return gap if gap >= 0 else 50 - gap


def _keras3_version(
    python: str, tf_rel: Optional[tables.TFRelease], ev: Evidence
) -> Optional[str]:
    """The Keras 3 to install: the sidecar's pin when it fits, else the newest that fits."""
    from envdoctor.fixes import keras_target

    pinned = ev.pins.get("keras")
    probe = Environment(python="", prefix="", kind="venv", manager="uv", python_version=python)
    minimum = ev.keras if ev.generation == 3 else None
    pinned_version = parse(pinned)
    if pinned and pinned_version is not None and pinned_version.major == 3:
        spec_ok = tf_rel is None or satisfies(pinned, tf_rel.keras.removeprefix("keras"))
        py_ok = satisfies(python, tables.keras_requires_python(pinned) or "") is not False
        if spec_ok and py_ok:
            return pinned
    return keras_target(probe, minimum, tf_rel.latest if tf_rel else None)


def candidate_stacks(
    ev: Evidence, python: str, *, tf_dist: str = "tensorflow", backend: str = "tensorflow"
) -> list[Stack]:
    """Propose the stacks that may load a model with evidence ``ev`` on Python ``python``.

    Args:
        ev: the model's evidence.
        python: a Python minor, e.g. ``"3.11"``.
        tf_dist: the TensorFlow distribution to install (``tensorflow``, ``tensorflow-cpu``).
        backend: the Keras 3 backend (``tensorflow``, ``jax``, ``torch``).

    Returns:
        Stacks whose TensorFlow tested this Python, each with its ``preference`` (lower is
        closer to the evidence); unordered.
    """
    from envdoctor.fixes import numpy_requirement, tf_keras_requirement

    stacks: list[Stack] = []
    gen = ev.generation
    releases = [r for r in tables.tf_releases() if r.python_tested(python)]
    newest_first = sorted(releases, key=lambda r: key(r.latest), reverse=True)
    if backend != "tensorflow":
        kv = _keras3_version(python, None, ev)
        if kv:
            reqs = (f"keras=={kv}", *BACKEND_REQUIREMENTS[backend])
            pkgs = {"keras": kv, "h5py": _H5PY_VERSION, "numpy": "2.1.3"}
            pkgs.update({"jax": "0.4.30", "jaxlib": "0.4.30"} if backend == "jax"
                        else {"torch": "2.4.0"})
            stacks.append(Stack(f"Keras {kv} on {backend}", f"keras3-{backend}", reqs, pkgs,
                                {"KERAS_BACKEND": backend}, 0))
        return stacks
    for rel in releases:
        if rel.keras_generation != 2:
            continue
        dist, version = _tf_pin(ev, rel, tf_dist)
        np_req = numpy_requirement(version)
        reqs = tuple(r for r in (f"{dist}=={version}", np_req) if r)
        keras2 = _lower_bound(rel.keras) or f"{rel.minor}.0"
        pkgs = {dist: version, "keras": keras2, "h5py": _H5PY_VERSION,
                "numpy": _numpy_for(rel.numpy, np_req), "protobuf": _protobuf_for(rel)}
        base = 0 if gen in (1, 2, None) else 200
        if gen is None and ev.tf_minor is None:
            base = 100  # no evidence: Keras 3 stacks (newest first) come first
        stacks.append(Stack(f"TensorFlow {version} (tf.keras {keras2})", "tf-keras2", reqs, pkgs,
                            {}, base + _tf_distance(ev, rel)))
    for order, rel in enumerate(newest_first):
        if rel.keras_generation != 3:
            continue
        dist, version = _tf_pin(ev, rel, tf_dist)
        kv = _keras3_version(python, rel, ev)
        np_version = _numpy_for(rel.numpy, None)
        if kv:
            reqs = (f"{dist}=={version}", f"keras=={kv}")
            pkgs = {dist: version, "keras": kv, "h5py": _H5PY_VERSION, "numpy": np_version,
                    "protobuf": _protobuf_for(rel)}
            base = 0 if gen == 3 else (50 if gen is None and ev.tf_minor is None else 300)
            stacks.append(Stack(f"TensorFlow {version} with Keras {kv}", "keras3-tf", reqs, pkgs,
                                {}, base + order))
        tfk = tf_keras_requirement(version)
        if tfk and gen in (2, None):
            reqs = (f"{dist}=={version}", tfk)
            keras3 = _lower_bound(rel.keras) or "3.0.0"
            pkgs = {dist: version, "tf-keras": f"{rel.minor}.0", "keras": keras3,
                    "h5py": _H5PY_VERSION, "numpy": np_version, "protobuf": _protobuf_for(rel)}
            stacks.append(Stack(f"TensorFlow {version} with tf-keras {rel.minor} "
                                "(TF_USE_LEGACY_KERAS=1)", "tf-keras-legacy", reqs, pkgs,
                                {"TF_USE_LEGACY_KERAS": "1"}, 100 + order))
    return stacks


def predicted_environment(
    stack: Stack, python_version: str, target: str, environ: Mapping[str, str]
) -> Environment:
    """The environment ``stack`` would be on Python ``python_version`` at ``target``.

    The user's own Keras-related variables (``KERAS_BACKEND``, ``TF_USE_LEGACY_KERAS``...)
    are kept, overridden by the stack's.
    """
    from envdoctor.inventory import ENV_VARS, resolve_keras_backend

    merged = {k: environ[k] for k in ENV_VARS if k in environ}
    merged.update(stack.env_vars)
    backend, source, _ = resolve_keras_backend({**environ, **stack.env_vars})
    packages = {n: Package(name=n, version=v) for n, v in stack.packages.items()}
    return Environment(
        python=_venv_python(target),
        prefix=target,
        kind="venv",
        manager="uv",
        python_version=python_version,
        packages=packages,
        keras_backend=backend,
        keras_backend_source=source,
        env_vars=merged,
    )


def _with_user_overrides(stack: Stack, environ: Mapping[str, str]) -> Stack:
    """Add the variables that undo a conflicting user setting (e.g. KERAS_BACKEND=jax)."""
    from envdoctor.inventory import resolve_keras_backend

    extra = dict(stack.env_vars)
    legacy = tables.tf_fact("legacy_keras_env")
    user_legacy = environ.get(legacy["name"], "") in legacy["true_values"]
    if "TF_USE_LEGACY_KERAS" not in extra and user_legacy:
        extra["TF_USE_LEGACY_KERAS"] = "0"
    if stack.kind.startswith("keras3-") and "KERAS_BACKEND" not in extra:
        backend, _, _ = resolve_keras_backend(environ)
        if backend != "tensorflow":
            extra["KERAS_BACKEND"] = "tensorflow"
    if extra == stack.env_vars:
        return stack
    return Stack(stack.label, stack.kind, stack.requirements, stack.packages, extra,
                 stack.preference)


def _python_rank(version: str, ev: Evidence, newest: Sequence[str]) -> int:
    if ev.python_minor and version == ev.python_minor:
        return -1
    try:
        return list(newest).index(version)
    except ValueError:
        return 99


def rank(
    model: ModelInfo,
    interpreters: Sequence[Interpreter],
    *,
    target: str,
    tf_dist: str = "tensorflow",
    backend: str = "tensorflow",
    extra: Sequence[str] = (),
    python_spec: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> list[Candidate]:
    """Return every candidate, predicted by the checks, best first.

    Args:
        model: the model, read.
        interpreters: the interpreters present.
        target: the directory the environment will be created in.
        tf_dist: the TensorFlow distribution to install.
        backend: the Keras 3 backend.
        extra: further requirements (e.g. the package that defines custom layers).
        python_spec: only interpreters of this version (``"3.11"``, ``"3.11.7"``) or path
            count as present.
        environ: the user's environment variables (default ``os.environ``).

    Returns:
        Candidates for every Python minor 3.6-3.14 (with ``interpreter`` None when none is
        present, or none that ``python_spec`` allows), ordered by predicted errors, then
        closeness to the model's evidence, then Python (the training Python, else the
        newest).
    """
    from envdoctor import app

    environ = os.environ if environ is None else environ
    ev = evidence(model)
    by_minor: dict[str, Interpreter] = {}
    for interp in interpreters:
        if python_spec and not _matches(interp, python_spec):
            continue
        by_minor.setdefault(interp.minor, interp)
    minors = [f"3.{n}" for n in range(14, 5, -1)]
    scored: list[tuple[tuple[int, ...], Candidate]] = []
    for py in minors:
        present = by_minor.get(py)
        version = present.version if present else f"{py}.0"
        for proposed in candidate_stacks(ev, py, tf_dist=tf_dist, backend=backend):
            stack = _with_user_overrides(proposed, environ)
            if extra:
                stack = Stack(stack.label, stack.kind, (*stack.requirements, *extra),
                              stack.packages, stack.env_vars, stack.preference)
            env = predicted_environment(stack, version, target, environ)
            findings = tuple(app.check_pair(model, env))
            cand = Candidate(stack, py, present, findings)
            errors = len(cand.errors)
            warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
            score = (min(errors, 1), stack.preference, _python_rank(py, ev, minors), errors,
                     warnings)
            scored.append((score, cand))
    scored.sort(key=lambda item: item[0])
    return [c for _, c in scored]


def _matches(interp: Interpreter, spec: str) -> bool:
    if os.sep in spec or spec.startswith("."):
        try:
            return os.path.samefile(interp.python, spec)
        except OSError:
            return False
    return interp.version == spec or interp.version.startswith(spec + ".")


def missing_python(candidates: Sequence[Candidate], python_spec: Optional[str] = None) -> str:
    """Say which Python would fit better, or at all, when none is present ("" otherwise).

    Args:
        candidates: the ranked candidates (:func:`rank`).
        python_spec: the Python the user asked for, if any (then nothing is "missing": the
            message says which Python would work instead).

    Returns:
        A sentence naming the better stack, the Python minors it runs on and how to install
        one; "" when the best candidate has an interpreter, or one that is as good (same
        stack preference, no errors) has.
    """
    if not candidates:
        return ""
    best = candidates[0]
    present = next((c for c in candidates if c.interpreter is not None), None)
    if best.interpreter is not None:
        return ""
    if present is not None and not present.errors and not best.errors and (
        present.stack.preference == best.stack.preference
    ):
        return ""
    same = sorted(
        {c.python_version for c in candidates
         if c.stack.label == best.stack.label and not c.errors},
        key=key,
    )
    wanted = ", ".join(same) or best.python_version
    newest = same[-1] if same else best.python_version
    if python_spec:
        return (f"{best.stack.label} would load it on Python {wanted}, not on the Python "
                f"asked for (--python {python_spec})")
    how = f"`uv python install {newest}` or `pyenv install {newest}`"
    if present is None or present.errors:
        return (f"{best.stack.label} would load it, on Python {wanted}, and no such "
                f"interpreter is installed here; install one ({how}) and run again")
    return (f"{best.stack.label} on Python {wanted} would fit the model's evidence better, "
            f"but no such interpreter is installed ({how})")


def no_fit_message(
    model_path: str,
    candidates: Sequence[Candidate],
    interpreters: Sequence[Interpreter],
    python_spec: Optional[str] = None,
) -> str:
    """Explain why no environment can be built.

    Returns:
        The missing Python (:func:`missing_python`), or the errors that no choice of
        versions avoids, with their first fix, or the errors of the closest candidate.
    """
    found = ", ".join(i.version for i in interpreters) or "none"
    missing = missing_python(candidates, python_spec)
    if missing:
        return f"{missing}. Interpreters found: {found}"
    with_interp = [c for c in candidates if c.interpreter is not None] or list(candidates)
    common = set.intersection(*({f.code for f in c.errors} for c in with_interp)) \
        if with_interp else set()
    lines = [f"no environment that can load {model_path} can be built here"]
    if common and with_interp:
        errors = [f for f in with_interp[0].errors if f.code in common]
        lines.append("; whatever the versions, the checks predict: " + "; ".join(
            f"{f.code} {f.title}" + (f" (fix: {f.fixes[0].text})" if f.fixes else "")
            for f in errors[:3]))
    elif with_interp:
        closest = min(with_interp, key=lambda c: len(c.errors))
        lines.append("; the closest candidate still has: " + "; ".join(
            f"{f.code} {f.title}" for f in closest.errors[:3]))
    return "".join(lines) + f". Interpreters found: {found}"


# ---------------------------------------------------------------- building


def _venv_python(prefix: str) -> str:
    if os.name == "nt":
        return os.path.join(prefix, "Scripts", "python.exe")
    return os.path.join(prefix, "bin", "python")


def _resolve(
    cand: Candidate, uv: Optional[Sequence[str]]
) -> tuple[bool, tuple[str, ...], str]:
    """Resolve the candidate's requirements for its interpreter without installing anything.

    Returns:
        ``(ok, pinned lines, output)``; without uv, ``(True, (), "")`` (pip's dry run then
        runs inside the new environment before installing).
    """
    if not uv or cand.interpreter is None:
        return True, (), ""
    with tempfile.TemporaryDirectory(prefix="envdoctor-create-") as tmp:
        req = Path(tmp, "requirements.in")
        req.write_text("".join(f"{r}\n" for r in cand.stack.requirements), encoding="utf-8")
        argv = [*uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate",
                "--python", cand.interpreter.python, str(req)]
        result = installer.run(argv, timeout=installer.DRY_RUN_TIMEOUT, stdout_only=True)
    lines = tuple(
        line.strip() for line in result.output.splitlines()
        if line.strip() and not line.startswith(("#", " "))
    )
    if not result.ok:
        return False, (), installer.tail(result.error or result.output, 20)
    return True, lines, ""


def _build(
    cand: Candidate,
    path: str,
    uv: Optional[Sequence[str]],
    say: Callable[[str], None],
    on_line: Callable[[str], None],
) -> tuple[str, str]:
    """Create the environment and install the stack; return ``(stage, detail)``.

    ``stage`` is ``ok`` or where it failed: ``venv`` or ``install``.
    """
    assert cand.interpreter is not None
    python = _venv_python(path)
    if uv:
        argv = [*uv, "venv", "--seed", "--python", cand.interpreter.python, path]
    else:
        argv = [cand.interpreter.python, "-m", "venv", path]
    say(f"creating {path}: {installer.display(argv, uv)}")
    result = installer.run(argv, on_line=on_line, timeout=600.0)
    if not result.ok:
        return "venv", installer.tail(result.error or result.output)
    if uv:
        argv = [*uv, "pip", "install", "--python", python, *cand.stack.requirements]
    else:
        argv = [python, "-m", "pip", "install", "--disable-pip-version-check",
                *cand.stack.requirements]
    say(f"installing: {installer.display(argv, uv)}")
    result = installer.run(argv, on_line=on_line)
    if not result.ok:
        return "install", installer.tail(result.error or result.output, 25)
    return "ok", ""


def _noop(_: str) -> None:
    return None


def check_target(path: str) -> str:
    """Return the absolute target directory; refuse one that exists and is not empty.

    Raises:
        UsageError: ``path`` is a file, or a non-empty directory.
    """
    target = os.path.abspath(os.path.expanduser(path))
    if os.path.isfile(target):
        raise UsageError(f"--path {path}: is a file")
    if os.path.isdir(target) and os.listdir(target):
        raise UsageError(f"--path {path}: exists and is not empty; choose a new directory")
    return target


def create(
    model_path: str,
    path: str,
    *,
    tf_dist: str = "tensorflow",
    backend: str = "tensorflow",
    extra: Sequence[str] = (),
    python_spec: Optional[str] = None,
    dry_run: bool = False,
    verify: bool = True,
    verify_timeout: float = 300.0,
    attempts: int = 2,
    progress: Optional[Callable[[str], None]] = None,
    on_line: Optional[Callable[[str], None]] = None,
) -> CreateResult:
    """Build a new environment at ``path`` that loads and runs the model.

    Args:
        model_path: the model.
        path: the new environment's directory (must not exist, or be empty).
        tf_dist: the TensorFlow distribution (``tensorflow`` or ``tensorflow-cpu``...).
        backend: the Keras 3 backend (``tensorflow``, ``jax``, ``torch``).
        extra: further requirements to install (e.g. the package with custom layers).
        python_spec: a Python version (``"3.11"``) or interpreter path to use.
        dry_run: only choose and resolve; create nothing.
        verify: really load the model and run a forward pass in the new environment.
        verify_timeout: seconds allowed for that, per model.
        attempts: how many candidates to build before giving up (each failed one is
            removed).
        progress: receives progress lines.
        on_line: receives the tools' output lines.

    Returns:
        The :class:`CreateResult`.

    Raises:
        ModelFileError: the model cannot be read.
        UsageError: the model is not a whole model, or ``path`` is unusable.
        NoFit: no candidate can load the model with the interpreters present.
    """
    from envdoctor import app

    say = progress or _noop
    echo = on_line or _noop
    if backend not in BACKENDS:
        raise UsageError(f"--backend: one of {', '.join(BACKENDS)}")
    if tf_dist not in tables.tf_distributions():
        raise UsageError(f"--tf-dist: one of {', '.join(tables.tf_distributions())}")
    model = app.inspect_model(model_path)
    if not model.loadable:
        raise UsageError(f"{model_path}: {model.summary}; env create needs a whole model "
                         f"({model.needs or 'load_model cannot load it'})")
    target = check_target(path)
    interpreters = find_interpreters()
    if python_spec and (os.sep in python_spec or os.path.exists(python_spec)):
        interpreters = [given_interpreter(python_spec)]
        python_spec = None
    candidates = rank(model, interpreters, target=target, tf_dist=tf_dist, backend=backend,
                      extra=extra, python_spec=python_spec)
    missing = missing_python(candidates, python_spec)
    usable = [c for c in candidates if c.interpreter is not None and not c.errors]
    if not usable:
        raise NoFit(no_fit_message(model_path, candidates, interpreters, python_spec))
    uv = installer.find_uv()
    tried: list[Attempt] = []
    for cand in usable:
        if len([a for a in tried if a.stage != "resolve"]) >= max(1, attempts):
            break
        interp = cand.interpreter
        assert interp is not None  # usable candidates have one
        say(f"candidate: {cand.stack.label} on Python {interp.version} ({interp.python})")
        ok, pinned, output = _resolve(cand, uv)
        if not ok:
            tried.append(Attempt(cand, "resolve", output))
            say("  does not resolve; trying the next candidate")
            continue
        if dry_run:
            tried.append(Attempt(cand, "ok", resolved=pinned))
            return CreateResult(target, "", True, tuple(tried), tuple(candidates), missing, True)
        stage, detail = _build(cand, target, uv, say, echo)
        if stage != "ok":
            tried.append(Attempt(cand, stage, detail, pinned))
            _remove(target)
            continue
        python = _venv_python(target)
        from envdoctor.repair.fix import check_with_settings

        settings: dict[str, Optional[str]] = dict(cand.stack.env_vars)
        built = check_with_settings((model,), python, settings)
        harness = None
        if verify:
            from envdoctor import verify as verify_mod

            say("verifying: loading the model and running a forward pass")
            harness = verify_mod.run_harness(
                python, (model,),
                verify_mod.Options(timeout=verify_timeout, extra_env=dict(cand.stack.env_vars)),
            )
        loaded = harness is None or all(m.outcome == "ok" for m in harness.models)
        tried.append(Attempt(cand, "ok" if loaded else "verify", "", pinned, harness, built))
        if loaded:
            return CreateResult(target, python, True, tuple(tried), tuple(candidates), missing)
        if len(tried) < len(usable) and len([a for a in tried if a.stage != "resolve"]) < attempts:
            say("  the model does not load there; removing it and trying the next candidate")
            _remove(target)
    last_python = _venv_python(target) if os.path.exists(_venv_python(target)) else ""
    return CreateResult(target, last_python, False, tuple(tried), tuple(candidates), missing,
                        dry_run)


def _remove(target: str) -> None:
    """Remove an environment this run created (never anything else)."""
    if os.path.isfile(os.path.join(target, "pyvenv.cfg")):
        shutil.rmtree(target, ignore_errors=True)


def usage_lines(result: CreateResult) -> dict[str, list[str]]:
    """How to use the new environment: ``{"shell": [...], "r": [...]}``.

    Shell: activate it (or call its interpreter), with the variables it needs.  R: set
    ``RETICULATE_PYTHON`` (or ``use_virtualenv``) before reticulate starts Python.
    """
    cand = result.chosen
    env_vars = dict(cand.stack.env_vars) if cand else {}
    python = result.python or _venv_python(result.path)
    q = installer.display
    if os.name == "nt":
        shell = [f"{q([os.path.join(result.path, 'Scripts', 'activate')])}"]
        shell += [f"set {k}={v}" for k, v in env_vars.items()]
    else:
        shell = [f"source {q([os.path.join(result.path, 'bin', 'activate')])}"]
        shell += [f"export {k}={v}" for k, v in env_vars.items()]
    shell.append(f"{q([python])} your_script.py")
    r = [f'Sys.setenv({k} = "{v}")' for k, v in env_vars.items()]
    r += [
        f'Sys.setenv(RETICULATE_PYTHON = "{_r_string(python)}")',
        f'# or: reticulate::use_virtualenv("{_r_string(result.path)}", required = TRUE)',
    ]
    return {"shell": shell, "r": r}


def _r_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
