"""Legacy HDF5 (``.h5``) models in a newer Keras: ED105, ED109 and ED110.

Keras 3 reads legacy ``.h5`` through ``keras/src/legacy/saving/legacy_h5_format.py``,
converting Keras 2 configs best effort.  What fails was established by really loading
tf.keras 2.13/2.15, tf-keras 2.21 and Keras 3.3/3.15 files in Keras 3.3.3 and 3.15.1
(``tests/live/ground_truth_*.json``; rows in ``knowledge/keras.json``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

from envdoctor import fixes
from envdoctor.checks import rawconfig
from envdoctor.checks.runtime import effective_keras, finding, runtime_evidence, saver_generation
from envdoctor.fixes import lit
from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import key, major
from envdoctor.types import Environment, Finding, Fix, ModelFormat, ModelInfo, Severity

FULL_NAMES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "kld": "kl_divergence",
    "bce": "binary_crossentropy",
}
"""The full Keras loss names behind the aliases (``keras/src/losses/__init__.py``)."""


INITIALIZERS = frozenset(
    {
        "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
        "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
        "TruncatedNormal", "VarianceScaling", "Zeros",
    }
)
"""Keras initializer class names (``keras.initializers``)."""


def _raw_signals(model: ModelInfo) -> tuple[bool, bool]:
    """Return ``(list_sequential, initializer_dtype)`` read from the raw ``model_config``."""
    config = rawconfig.model_config(model)
    if config is None:
        return False, False
    list_sequential = isinstance(config.get("config"), list)
    stack: list[object] = [config]
    seen = 0
    while stack and seen < 500_000:
        seen += 1
        node = stack.pop()
        if isinstance(node, dict):
            inner, cls = node.get("config"), node.get("class_name")
            if (
                isinstance(cls, str)  # a hostile config may put a dict here (unhashable)
                and cls in INITIALIZERS
                and isinstance(inner, dict)
                and "dtype" in inner
            ):
                return list_sequential, True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return list_sequential, False


def _reasons(model: ModelInfo, keras1: bool) -> list[tuple[str, str]]:
    """Return ``(reason, source)`` for every known Keras 3 failure of this legacy file."""
    if keras1:
        fact = tables.keras_fact("legacy_h5_keras1")
        version = model.keras_version or "absent"
        return [(f"Keras 1 config (keras_version {version}): {fact['text']}", fact["source"])]
    out: list[tuple[str, str]] = []
    classes = {x.class_name for x in model.layers}
    for name, label in (("legacy_h5_keras2_rnn", "recurrent"), ("legacy_h5_keras2_attention", "")):
        fact = tables.keras_fact(name)
        hits = sorted(classes & set(fact["value"]))
        if hits:
            out.append(
                (
                    f"Keras 2 {label + ' ' if label else ''}layer config ({', '.join(hits)}): "
                    f"{fact['text']}",
                    fact["source"],
                )
            )
    if (model.dtype_policy or "").startswith("mixed_"):
        fact = tables.keras_fact("legacy_h5_keras2_mixed_policy")
        out.append(
            (f"Keras 2 mixed-precision policy {model.dtype_policy}: {fact['text']}", fact["source"])
        )
    list_sequential, init_dtype = _raw_signals(model)
    if list_sequential:
        fact = tables.keras_fact("legacy_h5_list_sequential")
        out.append((f"old list-style Sequential config: {fact['text']}", fact["source"]))
    if init_dtype:
        fact = tables.keras_fact("legacy_h5_initializer_dtype")
        out.append(
            (
                f"initializers with a 'dtype' argument (tf.keras of TF 1.x): {fact['text']}",
                fact["source"],
            )
        )
    return out


def check_legacy_h5_in_keras3(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED105: a Keras 1/2 legacy ``.h5`` loaded by Keras 3.

    Error for what is known to fail (Keras 1 configs, list-style Sequential configs, TF 1.x
    initializer dtypes, Keras 2 recurrent and Attention layers, Keras 2 mixed-precision
    policies), otherwise a warning (best-effort conversion).

    Sources: the ``legacy_h5_*`` facts of ``knowledge/keras.json``.

    Yields:
        ED105 finding(s) for this pair, if any.
    """
    if model is None or model.format is not ModelFormat.KERAS_H5:
        return
    rt = effective_keras(env)
    gen = saver_generation(model)
    if rt.generation != 3 or gen == 3:
        return
    keras1 = gen == 1 or (gen is None and major(model.keras_version) in (None, 1))
    reasons = _reasons(model, keras1)
    saver = model.keras_version or "unknown (Keras 1)"
    evidence = (("saved by", f"Keras {saver}"), *runtime_evidence(rt))
    alt = _keras2_fixes(env, model)
    if reasons:
        yield finding(
            "ED105",
            Severity.ERROR,
            f"{rt.label()} converts Keras 1/2 .h5 configs only in part; this file fails: "
            + "; ".join(r for r, _ in reasons)
            + ".",
            evidence=evidence,
            fixes=alt,
            source="; ".join(dict.fromkeys(s for _, s in reasons)),
        )
        return
    yield finding(
        "ED105",
        Severity.WARNING,
        f"{model.path} is a Keras {model.keras_version} .h5 file; {rt.label()} converts Keras 2 "
        "configs best effort (plain Dense/Conv models usually load; renamed arguments and "
        "policies may not). Verify with `envdoctor verify`.",
        evidence=evidence,
        fixes=alt,
        source=tables.keras_fact("legacy_h5_keras1")["source"],
    )


