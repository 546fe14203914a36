r"""Find out what a model path is, by content first and by name second, and read it.

:func:`read_model` is the one entry point: every path yields a :class:`ModelInfo` or a
:class:`ModelFileError` with one clear line; nothing in the file is executed, imported or
unpickled.  Format facts used here, and their sources:

* Zip local-file-header magic ``PK\x03\x04``; end-of-central-directory record ``PK\x05\x06``
  with the total entry count at offset 10 (PKWARE APPNOTE.TXT §4.3.7, §4.3.16).
* HDF5 superblock signature ``\x89HDF\r\n\x1a\n`` at offset 0, 512, 1024, 2048, ... (a user
  block is a power of two >= 512) (HDF5 File Format Specification, "Superblock").
* TFLite: a FlatBuffer whose file identifier ``TFL3`` sits at bytes 4..8
  (``tensorflow/lite/schema/schema.fbs``: ``file_identifier "TFL3"``; seen in ``pm-042``).
* TensorFlow checkpoint ``<prefix>.index`` + ``<prefix>.data-NNNNN-of-MMMMM``
  (``tensorflow/core/util/tensor_bundle``); the index is a LevelDB-format table ending in the
  magic ``0xdb4775248b80fb57`` little endian (``tensorflow/core/lib/io/format.h``
  ``kTableMagicNumber``, from LevelDB ``table/format.h``; seen in ``pm-040``/``pm-048``).
  Object-based (TF2) checkpoints hold the key ``_CHECKPOINTABLE_OBJECT_GRAPH``
  (``tensorflow/python/checkpoint``'s ``OBJECT_GRAPH_PROTO_KEY``; seen in ``pm-040``).
* TF1 SessionBundle export: ``export`` + ``export.meta`` (+ ``checkpoint``)
  (``tensorflow/contrib/session_bundle/constants.py``; seen in ``pm-048``).
* Git LFS pointer: ``version https://git-lfs.github.com/spec/v1`` then ``oid sha256:<hex>`` and
  ``size <bytes>`` lines, under 1024 bytes (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md).
* Pickle: protocol 2+ starts with the PROTO opcode ``0x80`` and the protocol number (2..5)
  (``Lib/pickletools.py``); joblib's compressed files start with ``ZF`` (before 0.9.3),
  ``\x78`` (zlib), ``\x1f\x8b`` (gzip), ``BZ`` (bz2), ``\xfd7zXZ`` (xz), ``\x5d\x00`` (lzma),
  ``\x04\x22\x4d\x18`` (lz4) (``joblib/compressor.py``).  Pickles are only scanned with
  :func:`pickletools.genops` over a bounded prefix, never loaded.
* NumPy ``.npy``: ``\x93NUMPY`` (NEP 1); safetensors: an 8-byte little-endian header length,
  then a JSON header (https://github.com/huggingface/safetensors, "Format").
* GraphDef: ``repeated NodeDef node = 1`` with ``NodeDef { string name = 1; string op = 2; }``,
  ``FunctionDefLibrary library = 2``, ``VersionDef versions = 4`` (compat-facts §2.4).
"""

from __future__ import annotations

import bz2
import dataclasses
import errno
import io
import lzma
import os
import re
import stat
import zipfile
import zlib
from typing import Any, Callable, Optional

from envdoctor.errors import ModelFileError
from envdoctor.modelfiles.config import load_json_bounded
from envdoctor.modelfiles.lfs import GIT_LFS_PREFIX, LFS_NEEDS, lfs_pointer_info
from envdoctor.modelfiles.limits import (
    MAX_JSON_BYTES,
    MAX_PB_BYTES,
    MAX_ZIP_MEMBERS,
    SNIFF_BYTES,
)
from envdoctor.modelfiles.protowire import (
    WIRE_LEN,
    WIRE_VARINT,
    ProtoDecodeError,
    field_budget,
    scan,
)
from envdoctor.modelfiles.safe_open import (
    directory_size,
    open_regular,
    read_bounded,
    read_limited,
)
from envdoctor.types import ModelFormat, ModelInfo

ZIP_MAGIC = b"PK\x03\x04"
ZIP_EMPTY_MAGIC = b"PK\x05\x06"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
HDF5_OFFSETS = (0, 512, 1024, 2048)
TFLITE_IDENTIFIER = b"TFL3"
TABLE_MAGIC = (0xDB4775248B80FB57).to_bytes(8, "little")
OBJECT_GRAPH_KEY = b"_CHECKPOINTABLE_OBJECT_GRAPH"
NPY_MAGIC = b"\x93NUMPY"

PICKLE_SCAN_BYTES = 1024 * 1024
"""Bytes of a pickle (after decompression) scanned for GLOBAL/STACK_GLOBAL opcodes."""

COMPRESSED_READ_BYTES = 1024 * 1024
"""Compressed bytes read from a joblib file to decompress its head."""

MAX_INDEX_SCAN_BYTES = 16 * 1024 * 1024
"""Bytes of a checkpoint ``.index`` searched for the object-graph key."""

MAX_LISTED = 8
"""Entries named in a summary that lists directory or zip contents."""

