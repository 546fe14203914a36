"""Facts some checks need that :class:`~envdoctor.types.ModelInfo` does not carry (yet).

Two bounded metadata reads, nothing executed: the ``training_config`` attribute of a legacy
``.h5`` (its loss names, for ED109) and the Lambda bytecode headers of ``.h5``/``.keras``
configs (which CPython marshal layout wrote them, for ED201).  The bytecode is base64-
decoded and only its first bytes are inspected; ``marshal`` is never called.

CPython code-object headers (``Python/marshal.c`` ``w_object`` for code objects): after the
type byte ``c`` (0x63, or 0xe3 with FLAG_REF) come 32-bit fields -- 4 in Python 2
(argcount, nlocals, stacksize, flags), 5 in 3.0-3.7 (+kwonlyargcount), 6 in 3.8-3.10
(+posonlyargcount), 5 in 3.11+ (nlocals dropped) -- then the code bytes as a string object
(``s``, 0x73/0xf3).  Python <= 3.10 sets CO_NOFREE (0x40) on functions without free
variables; 3.11 removed the flag.
"""

from __future__ import annotations

import base64
import binascii
import struct
import zipfile
from typing import Any, Optional

from envdoctor.types import ModelFormat, ModelInfo

MAX_CONFIG_BYTES = 64 * 1024 * 1024
"""Largest config attribute / member read (bytes)."""

MAX_CODE_HEADER = 64
"""Bytes of a base64-decoded Lambda code object inspected."""


def _h5_attr(path: str, name: str) -> Any:
    """Parse a root JSON attribute with the readers' bounds (HDF5 read in a child process)."""
    from envdoctor.modelfiles.config import load_json_bounded  # noqa: PLC0415  (startup: `envs` loads the checks, not the readers)
    from envdoctor.modelfiles.hdf5 import read_text_attribute  # noqa: PLC0415  (startup: the HDF5 reader loads only for .h5)

    data = read_text_attribute(path, name)
    if data is None or len(data) > MAX_CONFIG_BYTES:
        return None
    return load_json_bounded(data, name, path)


def _archive_config(path: str) -> Any:
    """Parse ``config.json`` with the readers' bounds (declared size, ratio, depth...)."""
    from envdoctor.modelfiles.keras_archive import read_member_json  # noqa: PLC0415  (startup: `envs` loads the checks, not the readers)

    with zipfile.ZipFile(path) as z:
        info = z.getinfo("config.json")
        if info.file_size > MAX_CONFIG_BYTES:
            return None
        return read_member_json(z, info, path)


def training_config(model: ModelInfo) -> Optional[dict[str, Any]]:
    """Return the parsed ``training_config`` of a legacy ``.h5``, None when absent/unreadable."""
    if model.format is not ModelFormat.KERAS_H5 or not model.has_training_config:
        return None
    try:
        value = _h5_attr(model.path, "training_config")
    except Exception:
        return None
    return value if isinstance(value, dict) else None


def model_config(model: ModelInfo) -> Optional[dict[str, Any]]:
    """Return the parsed model config of a ``.h5`` or ``.keras`` file, None when unreadable."""
    try:
        if model.format is ModelFormat.KERAS_H5:
            value = _h5_attr(model.path, "model_config")
        elif model.format is ModelFormat.KERAS_ARCHIVE:
            value = _archive_config(model.path)
        else:
            return None
    except Exception:
        return None
    return value if isinstance(value, dict) else None


def lambda_codes(config: Any) -> list[str]:
    """Return the base64 bytecode strings of every Lambda in a parsed config (iterative walk)."""
    found: list[str] = []
    stack: list[Any] = [config]
    seen = 0
    while stack and seen < 1_000_000:
        seen += 1
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("class_name") == "__lambda__" and isinstance(node.get("config"), dict):
                code = node["config"].get("code")
                if isinstance(code, str):
                    found.append(code)
            elif node.get("class_name") == "Lambda" and isinstance(node.get("config"), dict):
                fn = node["config"].get("function")
                if isinstance(fn, list) and fn and isinstance(fn[0], str):
                    found.append(fn[0])
                elif isinstance(fn, str) and node["config"].get("function_type") == "lambda":
                    found.append(fn)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def marshal_families(code_b64: str) -> Optional[set[str]]:
    """Return the CPython marshal families that could have written this code object.

    Args:
        code_b64: a Lambda's base64 ``code`` string (Keras ``func_dump``).

    Returns:
        A subset of ``{"2.x", "3.0-3.7", "3.8-3.10", "3.11+"}``, or None when the header
        is not a code object.
    """
    if code_b64[:1] in ("c", "\xe3") and any(ord(ch) < 0x20 for ch in code_b64[1:9]):
        raw = code_b64[:MAX_CODE_HEADER].encode("latin-1", "ignore")  # Keras 2.0 on Python 2: raw
    else:
        text = b"".join(code_b64.replace("\\n", "\n").encode("ascii", "ignore").split())
        try:
            raw = base64.b64decode(text[: (MAX_CODE_HEADER // 3) * 4])
        except (binascii.Error, ValueError):
            return None
    if len(raw) < 30 or raw[0] & 0x7F != 0x63:
        return None
    string_types = {0x73, 0x74, 0x75, 0x61, 0x41, 0x7A, 0x5A}

    def is_string(offset: int) -> bool:
        return raw[offset] & 0x7F in string_types

    if is_string(1 + 4 * 6):
        return {"3.8-3.10"}
    if is_string(1 + 4 * 5):
        flags = struct.unpack_from("<I", raw, 1 + 4 * 4)[0]
        return {"3.0-3.7"} if flags & 0x40 else {"3.11+", "3.0-3.7"}
    if is_string(1 + 4 * 4):
        return {"2.x"}
    return None
