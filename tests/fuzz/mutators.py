"""Hostile inputs for envdoctor's model readers, made from the real fixtures.

Used by ``tests/fuzz/test_fuzz_readers.py`` (a bounded hypothesis run) and by
``benchmarks/fuzz_readers.py`` (many more inputs).  Every generator takes a
``random.Random`` and an empty working directory and returns the path to read (a file or a
directory inside the working directory) plus a short label.  Nothing here needs Keras or
TensorFlow; HDF5 files are written with h5py.

Families (see :data:`GENERATORS`):

* bytes: truncation, bit flips, overwritten/duplicated/deleted/inserted chunks and
  "interesting" integers, over every fixture and real model file;
* zip: ``config.json``/``metadata.json`` replaced by mutated, deep, wide, huge, non-UTF-8
  JSON; zip bombs; central-directory and local-header fields that lie (sizes, CRC, method,
  flags, name lengths, offsets, member counts); duplicate, absolute, ``..`` and NUL names;
* hdf5: files written with h5py holding a real ``model_config`` plus external links, soft
  link loops, virtual datasets over other files, attributes of the wrong type or shape,
  huge ``layer_names``, user blocks; and mutated copies of the real ``.h5`` files;
* savedmodel: mutated ``saved_model.pb``/``keras_metadata.pb`` (bytes and protobuf-aware:
  lying lengths, deep nesting), symlinks (to ``/``, ``/dev/zero``, loops, outside files),
  FIFOs, path-traversal and very long names, thousands of files, files where directories
  belong;
* json: mutated model configs (``*_config.json``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "real-models"

Generator = Callable[[random.Random, Path], tuple[Path, str]]


def _sources() -> dict[str, list[Path]]:
    files: dict[str, list[Path]] = {"keras": [], "h5": [], "json": [], "savedmodel": [],
                                    "other": []}
    for env_dir in sorted(FIXTURES.iterdir()):
        if not env_dir.is_dir() or env_dir.name == "custom_layers":
            continue
        for p in sorted(env_dir.iterdir()):
            if p.name == "SAVED_WITH.json":
                continue
            if p.is_dir():
                files["savedmodel"].append(p)
            elif p.suffix == ".keras":
                files["keras"].append(p)
            elif p.suffix in (".h5", ".hdf5"):
                files["h5"].append(p)
            elif p.suffix == ".json":
                files["json"].append(p)
    manifest = REAL / "MANIFEST.json"
    if manifest.exists():
        for row in json.loads(manifest.read_text()):
            p = REAL / row.get("file", "")
            if p.is_dir() and (p / "saved_model.pb").exists():
                files["savedmodel"].append(p)
            elif p.is_dir() or not p.exists():
                files["other"].append(p.parent if not p.exists() else p)
            elif p.suffix == ".keras":
                files["keras"].append(p)
            elif p.suffix in (".h5", ".hdf5"):
                files["h5"].append(p)
            elif p.suffix == ".json":
                files["json"].append(p)
            else:
                files["other"].append(p)
    return files


SOURCES = _sources()
"""Real inputs by family: ``keras``, ``h5``, ``json``, ``savedmodel`` and ``other``."""

ALL_FILES = [p for k in ("keras", "h5", "json") for p in SOURCES[k]] + [
    p for p in SOURCES["other"] if p.is_file()
]

INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
               0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 1 << 40)


# --------------------------------------------------------------------------------------- bytes


def mutate_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Apply one to four random byte-level mutations."""
    buf = bytearray(data)
    names = []
    for _ in range(rng.randint(1, 4)):
        if not buf:
            buf += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
            names.append("fill")
            continue
        op = rng.choice(("truncate", "flip", "flip", "flip", "overwrite", "interesting",
                         "delete", "duplicate", "insert", "zero"))
        pos = rng.randrange(len(buf))
        length = min(len(buf) - pos, rng.choice((1, 2, 4, 8, 64, 512, 4096)))
        if op == "truncate":
            del buf[rng.randrange(len(buf)):]
        elif op == "flip":
            for _ in range(rng.randint(1, 16)):
                i = rng.randrange(len(buf))
                buf[i] ^= 1 << rng.randrange(8)
        elif op == "overwrite":
            buf[pos:pos + length] = bytes(rng.randrange(256) for _ in range(length))
        elif op == "interesting":
            width = rng.choice((1, 2, 4, 8))
            value = rng.choice(INTERESTING) & ((1 << (8 * width)) - 1)
            buf[pos:pos + width] = value.to_bytes(width, rng.choice(("little", "big")))
        elif op == "delete":
            del buf[pos:pos + length]
        elif op == "duplicate":
            buf[pos:pos] = buf[pos:pos + length]
        elif op == "insert":
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(length))
        else:
            buf[pos:pos + length] = bytes(length)
        names.append(op)
    return bytes(buf), "+".join(names)