_SHARD = re.compile(r"^(?P<prefix>.+)\.data-(?P<index>\d{5})-of-(?P<count>\d{5})$")
_OP_NAME = re.compile(rb"^[A-Za-z0-9_>.][A-Za-z0-9_>./-]*$")
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".sav", ".p", ".pck", ".pcl", ".dill")
_KERAS_SUFFIXES = (".keras", ".h5", ".hdf5", ".pb", ".tflite", ".json")
_JOBLIB_COMPRESSIONS: tuple[tuple[bytes, str], ...] = (
    (b"ZF", "zlib (joblib < 0.9.3)"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x5d\x00\x00", "lzma"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"\x78", "zlib"),
)

PICKLE_NEEDS = (
    "the library that wrote it (pickle.load / joblib.load), and only for a trusted file: "
    "unpickling runs arbitrary code; it is not a Keras save format"
)
CHECKPOINT_NEEDS = (
    "the model's code, then tf.train.Checkpoint(model=...).restore(prefix) or "
    "model.load_weights(prefix) (Keras 2)"
)
SESSION_BUNDLE_NEEDS = (
    "TF 1.x SessionBundle; not loadable by TF 2 / Keras; re-export with TF 1.x as a SavedModel"
)
TFLITE_NEEDS = "tf.lite.Interpreter / ai_edge_litert; not a Keras model"
FROZEN_GRAPH_NEEDS = "tf.compat.v1 import_graph_def; not loadable with load_model"


# --------------------------------------------------------------------------- small helpers


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f", ... ({len(names)} entries)" if len(names) > MAX_LISTED else "")


