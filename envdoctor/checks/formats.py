"""Format versus Keras generation: ED101-ED105 and ED109.

Each rule says whether ``load_model`` of the environment's Keras reads this kind of file.
Sources are on the knowledge rows (``knowledge/keras.json`` facts) and in the docstrings;
the severities were checked against real loads (``tests/live/ground_truth_*.json``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

from envdoctor import fixes
from envdoctor.checks.runtime import (
    effective_keras,
    finding,
    runtime_evidence,
    saved_by_tf_keras,
    saver_generation,
)
from envdoctor.checks.savedmodel import signature_call_fixes, signature_inputs
from envdoctor.fixes import lit
from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import key, minor
from envdoctor.types import Environment, Finding, Fix, ModelFormat, ModelInfo, Severity

_ARCHIVE_H5 = (ModelFormat.KERAS_ARCHIVE, ModelFormat.KERAS_H5)


def _saver(model: ModelInfo) -> tuple[tuple[str, str], ...]:
    return (
        ("saved by", f"Keras {model.keras_version or 'unknown'} ({model.dialect.value} config)"),
    )


def check_keras3_file_in_keras2(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED101: a Keras 3 ``.keras``/``.h5``/config loaded by Keras 2 fails.

    Source: keras.json ``keras3_artifact_in_keras2`` (tensorflow#66381, keras#20081,
    ground truth tf215).

    Yields:
        ED101 finding(s) for this pair, if any.
    """
    if model is None or model.format not in (*_ARCHIVE_H5, ModelFormat.KERAS_CONFIG_JSON):
        return
    rt = effective_keras(env)
    if saver_generation(model) != 3 or rt.generation != 2:
        return
    fact = tables.keras_fact("keras3_artifact_in_keras2")
    fix_list: list[Fix] = []
    if rt.provided_by == "tf-keras" and (env.version_of("keras") or "").startswith("3."):
        fix_list += fixes.env_unset("TF_USE_LEGACY_KERAS")
    fix_list += fixes.keras3_install(env, model.keras_version)
    yield finding(
        "ED101",
        Severity.ERROR,
        f"{model.path} was written by Keras {model.keras_version} (Keras 3 config: batch_shape, "
        f"keras.src.models modules) and {rt.loader} here is {rt.label()}, which cannot read it: "
        f"{fact['text']}.",
        evidence=_saver(model) + runtime_evidence(rt),
        fixes=fix_list,
        source=fact["source"],
    )


def check_keras2_archive_in_keras3(
    model: Optional[ModelInfo], env: Environment
) -> Iterator[Finding]:
    """ED102: a ``.keras`` written by tf.keras 2.12-2.15 / tf-keras fails in Keras 3.

    Source: keras.json ``keras2_archive_in_keras3`` (keras#19089; ground truth for Keras
    3.3.3 and 3.15.1: every such file fails).

    Yields:
        ED102 finding(s) for this pair, if any.
    """
    if model is None or model.format is not ModelFormat.KERAS_ARCHIVE:
        return
    rt = effective_keras(env)
    if saver_generation(model) not in (1, 2) or rt.generation != 3:
        return
    fact = tables.keras_fact("keras2_archive_in_keras3")
    module = model.model_module or "keras.src.engine.functional"
    yield finding(
        "ED102",
        Severity.ERROR,
        f"{model.path} is a Keras {model.keras_version} .keras file; Keras 3 cannot import its "
        f"module paths ({module}): {fact['text'].replace('keras.src.engine.functional', module)}. "
        "Load it with Keras 2 (tf-keras) instead, or re-save it there as .h5/weights and rebuild.",
        evidence=_saver(model) + runtime_evidence(rt),
        fixes=_legacy_keras_fixes(env, model),
        source=fact["source"],
    )


def _legacy_keras_fixes(env: Environment, model: ModelInfo) -> list[Fix]:
    """Fixes that make ``tf.keras`` Keras 2 (tf-keras + TF_USE_LEGACY_KERAS=1)."""
    rt = effective_keras(env)
    out: list[Fix] = []
    tf = rt.tensorflow
    if tf and key(tf) >= (2, 16, 0):
        req = fixes.tf_keras_requirement(tf)
        if req and not env.version_of("tf-keras"):
            out.append(fixes.install_command(env, req))
        out += fixes.env_fix("TF_USE_LEGACY_KERAS", "1")
        out.append(
            fixes.python_fix(
                f'tf.keras.models.load_model({lit(model.path)})',
                "then load through tf.keras (Keras 2)",
            )
        )
    else:
        rel = fixes.tensorflow_target(env, keras3=False)
        saver_tf = minor(model.keras_version) if not saved_by_tf_keras(model) else None
        if rel is not None:
            target = saver_tf if saver_tf and tables.tf_release(saver_tf) else rel.minor
            out.append(
                fixes.note(
                    f"use an environment with TensorFlow {target} (tf.keras = Keras {target}), "
                    f'e.g. a new venv: pip install "tensorflow=={target}.*"'
                )
            )
    return out


