"""Which Keras loads a model in an environment, and what the model's saver was.

:func:`effective_keras` implements TensorFlow's lazy loader (``tensorflow/python/util/
lazy_loader.py`` ``KerasLazyLoader._initialize`` in the 2.15.0 and 2.16.2 wheels,
compat-facts §1.5): ``TF_USE_LEGACY_KERAS`` in {"true", "True", "1"} routes ``tf.keras``
to tf_keras; otherwise an installed Keras 3 becomes ``tf.keras`` (already in TF 2.15);
otherwise the keras 2.x package is ``tf.keras``.  Keras 3 without TensorFlow runs on the
backend named by ``KERAS_BACKEND`` / keras.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import key, major, minor, parse, python_minor
from envdoctor.types import (
    ConfigDialect,
    Environment,
    Finding,
    Fix,
    ModelFormat,
    ModelInfo,
    Severity,
)


@dataclass(frozen=True)
class KerasRuntime:
    """The Keras that ``load_model`` means in an environment.

    Attributes:
        generation: 2 (Keras 2: tf.keras <= 2.15, tf-keras, multi-backend keras), 3, or None
            when no usable Keras exists.
        version: the Keras version (of the distribution that provides it).
        provided_by: ``"keras"``, ``"tf-keras"`` or ``"tensorflow.python.keras"``.
        loader: the call a user makes, e.g. ``"tf.keras.models.load_model"``.
        tensorflow: the installed TensorFlow version, if any.
        backend: the backend Keras runs on (``"tensorflow"``, ``"jax"``, ...).
        problem: why ``generation`` is None, in words.
    """

    generation: Optional[int]
    version: Optional[str]
    provided_by: Optional[str]
    loader: str
    tensorflow: Optional[str]
    backend: Optional[str]
    problem: str = ""

    def label(self) -> str:
        """Return e.g. ``"Keras 3.3.3 (keras, tensorflow backend)"``."""
        if self.generation is None:
            return "no usable Keras"
        return f"Keras {self.version} ({self.provided_by}, {self.backend} backend)"


def tensorflow_version(env: Environment) -> Optional[str]:
    """Return the installed TensorFlow version (any of its distributions), or None."""
    for name in tables.tf_distributions():
        version = env.version_of(name)
        if version:
            return version
    return None


def legacy_keras_requested(env: Environment) -> bool:
    """True when ``TF_USE_LEGACY_KERAS`` has a value TensorFlow honours ("true", "True", "1")."""
    fact = tables.tf_fact("legacy_keras_env")
    return env.env_vars.get(fact["name"], "") in fact["true_values"]


def effective_keras(env: Environment) -> KerasRuntime:
    """Decide which Keras ``load_model`` uses in ``env`` (rules of compat-facts §1.5).

    Args:
        env: the environment.

    Returns:
        The :class:`KerasRuntime`; ``generation`` is None (with ``problem``) when loading
        cannot work at all.
    """
    tf = tensorflow_version(env)
    keras = env.version_of("keras")
    tfk = env.version_of("tf-keras")
    tfv = parse(tf)
    tf_loader = "tf.keras.models.load_model"
    if tf and tfv and key(tf) >= (2, 15, 0) and legacy_keras_requested(env):
        if tfk:
            return KerasRuntime(2, tfk, "tf-keras", tf_loader, tf, "tensorflow")
        return KerasRuntime(
            None,
            None,
            None,
            tf_loader,
            tf,
            "tensorflow",
            "TF_USE_LEGACY_KERAS is set but tf-keras is not installed: "
            "ImportError: Keras cannot be imported. Check that it is installed.",
        )
    if keras and major(keras) == 3:
        if tf and key(tf) < (2, 15, 0):
            return KerasRuntime(
                None,
                keras,
                "keras",
                tf_loader,
                tf,
                env.keras_backend,
                f"TensorFlow {tf} predates Keras 3: tf.keras cannot import Keras {keras}",
            )
        loader = "keras.saving.load_model"
        return KerasRuntime(3, keras, "keras", loader, tf, env.keras_backend)
    if keras and major(keras) in (1, 2):
        if tf or key(keras) < (2, 4, 0):
            backend = "tensorflow" if tf else env.keras_backend
            loader = tf_loader if tf and key(keras) >= (2, 6, 0) else "keras.models.load_model"
            return KerasRuntime(2, keras, "keras", loader, tf, backend)
        return KerasRuntime(
            None,
            keras,
            "keras",
            "keras.models.load_model",
            None,
            None,
            f"keras {keras} is tf.keras and needs TensorFlow, which is not installed",
        )
    if tf and tfv and key(tf) < (2, 6, 0):
        return KerasRuntime(2, tf, "tensorflow.python.keras", tf_loader, tf, "tensorflow")
    if tf:
        return KerasRuntime(
            None,
            None,
            None,
            tf_loader,
            tf,
            "tensorflow",
            f"TensorFlow {tf} is installed without a Keras package (keras / tf-keras)",
        )
    return KerasRuntime(
        None, None, None, "", None, None, "neither Keras nor TensorFlow is installed"
    )


def saver_generation(model: ModelInfo) -> Optional[int]:
    """Return the Keras generation that wrote ``model`` (1, 2 or 3), or None when unknown.

    The config dialect decides first; the recorded ``keras_version`` otherwise.
    """
    by_dialect = {
        ConfigDialect.KERAS3: 3,
        ConfigDialect.KERAS2: 2,
        ConfigDialect.TF_KERAS_2_13: 2,
        ConfigDialect.KERAS1: 1,
    }
    if model.dialect in by_dialect:
        return by_dialect[model.dialect]
    m = major(model.keras_version)
    return m if m in (1, 2, 3) else None


def saved_by_tf_keras(model: ModelInfo) -> bool:
    """True when the config's module paths say tf-keras (``tf_keras.*``) wrote it."""
    modules = [model.model_module or ""] + [layer.module or "" for layer in model.layers]
    return any(m == "tf_keras" or m.startswith("tf_keras.") for m in modules)


