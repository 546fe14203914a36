"""Inputs: what a forward pass needs (ED701) and mixed precision (ED702).

Source: the model's own config / SavedModel signatures (read by envdoctor.modelfiles);
compat-facts §2.2 (``InputLayer`` ``batch_shape``/``batch_input_shape``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

from envdoctor.checks.r_session import r_input_fixes
from envdoctor.checks.runtime import effective_keras, finding
from envdoctor.types import Environment, Finding, InputSpec, ModelInfo, Severity


def describe_input(spec: InputSpec) -> str:
    """Return e.g. ``"'x': shape (None, 8): rank 2, 8 features, float32"``."""
    rank = len(spec.shape)
    width = spec.shape[-1] if spec.shape else None
    features = f"{width} features" if width is not None else "any width"
    dtype = spec.dtype or "dtype not recorded (feed float32)"
    shape = (
        "("
        + ", ".join("None" if d is None else str(d) for d in spec.shape)
        + ("," if rank == 1 else "")
        + ")"
    )
    return f"'{spec.name or '?'}': shape {shape}: rank {rank}, {features}, {dtype}"


def check_inputs(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED701 (info): one line per input; graph execution fails on a wrong rank or width.

    Yields:
        ED701 finding(s) for this pair, if any.
    """
    if model is None or not model.inputs:
        return
    lines = [describe_input(s) for s in model.inputs]
    yield finding(
        "ED701",
        Severity.INFO,
        "Feed " + ("; ".join(lines)) + ". A batch of another rank or last dimension fails in the "
        "first forward pass; cast inputs to float32 unless a dtype above says otherwise.",
        evidence=tuple((f"input {i}", line) for i, line in enumerate(lines)),
        fixes=r_input_fixes(model, env),
    )


def check_mixed_precision(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED702 (info): a mixed-precision policy is saved with the model.

    Yields:
        ED702 finding(s) for this pair, if any.
    """
    if model is None or not (model.dtype_policy or "").startswith("mixed_"):
        return
    rt = effective_keras(env)
    yield finding(
        "ED702",
        Severity.INFO,
        f"The model computes in {model.dtype_policy}: inputs stay float32 (layers cast them); "
        f"on a CPU {model.dtype_policy} runs, but slower than float32 ({rt.label()}).",
        evidence=(("dtype policy", model.dtype_policy or ""),),
    )
