"""Tests of the protobuf wire reader and the SavedModel reader, against real SavedModels."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from envdoctor.errors import ModelFileError
from envdoctor.modelfiles import protowire, savedmodel
from envdoctor.modelfiles.protowire import Message, ProtoDecodeError, scan
from envdoctor.modelfiles.savedmodel import dtype_name, read_savedmodel
from envdoctor.types import InputSpec, ModelFormat

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real-models"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def real(pattern: str) -> Path:
    found = sorted(REAL.glob(pattern))
    if not found:
        pytest.skip(f"real model {pattern} not present")
    return found[0]


# --------------------------------------------------------------------------- a tiny encoder


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def ld(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def vi(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def st(number: int, text: str) -> bytes:
    return ld(number, text.encode())


def tensor_info(name: str, dtype: int, dims: list[int] | None) -> bytes:
    shape = ld(3, vi(3, 1)) if dims is None else ld(3, b"".join(ld(2, vi(1, d)) for d in dims))
    return st(1, name) + vi(2, dtype) + shape


def map_entry(number: int, key: str, value: bytes) -> bytes:
    return ld(number, st(1, key) + ld(2, value))


def make_saved_model(
    *,
    version: str = "2.99.0",
    tags: tuple[str, ...] = ("serve",),
    ops: tuple[str, ...] = ("Const", "Placeholder"),
    node_ops: tuple[str, ...] = ("Placeholder",),
    function_ops: tuple[str, ...] = (),
    signatures: dict[str, bytes] | None = None,
    object_graph: bool = True,
    producer: int = 1234,
) -> bytes:
    op_list = b"".join(ld(1, st(1, op)) for op in ops)
    info = ld(2, op_list) + b"".join(st(4, t) for t in tags) + st(5, version) + st(6, "v-git")
    nodes = b"".join(ld(1, st(1, f"n{i}") + st(2, op)) for i, op in enumerate(node_ops))
    function = ld(1, st(1, "__inference_f_1")) + b"".join(
        ld(3, st(1, f"f{i}") + st(2, op)) for i, op in enumerate(function_ops)
    )
    library = ld(2, ld(1, function)) if function_ops else b""
    graph = nodes + library + ld(4, vi(1, producer))
    if signatures is None:
        signatures = {
            "serving_default": ld(1, st(1, "x") + ld(2, tensor_info("x:0", 1, [-1, 3])))
            + ld(2, st(1, "y") + ld(2, tensor_info("y:0", 1, [-1, 1])))
            + st(3, "tensorflow/serving/predict")
        }
    sigs = b"".join(map_entry(5, key, value) for key, value in signatures.items())
    meta = ld(1, info) + ld(2, graph) + sigs + (ld(7, b"\x0a\x00") if object_graph else b"")
    return vi(1, 1) + ld(2, meta)


def write_model(directory: Path, data: bytes, variables: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "saved_model.pb").write_bytes(data)
    if variables:
        (directory / "variables").mkdir(exist_ok=True)
        (directory / "variables" / "variables.index").write_bytes(b"i" * 10)
        (directory / "variables" / "variables.data-00000-of-00001").write_bytes(b"d" * 100)
    return directory


# --------------------------------------------------------------------------- protowire


def test_scan_decodes_every_wire_type() -> None:
    data = vi(1, 150) + ld(2, b"abc") + varint(3 << 3 | 1) + (7).to_bytes(8, "little")
    data += varint(4 << 3 | 5) + (9).to_bytes(4, "little")
    fields = list(scan(data))
    assert [(n, w) for n, w, _ in fields] == [(1, 0), (2, 2), (3, 1), (4, 5)]
    assert fields[0][2] == 150
    assert bytes(fields[1][2]) == b"abc"  # type: ignore[arg-type]
    assert fields[2][2] == 7
    assert fields[3][2] == 9


def test_length_delimited_values_are_zero_copy_views() -> None:
    data = bytearray(ld(2, b"hello"))
    (_, _, value), = list(scan(data))
    assert isinstance(value, memoryview)
    assert value.obj is data
    data[2] = ord("j")
    assert bytes(value) == b"jello"


def test_scan_skips_unwanted_fields_without_yielding() -> None:
    data = ld(1, b"x" * 1000) + st(2, "keep") + ld(1, b"y")
    assert [(n, bytes(v)) for n, _, v in scan(data, (2,))] == [(2, b"keep")]  # type: ignore[arg-type]


def test_signed_and_repeated_getters() -> None:
    data = vi(1, -5 & ((1 << 64) - 1)) + vi(1, -7 & ((1 << 64) - 1)) + st(2, "a") + st(2, "b")
    fields = Message(data).collect((1, 2))
    assert fields.int32(1) == -7  # last one wins
    assert fields.int64(1) == -7
    assert fields.strings(2) == ["a", "b"]
    assert fields.string(2) == "b"
    assert fields.string(9, "default") == "default"


def test_repeated_submessage_occurrences_are_merged() -> None:
    data = ld(1, st(1, "a")) + ld(1, st(2, "b"))
    merged = Message(data).collect((1,)).message(1)
    assert merged is not None
    fields = merged.collect((1, 2))
    assert (fields.string(1), fields.string(2)) == ("a", "b")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x0a\x05ab", "runs past the end"),  # length 5, 2 bytes left
        (b"\x08", "truncated varint"),
        (b"\x08" + b"\xff" * 10 + b"\x01", "longer than 10 bytes"),
        (b"\x0b", "group wire type"),  # field 1, start group
        (b"\x0c", "group wire type"),  # field 1, end group
        (b"\x0e", "invalid wire type"),  # wire type 6
        (b"\x02\x00", "invalid field number 0"),
        (b"\x09\x01\x02", "truncated 8-byte"),
        (b"\x0d\x01", "truncated 4-byte"),
    ],
)
def test_malformed_input_raises_one_exception_type(data: bytes, message: str) -> None:
    with pytest.raises(ProtoDecodeError, match=message):
        list(scan(data))
    assert issubclass(ProtoDecodeError, ValueError)


def test_wrong_wire_type_and_bad_utf8_are_decode_errors() -> None:
    with pytest.raises(ProtoDecodeError, match="expected wire type"):
        Message(vi(1, 3)).collect((1,)).string(1)
    with pytest.raises(ProtoDecodeError, match="UTF-8"):
        Message(ld(1, b"\xff\xfe")).collect((1,)).string(1)


def test_nesting_depth_is_limited() -> None:
    data = b""
    for _ in range(protowire.MAX_PROTO_DEPTH + 5):
        data = ld(1, data)
    message = Message(data)
    with pytest.raises(ProtoDecodeError, match="nested deeper"):
        while True:
            sub = message.collect((1,)).message(1)
            assert sub is not None
            message = sub


# --------------------------------------------------------------------------- dtype names


def test_dtype_names() -> None:
    assert dtype_name(1) == "float32"
    assert dtype_name(19) == "float16"
    assert dtype_name(14) == "bfloat16"
    assert dtype_name(20) == "resource"
    assert dtype_name(23) == "uint64"
    assert dtype_name(101) == "float32_ref"
    assert dtype_name(109) == "int64_ref"
    assert dtype_name(99) == "dtype_99"


# --------------------------------------------------------------------------- real SavedModels


def test_pm029_tf114_half_plus_two() -> None:
    info = read_savedmodel(str(real("pm-029__*/00000123")))
    assert info.format is ModelFormat.SAVEDMODEL
    assert info.loadable
    assert info.tensorflow_version == "1.14.0"
    sm = info.savedmodel
    assert sm is not None
    assert sm.schema_version == 1
    (meta,) = sm.meta_graphs
    assert meta.tags == ("serve",)
    assert meta.tensorflow_git_version == "unknown"
    assert meta.producer == 149
    keys = [s.key for s in meta.signatures]
    assert keys == sorted(keys)
    assert set(keys) == {
        "serving_default",
        "classify_x_to_y",
        "regress_x_to_y",
        "regress_x_to_y2",
        "regress_x2_to_y3",
    }
    # Three kinds of signature (the manifest's "classify/regress/predict signatures").
    assert {s.method_name for s in meta.signatures} == {
        "tensorflow/serving/classify",
        "tensorflow/serving/regress",
        "tensorflow/serving/predict",
    }
    serving = next(s for s in meta.signatures if s.key == "serving_default")
    assert [(t.name, t.dtype, t.shape) for t in serving.inputs] == [("x", "float32", (None, 1))]
    assert [(t.name, t.dtype, t.shape) for t in serving.outputs] == [("y", "float32", (None, 1))]
    classify = next(s for s in meta.signatures if s.key == "classify_x_to_y")
    assert classify.inputs[0].dtype == "string"
    assert classify.inputs[0].shape is None  # unknown rank (serialized tf.Example input)
    assert info.inputs == (InputSpec(name="x", shape=(None, 1), dtype="float32"),)
    assert "VariableV2" in meta.ops and "ParseExample" in meta.ops
    assert not sm.has_keras_metadata and not sm.has_fingerprint
    assert sm.has_variables and sm.variables_bytes == 20 + 172
    assert sm.pb_bytes == 12107
    assert info.size_bytes == 12318  # MANIFEST.json size_bytes
    assert "TensorFlow 1.14.0 SavedModel (tags serve; signatures serving_default" in info.summary
    assert any("TF 1.x-style" in n for n in info.notes)
    assert "TFSMLayer(path, call_endpoint='serving_default')" in info.needs


def test_pm028_tf12_custom_tag_no_signatures() -> None:
    info = read_savedmodel(str(real("pm-028__*/export")))
    sm = info.savedmodel
    assert sm is not None
    (meta,) = sm.meta_graphs
    assert meta.tags == ("tag",)
    assert meta.signatures == ()
    assert meta.tensorflow_version == "1.2.1"
    assert meta.tensorflow_git_version == "v1.2.0-5-g435cdfc"
    assert meta.producer == 22
    assert info.inputs == ()
    assert info.summary == "TensorFlow 1.2.1 SavedModel (tags tag; no signatures)"
    assert "tags=['tag']" in info.needs
    assert "needs a signature" in info.needs
    assert info.size_bytes == 50846


def test_pm032_tensorflow_text_ops_found_in_function_library() -> None:
    info = read_savedmodel(str(real("pm-032__*/01")))
    sm = info.savedmodel
    assert sm is not None
    (meta,) = sm.meta_graphs
    assert meta.tensorflow_version == "2.3.0"
    for op in (
        "SentencepieceOp",
        "SentencepieceTokenizeOp",
        "SentencepieceDetokenizeOp",
        "CaseFoldUTF8",
        "NormalizeUTF8",
        "WhitespaceTokenizeWithOffsets",
        "WordpieceTokenizeWithOffsets",
        "UnicodeScriptTokenizeWithOffsets",
        "RegexSplitWithOffsets",
    ):
        assert op in meta.ops
    assert list(meta.ops) == sorted(set(meta.ops))
    assert not any(op.startswith("__inference") for op in meta.ops)
    assert info.size_bytes == 2213811


def test_pm035_keras_metadata_and_fingerprint() -> None:
    info = read_savedmodel(str(real("pm-035__*/model")))
    sm = info.savedmodel
    assert sm is not None
    assert info.tensorflow_version == "2.12.0"
    assert sm.has_keras_metadata and sm.has_fingerprint
    assert info.keras_version == "2.12.0"
    assert info.backend == "tensorflow"
    assert info.model_class == "Sequential"
    assert info.has_training_config
    assert info.inputs == (InputSpec(name="dense_input", shape=(None, 3), dtype="float32"),)
    assert "keras_metadata.pb present: written by tf.keras 2.x (Keras 2)" in info.notes
    assert "written by tf.keras 2.12.0 (Sequential)" in info.summary
    assert "tf.keras.models.load_model with Keras 2" in info.needs
    assert sm.variables_bytes == 1354608 + 2117
    assert info.size_bytes == 1494680


def test_pm036_tf214_half_plus_two() -> None:
    info = read_savedmodel(str(real("pm-036__*/00000123")))
    sm = info.savedmodel
    assert sm is not None
    assert info.tensorflow_version == "2.14.0"
    assert sm.has_fingerprint and not sm.has_keras_metadata
    (meta,) = sm.meta_graphs
    assert meta.producer == 1569
    assert "__saved_model_init_op" in [s.key for s in meta.signatures]
    assert info.summary.startswith(
        "TensorFlow 2.14.0 SavedModel (tags serve; signatures serving_default,"
    )
    assert "__saved_model_init_op" not in info.summary
    assert info.inputs == (InputSpec(name="x", shape=(1,), dtype="float32"),)


@pytest.mark.parametrize(
    ("pattern", "version", "producer", "input_name", "input_shape"),
    [
        ("pm-030__*/module_with_multiple_signatures", "2.0.0-beta1", 55, "x", ()),
        ("pm-031__*/lso_savedmodel_tf2.2", "2.2.0-rc2", 175, "input_1", (None, 2)),
    ],
)
def test_other_real_tf2_savedmodels(
    pattern: str, version: str, producer: int, input_name: str, input_shape: tuple[int | None, ...]
) -> None:
    info = read_savedmodel(str(real(pattern)))
    assert info.savedmodel is not None
    (meta,) = info.savedmodel.meta_graphs
    assert (meta.tensorflow_version, meta.producer) == (version, producer)
    assert info.inputs == (InputSpec(input_name, input_shape, "float32"),)
    assert not any("TF 1.x-style" in n for n in info.notes)


# --------------------------------------------------------------------------- generated fixtures


def _fixture_savedmodels() -> list[tuple[str, str, dict[str, object]]]:
    found = []
    for saved_with in sorted(FIXTURES.glob("*/SAVED_WITH.json")):
        try:
            record = json.loads(saved_with.read_text())
        except (OSError, ValueError):
            continue
        for entry in record.get("files", []):
            if "savedmodel" in str(entry.get("format")) and entry.get("saved"):
                path = saved_with.parent / str(entry["file"])
                if (path / "saved_model.pb").is_file():
                    found.append((str(path), str(entry["format"]), record))
    return found


FIXTURE_SAVEDMODELS = _fixture_savedmodels()


@pytest.mark.skipif(not FIXTURE_SAVEDMODELS, reason="no generated fixture SavedModels yet")
@pytest.mark.parametrize(
    ("path", "fmt", "record"),
    FIXTURE_SAVEDMODELS,
    ids=[os.path.relpath(p, FIXTURES) for p, _, _ in FIXTURE_SAVEDMODELS],
)
def test_generated_fixture_savedmodels(path: str, fmt: str, record: dict[str, object]) -> None:
    info = read_savedmodel(path)
    sm = info.savedmodel
    assert sm is not None
    versions = record["versions"]
    assert isinstance(versions, dict)
    tf_version = versions.get("tensorflow") or versions.get("tensorflow-cpu")
    assert info.tensorflow_version == tf_version
    assert sm.has_fingerprint  # every fixture environment is TF >= 2.13
    assert sm.meta_graphs[0].tags == ("serve",)
    assert "serving_default" in [s.key for s in sm.meta_graphs[0].signatures]
    assert info.inputs and info.inputs[0].shape[0] is None
    if fmt == "savedmodel":  # Keras 2 model.save(dir, save_format="tf")
        assert sm.has_keras_metadata
        assert info.keras_version == record["keras_api_version"]
        assert info.model_class == "Functional"
    else:  # Keras 3 model.export(dir)
        assert not sm.has_keras_metadata
        assert info.keras_version is None
        assert any("model.export()" in n for n in info.notes)
    if os.path.basename(path).startswith("lstm"):
        assert info.inputs[0].shape == (None, 5, 3)


# --------------------------------------------------------------------------- synthetic and broken


def test_synthetic_model_reads_every_field(tmp_path: Path) -> None:
    data = make_saved_model(
        ops=("Const", "Placeholder"),
        node_ops=("Placeholder", "StatefulPartitionedCall"),
        function_ops=("MatMul", "MyCustomOp", "__inference_f_1"),
    )
    info = read_savedmodel(str(write_model(tmp_path / "m", data)))
    assert info.savedmodel is not None
    (meta,) = info.savedmodel.meta_graphs
    assert meta.tensorflow_version == "2.99.0"
    assert meta.tensorflow_git_version == "v-git"
    assert meta.producer == 1234
    assert meta.ops == ("Const", "MatMul", "MyCustomOp", "Placeholder", "StatefulPartitionedCall")
    assert info.inputs == (InputSpec(name="x", shape=(None, 3), dtype="float32"),)
    assert info.savedmodel.variables_bytes == 110


def test_unknown_rank_and_sparse_inputs(tmp_path: Path) -> None:
    sig = (
        ld(1, st(1, "a") + ld(2, tensor_info("a:0", 7, None)))
        + ld(1, st(1, "b") + ld(2, vi(2, 9) + ld(4, b"") + ld(3, ld(2, vi(1, 5)))))
        + st(3, "tensorflow/serving/predict")
    )
    data = make_saved_model(signatures={"serving_default": sig})
    info = read_savedmodel(str(write_model(tmp_path / "m", data)))
    assert info.savedmodel is not None
    (signature,) = info.savedmodel.meta_graphs[0].signatures
    assert [(t.name, t.dtype, t.shape) for t in signature.inputs] == [
        ("a", "string", None),
        ("b", "sparse int64", (5,)),
    ]
    assert info.inputs == (InputSpec(name="b", shape=(5,), dtype="sparse int64"),)
    assert any("unknown rank" in n for n in info.notes)


def test_truncated_saved_model_pb(tmp_path: Path) -> None:
    data = (real("pm-036__*/00000123") / "saved_model.pb").read_bytes()
    path = write_model(tmp_path / "m", data[: len(data) // 2])
    expected = "saved_model.pb is not a readable SavedModel: .*truncated"
    with pytest.raises(ModelFileError, match=expected):
        read_savedmodel(str(path))


@pytest.mark.parametrize("data", [b"", b"\x08\x01", b"\xff" * 64, b"hello world, not a proto"])
def test_garbage_saved_model_pb(tmp_path: Path, data: bytes) -> None:
    path = write_model(tmp_path / "m", data)
    with pytest.raises(ModelFileError, match="not a readable SavedModel") as caught:
        read_savedmodel(str(path))
    assert caught.value.path == str(path)
    assert "\n" not in str(caught.value)


def test_size_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_model(tmp_path / "m", make_saved_model())
    monkeypatch.setattr(savedmodel, "MAX_PB_BYTES", 50)
    with pytest.raises(ModelFileError, match="over the 50-byte limit"):
        read_savedmodel(str(path))


def test_lfs_pointer_as_saved_model_pb(tmp_path: Path) -> None:
    pointer = (
        b"version https://git-lfs.github.com/spec/v1\n"
        b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        b"size 52428800\n"
    )
    info = read_savedmodel(str(write_model(tmp_path / "m", pointer)))
    assert info.format is ModelFormat.GIT_LFS_POINTER
    assert "sha256:4d7a2146" in info.summary and "52428800" in info.summary
    assert "git lfs pull" in info.needs


def test_missing_shard_and_lfs_variables_are_noted(tmp_path: Path) -> None:
    path = write_model(tmp_path / "m", make_saved_model(), variables=False)
    (path / "variables").mkdir()
    (path / "variables" / "variables.index").write_bytes(b"x")
    (path / "variables" / "variables.data-00000-of-00002").write_bytes(
        b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 10\n"
    )
    info = read_savedmodel(str(path))
    assert any("missing 1 of 2 shard" in n for n in info.notes)
    assert any("git-lfs pointer" in n and "data-00000" in n for n in info.notes)


def test_symlink_outside_is_not_counted(tmp_path: Path) -> None:
    outside = tmp_path / "big.bin"
    outside.write_bytes(b"z" * 5000)
    path = write_model(tmp_path / "m", make_saved_model())
    (path / "assets").mkdir()
    os.symlink(outside, path / "assets" / "vocab.txt")
    os.symlink(path / "saved_model.pb", path / "assets" / "inside_link")
    info = read_savedmodel(str(path))
    pb_size = (path / "saved_model.pb").stat().st_size
    assert info.size_bytes == pb_size + 110
    assert any("outside the directory" in n and "vocab.txt" in n for n in info.notes)
    assert not any("inside_link" in n for n in info.notes)


def test_symlink_loop_inside_directory_is_harmless(tmp_path: Path) -> None:
    path = write_model(tmp_path / "m", make_saved_model())
    os.symlink("loop_b", path / "loop_a")
    os.symlink("loop_a", path / "loop_b")
    os.symlink("..", path / "variables" / "up")
    info = read_savedmodel(str(path))
    assert info.format is ModelFormat.SAVEDMODEL


def test_pbtxt_is_reported_with_regex_facts(tmp_path: Path) -> None:
    path = tmp_path / "m"
    path.mkdir()
    (path / "saved_model.pbtxt").write_text(
        'saved_model_schema_version: 1\nmeta_graphs {\n  meta_info_def {\n    tags: "serve"\n'
        '    tensorflow_version: "2.4.1"\n    tensorflow_git_version: "v2.4.0-49-g85c8b2a817f"\n'
        "  }\n  graph_def {\n    versions {\n      producer: 561\n    }\n  }\n"
        '  signature_def {\n    key: "serving_default"\n    value {\n    }\n  }\n}\n'
    )
    info = read_savedmodel(str(path))
    assert info.format is ModelFormat.SAVEDMODEL
    assert info.tensorflow_version == "2.4.1"
    assert info.savedmodel is not None
    (meta,) = info.savedmodel.meta_graphs
    assert meta.tags == ("serve",)
    assert meta.producer == 561
    assert [s.key for s in meta.signatures] == ["serving_default"]
    assert "text format" in info.summary


def test_no_saved_model_pb(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no saved_model.pb"):
        read_savedmodel(str(tmp_path))


def test_keras_metadata_is_only_parsed_as_json(tmp_path: Path) -> None:
    path = write_model(tmp_path / "m", make_saved_model())
    metadata = {
        "class_name": "Functional",
        "keras_version": "2.15.0",
        "backend": "tensorflow",
        "model_config": "__import__('os').system('false')",
    }
    node = vi(2, 0) + st(3, "root") + st(4, "_tf_keras_network") + st(5, json.dumps(metadata))
    (path / "keras_metadata.pb").write_bytes(ld(1, node))
    info = read_savedmodel(str(path))
    assert info.keras_version == "2.15.0"
    assert info.model_class == "Functional"
    assert info.savedmodel is not None and info.savedmodel.has_keras_metadata


def test_corrupt_keras_metadata_becomes_a_note(tmp_path: Path) -> None:
    path = write_model(tmp_path / "m", make_saved_model())
    (path / "keras_metadata.pb").write_bytes(b"\x0a\xff\xff")
    info = read_savedmodel(str(path))
    assert info.keras_version is None
    assert any("keras_metadata.pb is not readable" in n for n in info.notes)


def test_multiple_meta_graphs_need_tags(tmp_path: Path) -> None:
    one = make_saved_model(tags=("serve",))
    two = make_saved_model(tags=("serve", "gpu"), version="2.99.1")
    data = vi(1, 1) + one[2:] + two[2:]
    info = read_savedmodel(str(write_model(tmp_path / "m", data)))
    assert info.savedmodel is not None
    assert [m.tags for m in info.savedmodel.meta_graphs] == [("serve",), ("serve", "gpu")]
    assert info.tensorflow_version == "2.99.0"
    assert "tags=['serve']" in info.needs


def test_large_saved_model_pb_is_fast(tmp_path: Path) -> None:
    """A ~50 MB saved_model.pb (pm-032's function library repeated) is read in well under 5 s."""
    source = (real("pm-032__*/01") / "saved_model.pb").read_bytes()
    top = Message(source).collect((1, 2))
    meta = top.messages(2)[0].collect((1, 2, 5, 7))
    graph_message = meta.message(2)
    assert graph_message is not None
    graph = graph_message.collect((1, 2, 4))
    library = graph.raw(2)[0]
    assert isinstance(library, memoryview)
    repeat = (50 * 1024 * 1024) // len(library) + 1
    nodes = b"".join(ld(1, bytes(n)) for n in graph.raw(1) if isinstance(n, memoryview))
    versions = graph.raw(4)[0]
    assert isinstance(versions, memoryview)
    graph_bytes = nodes + ld(2, bytes(library) * repeat) + ld(4, bytes(versions))
    raw_info = meta.raw(1)[0]
    assert isinstance(raw_info, memoryview)
    meta_bytes = ld(1, bytes(raw_info)) + ld(2, graph_bytes) + b"".join(
        ld(5, bytes(v)) for v in meta.raw(5) if isinstance(v, memoryview)
    )
    path = write_model(tmp_path / "big", vi(1, 1) + ld(2, meta_bytes))
    assert (path / "saved_model.pb").stat().st_size > 50 * 1024 * 1024
    start = time.perf_counter()
    info = read_savedmodel(str(path))
    elapsed = time.perf_counter() - start
    assert info.savedmodel is not None
    assert "SentencepieceOp" in info.savedmodel.meta_graphs[0].ops
    assert elapsed < 5.0, f"reading a 50 MB saved_model.pb took {elapsed:.2f} s"


def test_directory_size_does_not_follow_links(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_bytes(b"1234")
    os.symlink(tmp_path, tmp_path / "d" / "root_link")
    size, notes = savedmodel.directory_size(str(tmp_path / "d"))
    assert size == 4
    assert any("root_link" in n for n in notes)
    shutil.rmtree(tmp_path / "d")