def check_savedmodel_in_keras3(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED103: Keras 3's ``load_model`` refuses SavedModel directories.

    Source: keras.json ``savedmodel_not_supported_by_keras3`` (saving_api.py@v3.0.0).

    Yields:
        ED103 finding(s) for this pair, if any.
    """
    if model is None or model.format is not ModelFormat.SAVEDMODEL:
        return
    rt = effective_keras(env)
    if rt.generation != 3:
        return
    endpoint = serving_endpoint(model)
    fact = tables.keras_fact("savedmodel_not_supported_by_keras3")
    fix_list: list[Fix] = []
    if rt.tensorflow and rt.backend == "tensorflow":
        if len(signature_inputs(model, endpoint)) <= 1:
            fix_list.append(
                fixes.python_fix(
                    f'layer = keras.layers.TFSMLayer({lit(model.path)}, '
                    f'call_endpoint={lit(endpoint)})',
                    "inference-only Keras layer over the SavedModel (TensorFlow backend)",
                )
            )
        else:
            # TFSMLayer passes its input positionally; a signature with several inputs
            # takes them by name only (live verify matrix: "too many positional arguments")
            fix_list.append(
                fixes.note(
                    "keras.layers.TFSMLayer cannot bind this signature's several inputs "
                    "(it passes one positional input); call the signature by input name"
                )
            )
        fix_list += signature_call_fixes(model, endpoint)
    else:
        fix_list.append(
            fixes.note(
                "TFSMLayer and tf.saved_model.load need TensorFlow; this environment runs Keras on "
                f"the {rt.backend} backend without it"
            )
        )
    has_meta = bool(model.savedmodel and model.savedmodel.has_keras_metadata)
    if has_meta and rt.tensorflow and key(rt.tensorflow) >= (2, 16, 0):
        req = fixes.tf_keras_requirement(rt.tensorflow)
        if req:
            fix_list.append(fixes.install_command(env, req))
            fix_list += fixes.env_fix("TF_USE_LEGACY_KERAS", "1")
    yield finding(
        "ED103",
        Severity.ERROR,
        f"{rt.label()} loads only .keras and .h5 files: load_model({model.path!r}) raises "
        f"'{fact['text']}...'. The serving signature is '{endpoint}'"
        + (
            "; keras_metadata.pb is present, so tf-keras can rebuild it as a Keras model."
            if has_meta
            else "."
        ),
        evidence=(*runtime_evidence(rt), ("signature", endpoint)),
        fixes=fix_list,
        source=fact["source"],
    )


def serving_endpoint(model: ModelInfo) -> str:
    """Return the SavedModel signature to call: ``serving_default`` if present, else the first."""
    keys: list[str] = []
    if model.savedmodel:
        for mg in model.savedmodel.meta_graphs:
            keys += [s.key for s in mg.signatures if not s.key.startswith("__")]
    if not keys or "serving_default" in keys:
        return "serving_default"
    return keys[0]


def check_archive_in_old_keras(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED104: ``.keras`` archives need Keras >= 2.12 (2.11 had only an experimental API).

    Source: keras.json ``keras_archive_public_since`` / ``keras_archive_experimental``.

    Yields:
        ED104 finding(s) for this pair, if any.
    """
    if model is None or model.format is not ModelFormat.KERAS_ARCHIVE:
        return
    rt = effective_keras(env)
    if rt.generation != 2:
        return
    if rt.provided_by != "tensorflow.python.keras" and key(rt.version) >= (2, 12, 0):
        return
    fact = tables.keras_fact("keras_archive_public_since")
    yield finding(
        "ED104",
        Severity.ERROR,
        f"{rt.label()} predates the .keras format (public from Keras {fact['value']}; 2.11 had "
        "only keras.saving.experimental with a variables.h5 member), so load_model treats "
        f"{model.path} as a SavedModel path and fails.",
        evidence=runtime_evidence(rt),
        fixes=fixes.keras3_install(env, model.keras_version)
        if saver_generation(model) == 3
        else [
            fixes.install_command(
                env, f"{fixes.tensorflow_dist(env)}=={minor(model.keras_version) or '2.15'}.*"
            )
        ],
        source=fact["source"],
    )
