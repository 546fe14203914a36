"""Tests of format detection (read_model) on real artifacts and on broken or hostile inputs."""

from __future__ import annotations

import gzip
import importlib.abc
import json
import os
import pickle
import random
import shutil
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from envdoctor.errors import ModelFileError
from envdoctor.modelfiles import detect, read_model
from envdoctor.types import ModelFormat

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real-models"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

KIND_TO_FORMAT = {
    "keras_zip": ModelFormat.KERAS_ARCHIVE,
    "keras_h5_full": ModelFormat.KERAS_H5,
    "keras_h5_weights": ModelFormat.KERAS_H5_WEIGHTS,
    "savedmodel": ModelFormat.SAVEDMODEL,
    "tf_checkpoint": ModelFormat.TF_CHECKPOINT,
    "tflite": ModelFormat.TFLITE,
    "tf1_session_bundle_export": ModelFormat.TF1_SESSION_BUNDLE,
    "hdf5_not_a_model": ModelFormat.HDF5_NOT_A_MODEL,
    "frozen_graphdef": ModelFormat.FROZEN_GRAPHDEF,
}

LFS_POINTER = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    b"size 123456789\n"
)


def _manifest() -> list[dict[str, object]]:
    try:
        entries = json.loads((REAL / "MANIFEST.json").read_text())
    except (OSError, ValueError):
        return []
    return [e for e in entries if isinstance(e, dict)]


MANIFEST = _manifest()


def real(pattern: str) -> Path:
    found = sorted(REAL.glob(pattern))
    if not found:
        pytest.skip(f"real model {pattern} not present")
    return found[0]


# --------------------------------------------------------------------------- every real model


@pytest.mark.skipif(not MANIFEST, reason="real-models MANIFEST.json not present")
@pytest.mark.parametrize("entry", MANIFEST, ids=[str(e.get("id")) for e in MANIFEST])
def test_every_real_model_reads_as_its_format(entry: dict[str, object]) -> None:
    info = read_model(str(REAL / str(entry["file"])))
    assert info.format is KIND_TO_FORMAT[str(entry["kind"])], info.summary
    assert info.summary and "\n" not in info.summary
    assert info.path == str(REAL / str(entry["file"]))
    if info.format is ModelFormat.SAVEDMODEL:  # (pm-040's manifest size counts a file not copied)
        assert info.size_bytes == entry["size_bytes"]


def test_real_model_directory_tree_never_raises_anything_else() -> None:
    """Every file and directory under real-models reads to a ModelInfo or a ModelFileError."""
    if not REAL.is_dir():
        pytest.skip("real-models not present")
    seen = 0
    for root, dirs, files in os.walk(REAL):
        for name in dirs + files:
            try:
                info = read_model(os.path.join(root, name))
            except ModelFileError as exc:
                assert "\n" not in str(exc)
            else:
                assert info.summary
            seen += 1
    assert seen > 40


def test_pm029_saved_model() -> None:
    info = read_model(str(real("pm-029__*/00000123")))
    assert info.format is ModelFormat.SAVEDMODEL
    assert info.tensorflow_version == "1.14.0"
    assert info.savedmodel is not None
    (meta,) = info.savedmodel.meta_graphs
    assert meta.tags == ("serve",)
    assert len(meta.signatures) == 5
    assert len({s.method_name for s in meta.signatures}) == 3


def test_pm028_custom_tag() -> None:
    info = read_model(str(real("pm-028__*/export")))
    assert info.savedmodel is not None
    assert info.savedmodel.meta_graphs[0].tags == ("tag",)
    assert info.savedmodel.meta_graphs[0].signatures == ()


def test_pm032_custom_ops() -> None:
    info = read_model(str(real("pm-032__*/01")))
    assert info.savedmodel is not None
    assert {"SentencepieceOp", "CaseFoldUTF8"} <= set(info.savedmodel.meta_graphs[0].ops)


def test_pm035_keras_savedmodel() -> None:
    info = read_model(str(real("pm-035__*/model")))
    assert info.tensorflow_version == "2.12.0"
    assert info.keras_version == "2.12.0"
    assert info.savedmodel is not None
    assert info.savedmodel.has_keras_metadata and info.savedmodel.has_fingerprint


def test_pm036_version() -> None:
    assert read_model(str(real("pm-036__*/00000123"))).tensorflow_version == "2.14.0"


@pytest.mark.parametrize(
    "relative",
    ["ckpt", "ckpt.index", "ckpt.data-00000-of-00002", "ckpt.data-00001-of-00002", ""],
)
def test_pm040_checkpoint_every_way_it_can_be_named(relative: str) -> None:
    directory = real("pm-040__*")
    path = str(directory / relative) if relative else str(directory)
    info = read_model(path)
    assert info.format is ModelFormat.TF_CHECKPOINT
    assert not info.loadable
    assert "object-based" in info.summary
    assert "2 data shard(s)" in info.summary
    assert info.needs == detect.CHECKPOINT_NEEDS
    assert info.size_bytes == 839 + 1360 + 80


