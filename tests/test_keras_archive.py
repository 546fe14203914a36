"""Tests of envdoctor.modelfiles.keras_archive on real `.keras` files and hostile zips."""

from __future__ import annotations

import json
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import Callable

import pytest

from envdoctor.errors import ModelFileError
from envdoctor.modelfiles import limits
from envdoctor.modelfiles.keras_archive import read_keras_archive
from envdoctor.types import ConfigDialect, InputSpec, ModelFormat

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real-models"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MODELS = ("mlp", "lstm", "lambda", "custom", "mixed")


def saved_with(env: Path) -> dict:
    return json.loads((env / "SAVED_WITH.json").read_text())


def fixture_archives() -> list[tuple[str, str]]:
    pairs = []
    for env in sorted(p for p in FIXTURES.glob("*") if (p / "SAVED_WITH.json").is_file()):
        pairs.extend((env.name, m) for m in MODELS if (env / f"{m}.keras").is_file())
    return pairs


def any_fixture() -> Path:
    found = sorted(FIXTURES.glob("*/mlp.keras"))
    if found:
        return found[0]
    real = sorted(REAL.glob("*/*.keras"))
    if not real:
        pytest.skip("no .keras file available")
    return real[0]


def bounded(fn: Callable[[], object], match: str, seconds: float = 5, mib: int = 32) -> None:
    """Assert fn raises ModelFileError(match) quickly and without a large allocation."""
    tracemalloc.start()
    start = time.monotonic()
    try:
        with pytest.raises(ModelFileError, match=match):
            fn()
    finally:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.monotonic() - start < seconds
    assert peak < mib * 1024 * 1024, f"peak {peak} bytes"


