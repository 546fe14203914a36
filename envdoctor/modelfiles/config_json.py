"""Read a Keras model config saved on its own (``model.to_json()``, ``save_model_config``)."""

from __future__ import annotations

from envdoctor.errors import ModelFileError
from envdoctor.modelfiles.config import (
    MODEL_CLASSES,
    describe,
    is_serialized_object,
    load_json_bounded,
    needs_extras,
    walk_config,
    with_config,
)
from envdoctor.types import ModelFormat, ModelInfo

CONFIG_JSON_NEEDS = (
    "weights from elsewhere: build with model_from_json / load_model_config, then load_weights"
)
"""``needs`` of a config saved without weights."""


def looks_like_keras_config(obj: object) -> bool:
    """Return True when parsed JSON looks like a whole-model Keras config.

    Accepted: ``{"class_name", "config"}`` where the config is a Keras 1/2.0 Sequential
    list of layers, holds a ``layers`` list, or the class is ``Sequential``/``Functional``/
    ``Model``; or a Keras 3 serialized object carrying ``compile_config``/``build_config``;
    or a Keras 2 ``to_json()`` document (``keras_version`` key).  A lone layer config is
    not accepted.
    """
    if not is_serialized_object(obj):
        return False
    assert isinstance(obj, dict)
    config = obj.get("config")
    if isinstance(config, list):
        return bool(config) and all(is_serialized_object(x) for x in config[:3])
    if not isinstance(config, dict):
        return False
    if isinstance(config.get("layers"), list) or obj.get("class_name") in MODEL_CLASSES:
        return True
    return "keras_version" in obj or "compile_config" in obj


def read_config_json(path: str, data: bytes) -> ModelInfo:
    """Read a model config JSON document (no weights).

    Args:
        path: the file path (for messages and ``ModelInfo.path``).
        data: the file's bytes, already read by the caller.

    Returns:
        A :class:`ModelInfo` with ``format=KERAS_CONFIG_JSON``, ``loadable=False``, the
        config walk, ``keras_version``/``backend`` when ``to_json()`` recorded them and
        ``size_bytes=len(data)`` (bytes).

    Raises:
        ModelFileError: the bytes are over ``limits.MAX_JSON_BYTES``, not UTF-8, too deep,
            not valid JSON, or not a Keras model config.
    """
    obj = load_json_bounded(data, "model config JSON", path)
    if not looks_like_keras_config(obj):
        raise ModelFileError(path, 'not a Keras model config (no "class_name" + "config")')
    assert isinstance(obj, dict)
    raw_version, raw_backend = obj.get("keras_version"), obj.get("backend")
    keras_version = raw_version if isinstance(raw_version, str) else None
    backend = raw_backend if isinstance(raw_backend, str) else None
    summary = walk_config(obj, where=path, keras_version=keras_version)
    version = f"Keras {keras_version}" if keras_version else "Keras"
    info = ModelInfo(
        path=path,
        format=ModelFormat.KERAS_CONFIG_JSON,
        loadable=False,
        summary=f"{version} model config JSON without weights: {describe(summary)}",
        needs=CONFIG_JSON_NEEDS + needs_extras(summary),
        size_bytes=len(data),
        keras_version=keras_version,
        backend=backend,
    )
    return with_config(info, summary)