def test_pm040_missing_shard_is_noted(tmp_path: Path) -> None:
    source = real("pm-040__*")
    for name in ("ckpt.index", "ckpt.data-00000-of-00002"):
        shutil.copy(source / name, tmp_path / name)
    info = read_model(str(tmp_path / "ckpt"))
    assert info.format is ModelFormat.TF_CHECKPOINT
    assert any("1 of 2 data shard(s) missing" in n for n in info.notes)


def test_pm042_tflite() -> None:
    info = read_model(str(real("pm-042__*/model.tflite")))
    assert info.format is ModelFormat.TFLITE
    assert info.needs == "tf.lite.Interpreter / ai_edge_litert; not a Keras model"
    assert info.size_bytes == 768


@pytest.mark.parametrize("relative", ["", "export.meta", "export"])
def test_pm048_session_bundle(relative: str) -> None:
    directory = real("pm-048__*/00000123")
    info = read_model(str(directory / relative) if relative else str(directory))
    assert info.format is ModelFormat.TF1_SESSION_BUNDLE
    assert not info.loadable
    assert info.needs == detect.SESSION_BUNDLE_NEEDS
    assert "SessionBundle" in info.summary


def test_pm050_frozen_graph() -> None:
    info = read_model(str(real("pm-050__*/frozen.pb")))
    assert info.format is ModelFormat.FROZEN_GRAPHDEF
    assert info.needs == "tf.compat.v1 import_graph_def; not loadable with load_model"
    assert "8 nodes" in info.summary
    assert any("Placeholder" in n for n in info.notes)


def test_frozen_graph_is_found_by_content_not_name(tmp_path: Path) -> None:
    target = tmp_path / "model.bin"
    shutil.copy(real("pm-050__*/frozen.pb"), target)
    assert read_model(str(target)).format is ModelFormat.FROZEN_GRAPHDEF


def test_saved_model_pb_given_as_a_file() -> None:
    pb = real("pm-036__*/00000123") / "saved_model.pb"
    info = read_model(str(pb))
    assert info.format is ModelFormat.SAVEDMODEL
    assert info.path == str(pb)
    assert any("TensorFlow loads the directory" in n for n in info.notes)


def test_export_meta_renamed_is_a_meta_graph(tmp_path: Path) -> None:
    target = tmp_path / "graph.meta"
    shutil.copy(real("pm-048__*/00000123") / "export.meta", target)
    info = read_model(str(target))
    assert info.format is ModelFormat.UNKNOWN
    assert "MetaGraphDef" in info.summary


@pytest.mark.skipif(not (FIXTURES / "tf215").is_dir(), reason="tf215 fixtures not generated")
def test_fixture_weights_h5_goes_through_hdf5_reader() -> None:
    path = FIXTURES / "tf215" / "mlp.weights.h5"
    if not path.is_file():
        pytest.skip("mlp.weights.h5 not generated")
    info = read_model(str(path))
    assert info.format in (ModelFormat.KERAS_WEIGHTS_H5, ModelFormat.KERAS_H5_WEIGHTS)


# --------------------------------------------------------------------------- bad input


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such file or directory") as caught:
        read_model(str(tmp_path / "nope.keras"))
    assert caught.value.path == str(tmp_path / "nope.keras")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    path.write_bytes(b"")
    info = read_model(str(path))
    assert info.format is ModelFormat.EMPTY
    assert not info.loadable
    assert "empty (0-byte) file" in info.summary


def test_empty_directory(tmp_path: Path) -> None:
    info = read_model(str(tmp_path))
    assert info.format is ModelFormat.EMPTY
    assert "empty directory" in info.summary


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    path.write_bytes(bytes(random.Random(1234).getrandbits(8) for _ in range(10_000)))
    info = read_model(str(path))
    assert info.format is ModelFormat.UNKNOWN
    assert "binary data starting with" in info.summary
    assert "'.h5'" in info.summary


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    path.write_text("hello, this is not a model\n")
    info = read_model(str(path))
    assert info.format is ModelFormat.UNKNOWN
    assert "text starting with 'hello, this is not a model'" in info.summary


def test_truncated_saved_model_in_directory(tmp_path: Path) -> None:
    source = real("pm-035__*/model")
    target = tmp_path / "model"
    shutil.copytree(source, target)
    data = (target / "saved_model.pb").read_bytes()
    (target / "saved_model.pb").write_bytes(data[: len(data) - 1000])
    with pytest.raises(ModelFileError, match="saved_model.pb is not a readable SavedModel"):
        read_model(str(target))


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    path.chmod(0)
    try:
        with pytest.raises(ModelFileError, match="permission denied"):
            read_model(str(path))
    finally:
        path.chmod(0o600)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root lists anything")
