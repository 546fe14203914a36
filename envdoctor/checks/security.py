"""What loading runs or reads (ED204) and wrappers safe_mode refuses (ED205).

Sources: compat-facts §2.5, §2.6 and §3.1 (CERT VU#253266; CVE-2025-9905, CVE-2025-49655,
CVE-2026-1462); ``knowledge/keras.json`` ``tfsm_layer_refused_in_safe_mode``,
``torch_module_wrapper_safe_mode``, ``imports_custom_modules``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

from envdoctor import fixes
from envdoctor.checks.custom_objects import keras_imports_module
from envdoctor.checks.lambdas import safe_mode_refuses
from envdoctor.checks.runtime import KerasRuntime, effective_keras, finding, runtime_evidence
from envdoctor.fixes import lit
from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import satisfies_any
from envdoctor.types import Environment, Finding, ModelFormat, ModelInfo, SecurityObject, Severity


def _refused(model: ModelInfo, rt: KerasRuntime, obj: SecurityObject) -> Optional[Severity]:
    """Severity of the safe_mode refusal of a wrapper in a ``.keras`` config, None if none."""
    if model.format is not ModelFormat.KERAS_ARCHIVE or rt.generation != 3:
        return None
    if obj.kind == "tfsm_layer":
        fact = tables.keras_fact("tfsm_layer_refused_in_safe_mode")
        return Severity.ERROR if satisfies_any(rt.version, fact["affected"]) else None
    if obj.kind == "torch_module_wrapper":
        fact = tables.keras_fact("torch_module_wrapper_safe_mode")
        return Severity.WARNING if satisfies_any(rt.version, fact["affected"]) else None
    return None


def _runs(model: ModelInfo, rt: KerasRuntime, obj: SecurityObject) -> bool:
    """True when loading with default arguments really runs/reads what ``obj`` names."""
    if obj.kind == "lambda":
        return not safe_mode_refuses(model, rt)  # refused: ED203 covers it
    if obj.kind == "non_keras_module":
        modules = [c.module for c in model.custom_objects if c.where == obj.where and c.module]
        return any(keras_imports_module(model, rt, m) for m in modules)
    return _refused(model, rt, obj) is None


def check_code_on_load(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED204: loading runs code or reads files named in the model, without a safe_mode stop.

    Yields:
        ED204 finding(s) for this pair, if any.
    """
    if model is None or not model.security:
        return
    rt = effective_keras(env)
    risky = [o for o in model.security if _runs(model, rt, o)]
    if not risky:
        return
    yield finding(
        "ED204",
        Severity.WARNING,
        "Loading this file runs code or reads files named in it: "
        + "; ".join(f"{o.where}: {o.detail}" for o in risky)
        + ". Load it only if you trust its source.",
        evidence=tuple((o.kind, o.where) for o in risky) + runtime_evidence(rt),
        fixes=(
            fixes.note(
                "inspect the file's origin; load untrusted models in a sandbox "
                "(a container without credentials or network)"
            ),
        ),
    )


def check_wrappers_refused(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED205: safe_mode refuses a TFSMLayer (error) or TorchModuleWrapper (warning) in a .keras.

    Yields:
        ED205 finding(s) for this pair, if any.
    """
    if model is None:
        return
    rt = effective_keras(env)
    for obj in model.security:
        severity = _refused(model, rt, obj)
        if severity is None:
            continue
        fact = tables.keras_fact(
            "tfsm_layer_refused_in_safe_mode"
            if obj.kind == "tfsm_layer"
            else "torch_module_wrapper_safe_mode"
        )
        what = (
            "refuses it"
            if severity is Severity.ERROR
            else "may fail to restore it; verify with `envdoctor verify`"
        )
        yield finding(
            "ED205",
            severity,
            f"{obj.where}: {obj.detail}; {rt.label()} under the default safe_mode=True {what}.",
            evidence=((obj.kind, obj.where), *runtime_evidence(rt)),
            fixes=(
                fixes.python_fix(
                    f'model = keras.saving.load_model({lit(model.path)}, safe_mode=False)',
                    "ONLY if you trust the file and what it points to",
                ),
            ),
            source=fact["source"],
        )
