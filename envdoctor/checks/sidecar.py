"""Training-environment pins found beside the model (ED801) and its Python (ED802).

Source: MLflow's load-time check ``_warn_dependency_requirement_mismatches`` and its Python
version warning (compat-facts §5.1): one aggregated warning, "current vs required" per
line, with the command that fixes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

from envdoctor import fixes
from envdoctor.checks.runtime import finding
from envdoctor.knowledge.versions import python_minor, satisfies
from envdoctor.types import Environment, Finding, ModelInfo, Severity, canonical_name


def check_sidecar_pins(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED801: requirements pinned beside the model that this environment does not satisfy.

    Yields:
        ED801 finding(s) for this pair, if any.
    """
    if model is None or model.sidecar is None or not model.sidecar.requirements or not env.packages:
        return
    bad: list[tuple[str, str]] = []
    reqs: list[str] = []
    from packaging.requirements import (  # noqa: PLC0415  (startup: packaging ~30 ms, only with a sidecar)
        InvalidRequirement,
        Requirement,
    )

    py = python_minor(env.python_version)
    for line in model.sidecar.requirements:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None and py is not None:
            here = {"python_version": f"{py[0]}.{py[1]}", "python_full_version": env.python_version}
            if not req.marker.evaluate(here):
                continue
        current = env.version_of(canonical_name(req.name))
        spec = str(req.specifier)
        if current is None or (spec and satisfies(current, spec) is False):
            bad.append(
                (req.name, f"current: {current or 'uninstalled'}, required: {spec or 'any'}")
            )
            reqs.append(str(req))
    if not bad:
        return
    yield finding(
        "ED801",
        Severity.WARNING,
        "The model's training environment pins packages this environment does not match: "
        + "; ".join(f"{n} ({d})" for n, d in bad)
        + ".",
        evidence=(("files", ", ".join(model.sidecar.files)), *bad),
        fixes=[fixes.install_command(env, *reqs)],
    )


def check_sidecar_python(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED802: the training Python minor differs from this environment's.

    Yields:
        ED802 finding(s) for this pair, if any.
    """
    if model is None or model.sidecar is None or not model.sidecar.python_version:
        return
    saved, here = python_minor(model.sidecar.python_version), python_minor(env.python_version)
    if saved is None or here is None or saved == here:
        return
    yield finding(
        "ED802",
        Severity.WARNING,
        f"The model was saved with Python {model.sidecar.python_version}; this environment runs "
        f"Python {env.python_version}. Pickled or marshalled parts (Lambda layers) may not load.",
        evidence=(
            ("python at save", model.sidecar.python_version),
            ("python here", env.python_version),
        ),
        fixes=[fixes.note(f"use a Python {saved[0]}.{saved[1]} environment for this model")],
    )
