"""Binary and metadata dependencies: ED404, ED405, ED406, ED408, ED410.

Sources: ``knowledge/tensorflow.json`` (numpy/protobuf/Python per TF minor, PyPI metadata
and the tested-build tables), compat-facts §1.2 (NumPy 2 metadata gaps), §1.4 (protobuf
history), §6.4 (the NumPy 1.x/2.x import failure).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Optional

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from envdoctor import fixes, inventory
from envdoctor.checks.runtime import effective_keras, finding, tensorflow_version
from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import key, major, minor, satisfies
from envdoctor.types import Environment, Finding, ModelFormat, ModelInfo, Severity, canonical_name

ML_STACK = (
    "tensorflow",
    "tensorflow-cpu",
    "tensorflow-gpu",
    "tensorflow-intel",
    "tensorflow-macos",
    "tf-nightly",
    "keras",
    "tf-keras",
    "numpy",
    "protobuf",
    "ml-dtypes",
    "h5py",
    "jax",
    "jaxlib",
    "torch",
    "tensorflow-text",
    "tensorflow-io",
    "tensorflow-addons",
    "tensorflow-decision-forests",
    "tensorflow-hub",
    "tensorflow-probability",
    "keras-hub",
    "keras-nlp",
    "keras-cv",
)
"""Distributions whose broken requirements ED408 reports."""


def _tf_requirement(env: Environment, dist: str) -> Optional[str]:
    """Return TensorFlow's installed ``Requires-Dist`` specifier for ``dist``, if any."""
    for name in tables.tf_distributions():
        pkg = env.packages.get(name)
        if pkg is None:
            continue
        for line in pkg.requires:
            head = re.match(r"\s*([A-Za-z0-9._-]+)", line)
            if head is None or canonical_name(head.group(1)) != canonical_name(dist):
                continue  # another distribution: no need to parse it
            rest = line[head.end():].strip()
            if ";" in rest:
                continue  # a marker: not the unconditional requirement
            if not rest.startswith("[") and "@" not in rest:
                # "protobuf>=3.20.3,<5" or "protobuf (>=3.20.3)": a specifier set alone, read
                # without packaging.requirements (~30 ms of start-up)
                try:
                    return str(SpecifierSet(rest.strip("() "))) or None
                except InvalidSpecifier:
                    continue
            from packaging.requirements import (  # noqa: PLC0415  (startup: packaging ~30 ms, only for extras/URLs)
                InvalidRequirement,
                Requirement,
            )

            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if req.name.lower() == dist and not req.marker:
                return str(req.specifier) or None
    return None