def gen_bytes(rng: random.Random, work: Path) -> tuple[Path, str]:
    """A byte-mutated copy of a fixture or real model file (same name)."""
    src = rng.choice(ALL_FILES)
    data, how = mutate_bytes(rng, src.read_bytes())
    out = work / src.name
    out.write_bytes(data)
    return out, f"bytes:{src.parent.name}/{src.name}:{how}"


# --------------------------------------------------------------------------------------- json


CLASS_NAMES = ("Lambda", "__lambda__", "TFSMLayer", "TorchModuleWrapper", "Functional",
               "Sequential", "Model", "InputLayer", "Dense", "function", "__tuple__",
               "DTypePolicy", "StringLookup", "Bidirectional", "Merge", "", "\x00", "a" * 300)


def _random_scalar(rng: random.Random) -> Any:
    return rng.choice((
        None, True, False, 0, -1, 1 << 70, -(1 << 63), 3.5, float("nan"), float("inf"),
        "", "x", "\u202e\ud7ff", "keras.src.models", "../../etc/passwd", "<r-globalenv>",
        "tf_keras.src.engine.functional", "mixed_float16", "a" * rng.randint(1, 5000),
        [None, 8], [], {},
    ))


def _deep(rng: random.Random, depth: int) -> Any:
    node: Any = _random_scalar(rng)
    for _ in range(depth):
        node = [node] if rng.random() < 0.5 else {"class_name": "Sequential", "config": node}
    return node


def deep_text(rng: random.Random, depth: int) -> str:
    """JSON text nested ``depth`` levels (deeper than ``json.dumps`` can write)."""
    opens, closes = [], []
    for _ in range(depth):
        if rng.random() < 0.5:
            opens.append("[")
            closes.append("]")
        else:
            opens.append('{"class_name": "Sequential", "config": ')
            closes.append("}")
    return "".join(opens) + "1" + "".join(reversed(closes))


def mutate_json(rng: random.Random, obj: Any) -> tuple[Any, str]:
    """Replace, delete or retype one to five random nodes of a parsed JSON document."""
    names = []
    for _ in range(rng.randint(1, 5)):
        parent: Any = None
        key: Any = None
        node = obj
        for _ in range(rng.randint(0, 12)):
            if isinstance(node, dict) and node:
                parent, key = node, rng.choice(list(node))
            elif isinstance(node, list) and node:
                parent, key = node, rng.randrange(len(node))
            else:
                break
            node = parent[key]
        op = rng.choice(("scalar", "class", "deep", "wide", "delete", "retype", "dupe"))
        if parent is None:
            if op in ("deep", "wide"):
                obj = _deep(rng, rng.choice((5, 150, 199, 201, 400, 900)))
            continue
        if op == "scalar":
            parent[key] = _random_scalar(rng)
        elif op == "class":
            if isinstance(node, dict):
                node["class_name"] = rng.choice(CLASS_NAMES)
                if rng.random() < 0.5:
                    node["module"] = rng.choice(("os", "keras.layers", "<r-globalenv>", ""))
            else:
                parent[key] = {"class_name": rng.choice(CLASS_NAMES), "config": node}
        elif op == "deep":
            parent[key] = _deep(rng, rng.choice((5, 50, 150, 199, 201, 900)))
        elif op == "wide":
            n = rng.choice((100, 10_000, 200_000))
            parent[key] = [rng.choice((0, "x", [], {})) for _ in range(n)]
        elif op == "delete":
            del parent[key]
        elif op == "retype":
            if isinstance(node, dict):
                parent[key] = list(node.values())
            elif isinstance(node, list):
                parent[key] = {str(i): v for i, v in enumerate(node)}
            else:
                parent[key] = [node]
        else:
            parent[key] = json.loads(json.dumps(node)) if node is not obj else node
            if isinstance(parent, list):
                parent.extend([node] * rng.randint(1, 50))
        names.append(op)
    return obj, "+".join(names) or "none"


