"""Lambda layers: marshalled bytecode across Python versions and safe_mode (ED201-ED204).

Sources: compat-facts §2.6 and §6.5; ``knowledge/keras.json`` facts
``safe_mode_v3_format_since``, ``safe_mode_legacy_h5_since``, ``lambda_fail_closed_since``;
real loads in ``tests/live/ground_truth_*.json`` (3.10 -> 3.11 "bad marshal data";
3.9 -> 3.10 loads).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

from envdoctor import fixes
from envdoctor.checks import rawconfig
from envdoctor.checks.runtime import (
    KerasRuntime,
    effective_keras,
    finding,
    marshal_family,
    runtime_evidence,
    saver_python_range,
)
from envdoctor.fixes import lit
from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import key, python_minor
from envdoctor.types import Environment, Finding, Fix, ModelFormat, ModelInfo, Severity

_MARSHAL_SOURCE = (
    "https://github.com/keras-team/keras/issues/14875; "
    "https://github.com/keras-team/keras/issues/7440; "
    "https://github.com/keras-team/tf-keras/issues/567; "
    "tests/live/ground_truth_tf216-keras33.json (Python 3.10 -> 3.11: bad marshal data); "
    "tests/live/ground_truth_tf215.json (3.9 -> 3.10 loads)"
)


def safe_mode_refuses(model: ModelInfo, rt: KerasRuntime) -> bool:
    """True when ``load_model`` with default ``safe_mode`` refuses Lambda bytecode in ``model``.

    ``.keras`` files: Keras 2 >= 2.12 and Keras 3.  Legacy ``.h5``: Keras 3 >= 3.11.3.
    """
    if rt.generation is None or not rt.version:
        return False
    if model.format is ModelFormat.KERAS_ARCHIVE:
        since = tables.keras_fact("safe_mode_v3_format_since")["value"]
        return rt.generation == 3 or key(rt.version) >= key(since)
    if model.format is ModelFormat.KERAS_H5 and rt.generation == 3:
        return key(rt.version) >= key(tables.keras_fact("safe_mode_legacy_h5_since")["value"])
    return False


def _runs_bytecode(model: ModelInfo, rt: KerasRuntime) -> bool:
    """True when the loader unmarshals Lambda bytecode (possibly after safe_mode=False)."""
    if model.format in (
        ModelFormat.KERAS_ARCHIVE,
        ModelFormat.KERAS_H5,
        ModelFormat.KERAS_CONFIG_JSON,
    ):
        return rt.generation is not None
    return model.format is ModelFormat.SAVEDMODEL and rt.generation == 2


def check_lambda_safe_mode(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED203: ``load_model`` refuses a Python-lambda Lambda under safe_mode (error).

    Yields:
        ED203 finding(s) for this pair, if any.
    """
    if model is None:
        return
    rt = effective_keras(env)
    lambdas = [x for x in model.lambdas if x.has_bytecode]
    if not lambdas or not safe_mode_refuses(model, rt):
        return
    h5 = model.format is ModelFormat.KERAS_H5
    fact = tables.keras_fact("safe_mode_legacy_h5_since" if h5 else "safe_mode_v3_format_since")
    names = ", ".join(x.layer for x in lambdas)
    fn = "keras.saving.load_model" if rt.generation == 3 else "tf.keras.models.load_model"
    yield finding(
        "ED203",
        Severity.ERROR,
        f"Lambda layer(s) {names} hold Python bytecode; {rt.label()} refuses to deserialize them "
        "with the default safe_mode=True ('Requested the deserialization of a Lambda layer ... "
        "disallowed by default'). safe_mode=False runs that code: use it ONLY for a file you "
        "trust.",
        evidence=(("lambda layers", names), *runtime_evidence(rt)),
        fixes=(
            fixes.python_fix(
                f'model = {fn}({lit(model.path)}, safe_mode=False)',
                "ONLY if you trust the file: this runs code stored in it",
            ),
            fixes.r_fix(
                f'model <- keras3::load_model({lit(model.path)}, safe_mode = FALSE)',
                "ONLY if you trust the file",
            ),
            fixes.note(
                "better: rebuild the Lambda as a function decorated with "
                "@keras.saving.register_keras_serializable() and re-save the model"
            ),
        ),
        source=fact["source"],
    )


