"""Which Keras the environment gives you: ED401, ED402, ED403, ED407, ED409.

Sources: compat-facts §1.3, §1.5 and §6.10 (TensorFlow's lazy loader; tf-keras pins;
"Keras cannot be imported"); ``knowledge/tensorflow.json`` and ``knowledge/tf_keras.json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

from envdoctor import fixes
from envdoctor.checks.runtime import (
    effective_keras,
    finding,
    legacy_keras_requested,
    tensorflow_version,
)
from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import key, major, minor
from envdoctor.types import Environment, Finding, Fix, ModelInfo, Severity

BACKEND_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "jax": ("jax", "jaxlib"),
    "torch": ("torch",),
    "openvino": ("openvino",),
    "numpy": ("numpy",),
}
"""Distributions each Keras 3 backend imports (TensorFlow: any TF distribution)."""


def check_tf_keras_pin(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED401: tf-keras X.Y must match TensorFlow X.Y (error when tf.keras routes to it).

    Yields:
        ED401 finding(s) for this pair, if any.
    """
    tf = tensorflow_version(env)
    tfk = env.version_of("tf-keras")
    if not tf or not tfk or minor(tf) == minor(tfk):
        return
    used = legacy_keras_requested(env)
    req = fixes.tf_keras_requirement(tf)
    yield finding(
        "ED401",
        Severity.ERROR if used else Severity.WARNING,
        f"tf-keras {tfk} is built for TensorFlow {minor(tfk)}, but TensorFlow {tf} is installed: "
        "`import tf_keras` fails"
        + (
            " and TF_USE_LEGACY_KERAS routes tf.keras to it."
            if used
            else " (tf.keras does not use it unless TF_USE_LEGACY_KERAS is set)."
        ),
        evidence=(
            ("tensorflow", tf),
            ("tf-keras", tfk),
            ("TF_USE_LEGACY_KERAS", env.env_vars.get("TF_USE_LEGACY_KERAS", "unset")),
        ),
        fixes=[fixes.install_command(env, req)]
        if req
        else [fixes.note(f"no tf-keras exists for TensorFlow {minor(tf)}")],
        source=tables.tf_keras_rule_source(),
    )


def check_legacy_without_tf_keras(
    model: Optional[ModelInfo], env: Environment
) -> Iterator[Finding]:
    """ED402: TF_USE_LEGACY_KERAS is set but tf-keras is missing: tf.keras raises ImportError.

    Source: ``tensorflow/python/util/lazy_loader.py`` (TF 2.15.0 / 2.16.2 wheels).

    Yields:
        ED402 finding(s) for this pair, if any.
    """
    tf = tensorflow_version(env)
    if (
        not tf
        or key(tf) < (2, 15, 0)
        or not legacy_keras_requested(env)
        or env.version_of("tf-keras")
    ):
        return
    req = fixes.tf_keras_requirement(tf)
    fix_list = [fixes.install_command(env, req)] if req else []
    fix_list += list(fixes.env_unset("TF_USE_LEGACY_KERAS"))
    yield finding(
        "ED402",
        Severity.ERROR,
        f"TF_USE_LEGACY_KERAS={env.env_vars.get('TF_USE_LEGACY_KERAS')} asks TensorFlow {tf} for "
        "tf-keras, which is not installed: tf.keras raises 'ImportError: Keras cannot be "
        "imported. Check that it is installed.'",
        evidence=(
            ("tensorflow", tf),
            ("TF_USE_LEGACY_KERAS", env.env_vars.get("TF_USE_LEGACY_KERAS", "")),
        ),
        fixes=fix_list,
        source=tables.tf_fact("legacy_keras_env")["source"],
    )