def dumps_hostile(rng: random.Random, obj: Any) -> bytes:
    """Serialize with random formatting; sometimes a BOM, NaN, bad UTF-8 or trailing junk."""
    text = json.dumps(obj, indent=rng.choice((None, 0, 2)), ensure_ascii=rng.random() < 0.5,
                      allow_nan=True)
    data = text.encode("utf-8", "surrogatepass")
    r = rng.random()
    if r < 0.05:
        data = b"\xef\xbb\xbf" + data
    elif r < 0.10:
        data = data[: len(data) // 2] + b"\xff\xfe" + data[len(data) // 2:]
    elif r < 0.13:
        data += b" junk"
    return data


def gen_json(rng: random.Random, work: Path) -> tuple[Path, str]:
    """A mutated model config JSON file."""
    src = rng.choice(SOURCES["json"])
    obj, how = mutate_json(rng, json.loads(src.read_bytes()))
    out = work / src.name
    out.write_bytes(dumps_hostile(rng, obj))
    return out, f"json:{src.parent.name}/{src.name}:{how}"


# --------------------------------------------------------------------------------------- zip


def _members(src: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(src) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def _write_zip(out: Path, members: list[tuple[str, bytes]], rng: random.Random) -> None:
    method = rng.choice((zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2,
                         zipfile.ZIP_LZMA))
    if len(members) > 100:
        method = zipfile.ZIP_STORED  # thousands of members: keep writing them fast
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", method) as z:
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        for name, data in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            z.writestr(info, data)


def gen_zip_json(rng: random.Random, work: Path) -> tuple[Path, str]:
    """A .keras whose config.json and/or metadata.json are mutated JSON."""
    src = rng.choice(SOURCES["keras"])
    members = _members(src)
    target = rng.choice(("config.json", "config.json", "metadata.json"))
    hows = []
    for i, (name, data) in enumerate(members):
        if name == target:
            obj, how = mutate_json(rng, json.loads(data))
            members[i] = (name, dumps_hostile(rng, obj))
            hows.append(how)
    out = work / src.name
    _write_zip(out, members, rng)
    return out, f"zipjson:{src.parent.name}/{src.name}:{target}:{'+'.join(hows)}"


def gen_zip_layout(rng: random.Random, work: Path) -> tuple[Path, str]:
    """Member names that traverse, repeat, hide config.json; many members; nested zips."""
    src = rng.choice(SOURCES["keras"])
    members = _members(src)
    op = rng.choice(("traversal", "duplicate", "nul", "many", "drop", "nested", "dirs",
                     "longname"))
    if op == "traversal":
        members.append((rng.choice(("../../evil.py", "/etc/passwd", "C:\\x\\..\\y",
                                    "assets/../../x", "..\\..\\config.json")), b"x"))
    elif op == "duplicate":
        members.append(("config.json", rng.choice((b"{}", b"[", b'{"class_name": 1}'))))
    elif op == "nul":
        members = [(n.replace("config", "con\x00fig") if rng.random() < 0.5 else n, d)
                   for n, d in members]
    elif op == "many":
        members += [(f"assets/{i}", b"") for i in range(rng.choice((1000, 5000)))]
    elif op == "drop":
        members = [m for m in members if m[0] != rng.choice(("config.json", "metadata.json"))]
    elif op == "nested":
        inner = work / "inner.zip"
        _write_zip(inner, _members(src), rng)
        members = [("config.json", inner.read_bytes())] + members[1:]
        inner.unlink()
    elif op == "dirs":
        members.append(("config.json/", b""))
    elif op == "longname":
        members.append(("a" * 65_000, b"x"))
    out = work / src.name
    _write_zip(out, members, rng)
    return out, f"ziplayout:{src.name}:{op}"


def gen_zip_bomb(rng: random.Random, work: Path) -> tuple[Path, str]:
    """config.json / metadata.json that expand enormously, or sit near the size limit."""
    src = rng.choice(SOURCES["keras"])
    members = _members(src)
    config = next(d for n, d in members if n == "config.json")
    op = rng.choice(("spaces", "spaces_small", "deep_brackets", "wide_list", "big_string",
                     "meta_bomb"))
    if op == "spaces":
        payload = config + b" " * rng.choice((2_000_000, 30_000_000))
    elif op == "spaces_small":
        payload = config[:-1] + b',"pad":"' + b"A" * 900_000 + b'"}'
    elif op == "deep_brackets":
        payload = b"[" * 100_000 + b"]" * 100_000
    elif op == "wide_list":
        payload = config[:-1] + b',"junk":[' + b"0," * rng.choice((100_000, 2_000_000)) + b"0]}"
    elif op == "big_string":
        payload = config[:-1] + b',"junk":"' + b"\\u0041" * 1_000_000 + b'"}'
    else:
        members = [("metadata.json", b'{"keras_version": "' + b"9" * 20_000_000 + b'"}')
                   if n == "metadata.json" else (n, d) for n, d in members]
        payload = config
    members = [(n, payload if n == "config.json" else d) for n, d in members]
    out = work / src.name
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in members:
            z.writestr(name, data)
    return out, f"zipbomb:{src.name}:{op}"


_CD = b"PK\x01\x02"
_LFH = b"PK\x03\x04"
_EOCD = b"PK\x05\x06"
# (offset in central directory entry, offset in local header, width) per field
_FIELDS = {
    "flags": (8, 6, 2), "method": (10, 8, 2), "crc": (16, 14, 4), "csize": (20, 18, 4),
    "usize": (24, 22, 4), "namelen": (28, 26, 2), "extralen": (30, 28, 2),
    "offset": (42, None, 4),
}


def gen_zip_lie(rng: random.Random, work: Path) -> tuple[Path, str]:
    """Patch zip headers so that sizes, CRCs, methods, counts and offsets lie."""
    src = rng.choice(SOURCES["keras"])
    buf = bytearray(src.read_bytes())
    hows = []
    for _ in range(rng.randint(1, 3)):
        where = rng.choice(("cd", "cd", "lfh", "eocd"))
        if where == "eocd":
            pos = buf.rfind(_EOCD)
            if pos < 0:
                continue
            off, width = rng.choice(((8, 2), (10, 2), (12, 4), (16, 4), (20, 2)))
            value = rng.choice(INTERESTING + (rng.randrange(1 << (8 * width)),))
            buf[pos + off:pos + off + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(
                width, "little")
            hows.append(f"eocd@{off}")
            continue
        magic = _CD if where == "cd" else _LFH
        starts = [i for i in range(len(buf) - 4) if buf[i:i + 4] == magic]
        if not starts:
            continue
        pos = rng.choice(starts)
        field = rng.choice(list(_FIELDS))
        cd_off, lfh_off, width = _FIELDS[field]
        off = cd_off if where == "cd" else lfh_off
        if off is None:
            continue
        old = int.from_bytes(buf[pos + off:pos + off + width], "little")
        value = rng.choice(INTERESTING + (old + 1, max(old - 1, 0), old * 1000, old // 2))
        if field == "method":
            value = rng.choice((0, 1, 8, 9, 12, 14, 93, 99))
        elif field == "flags":
            value = old ^ rng.choice((1, 8, 0x40, 0x800))
        value &= (1 << (8 * width)) - 1
        buf[pos + off:pos + off + width] = value.to_bytes(width, "little")
        hows.append(f"{where}.{field}={value}")
    out = work / src.name
    out.write_bytes(bytes(buf))
    return out, f"ziplie:{src.name}:{','.join(hows)}"


# --------------------------------------------------------------------------------------- hdf5


def _model_attrs() -> list[dict[str, Any]]:
    import h5py

    found = []
    for p in SOURCES["h5"]:
        try:
            with h5py.File(p, "r") as f:
                if "model_config" in f.attrs:
                    found.append({k: f.attrs[k] for k in f.attrs})
        except OSError:
            continue
    return found


_ATTRS: list[dict[str, Any]] = []


def gen_hdf5(rng: random.Random, work: Path) -> tuple[Path, str]:
    """An HDF5 file written with h5py: real attributes plus hostile links and attributes."""
    import h5py
    import numpy as np

    if not _ATTRS:
        _ATTRS.extend(_model_attrs())
    attrs = dict(rng.choice(_ATTRS))
    out = work / rng.choice(("model.h5", "model.keras", "model.weights.h5", "x.hdf5"))
    ops = rng.sample(["extlink", "softloop", "vds", "attr_type", "attr_json", "layer_names",
                      "userblock", "groups", "weights_ext", "drop_config", "dense_attrs"],
                     rng.randint(1, 4))
    kwargs: dict[str, Any] = {}
    if "userblock" in ops:
        kwargs["userblock_size"] = rng.choice((512, 1024, 4096))
    if rng.random() < 0.5 or {"layer_names", "attr_type", "attr_json", "dense_attrs"} & set(ops):
        kwargs["libver"] = "latest"  # dense attribute storage: attributes over 64 KiB
    other = work / "other.h5"
    with h5py.File(other, "w") as o:
        o.create_dataset("data", data=np.arange(16, dtype="f4"))
    with h5py.File(out, "w", **kwargs) as f:
        _hdf5_ops(rng, f, ops, attrs, out, other)
    return out, f"hdf5:{','.join(ops)}"


def _hdf5_ops(rng: random.Random, f: Any, ops: list[str], attrs: dict[str, Any], out: Path,
              other: Path) -> None:
    import h5py
    import numpy as np

    if "drop_config" not in ops:
        for key, value in attrs.items():
            f.attrs[key] = value
    f.create_group("model_weights")
    if "extlink" in ops:
        f["ext"] = h5py.ExternalLink(rng.choice(("/etc/passwd", str(other), "/nonexistent",
                                                 str(out))), "/")
        f["model_weights"]["ext"] = h5py.ExternalLink(str(other), "/data")
    if "weights_ext" in ops:
        del f["model_weights"]
        f["model_weights"] = h5py.ExternalLink(str(other), "/")
    if "softloop" in ops:
        f["a"] = h5py.SoftLink("/b")
        f["b"] = h5py.SoftLink("/a")
        f["model_weights"]["self"] = h5py.SoftLink("/model_weights")
    if "vds" in ops:
        layout = h5py.VirtualLayout(shape=(16,), dtype="f4")
        layout[:] = h5py.VirtualSource(rng.choice((str(other), "/etc/passwd", "/nope")),
                                       "data", shape=(16,))
        f.create_virtual_dataset(rng.choice(("vds", "layers")), layout, fillvalue=0)
    if "attr_type" in ops:
        key = rng.choice(("model_config", "keras_version", "backend", "training_config"))
        if key in f.attrs:
            del f.attrs[key]
        f.attrs[key] = rng.choice((
            np.arange(rng.choice((2, 1000, 100_000)), dtype="i8"),
            np.array([b"a", b"b"] * rng.choice((1, 5000))),
            np.array(["x" * 10, "y"], dtype=h5py.string_dtype()),
            h5py.Empty("f4"), 3.5, np.array([[b"{}"]]), np.array(b"\xff\xfe\x00{", dtype="S4"),
            np.array(b"{}", dtype="S2"),
        ))
    if "attr_json" in ops:
        text = deep_text(rng, rng.choice((150, 250, 2000, 50_000)))
        if rng.random() < 0.5:
            current = f.attrs.get("model_config")
            base = json.loads(current) if isinstance(current, (str, bytes)) else {}
            obj, _ = mutate_json(rng, base)
            text = json.dumps(obj)
        if "model_config" in f.attrs:
            del f.attrs["model_config"]
        raw = text.encode("utf-8", "surrogatepass")
        f.attrs["model_config"] = np.bytes_(raw) if b"\x00" in raw or rng.random() < 0.3 \
            else text
    if "layer_names" in ops:
        count = rng.choice((3, 5000, 250_000))
        f["model_weights"].attrs["layer_names"] = np.array(
            [f"l{i}".encode() for i in range(count)])
        if count > 1000 and rng.random() < 0.5:
            f["model_weights"].attrs["layer_names0"] = np.array([b"x"] * 10)
    if "groups" in ops:
        name = rng.choice(("layers", "model_weights", "vars"))
        if name in f and not isinstance(f.get(name, getlink=False), h5py.Group):
            name = "groups"
        g = f.require_group(name)
        for i in range(rng.choice((10, 2000))):
            g.create_group(f"g{i}")
    if "dense_attrs" in ops:
        for i in range(rng.choice((10, 500))):
            f.attrs[f"extra{i}"] = "x" * 100


# --------------------------------------------------------------------------------------- protobuf


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def mutate_proto(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Protobuf-aware damage: lying lengths, deep nesting, bad wire types, then byte noise."""
    op = rng.choice(("lying_len", "deep", "wire", "bytes", "bytes", "huge_field"))
    if op == "lying_len":
        pos = rng.randrange(max(1, len(data)))
        data = data[:pos] + b"\x12" + _varint(rng.choice((1 << 31, 1 << 62, len(data) * 2))) \
            + data[pos:]
    elif op == "deep":
        inner = b""
        for _ in range(rng.choice((60, 70, 1000, 10_000))):
            inner = b"\x12" + _varint(len(inner)) + inner
        data = b"\x12" + _varint(len(inner)) + inner + data
    elif op == "wire":
        pos = rng.randrange(max(1, len(data)))
        data = data[:pos] + bytes([rng.choice((0x0B, 0x0C, 0x0E, 0x0F, 0x00, 0x07))]) + data[pos:]
    elif op == "huge_field":
        count = rng.choice((1000, 200_000))
        data = data + b"\x12" + _varint(2 * count) + b"\x08\x01" * count
    else:
        data, op = mutate_bytes(rng, data)
    return data, op


# --------------------------------------------------------------------------------------- savedmodel


def _copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, symlinks=True)


_WRITING_OPS = frozenset({"fifo", "traversal", "loop", "many", "delete"})
"""Mutations that create or delete files under the SavedModel copy."""


def _remove(path: Path) -> None:
    """Remove a file, a symbolic link or a directory tree, if present."""
    if path.is_symlink() or path.is_file() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def gen_savedmodel(rng: random.Random, work: Path) -> tuple[Path, str]:
    """A copy of a real SavedModel directory with damaged files and hostile entries."""
    src = rng.choice(SOURCES["savedmodel"])
    out = work / "sm"
    _copy_tree(src, out)
    ops = rng.sample(["pb", "pb", "meta", "symlink_vars", "symlink_pb", "fifo", "traversal",
                      "many", "file_for_dir", "loop", "delete", "pbtxt", "lfs"],
                     rng.randint(1, 3))
    for op in ops:
        pb = out / "saved_model.pb"
        if op in _WRITING_OPS and (out / "variables").is_symlink():
            # "variables" may point at "/", "/dev" or the repository: never write through it.
            continue
        if op == "pb" and pb.is_file() and not pb.is_symlink():
            data, how = mutate_proto(rng, pb.read_bytes())
            pb.write_bytes(data)
            ops[ops.index(op)] = f"pb({how})"
        elif op == "meta":
            meta = out / "keras_metadata.pb"
            if meta.is_file():
                data, how = mutate_proto(rng, meta.read_bytes())
                meta.write_bytes(data)
        elif op == "symlink_vars":
            _remove(out / "variables")
            target = rng.choice(("/", "/proc", "/dev", "..", ".", "/etc/passwd", "/nonexistent",
                                 str(REPO)))
            os.symlink(target, out / "variables")
        elif op == "symlink_pb" and (pb.exists() or pb.is_symlink()):
            _remove(pb)
            os.symlink(rng.choice(("/dev/zero", "/dev/urandom", "/etc/passwd", "/", "/proc/kcore",
                                   "/proc/self/mem", "saved_model.pb", "/nonexistent")), pb)
        elif op == "fifo":
            where = rng.choice(("variables/evil", "variables/variables.index", "fingerprint.pb",
                                "keras_metadata.pb", "requirements.txt", "assets/vocab"))
            target = out / where
            if not target.parent.is_dir():
                _remove(target.parent)
                target.parent.mkdir(parents=True)
            _remove(target)
            os.mkfifo(target)
        elif op == "traversal":
            if not (out / "variables").is_dir():
                _remove(out / "variables")
            for name in ("..\\..\\evil", "a\nb", "x" * 255, " ", "-rf", "\udcff".encode(
                    "utf-8", "surrogateescape").decode("utf-8", "surrogateescape")):
                try:
                    (out / "variables").mkdir(exist_ok=True)
                    (out / "variables" / name).write_bytes(b"v")
                except (OSError, UnicodeEncodeError):
                    continue
        elif op == "many":
            d = out / "assets"
            if not d.is_dir():
                _remove(d)
                d.mkdir()
            for i in range(rng.choice((100, 5000))):
                (d / f"f{i}").touch()
        elif op == "file_for_dir":
            _remove(out / "variables")
            (out / "variables").write_bytes(b"not a directory")
        elif op == "loop":
            if not (out / "variables").is_dir():
                _remove(out / "variables")
                (out / "variables").mkdir()
            loop = out / "variables" / "variables.data-00000-of-00001"
            _remove(loop)
            os.symlink(loop.name, loop)
            _remove(out / "variables" / "up")
            os.symlink("..", out / "variables" / "up")
        elif op == "delete":
            victims = [p for p in out.rglob("*") if p.is_file() and not p.is_symlink()]
            if victims:
                rng.choice(victims).unlink()
        elif op == "pbtxt" and pb.is_file():
            pb.unlink()
            (out / "saved_model.pbtxt").write_bytes(
                b'meta_graphs { meta_info_def { tags: "serve" tensorflow_version: "'
                + b"9" * rng.choice((10, 100_000)) + b'" } }' * rng.choice((1, 1000)))
        elif op == "lfs" and pb.is_file():
            pb.write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:"
                           + b"a" * 64 + b"\nsize " + b"9" * rng.choice((3, 400)) + b"\n")
    return out, f"savedmodel:{src.name}:{','.join(ops)}"


def gen_savedmodel_file(rng: random.Random, work: Path) -> tuple[Path, str]:
    """A byte/protobuf-mutated saved_model.pb given as a bare file (a GraphDef look-alike)."""
    src = rng.choice(SOURCES["savedmodel"]) / "saved_model.pb"
    data, how = mutate_proto(rng, src.read_bytes())
    out = work / rng.choice(("model.pb", "frozen_graph.pb", "x.meta", "blob"))
    out.write_bytes(data)
    return out, f"pbfile:{src.parent.name}:{how}"


def gen_other(rng: random.Random, work: Path) -> tuple[Path, str]:
    """Checkpoints, SessionBundles, tflite and other real inputs, copied and damaged."""
    src = rng.choice(SOURCES["other"])
    if src.is_dir():
        out = work / src.name
        _copy_tree(src, out)
        files = [p for p in out.rglob("*") if p.is_file()]
        for victim in rng.sample(files, min(len(files), rng.randint(1, 2))):
            data, _ = mutate_bytes(rng, victim.read_bytes())
            victim.write_bytes(data)
        target = rng.choice([out, *files])
        return target, f"other:{src.name}:{target.name}"
    data, how = mutate_bytes(rng, src.read_bytes())
    out = work / src.name
    out.write_bytes(data)
    return out, f"other:{src.name}:{how}"


GENERATORS: dict[str, tuple[Generator, int]] = {
    "bytes": (gen_bytes, 30),
    "json": (gen_json, 8),
    "zip_json": (gen_zip_json, 12),
    "zip_layout": (gen_zip_layout, 5),
    "zip_lie": (gen_zip_lie, 10),
    "zip_bomb": (gen_zip_bomb, 2),
    "hdf5": (gen_hdf5, 10),
    "savedmodel": (gen_savedmodel, 12),
    "pbfile": (gen_savedmodel_file, 5),
    "other": (gen_other, 6),
}
"""Generator name -> (function, relative weight)."""


def generate(rng: random.Random, work: Path, family: str | None = None) -> tuple[Path, str]:
    """Make one hostile input in ``work`` (an empty directory).

    Args:
        rng: the random source (seeded for reproducibility).
        work: an empty directory that will hold the input.
        family: a key of :data:`GENERATORS`, or None to pick one by weight.

    Returns:
        ``(path to read, label saying how it was made)``.
    """
    if family is None:
        names = list(GENERATORS)
        family = rng.choices(names, weights=[GENERATORS[n][1] for n in names])[0]
    fn = GENERATORS[family][0]
    for attempt in range(4):  # a writer (h5py, os) may refuse a combination: draw again
        try:
            return fn(rng, work)
        except (OSError, ValueError, TypeError):
            if attempt == 3:
                raise
            for child in work.iterdir():
                _remove(child)
    raise AssertionError("unreachable")


def reproduce(seed: int, work: Path, family: str | None = None) -> tuple[Path, str]:
    """Rebuild the input of a given seed (as the benchmark and the tests number them)."""
    return generate(random.Random(seed), work, family)


__all__ = ["GENERATORS", "SOURCES", "generate", "mutate_bytes", "mutate_json", "reproduce"]