WHOLE_MODEL_FORMATS = (ModelFormat.KERAS_ARCHIVE, ModelFormat.KERAS_H5, ModelFormat.SAVEDMODEL)
"""Formats that ``load_model`` of some Keras loads as a whole model."""

CONFIG_FORMATS = (ModelFormat.KERAS_ARCHIVE, ModelFormat.KERAS_H5, ModelFormat.KERAS_CONFIG_JSON)
"""Formats whose Keras config is deserialized by Keras itself (not a TF graph)."""


def marshal_family(py: tuple[int, int]) -> str:
    """Return the family of CPython versions that share a code-object marshal layout.

    Source: ``ValueError: bad marshal data`` reports across 2.7/3.4, 3.7/3.8, 3.7/3.9
    (compat-facts §6.5) and 3.10 -> 3.11 (tests/live/ground_truth_tf216-keras33.json);
    3.9 -> 3.10 loads (tests/live/ground_truth_tf215.json).
    """
    if py[0] < 3:
        return "2.x"
    if py < (3, 8):
        return "3.0-3.7"
    if py < (3, 11):
        return "3.8-3.10"
    return "3.11+"


def saver_python_range(
    model: ModelInfo,
) -> Optional[tuple[tuple[int, int], Optional[tuple[int, int]]]]:
    """Return the possible saving Python minors ``(lowest, highest or None)`` from the saver.

    A Keras 3 version bounds Python from below (its Requires-Python); a Keras 2 version
    (coupled to the TensorFlow minor of the same number) bounds it on both sides (that
    TensorFlow's tested Python range).  None when nothing is known.
    """
    version = model.keras_version
    if saver_generation(model) == 3:
        spec = tables.keras_requires_python(version)
        low = python_minor(spec.lstrip(">=")) if spec else None
        return (low, None) if low else None
    rel = tables.tf_release(minor(version)) if version else None
    if rel is None and model.tensorflow_version:
        rel = tables.tf_release(model.tensorflow_version)
    if rel is None:
        return None
    lo, hi = python_minor(rel.python_min), python_minor(rel.python_max)
    return (lo, hi) if lo else None


def finding(
    code: str,
    severity: Severity,
    detail: str,
    *,
    title: Optional[str] = None,
    evidence: tuple[tuple[str, str], ...] = (),
    fixes: tuple[Fix, ...] | list[Fix] = (),
    source: Optional[str] = None,
) -> Finding:
    """Build a :class:`Finding`, defaulting title and source to the code's documentation.

    Raises:
        KeyError: ``code`` is not documented in ``knowledge/codes.json``.
    """
    doc = tables.code_doc(code)
    return Finding(
        code=code,
        severity=severity,
        title=title or str(doc["title"]),
        detail=detail,
        evidence=tuple(evidence),
        source=source or str(doc["source"]),
        fixes=tuple(fixes),
    )


def runtime_evidence(rt: KerasRuntime) -> tuple[tuple[str, str], ...]:
    """Return evidence lines describing the loading Keras."""
    items = [("loader", rt.loader or "none"), ("keras", rt.label())]
    if rt.tensorflow:
        items.append(("tensorflow", rt.tensorflow))
    return tuple(items)