def check_keras3_with_old_tf(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED403: Keras 3 installed beside TensorFlow < 2.16.

    TF 2.15: tf.keras silently becomes Keras 3 (warning; model checks then use Keras 3).
    TF < 2.15: tf.keras cannot import Keras 3 (error).

    Yields:
        ED403 finding(s) for this pair, if any.
    """
    tf = tensorflow_version(env)
    keras = env.version_of("keras")
    if not tf or major(keras) != 3 or key(tf) >= (2, 16, 0):
        return
    rel = tables.tf_release(tf)
    pinned = rel.keras if rel else "keras 2"
    fix_list = [fixes.install_command(env, f"keras{pinned.removeprefix('keras')}")] if rel else []
    fix_list += fixes.keras3_install(env, keras)
    if key(tf) >= (2, 15, 0):
        yield finding(
            "ED403",
            Severity.WARNING,
            f"keras {keras} is installed with TensorFlow {tf}, which requires {pinned}: tf.keras "
            "is Keras 3 here (TensorFlow's lazy loader), so Keras 2 code and files behave as "
            "under TF 2.16+.",
            evidence=(("tensorflow", tf), ("keras", keras or "")),
            fixes=fix_list,
            source=tables.tf_fact("tf_keras_is_keras3_when_keras3_installed")["source"],
        )
        return
    yield finding(
        "ED403",
        Severity.ERROR,
        f"keras {keras} is installed with TensorFlow {tf}, which requires {pinned}: tf.keras "
        "cannot import Keras 3 and fails.",
        evidence=(("tensorflow", tf), ("keras", keras or "")),
        fixes=fix_list,
        source=rel.source if rel else tables.code_doc("ED403")["source"],
    )


def check_backend_installed(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED407: the Keras 3 backend in force is not installed.

    Yields:
        ED407 finding(s) for this pair, if any.
    """
    rt = effective_keras(env)
    if rt.generation != 3 or rt.provided_by != "keras":
        return
    backend = (env.keras_backend or "tensorflow").removesuffix("-cpu").removesuffix("-gpu")
    if backend == "tensorflow":
        missing = [] if tensorflow_version(env) else ["tensorflow"]
    else:
        missing = [
            d for d in BACKEND_DISTRIBUTIONS.get(backend, (backend,)) if not env.version_of(d)
        ]
    if not missing:
        return
    fix_list = [fixes.install_command(env, *missing)]
    if env.keras_backend_source == "KERAS_BACKEND":
        fix_list += fixes.env_fix("KERAS_BACKEND", "jax" if env.version_of("jax") else "tensorflow")
    yield finding(
        "ED407",
        Severity.ERROR,
        f"Keras {rt.version} runs on the '{env.keras_backend}' backend (set by "
        f"{env.keras_backend_source}), but {', '.join(missing)} is not installed: "
        "`import keras` fails.",
        evidence=(("backend", env.keras_backend), ("set by", env.keras_backend_source)),
        fixes=fix_list,
    )


def check_no_keras(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED409: nothing in the environment can load a Keras/TensorFlow model.

    Yields:
        ED409 finding(s) for this pair, if any.
    """
    rt = effective_keras(env)
    if rt.generation is not None:
        return
    tf = rt.tensorflow
    if tf and (
        (legacy_keras_requested(env) and key(tf) >= (2, 15, 0))
        or major(env.version_of("keras")) == 3
    ):
        return  # ED402 / ED403 say what is wrong
    if model is None and not rt.tensorflow and not env.version_of("keras"):
        yield finding("ED409", Severity.INFO, f"No Keras or TensorFlow here ({rt.problem}).")
        return
    yield finding(
        "ED409",
        Severity.ERROR,
        f"No usable Keras in this environment: {rt.problem}.",
        evidence=(
            ("tensorflow", rt.tensorflow or "not installed"),
            ("keras", env.version_of("keras") or "not installed"),
            ("tf-keras", env.version_of("tf-keras") or "not installed"),
        ),
        fixes=_install_keras(env, tf),
    )


def _install_keras(env: Environment, tf: Optional[str]) -> list[Fix]:
    """The Keras that fits the installed TensorFlow, or TensorFlow itself when absent."""
    rel = tables.tf_release(tf) if tf else None
    if rel is not None and rel.keras_generation == 2:
        return [fixes.install_command(env, f"keras{rel.keras.removeprefix('keras')}")]
    if rel is not None:
        target = fixes.keras_target(env, None, tf)
        return [fixes.install_command(env, f"keras=={target}")] if target else []
    keras = env.version_of("keras")
    keras2 = tables.tf_release(keras) if major(keras) == 2 else None
    if keras2 is not None:  # keras 2.x is tf.keras of the TensorFlow minor with its number
        return [fixes.install_command(env, f"{fixes.tensorflow_dist(env)}=={keras2.minor}.*")]
    target_tf = fixes.tensorflow_target(env, keras3=True)
    if target_tf is None:
        return [fixes.note(f"no TensorFlow release is tested on Python {env.python_version}")]
    return [fixes.install_command(env, f"{fixes.tensorflow_dist(env)}=={target_tf.minor}.*")]
