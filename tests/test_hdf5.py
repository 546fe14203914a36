"""Tests of envdoctor.modelfiles.hdf5 on real HDF5 models written by others and on fixtures."""

from __future__ import annotations

import json
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from envdoctor.errors import ModelFileError
from envdoctor.modelfiles.hdf5 import WEIGHTS_NEEDS, read_hdf5
from envdoctor.types import ConfigDialect, InputSpec, ModelFormat

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real-models"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MODELS = ("mlp", "lstm", "lambda", "custom", "mixed")

K1, K2 = ConfigDialect.KERAS1, ConfigDialect.KERAS2

# prefix: (keras_version, backend, dialect, model_class, layer classes, first input, training)
WHOLE_MODELS = {
    "pm-009": (
        "1.1.0",
        None,
        K1,
        "Sequential",
        ["LSTM", "LSTM", "TimeDistributedDense", "Activation"],
        InputSpec("lstm_1_input", (None, 10, 2), "float32"),
        True,
    ),
    "pm-010": (
        "1.2.1",
        None,
        K1,
        "Sequential",
        ["Dense", "Activation", "Dense", "Activation"],
        InputSpec("dense_1_input", (None, 784), "float32"),
        True,
    ),
    "pm-011": (
        "1.2.2",
        None,
        K1,
        "Sequential",
        ["LSTM", "Dense"],
        InputSpec("lstm_1_input", (None, 1, 1), "float32"),
        True,
    ),
    "pm-012": (
        "2.0.2-tf",
        "tensorflow",
        K2,
        "Sequential",
        ["Dense", "Activation", "Dense", "Activation"],
        InputSpec("dense_1_input", (None, 784), "float32"),
        True,
    ),
    "pm-013": (
        "2.0.9",
        "tensorflow",
        K2,
        "Model",
        ["InputLayer", "Dense", "Lambda", "Lambda", "Dense"],
        InputSpec("input_1", (None, 784), "float32"),
        False,
    ),
    "pm-014": (
        "2.1.3",
        "theano",
        K2,
        "Sequential",
        ["Conv2D"],
        InputSpec("conv2d_1_input", (None, 5, 5, 5), "float32"),
        True,
    ),
    "pm-016": (
        "2.2.4",
        "tensorflow",
        K2,
        "Sequential",
        ["Lambda"] + ["Conv2D"] * 5 + ["Dropout", "Flatten"] + ["Dense"] * 4,
        InputSpec("lambda_1_input", (None, 68, 204, 3), "float32"),
        True,
    ),
    "pm-017": (
        "2.2.4-tf",
        "tensorflow",
        K2,
        "Model",
        ["InputLayer", "Dense"],
        InputSpec("input_1", (None, 2), "float32"),
        False,
    ),
    "pm-018": (
        "2.3.1",
        "tensorflow",
        K2,
        "Sequential",
        ["Dense", "ELU"],
        InputSpec("dense_input", (None, 16), "float32"),
        True,
    ),
    "pm-019": (
        "2.4.0",
        "tensorflow",
        K2,
        "Functional",
        ["InputLayer", "Flatten", "Dense"],
        InputSpec("input_1", (None, 10, 10, 10, 1), "float32"),
        False,
    ),
    "pm-022": (
        "2.11.0",
        "tensorflow",
        K2,
        "Functional",
        ["InputLayer", "Dense", "Attention", "Concatenate", "Dense", "Dense"],
        InputSpec("inputs", (None, 22), "float32"),
        True,
    ),
}


def real(prefix: str) -> Path:
    matches = sorted(p for p in REAL.glob(f"{prefix}__*/*") if p.suffix in (".h5", ".hdf5"))
    if not matches:
        pytest.skip(f"real model {prefix} not present")
    return matches[0]


def fixture_files() -> list[tuple[str, str]]:
    pairs = []
    for env in sorted(p for p in FIXTURES.glob("*") if (p / "SAVED_WITH.json").is_file()):
        pairs.extend((env.name, m) for m in MODELS if (env / f"{m}.h5").is_file())
    return pairs


# ------------------------------------------------------------------ real models written by others


def test_every_real_hdf5_is_covered() -> None:
    if not REAL.is_dir():
        pytest.skip("real models not present")
    found = {p.parent.name.split("__")[0] for p in REAL.glob("*/*") if p.suffix in (".h5", ".hdf5")}
    assert found <= set(WHOLE_MODELS) | {"pm-024", "pm-025", "pm-049"}