def check_keras1_in_tf_keras(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED110: a Keras 1 config loaded by tf.keras / tf-keras (no Keras 1 argument converters).

    Source: keras.json ``keras1_config_in_tf_keras``.

    Yields:
        ED110 finding(s) for this pair, if any.
    """
    if model is None or model.format not in (ModelFormat.KERAS_H5, ModelFormat.KERAS_CONFIG_JSON):
        return
    rt = effective_keras(env)
    gen = saver_generation(model)
    keras1 = gen == 1 or (gen is None and major(model.keras_version) in (None, 1))
    if rt.generation != 2 or not keras1:
        return
    if rt.provided_by == "keras" and key(rt.version) < (2, 4, 0):
        return  # multi-backend Keras 2.0-2.3 converts Keras 1 arguments
    fact = tables.keras_fact("keras1_config_in_tf_keras")
    yield finding(
        "ED110",
        Severity.ERROR,
        f"{model.path} has a Keras 1 config (keras_version {model.keras_version or 'absent'}: "
        f"output_dim, init, W_regularizer...); {rt.label()} rejects those arguments: "
        f"{fact['text']}.",
        evidence=(("saved by", f"Keras {model.keras_version or '1.x'}"), *runtime_evidence(rt)),
        fixes=(
            fixes.note(
                "load it with multi-backend Keras 2.3 (Python <= 3.7, TensorFlow 1.x/2.0-2.2 "
                "backend) and re-save it, or rebuild the architecture and load its weights"
            ),
        ),
        source=fact["source"],
    )


def _keras2_fixes(env: Environment, model: ModelInfo) -> list[Fix]:
    rt = effective_keras(env)
    out: list[Fix] = []
    req = fixes.tf_keras_requirement(rt.tensorflow)
    if rt.tensorflow and req and rt.backend == "tensorflow":
        if not env.version_of("tf-keras"):
            out.append(fixes.install_command(env, req))
        out += fixes.env_fix("TF_USE_LEGACY_KERAS", "1")
    else:
        out.append(
            fixes.note(
                f"load {model.path} in an environment with Keras 2 (TensorFlow <= 2.15, or "
                "tf-keras with TF_USE_LEGACY_KERAS=1); to move it to Keras 3, rebuild the "
                "architecture there and load the weights"
            )
        )
    return out


def training_losses(model: ModelInfo) -> Optional[tuple[str, ...]]:
    """Return the loss identifiers of a legacy ``.h5`` ``training_config``, None when unknown.

    Reads one HDF5 attribute (bounded, :mod:`envdoctor.checks.rawconfig`); nothing runs.
    """
    config = rawconfig.training_config(model)
    if config is None:
        return None
    names: list[str] = []
    stack: list[object] = [config.get("loss")]
    while stack and len(names) < 256:
        item = stack.pop()
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and item.get("class_name") == "function":
            if isinstance(item.get("config"), str):
                names.append(str(item["config"]))
        elif isinstance(item, dict) and "class_name" not in item:
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return tuple(names)


def check_h5_loss_alias(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED109: Keras 3 cannot compile a legacy ``.h5`` whose loss is an alias such as ``"mse"``.

    Source: keras.json ``legacy_h5_loss_aliases`` (ground truth: every compiled ``.h5``
    fixture with ``loss="mse"`` fails in Keras 3.3.3 and 3.15.1; ``compile=False`` loads).

    Yields:
        ED109 finding(s) for this pair, if any.
    """
    if model is None or model.format is not ModelFormat.KERAS_H5:
        return
    rt = effective_keras(env)
    if rt.generation != 3:
        return
    fact = tables.keras_fact("legacy_h5_loss_aliases")
    losses = training_losses(model)
    if not losses:
        return
    bad = sorted({x for x in losses if x in fact["value"]})
    if not bad:
        return
    yield finding(
        "ED109",
        Severity.ERROR,
        f"The training config of {model.path} names the loss {', '.join(repr(b) for b in bad)}; "
        f"{rt.label()} cannot resolve that alias when load_model compiles a legacy .h5 "
        f"({fact['text']}). compile=False avoids this error.",
        evidence=(("loss", ", ".join(losses)), *runtime_evidence(rt)),
        fixes=(
            fixes.python_fix(
                f'model = keras.saving.load_model({lit(model.path)}, compile=False)',
                "load for inference; compile again with the full loss name if training",
            ),
            fixes.r_fix(f'model <- keras3::load_model({lit(model.path)}, compile = FALSE)'),
            fixes.note(
                "to train again, compile with the full name: "
                + ", ".join(f"{b} -> {FULL_NAMES.get(b.lower(), b)}" for b in bad)
            ),
        ),
        source=fact["source"],
    )