def check_numpy2(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED404: NumPy >= 2 with TensorFlow < 2.18 (built for NumPy 1): ``import tensorflow`` fails.

    Yields:
        ED404 finding(s) for this pair, if any.
    """
    tf = tensorflow_version(env)
    np = env.version_of("numpy")
    if not tf or not np or major(np) is None or (major(np) or 0) < 2:
        return
    first = tables.tf_fact("first_numpy2_minor")
    if key(tf) >= key(first["value"]):
        return
    rel = tables.tf_release(tf)
    gap = (
        " (its metadata does not forbid NumPy 2, so pip allowed it)"
        if rel and rel.numpy_upper_bound_missing
        else ""
    )
    req = fixes.numpy_requirement(tf) or "numpy<2"
    yield finding(
        "ED404",
        Severity.ERROR,
        f"NumPy {np} is installed with TensorFlow {tf}, which is compiled for NumPy 1{gap}: "
        "'A module that was compiled using NumPy 1.x cannot be run in NumPy 2' then "
        "'_ARRAY_API not found'. TensorFlow supports NumPy 2 from "
        f"{first['value']}.",
        evidence=(("tensorflow", tf), ("numpy", np)),
        fixes=[fixes.install_command(env, req)],
        source=f"{first['source']}; {rel.source if rel else ''}".strip("; "),
    )


def _protobuf_fatal(tf: str, pb: str) -> Optional[str]:
    if key(tf) < (2, 12, 0) and key(pb) >= (4, 0, 0):
        return (
            "TensorFlow < 2.12 ships generated code older than protobuf 4 accepts "
            "('TypeError: Descriptors cannot be created directly')"
        )
    if key(tf) >= (2, 20, 0):
        rel = tables.tf_release(tf)
        if rel and satisfies(pb, rel.protobuf.split(",")[0]) is False:
            return (
                "TensorFlow >= 2.20 is generated for a newer protobuf runtime ('Detected "
                "incompatible Protobuf Gencode/Runtime versions')"
            )
    return None


def check_protobuf(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED405: protobuf outside TensorFlow's requirement (error for the known-fatal pairs).

    Yields:
        ED405 finding(s) for this pair, if any.
    """
    tf = tensorflow_version(env)
    pb = env.version_of("protobuf")
    if not tf:
        return
    rel = tables.tf_release(tf)
    spec = _tf_requirement(env, "protobuf") or (rel.protobuf if rel else None)
    if not spec:
        return
    req = fixes.protobuf_requirement(tf) or f"protobuf{spec}"
    if pb is None:
        if env.packages:
            yield finding(
                "ED405",
                Severity.ERROR,
                f"protobuf is not installed; TensorFlow {tf} requires protobuf{spec}.",
                evidence=(("tensorflow", tf),),
                fixes=[fixes.install_command(env, req)],
            )
        return
    if satisfies(pb, spec) is not False:
        return
    fatal = _protobuf_fatal(tf, pb)
    yield finding(
        "ED405",
        Severity.ERROR if fatal else Severity.WARNING,
        f"protobuf {pb} is outside TensorFlow {tf}'s requirement protobuf{spec}"
        + (f": {fatal}." if fatal else "; it may still import. Verify with `envdoctor verify`."),
        evidence=(("tensorflow", tf), ("protobuf", pb), ("required", spec)),
        fixes=[fixes.install_command(env, req)],
        source=rel.source if rel else tables.code_doc("ED405")["source"],
    )


def check_h5py(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED406: ``.h5`` and ``.keras`` (HDF5 weights member) loading needs h5py.

    Yields:
        ED406 finding(s) for this pair, if any.
    """
    if model is None or not env.packages or env.version_of("h5py"):
        return
    needs = model.format is ModelFormat.KERAS_H5 or (
        model.format is ModelFormat.KERAS_ARCHIVE and model.weights_member != "model.weights.npz"
    )
    if not needs or effective_keras(env).generation is None:
        return
    yield finding(
        "ED406",
        Severity.ERROR,
        f"{model.path} stores HDF5 data ({model.weights_member or 'the whole file'}) and h5py "
        "is not installed: 'load_model() using h5 format requires h5py'.",
        evidence=(("format", model.format.value),),
        fixes=[fixes.install_command(env, "h5py")],
    )


def check_pip_conflicts(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED408: broken requirements in the ML stack, like ``pip check`` (read statically).

    Yields:
        ED408 finding(s) for this pair, if any.
    """
    try:
        problems = inventory.pip_check(env, [n for n in ML_STACK if env.version_of(n)])
    except Exception:
        return
    lines = [(d, m) for d, m in problems if d in ML_STACK or any(n in m for n in ML_STACK)]
    if not lines:
        return
    tf = tensorflow_version(env) or ""
    fatal = any(_fatal_pair(env, tf, d, m) for d, m in lines)
    yield finding(
        "ED408",
        Severity.ERROR if fatal else Severity.WARNING,
        "Broken requirements among the ML packages: " + "; ".join(m for _, m in lines) + ".",
        evidence=tuple(lines),
        fixes=[
            fixes.note(
                "install versions that satisfy these requirements (see the other "
                "findings for the exact commands)"
            )
        ],
    )


def _fatal_pair(env: Environment, tf: str, dist: str, message: str) -> bool:
    text = f"{dist} {message}"
    if "tf-keras" in text and "tensorflow" in text:
        return minor(env.version_of("tf-keras")) != minor(tf)
    if "tensorflow-text" in text and "tensorflow" in text.replace("tensorflow-text", ""):
        return minor(env.version_of("tensorflow-text")) != minor(tf)
    np = env.version_of("numpy")
    if "numpy" in text and tf and np:
        return (major(np) or 0) >= 2 and key(tf) < (2, 18, 0)
    pb = env.version_of("protobuf")
    if "protobuf" in text and tf and pb:
        return _protobuf_fatal(tf, pb) is not None
    return (
        "keras" in text
        and major(env.version_of("keras")) == 3
        and bool(tf)
        and key(tf) < (2, 15, 0)
    )


def check_python_range(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED410: the Python is outside TensorFlow's/Keras' Requires-Python or tested range.

    Yields:
        ED410 finding(s) for this pair, if any.
    """
    py = env.python_version
    if not py:
        return
    problems: list[str] = []
    tf = tensorflow_version(env)
    rel = tables.tf_release(tf) if tf else None
    if tf and rel and not rel.python_tested(py):
        problems.append(f"TensorFlow {tf} is tested on Python {rel.python_min}-{rel.python_max}")
    for name in [*tables.tf_distributions(), "keras", "tf-keras"]:
        pkg = env.packages.get(name)
        if pkg and pkg.requires_python and satisfies(py, pkg.requires_python) is False:
            problems.append(f"{name} {pkg.version} requires Python {pkg.requires_python}")
    if not problems:
        return
    target = fixes.tensorflow_target(env, keras3=not rel or rel.keras_generation == 3)
    yield finding(
        "ED410",
        Severity.WARNING,
        f"Python {py} is outside what the installed packages support: " + "; ".join(problems) + ".",
        evidence=(("python", py),),
        fixes=[fixes.install_command(env, f"{fixes.tensorflow_dist(env)}=={target.minor}.*")]
        if target
        else [],
        source=rel.source if rel else tables.code_doc("ED410")["source"],
    )