def check_lambda_bytecode(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED201/ED202: Lambda bytecode from another CPython version ("bad marshal data").

    ED201 (error) when the saving Python (sidecar) is in another marshal family than the
    environment's, or when the saver's Keras/TF version rules out every Python of this
    family; a different minor of the same family is a warning.  ED202 (warning) when the
    saving Python is unknown.

    Yields:
        ED201, ED202 finding(s) for this pair, if any.
    """
    if model is None:
        return
    rt = effective_keras(env)
    lambdas = [x for x in model.lambdas if x.has_bytecode]
    here = python_minor(env.python_version)
    if not lambdas or here is None or not _runs_bytecode(model, rt):
        return
    names = ", ".join(x.layer for x in lambdas)
    here_s = f"{here[0]}.{here[1]}"
    saved = python_minor(model.sidecar.python_version) if model.sidecar else None
    evidence = (("lambda layers", names), ("python here", env.python_version))
    keep = _same_python_fixes(model)
    soft = model.format is ModelFormat.SAVEDMODEL
    if saved is not None:
        if saved == here:
            return
        saved_s = f"{saved[0]}.{saved[1]}"
        other_family = marshal_family(saved) != marshal_family(here)
        severity = Severity.ERROR if other_family and not soft else Severity.WARNING
        how = (
            "marshal layouts differ: 'ValueError: bad marshal data (unknown type code)'"
            if other_family
            else "same marshal layout, but bytecode of another minor may misbehave"
        )
        if soft:
            how += "; Keras 2 may fall back to the SavedModel's traced functions"
        yield finding(
            "ED201",
            severity,
            f"Lambda layer(s) {names} were marshalled by Python {saved_s}; this environment runs "
            f"Python {here_s} ({how}).",
            evidence=(
                *evidence,
                ("python at save", (model.sidecar.python_version if model.sidecar else None) or ""),
            ),
            fixes=keep,
            source=_MARSHAL_SOURCE,
        )
        return
    families = possible_families(model)
    if families and marshal_family(here) not in families and not soft:
        shown = " or ".join(sorted(families))
        yield finding(
            "ED201",
            Severity.ERROR,
            f"Lambda layer(s) {names} hold bytecode marshalled by Python {shown} (read from the "
            f"code-object header and the saver's Keras {model.keras_version}); Python {here_s} "
            "uses another marshal layout: 'ValueError: bad marshal data (unknown type code)'.",
            evidence=(*evidence, ("bytecode python", shown)),
            fixes=keep,
            source=_MARSHAL_SOURCE,
        )
        return
    yield finding(
        "ED202",
        Severity.WARNING,
        f"Lambda layer(s) {names} hold bytecode of an unknown Python version; it loads only if "
        f"the saving Python was {here_s} (or a compatible minor). Ask whoever saved it, read the "
        "MLflow python_env.yaml / MLmodel python_version beside it, or run `envdoctor verify`.",
        evidence=evidence,
        fixes=keep,
        source=_MARSHAL_SOURCE,
    )


def possible_families(model: ModelInfo) -> Optional[set[str]]:
    """Return the marshal families the Lambda bytecode can come from, None when unknown.

    Intersects what the code-object headers show (:func:`rawconfig.marshal_families`) with
    the Pythons the saving Keras/TensorFlow version runs on (:func:`saver_python_range`).
    """
    families: Optional[set[str]] = None
    config = rawconfig.model_config(model)
    for code in rawconfig.lambda_codes(config) if config else []:
        seen = rawconfig.marshal_families(code)
        if seen is not None:
            families = seen if families is None else families & seen
    rng = saver_python_range(model)
    if rng is not None:
        lo, hi = rng
        top = hi or (3, 30)
        if lo[0] == top[0]:
            span = {marshal_family((lo[0], m)) for m in range(lo[1], top[1] + 1)}
            families = span if families is None else families & span
    return families


def _same_python_fixes(model: ModelInfo) -> tuple[Fix, ...]:
    return (
        fixes.note("load it with the Python minor version that saved it"),
        fixes.note(
            "or rebuild the architecture in code and load only the weights "
            "(model.load_weights), replacing the lambda by a registered function"
        ),
    )