@pytest.mark.parametrize("prefix", sorted(WHOLE_MODELS))
def test_real_whole_models(prefix: str) -> None:
    version, backend, dialect, cls, classes, first_input, training = WHOLE_MODELS[prefix]
    path = real(prefix)
    info = read_hdf5(str(path))
    assert info.format is ModelFormat.KERAS_H5
    assert info.loadable
    assert (info.keras_version, info.backend, info.dialect) == (version, backend, dialect)
    assert info.model_class == cls
    assert [x.class_name for x in info.layers] == classes
    assert info.inputs == (first_input,)
    assert info.has_training_config is training
    assert info.custom_objects == ()
    assert info.size_bytes == path.stat().st_size
    assert info.summary.startswith(f"Keras {version} HDF5 model")


def test_pm009_keras_1_1_without_backend() -> None:
    info = read_hdf5(str(real("pm-009")))
    assert info.keras_version == "1.1.0"
    assert info.backend is None
    assert info.dialect is ConfigDialect.KERAS1
    assert "Keras 1.x or 2.x" in info.needs


def test_pm013_lambdas_hold_bytecode() -> None:
    info = read_hdf5(str(real("pm-013")))
    assert [(x.layer, x.has_bytecode, x.function_type) for x in info.lambdas] == [
        ("lambda_3", True, "lambda"),
        ("lambda_4", True, "lambda"),
    ]
    assert [s.kind for s in info.security] == ["lambda", "lambda"]
    assert "safe_mode=False" in info.needs


def test_pm014_theano_backend() -> None:
    info = read_hdf5(str(real("pm-014")))
    assert info.backend == "theano"
    assert "saved with the theano backend" in info.notes


def test_pm016_sequential_starting_with_lambda() -> None:
    info = read_hdf5(str(real("pm-016")))
    assert info.lambdas[0].layer == "lambda_1"
    assert info.lambdas[0].has_bytecode


def test_pm019_functional_class() -> None:
    assert read_hdf5(str(real("pm-019"))).model_class == "Functional"


def test_pm022_tf211_custom_adam_is_builtin() -> None:
    info = read_hdf5(str(real("pm-022")))
    assert info.custom_objects == ()
    assert "optimizer state saved (optimizer_weights)" in info.notes


def test_pm024_keras1_save_weights() -> None:
    info = read_hdf5(str(real("pm-024")))
    assert info.format is ModelFormat.KERAS_H5_WEIGHTS
    assert not info.loadable
    assert info.needs == WEIGHTS_NEEDS
    assert info.keras_version is None
    assert "weights of 12 layers" in info.summary
    assert any(n.startswith("layer_names: convolution2d_1, activation_1") for n in info.notes)


def test_pm025_keras2_save_weights_theano() -> None:
    info = read_hdf5(str(real("pm-025")))
    assert info.format is ModelFormat.KERAS_H5_WEIGHTS
    assert (info.keras_version, info.backend) == ("2.0.8", "theano")
    assert "weights of 3 layers" in info.summary
    assert info.layers == ()


def test_pm049_plain_hdf5_data_file() -> None:
    info = read_hdf5(str(real("pm-049")))
    assert info.format is ModelFormat.HDF5_NOT_A_MODEL
    assert not info.loadable
    assert "my_data (dataset)" in info.summary and "my_labels (dataset)" in info.summary


# ------------------------------------------------------------------ generated fixtures


@pytest.mark.parametrize(("env", "model"), fixture_files())
def test_fixture_h5(env: str, model: str) -> None:
    record = json.loads((FIXTURES / env / "SAVED_WITH.json").read_text())
    info = read_hdf5(str(FIXTURES / env / f"{model}.h5"))
    assert info.format is ModelFormat.KERAS_H5 and info.loadable
    assert info.keras_version == record["keras_api_version"]
    assert info.backend == record["keras_backend"]
    expected = ConfigDialect.KERAS3 if record["keras_major"] == 3 else ConfigDialect.TF_KERAS_2_13
    assert info.dialect is expected
    assert info.has_training_config
    assert [i.shape for i in info.inputs] == [(None, 5, 3) if model == "lstm" else (None, 8)]
    if model == "custom":
        assert [(c.class_name, c.registered_name) for c in info.custom_objects] == [
            ("Scale", "envdoctor_fixtures>Scale")
        ]
        assert [x.builtin for x in info.layers if x.class_name == "Scale"] == [False]
    else:
        assert info.custom_objects == ()
    assert [x.has_bytecode for x in info.lambdas] == ([True] if model == "lambda" else [])
    assert info.dtype_policy == ("mixed_float16" if model == "mixed" else "float32")


@pytest.mark.parametrize("env", sorted(p.parent.name for p in FIXTURES.glob("*/mlp.weights.h5")))
def test_fixture_v3_weights(env: str) -> None:
    info = read_hdf5(str(FIXTURES / env / "mlp.weights.h5"))
    assert info.format is ModelFormat.KERAS_WEIGHTS_H5
    assert not info.loadable
    assert info.needs == WEIGHTS_NEEDS
    assert "3 layer groups" in info.summary