def rezip(
    src: Path,
    dst: Path,
    replace: dict[str, bytes] | None = None,
    add: dict | None = None,
    compression: int = zipfile.ZIP_STORED,
) -> Path:
    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def patch_central_size(path: Path, member: str, size: int, local_too: bool = False) -> None:
    """Rewrite the uncompressed size that the zip directory declares for a member."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        n_len = struct.unpack("<H", data[pos + 28 : pos + 30])[0]
        if bytes(data[pos + 46 : pos + 46 + n_len]) == name:
            data[pos + 24 : pos + 28] = struct.pack("<L", size)
            if local_too:
                local = struct.unpack("<L", data[pos + 42 : pos + 46])[0]
                data[local + 22 : local + 26] = struct.pack("<L", size)
            break
        pos = data.find(b"PK\x01\x02", pos + 4)
    else:
        raise AssertionError(f"{member} not in central directory")
    path.write_bytes(bytes(data))


# ------------------------------------------------------------------ real model written by others


def test_pm008_keras_3_15_1_sequential() -> None:
    paths = sorted(REAL.glob("pm-008__*/model.keras"))
    if not paths:
        pytest.skip("pm-008 not present")
    info = read_keras_archive(str(paths[0]))
    assert info.format is ModelFormat.KERAS_ARCHIVE
    assert info.loadable
    assert info.keras_version == "3.15.1"
    assert info.date_saved == "2026-08-17@21:11:34"
    assert info.dialect is ConfigDialect.KERAS3
    assert (info.model_class, info.model_module) == ("Sequential", "keras")
    assert [x.class_name for x in info.layers] == [
        "InputLayer",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dropout",
        "Dense",
        "Dense",
    ]
    assert all(x.builtin for x in info.layers)
    assert info.inputs == (InputSpec("input_layer", (None, 28, 28, 1), "float32"),)
    assert info.dtype_policy == "float32"
    assert (info.weights_member, info.weights_bytes) == ("model.weights.h5", 2733604)
    assert info.has_training_config
    assert (info.custom_objects, info.lambdas, info.security) == ((), (), ())
    assert info.size_bytes == paths[0].stat().st_size
    assert info.summary == (
        "Keras 3.15.1 .keras archive: Sequential with 8 layers (Keras 3 config)"
    )


# ------------------------------------------------------------------ generated fixtures


@pytest.mark.parametrize(("env", "model"), fixture_archives())
def test_fixture_archives(env: str, model: str) -> None:
    record = saved_with(FIXTURES / env)
    info = read_keras_archive(str(FIXTURES / env / f"{model}.keras"))
    assert info.format is ModelFormat.KERAS_ARCHIVE and info.loadable
    assert info.keras_version == record["keras_api_version"]
    assert info.weights_member == "model.weights.h5"
    assert info.weights_bytes and info.weights_bytes > 0
    assert info.model_class == "Functional"
    if record["keras_major"] == 3:
        assert info.dialect is ConfigDialect.KERAS3
        assert info.model_module == "keras.src.models.functional"
    else:
        assert info.dialect is ConfigDialect.TF_KERAS_2_13
        root = "tf_keras" if record.get("TF_USE_LEGACY_KERAS") == "1" else "keras"
        assert info.model_module == f"{root}.src.engine.functional"
    shape = (None, 5, 3) if model == "lstm" else (None, 8)
    assert [i.shape for i in info.inputs] == [shape]
    assert info.inputs[0].dtype == "float32"
    if model == "custom":
        assert [
            (c.kind, c.class_name, c.registered_name, c.module) for c in info.custom_objects
        ] == [("layer", "Scale", "envdoctor_fixtures>Scale", "envdoctor_fixture_layers")]
        assert [s.kind for s in info.security] == ["non_keras_module"]
        assert "envdoctor_fixtures>Scale" in info.needs
    else:
        assert info.custom_objects == ()
    if model == "lambda":
        assert [(x.has_bytecode, x.function_type) for x in info.lambdas] == [(True, "lambda")]
        assert [s.kind for s in info.security] == ["lambda"]
    else:
        assert info.lambdas == ()
    assert info.dtype_policy == ("mixed_float16" if model == "mixed" else "float32")


def test_tf215_archive_is_tf_keras_2_13_dialect() -> None:
    path = FIXTURES / "tf215" / "mlp.keras"
    if not path.is_file():
        pytest.skip("tf215 fixtures not present")
    info = read_keras_archive(str(path))
    assert info.dialect is ConfigDialect.TF_KERAS_2_13
    assert info.model_module == "keras.src.engine.functional"
    assert "tf.keras 2.15.0" in info.needs


def test_directory_form(tmp_path: Path) -> None:
    src = any_fixture()
    with zipfile.ZipFile(src) as zf:
        zf.extractall(tmp_path / "model")  # our own trusted fixture
    (tmp_path / "model" / "assets").mkdir(exist_ok=True)
    (tmp_path / "model" / "assets" / "vocab.txt").write_text("a\n")
    from_dir = read_keras_archive(str(tmp_path / "model"))
    from_zip = read_keras_archive(str(src))
    assert from_dir.format is ModelFormat.KERAS_ARCHIVE
    assert (from_dir.layers, from_dir.dialect, from_dir.keras_version) == (
        from_zip.layers,
        from_zip.dialect,
        from_zip.keras_version,
    )
    assert from_dir.weights_bytes == from_zip.weights_bytes
    assert any("assets/" in n for n in from_dir.notes)


# ------------------------------------------------------------------ odd but readable archives


def test_path_traversal_member_is_noted_not_extracted(tmp_path: Path) -> None:
    bad = rezip(any_fixture(), tmp_path / "t.keras", add={"../../evil.py": b"x", "/abs": b"y"})
    info = read_keras_archive(str(bad))
    assert info.loadable
    assert sum("unsafe path" in n for n in info.notes) == 2
    assert not (tmp_path.parent / "evil.py").exists()


def test_archive_without_weights_and_with_keras_211_weights(tmp_path: Path) -> None:
    src = any_fixture()
    with zipfile.ZipFile(src) as zf:
        meta, config = zf.read("metadata.json"), zf.read("config.json")
    no_weights = tmp_path / "nw.keras"
    with zipfile.ZipFile(no_weights, "w") as zf:
        zf.writestr("metadata.json", meta)
        zf.writestr("config.json", config)
    info = read_keras_archive(str(no_weights))
    assert info.weights_member is None
    assert any("holds no weights" in n for n in info.notes)
    old = tmp_path / "old.keras"
    with zipfile.ZipFile(old, "w") as zf:
        zf.writestr("config.json", config)
        zf.writestr("variables.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    info = read_keras_archive(str(old))
    assert (info.weights_member, info.weights_bytes) == ("variables.h5", 108)
    assert info.keras_version is None
    assert any("keras 2.11" in n for n in info.notes)
    assert any("no metadata.json" in n for n in info.notes)


# ------------------------------------------------------------------ hostile / broken archives


def test_truncated_zip(tmp_path: Path) -> None:
    data = any_fixture().read_bytes()
    bad = tmp_path / "t.keras"
    bad.write_bytes(data[: len(data) // 2])
    bounded(lambda: read_keras_archive(str(bad)), "not a readable .keras archive")


def test_truncated_inside_config_member(tmp_path: Path) -> None:
    src = rezip(any_fixture(), tmp_path / "c.keras", compression=zipfile.ZIP_DEFLATED)
    data = bytearray(src.read_bytes())
    start = data.find(b"config.json") + len("config.json")
    data[start + 10 : start + 40] = b"\0" * 30  # corrupt the deflate stream, keep the directory
    src.write_bytes(bytes(data))
    bounded(lambda: read_keras_archive(str(src)), "not a readable .keras archive|not valid JSON")


def test_not_a_zip_and_missing_config(tmp_path: Path) -> None:
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    bounded(lambda: read_keras_archive(str(junk)), "not a readable .keras archive")
    empty = tmp_path / "e.keras"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("metadata.json", b"{}")
    bounded(lambda: read_keras_archive(str(empty)), "no config.json member")
    bounded(lambda: read_keras_archive(str(tmp_path / "missing.keras")), "not a readable")


def test_config_member_claiming_huge_size(tmp_path: Path) -> None:
    bad = rezip(any_fixture(), tmp_path / "huge.keras")
    patch_central_size(bad, "config.json", 0xFFFFFFF0)
    bounded(lambda: read_keras_archive(str(bad)), "config.json declares 4294967280 bytes")


def test_config_member_lying_small_size(tmp_path: Path) -> None:
    bad = rezip(any_fixture(), tmp_path / "lie.keras", compression=zipfile.ZIP_DEFLATED)
    patch_central_size(bad, "config.json", 10, local_too=True)
    bounded(lambda: read_keras_archive(str(bad)), "not a readable .keras archive|not valid JSON")


def test_config_nested_100000_deep(tmp_path: Path) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    bad = rezip(any_fixture(), tmp_path / "deep.keras", replace={"config.json": deep})
    bounded(lambda: read_keras_archive(str(bad)), "config.json is nested deeper than 200")


def test_config_not_utf8(tmp_path: Path) -> None:
    latin = '{"class_name": "Séquentiel", "config": {}}'.encode("latin-1")
    bad = rezip(any_fixture(), tmp_path / "latin.keras", replace={"config.json": latin})
    bounded(lambda: read_keras_archive(str(bad)), "config.json is not UTF-8")


def test_config_not_a_keras_object(tmp_path: Path) -> None:
    bad = rezip(any_fixture(), tmp_path / "list.keras", replace={"config.json": b"[1, 2, 3]"})
    bounded(lambda: read_keras_archive(str(bad)), "not a serialized Keras object")


def _bomb(path: Path, megabytes: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("metadata.json", b'{"keras_version": "3.15.1"}')
        with zf.open("config.json", "w", force_zip64=True) as fh:
            chunk = b" " * (1024 * 1024)
            for _ in range(megabytes):
                fh.write(chunk)
    return path


def test_zip_bomb_member_under_size_limit(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "bomb.keras", 48)
    assert bomb.stat().st_size < 1024 * 1024
    bounded(lambda: read_keras_archive(str(bomb)), "possible zip bomb")


def test_zip_bomb_member_over_size_limit(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "bigbomb.keras", limits.MAX_JSON_BYTES // (1024 * 1024) + 1)
    bounded(lambda: read_keras_archive(str(bomb)), "over the 67108864-byte limit")


def test_too_many_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    many = rezip(any_fixture(), tmp_path / "many.keras", add={f"assets/{i}": b"" for i in range(5)})
    monkeypatch.setattr(limits, "MAX_ZIP_MEMBERS", 4)
    bounded(lambda: read_keras_archive(str(many)), "over the 4 limit")
