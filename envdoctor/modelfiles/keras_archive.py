"""Read a Keras v3 ``.keras`` archive (a zip) or its directory form, without extracting it.

Only the zip central directory and the two small JSON members (``metadata.json``,
``config.json``) are read, each with a size cap; the weights member is known only by its
directory entry.  Nothing is extracted, imported or executed.
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
from typing import BinaryIO, Optional

from envdoctor.errors import ModelFileError
from envdoctor.modelfiles import limits
from envdoctor.modelfiles.config import (
    ConfigSummary,
    describe,
    load_json_bounded,
    needs_extras,
    walk_config,
    with_config,
)
from envdoctor.modelfiles.safe_open import open_regular, read_limited
from envdoctor.types import ConfigDialect, ModelFormat, ModelInfo

WEIGHTS_MEMBERS = ("model.weights.h5", "model.weights.npz", "variables.h5")
"""Weights member names, in the order looked for (``variables.h5``: keras 2.11)."""

MAX_CENTRAL_DIRECTORY_BYTES = limits.MAX_ZIP_MEMBERS * 1024
"""Largest zip central directory read (bytes); ~1 KiB per member is generous."""

RATIO_CHECK_FLOOR = 1024 * 1024
"""Members declaring fewer bytes than this are never treated as zip bombs (bytes)."""

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_EOCD_SIZE = 22
_DRIVE = re.compile(r"^[A-Za-z]:")
_MAX_NOTED = 5


def read_keras_archive(path: str) -> ModelInfo:
    """Read a ``.keras`` zip (or a Keras 3 model directory holding ``config.json``).

    Args:
        path: the archive file, or a directory with ``config.json`` + ``metadata.json``.

    Returns:
        A :class:`ModelInfo` with ``format=KERAS_ARCHIVE`` and ``loadable=True``, the config
        walk, ``keras_version``/``date_saved`` from ``metadata.json``, ``weights_member``
        and ``weights_bytes`` (uncompressed size from the zip directory, bytes).

    Raises:
        ModelFileError: the file cannot be read, is not a zip, is truncated or corrupt,
            has more than ``limits.MAX_ZIP_MEMBERS`` members, lacks ``config.json``, or a
            JSON member is over ``limits.MAX_JSON_BYTES``, over the compression ratio
            limit, not UTF-8, too deep or not valid JSON.
    """
    if os.path.isdir(path):
        return _read_directory(path)
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            _check_end_record(fh, size, path)
            with zipfile.ZipFile(fh) as zf:
                return _read_zip(path, size, zf)
    except ModelFileError:
        raise
    except Exception as exc:  # a hostile zip can fail in many ways: one clear line
        reason = str(exc) or type(exc).__name__
        raise ModelFileError(path, f"not a readable .keras archive: {reason}") from None


def _check_end_record(fh: BinaryIO, size: int, path: str) -> None:
    """Bound the central directory (member count, bytes) before zipfile parses it."""
    tail_len = min(size, _EOCD_SIZE + 65535)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    pos = tail.rfind(_EOCD)
    if pos < 0 or len(tail) - pos < _EOCD_SIZE:
        raise ModelFileError(
            path, "not a readable .keras archive: no zip end record (truncated or not a zip)"
        )
    fields = struct.unpack("<4s4H2LH", tail[pos : pos + _EOCD_SIZE])
    members, cd_size = int(fields[4]), int(fields[5])
    if members == 0xFFFF or cd_size == 0xFFFFFFFF or fields[6] == 0xFFFFFFFF:
        loc = pos - 20
        if loc >= 0 and tail[loc : loc + 4] == _EOCD64_LOCATOR:
            offset = int(struct.unpack("<Q", tail[loc + 8 : loc + 16])[0])
            if offset + 56 <= size:
                fh.seek(offset)
                record = fh.read(56)
                if record[:4] == _EOCD64:
                    members, cd_size = (int(x) for x in struct.unpack("<QQ", record[32:48]))
    if members > limits.MAX_ZIP_MEMBERS:
        raise ModelFileError(
            path, f"zip declares {members} members, over the {limits.MAX_ZIP_MEMBERS} limit"
        )
    if cd_size > MAX_CENTRAL_DIRECTORY_BYTES or cd_size > size:
        raise ModelFileError(
            path, f"not a readable .keras archive: zip directory of {cd_size} bytes is implausible"
        )


def _unsafe(name: str) -> bool:
    """True for member names that would escape an extraction directory."""
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or bool(_DRIVE.match(name)) or ".." in parts


def read_member_json(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> object:
    """Parse one JSON member of an archive with the reader's bounds.

    Args:
        zf: the open archive.
        info: the member.
        path: the archive path, for messages.

    Returns:
        The parsed JSON value.

    Raises:
        ModelFileError: the member declares more than ``limits.MAX_JSON_BYTES`` bytes,
            expands more than ``limits.MAX_ZIP_RATIO`` times, holds more than it declares,
            or is not bounded, valid UTF-8 JSON (see ``load_json_bounded``).
    """
    return _read_member(zf, info, path)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> object:
    """Parse one small JSON member with declared-size, ratio and read caps."""
    name, declared = info.filename, info.file_size
    if declared > limits.MAX_JSON_BYTES:
        raise ModelFileError(
            path, f"{name} declares {declared} bytes, over the {limits.MAX_JSON_BYTES}-byte limit"
        )
    if declared > RATIO_CHECK_FLOOR and declared > limits.MAX_ZIP_RATIO * max(
        info.compress_size, 1
    ):
        raise ModelFileError(
            path,
            f"{name} expands {declared} bytes from {info.compress_size} "
            f"(ratio over {limits.MAX_ZIP_RATIO}): refusing a possible zip bomb",
        )
    with zf.open(info) as fh:
        data = fh.read(declared + 1)  # ZipExtFile stops at the declared size; CRC is checked
    if len(data) > declared:
        raise ModelFileError(path, f"{name} is larger than its declared {declared} bytes")
    return load_json_bounded(data, name, path)


def _read_zip(path: str, size: int, zf: zipfile.ZipFile) -> ModelInfo:
    infos = zf.infolist()
    if len(infos) > limits.MAX_ZIP_MEMBERS:
        raise ModelFileError(path, f"zip has more than {limits.MAX_ZIP_MEMBERS} members")
    notes: list[str] = []
    members: dict[str, zipfile.ZipInfo] = {}
    unsafe = [i.filename for i in infos if _unsafe(i.filename)]
    for name in unsafe[:_MAX_NOTED]:
        notes.append(f"member {name!r} has an unsafe path (absolute or '..'): ignored")
    if len(unsafe) > _MAX_NOTED:
        notes.append(f"{len(unsafe) - _MAX_NOTED} more members with unsafe paths ignored")
    for info in infos:
        if not _unsafe(info.filename):
            members.setdefault(info.filename, info)
    if "config.json" not in members:
        raise ModelFileError(path, "not a readable .keras archive: no config.json member")
    meta_info = members.get("metadata.json")
    metadata = _read_member(zf, meta_info, path) if meta_info is not None else None
    config = _read_member(zf, members["config.json"], path)
    weights = next((m for m in WEIGHTS_MEMBERS if m in members), None)
    weights_bytes = members[weights].file_size if weights else None
    assets = sum(1 for n in members if n.startswith("assets/") and not n.endswith("/"))
    known = {"config.json", "metadata.json", *WEIGHTS_MEMBERS}
    other = [n for n in members if n not in known and not n.startswith("assets/")]
    return _build(path, size, metadata, config, (weights, weights_bytes, assets, other, notes))


def _read_file_bounded(path: str, file: str) -> object:
    """Read and parse a JSON file of a model directory, size-checked first."""
    size = os.path.getsize(file)
    name = os.path.basename(file)
    if size > limits.MAX_JSON_BYTES:
        raise ModelFileError(
            path, f"{name} is {size} bytes, over the {limits.MAX_JSON_BYTES}-byte limit"
        )
    with open_regular(file) as fh:
        data = read_limited(fh, limits.MAX_JSON_BYTES)
    return load_json_bounded(data, name, path)


def _read_directory(path: str) -> ModelInfo:
    """Read the Keras 3 directory form: ``config.json``, ``metadata.json``, weights, assets/."""
    config_file = os.path.join(path, "config.json")
    if not os.path.isfile(config_file):
        raise ModelFileError(path, "not a Keras model directory: no config.json")
    try:
        entries = {e.name: e for e in os.scandir(path)}
        meta_file = os.path.join(path, "metadata.json")
        metadata = _read_file_bounded(path, meta_file) if os.path.isfile(meta_file) else None
        config = _read_file_bounded(path, config_file)
        weights = next((m for m in WEIGHTS_MEMBERS if m in entries), None)
        weights_bytes = entries[weights].stat(follow_symlinks=False).st_size if weights else None
        assets_dir = os.path.join(path, "assets")
        assets = len(os.listdir(assets_dir)) if os.path.isdir(assets_dir) else 0
        size = sum(e.stat(follow_symlinks=False).st_size for e in entries.values() if e.is_file())
    except OSError as exc:
        raise ModelFileError(path, f"cannot read model directory: {exc}") from None
    known = {"config.json", "metadata.json", "assets", *WEIGHTS_MEMBERS}
    other = [n for n in entries if n not in known]
    return _build(path, size, metadata, config, (weights, weights_bytes, assets, other, []))


_Layout = tuple[Optional[str], Optional[int], int, list[str], list[str]]
"""(weights member, its bytes, asset count, other member names, notes)."""


def _build(path: str, size: int, metadata: object, config: object, layout: _Layout) -> ModelInfo:
    weights, weights_bytes, assets, other, notes = layout
    keras_version = date_saved = None
    if isinstance(metadata, dict):
        kv, ds = metadata.get("keras_version"), metadata.get("date_saved")
        keras_version = kv if isinstance(kv, str) else None
        date_saved = ds if isinstance(ds, str) else None
    elif metadata is None:
        notes.append("no metadata.json: the saving Keras version is not recorded")
    else:
        notes.append("metadata.json is not a JSON object")
    summary = walk_config(config, where=path, keras_version=keras_version)
    if weights is None:
        notes.append("no weights member (model.weights.h5 / .npz): the archive holds no weights")
    elif weights == "variables.h5":
        notes.append("weights member variables.h5: written by keras 2.11 (experimental format)")
    if assets:
        notes.append(f"assets/ holds {assets} file(s) (e.g. vocabularies) read on load")
    if other:
        shown = ", ".join(other[:_MAX_NOTED])
        notes.append(f"unexpected members: {shown}{' ...' if len(other) > _MAX_NOTED else ''}")
    version = f"Keras {keras_version}" if keras_version else "Keras (version not recorded)"
    info = ModelInfo(
        path=path,
        format=ModelFormat.KERAS_ARCHIVE,
        loadable=True,
        summary=f"{version} .keras archive: {describe(summary)}",
        needs=_needs(summary, keras_version),
        size_bytes=size,
        keras_version=keras_version,
        date_saved=date_saved,
        weights_member=weights,
        weights_bytes=weights_bytes,
        notes=tuple(notes),
    )
    return with_config(info, summary)


def _needs(summary: ConfigSummary, keras_version: Optional[str]) -> str:
    """One line saying which Keras loads this archive, plus custom code / Lambda needs."""
    saved = f" {keras_version}" if keras_version else ""
    module = summary.model_module or ""
    if summary.dialect is ConfigDialect.KERAS3:
        base = f"Keras{saved or ' 3'} or a newer Keras 3 (keras.saving.load_model)"
    elif module.startswith("tf_keras"):
        base = f"tf-keras{saved} with TF_USE_LEGACY_KERAS=1; Keras 3 cannot import {module}"
    elif summary.dialect in (ConfigDialect.TF_KERAS_2_13, ConfigDialect.KERAS2):
        base = (
            f"tf.keras{saved} (TensorFlow <= 2.15) or tf-keras with TF_USE_LEGACY_KERAS=1;"
            f" Keras 3 usually cannot load it ({module or 'Keras 2 config'})"
        )
    else:
        base = "a Keras that reads the v3 .keras format (keras >= 2.12)"
    return base + needs_extras(summary)