# ------------------------------------------------------------------ broken and hostile files


def _any_h5() -> Path:
    found = sorted(FIXTURES.glob("*/mlp.h5")) or [real("pm-018")]
    return found[0]


def test_truncated_hdf5(tmp_path: Path) -> None:
    data = _any_h5().read_bytes()
    bad = tmp_path / "t.h5"
    bad.write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError, match="not a readable HDF5 file") as err:
        read_hdf5(str(bad))
    assert "\n" not in str(err.value)


def test_not_hdf5_and_missing(tmp_path: Path) -> None:
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\xff" * 500)
    with pytest.raises(ModelFileError, match="not a readable HDF5 file"):
        read_hdf5(str(junk))
    with pytest.raises(ModelFileError):
        read_hdf5(str(tmp_path / "missing.h5"))


def _model_h5(path: Path, model_config: object, **attrs: object) -> Path:
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = model_config
        for key, value in attrs.items():
            f.attrs[key] = value
        f.create_group("model_weights")
    return path


def test_deeply_nested_model_config(tmp_path: Path) -> None:
    path = _model_h5(tmp_path / "deep.h5", "[" * 100_000 + "]" * 100_000, keras_version="2.15.0")
    start = time.monotonic()
    with pytest.raises(ModelFileError, match="model_config attribute is nested deeper"):
        read_hdf5(str(path))
    assert time.monotonic() - start < 2


def test_non_utf8_model_config(tmp_path: Path) -> None:
    path = _model_h5(tmp_path / "latin.h5", np.bytes_(b'{"class_name": "S\xe9q", "config": []}'))
    with pytest.raises(ModelFileError, match="model_config attribute is not UTF-8"):
        read_hdf5(str(path))


def test_bytes_attributes_and_missing_keras_version(tmp_path: Path) -> None:
    config = json.dumps(
        {
            "class_name": "Sequential",
            "config": [
                {"class_name": "Dense", "config": {"name": "d", "batch_input_shape": [None, 3]}}
            ],
        }
    )
    path = _model_h5(
        tmp_path / "b.h5",
        np.bytes_(config.encode()),
        backend=np.bytes_(b"cntk"),
        training_config=np.bytes_(b"[" * 1000 + b"]" * 1000),
    )
    info = read_hdf5(str(path))
    assert info.keras_version is None and info.backend == "cntk"
    assert info.summary.startswith("Keras 1.x (no keras_version)")
    assert any("treat the file as Keras 1" in n for n in info.notes)
    assert any(n.startswith("training_config not read") for n in info.notes)
    assert info.inputs == (InputSpec("d_input", (None, 3), None),)


def test_links_are_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "secret.h5"
    with h5py.File(target, "w") as f:
        f.create_dataset("data", data=np.arange(3))
    path = tmp_path / "links.h5"
    with h5py.File(path, "w") as f:
        f["ext"] = h5py.ExternalLink(str(target), "/data")
        f["soft"] = h5py.SoftLink("/nowhere")
        f.create_dataset("plain", data=np.arange(2))
    target.unlink()  # following the external link would now fail loudly
    info = read_hdf5(str(path))
    assert info.format is ModelFormat.HDF5_NOT_A_MODEL
    assert "ext: external link, not followed" in info.notes
    assert "soft: soft link, not followed" in info.notes


def test_model_weights_group_without_config(tmp_path: Path) -> None:
    path = tmp_path / "mw.h5"
    with h5py.File(path, "w") as f:
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = np.array([b"dense", b"dense_1"])
    info = read_hdf5(str(path))
    assert info.format is ModelFormat.KERAS_H5_WEIGHTS
    assert "weights of 2 layers" in info.summary


def test_chunked_layer_names(tmp_path: Path) -> None:
    path = tmp_path / "chunk.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names0"] = np.array([b"a", b"b"])
        f.attrs["layer_names1"] = np.array([b"c"])
        f.attrs["keras_version"] = "2.3.1"
    info = read_hdf5(str(path))
    assert info.format is ModelFormat.KERAS_H5_WEIGHTS
    assert "weights of 3 layers" in info.summary


def test_layer_names_count_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from envdoctor.modelfiles import limits

    path = tmp_path / "many.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([f"l{i}".encode() for i in range(20)])
    monkeypatch.setattr(limits, "MAX_LAYERS", 10)
    with pytest.raises(ModelFileError, match="layer_names lists 20 layers, over 10"):
        read_hdf5(str(path))
