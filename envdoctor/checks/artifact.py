"""ED108: the path is not a whole model that ``load_model`` can read.

``load_model`` fails on weights-only files ("No model config found in the file", seen for
``.weights.h5`` in Keras 2.15, 3.3.3 and 3.15.1: tests/live/ground_truth_*.json), on config
JSON, checkpoints, TFLite flatbuffers, frozen graphs, session bundles, git-lfs pointers,
pickles, empty paths and HDF5 files without Keras attributes.  The finding says what loading
such a file needs instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

from envdoctor import fixes
from envdoctor.checks.runtime import WHOLE_MODEL_FORMATS, finding
from envdoctor.fixes import lit
from envdoctor.types import Environment, Finding, Fix, ModelFormat, ModelInfo, Severity

_WHAT: dict[ModelFormat, str] = {
    ModelFormat.KERAS_H5_WEIGHTS: "a save_weights() HDF5 file: weights only, no architecture",
    ModelFormat.KERAS_WEIGHTS_H5: "a Keras 3 .weights.h5 file: weights only, no architecture",
    ModelFormat.KERAS_CONFIG_JSON: "a model config (to_json) without weights",
    ModelFormat.TF_CHECKPOINT: "a TensorFlow checkpoint (variables only)",
    ModelFormat.TFLITE: "a TFLite flatbuffer",
    ModelFormat.FROZEN_GRAPHDEF: "a frozen TensorFlow GraphDef",
    ModelFormat.TF1_SESSION_BUNDLE: "a TensorFlow 1.x SessionBundle export",
    ModelFormat.GIT_LFS_POINTER: "a git-lfs pointer file, not the model itself",
    ModelFormat.PICKLE: "a pickle/joblib file",
    ModelFormat.HDF5_NOT_A_MODEL: "an HDF5 file without Keras model attributes",
    ModelFormat.EMPTY: "empty",
    ModelFormat.UNKNOWN: "not a format envdoctor recognizes",
}


def _fixes(model: ModelInfo, env: Environment) -> list[Fix]:
    p = model.path
    fmt = model.format
    if fmt in (ModelFormat.KERAS_H5_WEIGHTS, ModelFormat.KERAS_WEIGHTS_H5):
        return [
            fixes.note(
                "build the same architecture in code (the training script), then load the weights"
            ),
            fixes.python_fix(f'model.load_weights({lit(p)})', "after building the model in code"),
            fixes.r_fix(
                f'load_model_weights(model, {lit(p)})', "keras3 R package, after building the model"
            ),
        ]
    if fmt is ModelFormat.KERAS_CONFIG_JSON:
        return [
            fixes.python_fix(
                f'model = keras.models.model_from_json(open({lit(p)}).read())',
                "rebuild the architecture; weights must come from elsewhere",
            ),
            fixes.python_fix(
                'model.load_weights("<weights file>")', "then load the matching weights"
            ),
        ]
    if fmt is ModelFormat.TF_CHECKPOINT:
        return [
            fixes.python_fix(
                f'tf.train.Checkpoint(model=model).restore({lit(p)})',
                "after building the model in code",
            )
        ]
    if fmt is ModelFormat.TFLITE:
        return [
            fixes.python_fix(
                f'interpreter = tf.lite.Interpreter(model_path={lit(p)})',
                "run it with the TFLite interpreter (ai_edge_litert from TF 2.20)",
            )
        ]
    if fmt is ModelFormat.FROZEN_GRAPHDEF:
        return [
            fixes.python_fix(
                f'g = tf.compat.v1.GraphDef(); g.ParseFromString(open({lit(p)}, "rb").read())',
                "then tf.compat.v1.import_graph_def(g) inside a tf.Graph",
            )
        ]
    if fmt is ModelFormat.TF1_SESSION_BUNDLE:
        return [
            fixes.note(
                "a SessionBundle needs TensorFlow 1.x (tf.contrib.session_bundle); "
                "convert it to a SavedModel there"
            )
        ]
    if fmt is ModelFormat.GIT_LFS_POINTER:
        return [
            Fix(
                "command",
                "git lfs install && git lfs pull",
                "fetch the real file behind the pointer",
            )
        ]
    if fmt is ModelFormat.PICKLE:
        return [
            fixes.note(
                "never unpickle an untrusted file; load it only in the environment that "
                "pickled it, then re-save with model.save('model.keras')"
            )
        ]
    return [fixes.note("check the path: it does not hold a saved Keras/TensorFlow model")]


def check_not_a_model(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED108: ``load_model`` cannot read this path as a whole model (error).

    Source: codes.json ED108 (``load_model`` dispatch, saving_api.py; ground truth for
    ``.weights.h5``).

    Yields:
        ED108 finding(s) for this pair, if any.
    """
    if model is None:
        return
    if model.format in WHOLE_MODEL_FORMATS and model.loadable:
        return
    what = _WHAT.get(model.format, model.summary or model.format.value)
    needs = f" Loading it needs: {model.needs}." if model.needs else ""
    yield finding(
        "ED108",
        Severity.ERROR,
        f"{model.path} is {what}; load_model fails on it.{needs}",
        evidence=(("format", model.format.value), ("summary", model.summary)),
        fixes=_fixes(model, env),
    )