def test_unlistable_directory(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "saved_model.pb").write_bytes(b"x")
    target.chmod(0)
    try:
        with pytest.raises(ModelFileError, match="permission denied"):
            read_model(str(target))
    finally:
        target.chmod(0o700)


def test_directory_permission_error_even_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root ignores mode bits, so simulate the EACCES os.listdir raises for other users."""
    target = tmp_path / "model"
    target.mkdir()
    real_listdir = os.listdir

    def listdir(path: object = ".") -> list[str]:
        if os.fspath(path) == str(target):  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", str(path))
        return real_listdir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "listdir", listdir)
    with pytest.raises(ModelFileError, match="cannot list the directory: permission denied"):
        read_model(str(target))


def test_path_through_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelFileError, match="not a directory"):
        read_model(str(tmp_path / "file" / "model.keras"))


def test_symlink_loop(tmp_path: Path) -> None:
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    with pytest.raises(ModelFileError, match="symbolic link loop"):
        read_model(str(tmp_path / "a"))


def test_dangling_symlink(tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone.keras", tmp_path / "model.keras")
    with pytest.raises(ModelFileError, match="dangling symbolic link"):
        read_model(str(tmp_path / "model.keras"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ModelFileError, match="not a regular file"):
        read_model(str(tmp_path / "pipe"))


def test_git_lfs_pointer(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    path.write_bytes(LFS_POINTER)
    info = read_model(str(path))
    assert info.format is ModelFormat.GIT_LFS_POINTER
    assert "sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393" in info.summary
    assert "123456789 bytes" in info.summary
    assert "git lfs pull" in info.needs
    assert not info.loadable


class _ImportSpy(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.attempts: list[str] = []

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname.startswith("envdoctor_should_never_import"):
            self.attempts.append(fullname)
        return None


@pytest.fixture
def import_spy(monkeypatch: pytest.MonkeyPatch) -> _ImportSpy:
    spy = _ImportSpy()
    monkeypatch.setattr(sys, "meta_path", [spy, *sys.meta_path])
    return spy


# GLOBAL 'envdoctor_should_never_import Boom'; EMPTY_TUPLE; NEWOBJ; STOP
HOSTILE_P2 = b"\x80\x02cenvdoctor_should_never_import\nBoom\nq\x00)\x81q\x01."
# SHORT_BINUNICODE module, MEMOIZE, SHORT_BINUNICODE name, MEMOIZE, STACK_GLOBAL, ... STOP
_MODULE = b"envdoctor_should_never_import.sub"
HOSTILE_P4 = (
    b"\x80\x04\x8c" + bytes([len(_MODULE)]) + _MODULE + b"\x94\x8c\x04Boom\x94\x93\x94)\x81\x94."
)


@pytest.mark.parametrize(
    ("data", "module", "protocol"),
    [
        (HOSTILE_P2, "envdoctor_should_never_import", 2),
        (HOSTILE_P4, "envdoctor_should_never_import.sub", 4),
    ],
)
def test_pickle_is_recognised_and_never_unpickled(
    tmp_path: Path, import_spy: _ImportSpy, data: bytes, module: str, protocol: int
) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    info = read_model(str(path))
    assert info.format is ModelFormat.PICKLE
    assert not info.loadable
    assert f"protocol {protocol}" in info.summary
    assert "never unpickled" in info.summary
    assert module in info.summary
    assert "arbitrary code" in info.needs
    assert import_spy.attempts == []
    assert "envdoctor_should_never_import" not in sys.modules


def test_harmless_pickle_without_pickle_suffix(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    path.write_bytes(pickle.dumps({"weights": [1.0, 2.0], "name": "m"}, protocol=5))
    info = read_model(str(path))
    assert info.format is ModelFormat.PICKLE
    assert "protocol 5" in info.summary


@pytest.mark.parametrize(("compress", "kind"), [(zlib.compress, "zlib"), (gzip.compress, "gzip")])
def test_compressed_joblib_style_pickle(
    tmp_path: Path, import_spy: _ImportSpy, compress: object, kind: str
) -> None:
    path = tmp_path / "model.joblib"
    path.write_bytes(compress(HOSTILE_P2))  # type: ignore[operator]
    info = read_model(str(path))
    assert info.format is ModelFormat.PICKLE
    assert f"{kind}-compressed" in info.summary
    assert "envdoctor_should_never_import" in info.summary
    assert import_spy.attempts == []


def test_truncated_pickle_is_still_a_pickle(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(HOSTILE_P2[:20])
    info = read_model(str(path))
    assert info.format is ModelFormat.PICKLE


def test_h5_name_holding_a_plain_zip(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weights.bin", b"\x00" * 10)
        archive.writestr("notes.txt", "hello")
    info = read_model(str(path))
    assert info.format is ModelFormat.UNKNOWN
    assert "zip archive without config.json" in info.summary
    assert "weights.bin" in info.summary


def test_h5_name_holding_a_keras_archive(tmp_path: Path) -> None:
    source = real("pm-008__*/model.keras")
    path = tmp_path / "model.h5"
    shutil.copy(source, path)
    info = read_model(str(path))
    assert info.format is ModelFormat.KERAS_ARCHIVE
    assert any("rename it to *.keras" in n for n in info.notes)


def test_torch_zip_is_named(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", HOSTILE_P2)
        archive.writestr("archive/version", "3\n")
    info = read_model(str(path))
    assert info.format is ModelFormat.UNKNOWN
    assert "PyTorch" in info.summary


def test_corrupt_zip(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    with pytest.raises(ModelFileError, match="corrupt or truncated zip"):
        read_model(str(path))


def test_json_that_is_not_a_config(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"learning_rate": 0.1, "epochs": 3}))
    info = read_model(str(path))
    assert info.format is ModelFormat.UNKNOWN
    assert "not a Keras model config" in info.summary
    assert "epochs" in info.summary


def test_broken_json(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"class_name": "Sequential", ')
    info = read_model(str(path))
    assert info.format is ModelFormat.UNKNOWN
    assert "not readable JSON" in info.summary


def test_tfjs_model_json(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    topology = {"format": "layers-model", "modelTopology": {}, "weightsManifest": []}
    path.write_text(json.dumps(topology))
    info = read_model(str(path))
    assert info.format is ModelFormat.UNKNOWN
    assert "TensorFlow.js" in info.summary


def test_keras_config_json_is_delegated() -> None:
    path = FIXTURES / "tf215" / "mlp_config.json"
    if not path.is_file():
        pytest.skip("fixture config json not generated")
    assert read_model(str(path)).format is ModelFormat.KERAS_CONFIG_JSON


def test_html_download(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    path.write_text("<!DOCTYPE html>\n<html><head><title>GitHub</title></head></html>")
    info = read_model(str(path))
    assert info.format is ModelFormat.UNKNOWN
    assert "HTML page" in info.summary


def test_tf_serving_base_directory(tmp_path: Path) -> None:
    shutil.copytree(real("pm-036__*/00000123"), tmp_path / "base" / "123")
    info = read_model(str(tmp_path / "base"))
    assert info.format is ModelFormat.UNKNOWN
    assert "TensorFlow Serving" in info.summary
    assert os.path.join(str(tmp_path / "base"), "123") in info.needs


def test_incomplete_savedmodel_directory(tmp_path: Path) -> None:
    shutil.copytree(real("pm-036__*/00000123"), tmp_path / "m")
    (tmp_path / "m" / "saved_model.pb").unlink()
    info = read_model(str(tmp_path / "m"))
    assert info.format is ModelFormat.UNKNOWN
    assert "no saved_model.pb" in info.summary


def test_unexpected_exception_is_wrapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"abc")

    def boom(path: str, size: int) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(detect, "_read_file", boom)
    with pytest.raises(ModelFileError, match="unexpected error while reading: KeyError"):
        read_model(str(path))


def test_sidecar_files_are_attached(tmp_path: Path) -> None:
    target = tmp_path / "model"
    shutil.copytree(real("pm-036__*/00000123"), target)
    (tmp_path / "requirements.txt").write_text("tensorflow==2.14.0\nnumpy<2\n")
    (tmp_path / ".python-version").write_text("3.11.7\n")
    info = read_model(str(target))
    assert info.format is ModelFormat.SAVEDMODEL
    assert info.sidecar is not None
    assert info.sidecar.python_version == "3.11.7"
    assert info.sidecar.requirements == ("tensorflow==2.14.0", "numpy<2")


def test_no_sidecar_means_none(tmp_path: Path) -> None:
    path = tmp_path / "model.tflite"
    shutil.copy(real("pm-042__*/model.tflite"), path)
    assert read_model(str(path)).sidecar is None


def test_describe_bytes() -> None:
    assert detect.describe_bytes(b"\x00\x01\x02") == "binary data starting with 00 01 02"
    assert detect.describe_bytes(b"abc\ndef") == "text starting with 'abc'"


def test_lfs_pointer_info() -> None:
    assert detect.lfs_pointer_info(LFS_POINTER) == (
        "sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393",
        123456789,
    )
    assert detect.lfs_pointer_info(b"version https://git-lfs.github.com/spec/v1\n") == (None, None)