def _os_reason(exc: OSError) -> str:
    """One line for an OSError: permission denied, symlink loop, ..."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (too many levels of symbolic links)"
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long"
    if exc.errno == errno.ENOTDIR:
        return "a path component is not a directory"
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    return exc.strerror or f"{type(exc).__name__}: {exc}"


def _with_notes(info: ModelInfo, *notes: str) -> ModelInfo:
    extra = tuple(n for n in notes if n and n not in info.notes)
    return dataclasses.replace(info, notes=(*info.notes, *extra)) if extra else info


def _unknown(path: str, summary: str, size: int, *notes: str, needs: str = "") -> ModelInfo:
    return ModelInfo(
        path=path,
        format=ModelFormat.UNKNOWN,
        loadable=False,
        summary=summary,
        needs=needs,
        size_bytes=size,
        notes=tuple(notes),
    )


def _read_head(path: str, size: int = SNIFF_BYTES) -> bytes:
    with open_regular(path) as handle:
        return read_limited(handle, size)[:size]


def _read_tail(path: str, size: int) -> bytes:
    with open_regular(path) as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        handle.seek(max(0, end - size))
        return handle.read(size)


def _read_all(path: str, limit: int, what: str) -> bytes:
    try:
        return read_bounded(path, limit)
    except ValueError as exc:
        raise ModelFileError(path, f"{what} too large to read: {exc}") from exc


def describe_bytes(head: bytes) -> str:
    """Say in a few words what the first bytes of a file look like.

    Args:
        head: the first bytes (up to ``SNIFF_BYTES``).

    Returns:
        e.g. ``"text starting with 'hello world'"`` or
        ``"binary data starting with 3f 12 00 ..."``.
    """
    sample = head[:64]
    text = ""
    for cut in range(4):  # the sample may end inside a multi-byte character
        try:
            text = sample[: len(sample) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    if text and all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        first_line = text.strip().splitlines()[0] if text.strip() else ""
        return f"text starting with {first_line[:48]!r}"
    return "binary data starting with " + " ".join(f"{b:02x}" for b in head[:12])


# --------------------------------------------------------------------------- git lfs


def _lfs_model(path: str, head: bytes, size: int) -> ModelInfo:
    oid, real_size = lfs_pointer_info(head)
    real = f"{real_size} bytes ({_human(real_size)})" if real_size is not None else "size unknown"
    return ModelInfo(
        path=path,
        format=ModelFormat.GIT_LFS_POINTER,
        loadable=False,
        summary=(
            f"a git-lfs pointer file (oid {oid or 'unknown'}, real file {real}), not the model: "
            "the repository was cloned without git-lfs"
        ),
        needs=LFS_NEEDS,
        size_bytes=size,
    )


# --------------------------------------------------------------------------- checkpoints


def _shards(directory: str, prefix_name: str) -> tuple[list[str], int]:
    """Return ``(data shard file names present, shard count they declare (0 when none))``."""
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return [], 0
    found = []
    count = 0
    for name in names:
        match = _SHARD.match(name)
        if match and match.group("prefix") == prefix_name:
            found.append(name)
            count = max(count, int(match.group("count")))
    return sorted(found), count


def _is_table(path: str) -> bool:
    """True when ``path`` ends in the LevelDB table magic (a checkpoint ``.index``)."""
    try:
        return os.path.getsize(path) >= 48 and _read_tail(path, 8) == TABLE_MAGIC
    except OSError:
        return False


def _checkpoint_prefix(path: str) -> Optional[str]:
    """Return the checkpoint prefix ``path`` names (a prefix, ``.index``, ``.data-*``, ``.meta``).

    A prefix counts when ``<prefix>.index`` exists and either data shards sit beside it or the
    index ends in the table magic (so a checkpoint with lost shards is still recognised).
    """
    candidates = [path]
    base = os.path.basename(path)
    match = _SHARD.match(base)
    if match:
        candidates.insert(0, os.path.join(os.path.dirname(path), match.group("prefix")))
    for suffix in (".index", ".meta"):
        if path.endswith(suffix):
            candidates.insert(0, path[: -len(suffix)])
    for prefix in candidates:
        index = prefix + ".index"
        if os.path.isfile(index):
            shards, _ = _shards(os.path.dirname(prefix), os.path.basename(prefix))
            if shards or _is_table(index):
                return prefix
    return None


def _checkpoint_model(path: str, prefix: str, size: int, *notes: str) -> ModelInfo:
    directory, name = os.path.split(prefix)
    shards, count = _shards(directory, name)
    index = prefix + ".index"
    try:
        total = os.path.getsize(index) + sum(
            os.path.getsize(os.path.join(directory, s)) for s in shards
        )
    except OSError:
        total = size
    if os.path.isdir(path):
        total = size  # a directory's size is the sum of everything in it
    kind = "name-based (TF1 tf.train.Saver)"
    extra = [n for n in notes if n]
    try:
        index_bytes = os.path.getsize(index)
        with open_regular(index) as handle:
            blob = read_limited(handle, MAX_INDEX_SCAN_BYTES)[:MAX_INDEX_SCAN_BYTES]
        if OBJECT_GRAPH_KEY in blob:
            kind = "object-based (TF2 tf.train.Checkpoint / Keras save_weights)"
        if index_bytes >= 8 and _read_tail(index, 8) != TABLE_MAGIC:
            extra.append(f"{os.path.basename(index)} does not end in the table magic: corrupt?")
    except OSError as exc:
        extra.append(f"{os.path.basename(index)} cannot be read: {_os_reason(exc)}")
    present = {int(m.group("index")) for s in shards if (m := _SHARD.match(s))}
    missing = sorted(set(range(count)) - present)
    if not shards:
        extra.append(f"no {name}.data-* shard beside {name}.index: restoring fails")
    elif missing:
        extra.append(
            f"{len(missing)} of {count} data shard(s) missing (e.g. "
            f"{name}.data-{missing[0]:05d}-of-{count:05d}): restoring fails"
        )
    if os.path.isfile(prefix + ".meta"):
        extra.append(f"{name}.meta holds the TF1 MetaGraphDef saved with the checkpoint")
    return ModelInfo(
        path=path,
        format=ModelFormat.TF_CHECKPOINT,
        loadable=False,
        summary=(
            f"TensorFlow checkpoint {name!r}, {kind}: {name}.index + {count} data shard(s), "
            f"{_human(total)}; weights only, no model architecture"
        ),
        needs=CHECKPOINT_NEEDS,
        size_bytes=total,
        notes=tuple(extra),
    )


def _directory_checkpoint(path: str, names: list[str]) -> Optional[str]:
    """Pick the checkpoint prefix inside a directory (the ``checkpoint`` file's, else newest)."""
    indexed = [n[: -len(".index")] for n in names if n.endswith(".index")]
    prefixes = sorted(p for p in indexed if _shards(path, p)[0]) or sorted(
        p for p in indexed if _is_table(os.path.join(path, p + ".index"))
    )
    if not prefixes:
        return None
    if "checkpoint" in names:
        try:
            state = _read_head(os.path.join(path, "checkpoint"), 64 * 1024)
            text = state.decode("utf-8", "replace")
        except OSError:
            text = ""
        match = re.search(r'^model_checkpoint_path:\s*"([^"]*)"', text, re.MULTILINE)
        if match:
            wanted = os.path.basename(match.group(1))
            if wanted in prefixes:
                return os.path.join(path, wanted)
    newest = max(prefixes, key=lambda p: os.path.getmtime(os.path.join(path, p + ".index")))
    return os.path.join(path, newest)


# --------------------------------------------------------------------------- pickles


def _scan_pickle(data: bytes) -> tuple[list[str], bool]:
    """List the modules named by GLOBAL/INST/STACK_GLOBAL opcodes in a pickle prefix.

    Uses :func:`pickletools.genops`, which only decodes opcodes: nothing is imported, no object
    is built.  STACK_GLOBAL's module/name come from the last two strings pushed (directly or
    through the memo).  Any decoding problem (truncation, garbage) just ends the scan.

    Returns:
        ``(module names in first-seen order, at least one opcode decoded)``.
    """
    modules: list[str] = []
    strings: list[str] = []
    memo: dict[int, str] = {}
    next_memo = 0
    valid = False

    def add(module: str) -> None:
        if module and module not in modules:
            modules.append(module)

    import pickletools  # noqa: PLC0415  (startup: with pickle, ~2 ms, only for a pickle file)

    try:
        for opcode, arg, _pos in pickletools.genops(io.BytesIO(data)):
            valid = True
            name = opcode.name
            if name in ("GLOBAL", "INST") and isinstance(arg, str):
                add(arg.split(" ", 1)[0])
            elif name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
                strings.append(str(arg))
            elif name == "MEMOIZE":
                if strings:
                    memo[next_memo] = strings[-1]
                next_memo += 1
            elif name in ("BINPUT", "LONG_BINPUT", "PUT") and isinstance(arg, int):
                if strings:
                    memo[arg] = strings[-1]
            elif name in ("BINGET", "LONG_BINGET", "GET") and isinstance(arg, int):
                if arg in memo:
                    strings.append(memo[arg])
            elif name == "STACK_GLOBAL" and len(strings) >= 2:
                add(strings[-2])
            if name == "STOP":
                break
    except Exception:
        return modules, valid  # truncated or not a pickle: keep what was found
    return modules, valid


def _decompress_head(data: bytes, kind: str) -> Optional[bytes]:
    """Decompress at most ``PICKLE_SCAN_BYTES`` bytes of a compressed stream; None on failure."""
    try:
        if kind.startswith("zlib (joblib"):
            start = data.find(b"\x78", 2)
            if start < 0:
                return None
            return zlib.decompressobj().decompress(data[start:], PICKLE_SCAN_BYTES)
        if kind == "zlib":
            return zlib.decompressobj().decompress(data, PICKLE_SCAN_BYTES)
        if kind == "gzip":
            return zlib.decompressobj(wbits=31).decompress(data, PICKLE_SCAN_BYTES)
        if kind == "bz2":
            return bz2.BZ2Decompressor().decompress(data, PICKLE_SCAN_BYTES)
        if kind in ("xz", "lzma"):
            return lzma.LZMADecompressor().decompress(data, PICKLE_SCAN_BYTES)
    except Exception:
        return None
    return None


def _is_pickle_start(data: bytes) -> bool:
    return len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5


def _pickle_model(path: str, raw: bytes, size: int, compression: Optional[str]) -> ModelInfo:
    modules, _ = _scan_pickle(raw[:PICKLE_SCAN_BYTES])
    protocol = raw[1] if _is_pickle_start(raw) else None
    how = f"protocol {protocol}" if protocol is not None else "protocol 0/1 (text)"
    if compression:
        how += f", {compression}-compressed (joblib)"
    elif any(m.startswith("joblib") for m in modules):
        how += ", joblib"
    found = f"; modules named in it: {', '.join(modules[:MAX_LISTED])}" if modules else ""
    notes = []
    if any(m.split(".")[0] in ("keras", "tf_keras", "tensorflow") for m in modules):
        notes.append(
            "the pickle refers to Keras/TensorFlow classes by module path: unpickling needs "
            "those modules importable under the same names (pickle stores classes by "
            "reference); model.save('x.keras') is the portable format"
        )
    return ModelInfo(
        path=path,
        format=ModelFormat.PICKLE,
        loadable=False,
        summary=f"a Python pickle ({how}), never unpickled by envdoctor{found}",
        needs=PICKLE_NEEDS,
        size_bytes=size,
        notes=tuple(notes),
    )


def _maybe_pickle(path: str, head: bytes, size: int) -> Optional[ModelInfo]:
    if _is_pickle_start(head):
        return _pickle_model(path, _read_head(path, PICKLE_SCAN_BYTES), size, None)
    for magic, kind in _JOBLIB_COMPRESSIONS:
        if not head.startswith(magic):
            continue
        if kind == "zlib" and (len(head) < 2 or (head[0] * 256 + head[1]) % 31 != 0):
            continue  # not a zlib header (RFC 1950: CMF*256+FLG is a multiple of 31)
        compressed = _read_head(path, COMPRESSED_READ_BYTES)
        plain = _decompress_head(compressed, kind)
        if plain is not None and _is_pickle_start(plain):
            return _pickle_model(path, plain, size, kind)
        if kind == "lz4" or plain is None:
            if path.lower().endswith(_PICKLE_SUFFIXES):
                return ModelInfo(
                    path=path,
                    format=ModelFormat.PICKLE,
                    loadable=False,
                    summary=(
                        f"{kind}-compressed data named like a pickle (joblib?); not "
                        "decompressed or unpickled by envdoctor"
                    ),
                    needs=PICKLE_NEEDS,
                    size_bytes=size,
                )
            return _unknown(path, f"{kind}-compressed data, not a model file", size)
        inner = describe_bytes(plain)
        if plain.startswith(HDF5_MAGIC):
            inner = "an HDF5 file"
        elif plain.startswith(ZIP_MAGIC):
            inner = "a zip archive"
        elif plain[4:8] == TFLITE_IDENTIFIER:
            inner = "a TFLite flatbuffer"
        return _unknown(
            path,
            f"{kind}-compressed data holding {inner}, not a model file as it stands",
            size,
            needs="decompress it first, then read the result",
        )
    if path.lower().endswith(_PICKLE_SUFFIXES):
        modules, valid = _scan_pickle(head)
        if valid and (modules or head.rstrip().endswith(b".")):
            return _pickle_model(path, _read_head(path, PICKLE_SCAN_BYTES), size, None)
    return None


# --------------------------------------------------------------------------- protobuf files


def _graphdef_summary(data: bytes) -> Optional[tuple[int, list[str], Optional[int]]]:
    """Check that ``data`` is a GraphDef; return ``(node count, sorted ops, producer)`` or None."""
    nodes = 0
    ops: set[bytes] = set()
    producer: Optional[int] = None
    try:
        for number, wire, value in scan(data):
            if number == 1 and wire == WIRE_LEN and isinstance(value, memoryview):
                name = op = None
                for n, w, v in scan(value, (1, 2)):
                    if w != WIRE_LEN or not isinstance(v, memoryview):
                        return None
                    if n == 1:
                        name = bytes(v)
                    else:
                        op = bytes(v)
                if not name or not op or not _OP_NAME.match(op):
                    return None
                nodes += 1
                ops.add(op)
            elif (number == 2 and wire == WIRE_LEN) or (number == 3 and wire == WIRE_VARINT):
                continue
            elif number == 4 and wire == WIRE_LEN and isinstance(value, memoryview):
                for n, w, v in scan(value, (1,)):
                    if n == 1 and w == WIRE_VARINT and isinstance(v, int):
                        producer = v
            else:
                return None
    except ProtoDecodeError:
        return None
    if nodes == 0:
        return None
    return nodes, sorted(o.decode("utf-8", "replace") for o in ops), producer


def _plausible_protobuf(head: bytes) -> bool:
    """Cheap check on the first bytes before reading a whole file as GraphDef/SavedModel.

    A SavedModel starts with field 1 varint (``08``) then field 2 (``12``); a GraphDef or a
    MetaGraphDef with field 1 length-delimited (``0a``) whose payload starts with a small
    length-delimited field (NodeDef.name ``0a``, MetaInfoDef fields ``0a``/``12``/``22``...).
    """
    if len(head) < 4:
        return False
    if head[0] == 0x08:
        return head[1] < 0x80 and head[2] == 0x12
    if head[0] != 0x0A:
        return False
    pos = 1
    while pos < len(head) and head[pos] & 0x80:
        pos += 1
    return pos + 1 < len(head) and head[pos + 1] in (0x0A, 0x12, 0x1A, 0x22, 0x2A, 0x32)


def _protobuf_model(path: str, size: int) -> Optional[ModelInfo]:
    """Recognise a bare GraphDef or MetaGraphDef file; None when it is neither."""
    data = _read_all(path, MAX_PB_BYTES, "protobuf file")
    graph = _graphdef_summary(data)
    if graph is not None:
        nodes, ops, producer = graph
        made = f"GraphDef producer {producer}" if producer is not None else "producer not recorded"
        placeholders = "Placeholder" in ops
        variables = [o for o in ops if o in ("VariableV2", "Variable", "VarHandleOp")]
        notes = [f"ops: {_listing(ops)}"]
        if variables:
            notes.append("the graph still holds variables (not frozen): it needs a checkpoint")
        return ModelInfo(
            path=path,
            format=ModelFormat.FROZEN_GRAPHDEF,
            loadable=False,
            summary=(
                f"a bare TensorFlow GraphDef ({nodes} nodes, {len(ops)} op types, {made}"
                f"{', with Placeholder inputs' if placeholders else ''}), not a SavedModel"
            ),
            needs=FROZEN_GRAPH_NEEDS,
            size_bytes=size,
            notes=tuple(notes),
        )
    from envdoctor.modelfiles.savedmodel import parse_meta_graph_def, parse_saved_model_pb  # noqa: PLC0415  (startup: the SavedModel reader loads only when needed)

    try:
        _, metas, _ = parse_saved_model_pb(data)
        if metas and (metas[0].tags or metas[0].tensorflow_version):
            version = metas[0].tensorflow_version or "unknown"
            return _unknown(
                path,
                f"a SavedModel protobuf (TensorFlow {version}) under the name "
                f"{os.path.basename(path)!r}",
                size,
                needs=(
                    "TensorFlow loads SavedModels from a directory: put this file in one as "
                    "saved_model.pb, with its variables/ directory"
                ),
            )
    except ProtoDecodeError:
        pass
    try:
        meta, _ = parse_meta_graph_def(data)
    except ProtoDecodeError:
        return None
    if not (meta.tags or meta.tensorflow_version or meta.ops):
        return None
    version = meta.tensorflow_version or "version not recorded"
    return _unknown(
        path,
        f"a TF1 MetaGraphDef (.meta graph, TensorFlow {version}, {len(meta.ops)} op types) "
        "without its checkpoint, not a model Keras can load",
        size,
        needs="tf.compat.v1.train.import_meta_graph plus the matching checkpoint",
    )


# --------------------------------------------------------------------------- zip / json


def _zip_member_count(path: str) -> Optional[int]:
    """Read the entry count from the end-of-central-directory record (None when not found)."""
    tail = _read_tail(path, 65536 + 22)
    at = tail.rfind(ZIP_EMPTY_MAGIC)
    if at < 0 or at + 12 > len(tail):
        return None
    count = int.from_bytes(tail[at + 10 : at + 12], "little")
    return None if count == 0xFFFF else count  # 0xFFFF: ZIP64, zipfile checks further


def _zip_model(path: str, size: int) -> ModelInfo:
    count = _zip_member_count(path)
    if count is not None and count > MAX_ZIP_MEMBERS:
        raise ModelFileError(path, f"zip with {count} members (over the {MAX_ZIP_MEMBERS} limit)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except Exception as exc:  # BadZipFile, EOFError, UnicodeDecodeError (a name flagged
        # UTF-8 that is not), struct.error, ...: a hostile zip fails in many ways, one line
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ModelFileError(path, f"corrupt or truncated zip file: {reason}") from exc
    if len(names) > MAX_ZIP_MEMBERS:
        raise ModelFileError(path, f"zip with {len(names)} members (over the limit)")
    if "config.json" in names:
        from envdoctor.modelfiles.keras_archive import read_keras_archive  # noqa: PLC0415  (startup: a reader loads only for its format)

        info = read_keras_archive(path)
        if not path.lower().endswith(".keras"):
            info = _with_notes(
                info,
                f"a .keras zip archive under the name {os.path.basename(path)!r}: Keras 3's "
                "load_model picks the format by extension (.h5/.hdf5 → legacy HDF5 reader, "
                "other names → 'File format not supported'); rename it to *.keras",
            )
        return info
    inner = [
        n for n in names
        if n.endswith(("saved_model.pb", ".keras", ".h5", ".hdf5", ".tflite"))
        and not n.startswith("__MACOSX/")
    ]
    if inner:
        return _unknown(
            path,
            f"a zip archive holding model files ({_listing(inner)}), not a Keras .keras file",
            size,
            needs="unzip it and pass the model file or SavedModel directory inside",
        )
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        what = "a PyTorch torch.save() zip archive (data.pkl + tensor storages)"
        needs = "torch.load (PyTorch); not a Keras model"
    elif names and all(n.endswith(".npy") for n in names):
        what = "a NumPy .npz archive of arrays"
        needs = "numpy.load; arrays only, not a model"
    elif "schema.json" in names:
        what = "a skops (scikit-learn) archive"
        needs = "skops.io.load; not a Keras model"
    else:
        what = "a zip archive without config.json"
        needs = ""
    return _unknown(path, f"{what} ({_listing(names)}), not a Keras .keras file", size, needs=needs)


def _keras_config_api() -> tuple[Callable[[Any], bool], Callable[[str, bytes], ModelInfo]]:
    from envdoctor.modelfiles.config_json import looks_like_keras_config, read_config_json  # noqa: PLC0415  (startup: the .json reader loads only for .json)

    return looks_like_keras_config, read_config_json


def _json_model(path: str, size: int, head: bytes) -> ModelInfo:
    if size > MAX_JSON_BYTES:
        raise ModelFileError(
            path, f"JSON file of {size} bytes is over the {MAX_JSON_BYTES}-byte limit"
        )
    data = _read_all(path, MAX_JSON_BYTES, "JSON file")
    try:
        obj = load_json_bounded(data, "JSON file", path)
    except (ModelFileError, ValueError, RecursionError) as exc:
        reason = exc.message if isinstance(exc, ModelFileError) else str(exc)
        return _unknown(path, f"{describe_bytes(head)} that is not readable JSON: {reason}", size)
    looks_like_keras_config, read_config_json = _keras_config_api()
    if looks_like_keras_config(obj):
        return read_config_json(path, data)
    if isinstance(obj, dict):
        keys = sorted(str(k) for k in obj)
        if "modelTopology" in obj or obj.get("format") in ("layers-model", "graph-model"):
            return _unknown(
                path,
                f"a TensorFlow.js model.json (format {obj.get('format', 'unknown')!s}), not a "
                "Keras save file",
                size,
                needs="tensorflowjs_converter to convert it back to a Keras/SavedModel file",
            )
        if set(obj) <= {"keras_version", "date_saved"} and obj:
            return _unknown(
                path,
                "the metadata.json of a Keras v3 model (keras_version/date_saved), not the model",
                size,
                needs="the whole .keras archive (or the directory with config.json + weights)",
            )
        return _unknown(
            path, f"a JSON object that is not a Keras model config (keys: {_listing(keys)})", size
        )
    return _unknown(path, f"JSON ({type(obj).__name__}) that is not a Keras model config", size)


# --------------------------------------------------------------------------- dispatch


def _empty(path: str, what: str) -> ModelInfo:
    return ModelInfo(
        path=path,
        format=ModelFormat.EMPTY,
        loadable=False,
        summary=f"{what}: there is no model here (an interrupted save, copy or download?)",
        needs="the real model file",
        size_bytes=0,
    )


def _suffix_note(path: str, info: ModelInfo) -> ModelInfo:
    lower = path.lower()
    if lower.endswith(".keras") and info.format in (
        ModelFormat.KERAS_H5,
        ModelFormat.KERAS_H5_WEIGHTS,
        ModelFormat.KERAS_WEIGHTS_H5,
        ModelFormat.HDF5_NOT_A_MODEL,
    ):
        return _with_notes(
            info,
            "an HDF5 file named *.keras: Keras 3's load_model expects a zip there and fails "
            "('File format not supported'); rename it to *.h5",
        )
    return info


def _read_file(path: str, size: int) -> ModelInfo:
    if size == 0:
        return _empty(path, "an empty (0-byte) file")
    base = os.path.basename(path)
    parent = os.path.dirname(path) or "."
    if base in ("saved_model.pb", "saved_model.pbtxt") or (
        base in ("keras_metadata.pb", "fingerprint.pb")
        and os.path.isfile(os.path.join(parent, "saved_model.pb"))
    ):
        from envdoctor.modelfiles.savedmodel import read_savedmodel  # noqa: PLC0415  (startup: a reader loads only for its format)

        info = read_savedmodel(parent)
        return _with_notes(
            dataclasses.replace(info, path=path),
            f"read as the SavedModel directory {parent!r}: TensorFlow loads the directory, "
            "not the file",
        )
    head = _read_head(path)
    if head.startswith(GIT_LFS_PREFIX):
        return _lfs_model(path, head, size)
    prefix = _checkpoint_prefix(path)
    if prefix is not None and (
        base.endswith((".index", ".meta")) or _SHARD.match(base) is not None
    ):
        grandparent = os.path.dirname(os.path.dirname(os.path.abspath(path)))
        inside = ""
        if os.path.basename(parent) == "variables" and os.path.isfile(
            os.path.join(grandparent, "saved_model.pb")
        ):
            inside = (
                f"these are the variables of the SavedModel {os.path.dirname(parent) or '.'!r}: "
                "pass that directory to load the whole model"
            )
        return _checkpoint_model(path, prefix, size, inside)
    if (base == "export.meta" and os.path.isfile(os.path.join(parent, "export"))) or (
        base == "export" and os.path.isfile(os.path.join(parent, "export.meta"))
    ):
        return _session_bundle(path, parent)
    if base == "checkpoint" and head.startswith(b"model_checkpoint_path:"):
        names = os.listdir(parent)
        ckpt = _directory_checkpoint(parent, names)
        if ckpt is not None:
            return _checkpoint_model(path, ckpt, size, "given the 'checkpoint' state file")
        if "export.meta" in names:
            return _session_bundle(path, parent)
    if head.startswith(ZIP_MAGIC) or (head.startswith(ZIP_EMPTY_MAGIC) and size == 22):
        return _zip_model(path, size)
    if any(head[o : o + 8] == HDF5_MAGIC for o in HDF5_OFFSETS):
        from envdoctor.modelfiles.hdf5 import read_hdf5  # noqa: PLC0415  (startup: the HDF5 reader and h5py load only for .h5)

        return _suffix_note(path, read_hdf5(path))
    if head[4:8] == TFLITE_IDENTIFIER:
        return ModelInfo(
            path=path,
            format=ModelFormat.TFLITE,
            loadable=False,
            summary=f"a TensorFlow Lite flatbuffer (TFL3), {_human(size)}",
            needs=TFLITE_NEEDS,
            size_bytes=size,
        )
    pickled = _maybe_pickle(path, head, size)
    if pickled is not None:
        return pickled
    if head.startswith(NPY_MAGIC):
        return _unknown(path, "a NumPy .npy array file, not a model", size, needs="numpy.load")
    if len(head) > 10 and head[8:10] == b'{"':
        return _unknown(
            path,
            "a safetensors file (tensors only, no architecture), not a Keras model",
            size,
            needs="safetensors.safe_open / the framework that wrote it",
        )
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        return _json_model(path, size, head)
    lowered = stripped[:256].lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return _unknown(
            path,
            "an HTML page, not a model (a download saved the web page instead of the raw file?)",
            size,
            needs="download the raw file (e.g. GitHub's 'raw' URL or git lfs pull)",
        )
    named_pb = base.lower().endswith((".pb", ".meta", ".graphdef"))
    if named_pb or _plausible_protobuf(head):
        if size > MAX_PB_BYTES:
            return _unknown(
                path,
                f"{describe_bytes(head)}; at {_human(size)} it is over the {MAX_PB_BYTES}-byte "
                "limit for protobuf files, so it was not parsed",
                size,
            )
        proto = _protobuf_model(path, size)
        if proto is not None:
            return proto
    hint = ""
    if base.lower().endswith(_KERAS_SUFFIXES):
        hint = f" although its name ends in {os.path.splitext(base)[1]!r}"
    return _unknown(path, f"not a recognised model file{hint}: {describe_bytes(head)}", size)


def _session_bundle(path: str, directory: str) -> ModelInfo:
    from envdoctor.modelfiles.savedmodel import parse_meta_graph_def  # noqa: PLC0415  (startup: the SavedModel reader loads only when needed)

    size, notes = directory_size(directory)
    version = ""
    try:
        meta, _ = parse_meta_graph_def(_read_all(os.path.join(directory, "export.meta"),
                                                 MAX_PB_BYTES, "export.meta"))
        version = meta.tensorflow_version
        notes.append(f"export.meta graph: {len(meta.ops)} op types")
    except (ProtoDecodeError, OSError) as exc:
        notes.append(f"export.meta is not a readable MetaGraphDef: {exc}")
    made = f"TensorFlow {version}" if version else "TensorFlow 1.x (version not recorded)"
    return ModelInfo(
        path=path,
        format=ModelFormat.TF1_SESSION_BUNDLE,
        loadable=False,
        summary=(
            f"a legacy {made} SessionBundle export (export + export.meta), not a SavedModel: "
            "there is no saved_model.pb"
        ),
        needs=SESSION_BUNDLE_NEEDS,
        size_bytes=size,
        tensorflow_version=version or None,
        notes=tuple(notes),
    )


def _read_directory(path: str) -> ModelInfo:
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        raise ModelFileError(path, f"cannot list the directory: {_os_reason(exc)}") from exc
    if not names:
        return _empty(path, "an empty directory")
    if "saved_model.pb" in names or "saved_model.pbtxt" in names:
        from envdoctor.modelfiles.savedmodel import read_savedmodel  # noqa: PLC0415  (startup: a reader loads only for its format)

        return read_savedmodel(path)
    if "config.json" in names and "metadata.json" in names:
        from envdoctor.modelfiles.keras_archive import read_keras_archive  # noqa: PLC0415  (startup: a reader loads only for its format)

        return read_keras_archive(path)
    if "export.meta" in names:
        return _session_bundle(path, path)
    prefix = _directory_checkpoint(path, names)
    if prefix is not None:
        size, size_notes = directory_size(path)
        parent = os.path.dirname(os.path.abspath(path))
        if os.path.basename(os.path.abspath(path)) == "variables" and os.path.isfile(
            os.path.join(parent, "saved_model.pb")
        ):
            size_notes.append(
                f"these are the variables of the SavedModel {parent!r}: pass that directory "
                "to load the whole model"
            )
        return _checkpoint_model(path, prefix, size, *size_notes)
    size, size_notes = directory_size(path)
    if "variables" in names and os.path.isdir(os.path.join(path, "variables")):
        return _unknown(
            path,
            "a directory with variables/ but no saved_model.pb: an incomplete SavedModel",
            size,
            *size_notes,
            needs="the missing saved_model.pb (re-save or re-copy the whole directory)",
        )
    versions = [
        n for n in names
        if n.isdigit() and os.path.isfile(os.path.join(path, n, "saved_model.pb"))
    ]
    if versions:
        latest = max(versions, key=int)
        return _unknown(
            path,
            f"a TensorFlow Serving model base directory (versions {', '.join(versions)}), not a "
            "SavedModel itself",
            size,
            *size_notes,
            needs=f"pass one version directory, e.g. {os.path.join(path, latest)!r}",
        )
    candidates = [
        n for n in names
        if n.lower().endswith((".keras", ".h5", ".hdf5", ".tflite", ".pb"))
        or os.path.isfile(os.path.join(path, n, "saved_model.pb"))
    ]
    if "MLmodel" in names:
        return _unknown(
            path,
            "an MLflow model directory (MLmodel); the model itself is inside "
            f"({_listing(names)})",
            size,
            *size_notes,
            needs="pass the model file or SavedModel directory inside it (often under data/)",
        )
    if candidates:
        return _unknown(
            path,
            f"a directory that is not itself a model; model files inside: {_listing(candidates)}",
            size,
            *size_notes,
            needs="pass one of the model files inside it",
        )
    return _unknown(
        path, f"a directory that is not a model ({_listing(names)})", size, *size_notes
    )


def _read_model(path: str) -> ModelInfo:
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        prefix = _checkpoint_prefix(path)
        if prefix is not None:
            return _checkpoint_model(path, prefix, 0)
        if os.path.islink(path):
            raise ModelFileError(
                path, "a dangling symbolic link (its target does not exist)"
            ) from exc
        raise ModelFileError(path, "no such file or directory") from exc
    except OSError as exc:
        raise ModelFileError(path, _os_reason(exc)) from exc
    if stat.S_ISDIR(st.st_mode):
        return _read_directory(path)
    if not stat.S_ISREG(st.st_mode):
        raise ModelFileError(path, "not a regular file or directory (a device, FIFO or socket)")
    try:
        return _read_file(path, st.st_size)
    except IsADirectoryError as exc:
        raise ModelFileError(path, _os_reason(exc)) from exc


def read_model(path: str) -> ModelInfo:
    """Read whatever is at ``path`` as a saved model, without executing anything in it.

    The format is detected by content (magic numbers, protobuf structure), the file name is
    only a hint; then the matching reader runs and sidecar requirement files are attached
    (:func:`envdoctor.modelfiles.sidecar.read_sidecars`).

    Args:
        path: a file, a directory, or a TensorFlow checkpoint prefix (``.../ckpt``).

    Returns:
        A :class:`ModelInfo`; ``format`` is ``EMPTY`` for a 0-byte file or an empty directory
        and ``UNKNOWN`` (with a summary of what the bytes look like) for anything that is not
        a model.

    Raises:
        ModelFileError: the path is missing ("no such file or directory"), unreadable,
            truncated, corrupt or over a size bound.  Any other exception raised while
            reading is turned into a ModelFileError naming its class; nothing else escapes.
    """
    try:
        with field_budget():
            info = _read_model(path)
    except ModelFileError:
        raise
    except OSError as exc:
        raise ModelFileError(path, _os_reason(exc)) from exc
    except RecursionError as exc:
        raise ModelFileError(path, "nested too deeply to read (RecursionError)") from exc
    except MemoryError as exc:
        raise ModelFileError(path, "too large to read in memory (MemoryError)") from exc
    except Exception as exc:
        detail = " ".join(str(exc).split())[:300]
        raise ModelFileError(
            path, f"unexpected error while reading: {type(exc).__name__}: {detail}"
        ) from exc
    try:
        from envdoctor.modelfiles.sidecar import read_sidecars  # noqa: PLC0415  (startup: sidecars are read only beside a model)

        sidecar = read_sidecars(path)
    except Exception as exc:
        return _with_notes(info, f"sidecar files not read: {type(exc).__name__}: {exc}")
    return dataclasses.replace(info, sidecar=sidecar) if sidecar is not None else info
