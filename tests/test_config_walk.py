"""Tests of envdoctor.modelfiles.config: the config walker and the bounded JSON loader."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from envdoctor.errors import ModelFileError
from envdoctor.modelfiles import config as cfgmod
from envdoctor.modelfiles import limits
from envdoctor.modelfiles.config import load_json_bounded, walk_config
from envdoctor.modelfiles.config_json import looks_like_keras_config, read_config_json
from envdoctor.types import ConfigDialect, InputSpec, ModelFormat

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real-models"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def real(prefix: str) -> Path:
    matches = sorted(p for p in REAL.glob(f"{prefix}__*/*") if p.suffix in (".h5", ".hdf5"))
    if not matches:
        pytest.skip(f"real model {prefix} not present")
    return matches[0]


def h5_configs(path: Path) -> tuple[object, object, str | None]:
    with h5py.File(path, "r") as f:
        tc = f.attrs.get("training_config")
        kv = f.attrs.get("keras_version")
        return (
            json.loads(f.attrs["model_config"]),
            json.loads(tc) if tc is not None else None,
            kv.decode() if isinstance(kv, bytes) else kv,
        )


def k3(cls: str, config: object, module: str = "keras.layers", reg: str | None = None, **extra):
    return {"module": module, "class_name": cls, "config": config, "registered_name": reg, **extra}


def functional(layers: list, inputs: object, module: str = "keras.src.models.functional"):
    return k3("Functional", {"name": "m", "layers": layers, "input_layers": inputs}, module)


def input_layer(name: str, shape: list, key: str = "batch_shape", dtype: object = "float32"):
    return k3("InputLayer", {key: shape, "dtype": dtype, "name": name}, name=name)


# ------------------------------------------------------------------ custom objects


def test_keras3_registered_custom_layer_and_module_security() -> None:
    scale = k3("Scale", {"name": "scale"}, "my_pkg.layers", "my_pkg>Scale", name="scale")
    s = walk_config(functional([input_layer("x", [None, 4]), scale], ["x", 0, 0]))
    assert [c.registered_name for c in s.custom_objects] == ["my_pkg>Scale"]
    assert s.custom_objects[0].kind == "layer"
    assert s.custom_objects[0].where == "layers/scale"
    assert [x.builtin for x in s.layers] == [True, False]
    assert [(x.kind, x.where) for x in s.security] == [("non_keras_module", "layers/scale")]


def test_keras2_pkg_class_name_is_split_into_registered_name() -> None:
    root = {
        "class_name": "Sequential",
        "config": {
            "layers": [
                {"class_name": "Addons>GELU", "config": {"name": "g"}},
                {"class_name": "Dense", "config": {"name": "d", "units": 1}},
            ]
        },
    }
    s = walk_config(root)
    assert s.custom_objects[0].class_name == "GELU"
    assert s.custom_objects[0].registered_name == "Addons>GELU"
    assert s.layers[0].registered_name == "Addons>GELU"


def test_tf211_custom_prefixed_builtin_optimizer_is_builtin() -> None:
    root = {"class_name": "Sequential", "config": {"layers": []}}
    training = {"loss": "mse", "optimizer_config": {"class_name": "Custom>Adam", "config": {}}}
    s = walk_config(root, training_config=training)
    assert s.custom_objects == ()
    assert s.optimizer == "Custom>Adam"
    assert s.losses == ("mse",)


def test_r_globalenv_objects_are_custom_but_not_an_import() -> None:
    act = k3("function", "my_r_act", "<r-globalenv>", "my_r_act")
    dense = k3("Dense", {"name": "d", "activation": act}, name="d")
    s = walk_config(functional([input_layer("x", [None, 2]), dense], [["x", 0, 0]]))
    assert [(c.kind, c.class_name, c.module) for c in s.custom_objects] == [
        ("activation", "my_r_act", "<r-globalenv>")
    ]
    assert s.security == ()


def test_nested_initializer_regularizer_and_compile_customs() -> None:
    dense = k3(
        "Dense",
        {
            "name": "d",
            "kernel_initializer": k3("MyInit", {}, "keras.initializers", "pkg>MyInit"),
            "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.1}, "module": "keras"},
            "activation": "relu",
        },
        name="d",
    )
    root = functional([input_layer("x", [None, 2]), dense], ["x", 0, 0])
    root["compile_config"] = {
        "optimizer": "adam",
        "loss": {"out": k3("function", "my_loss", "builtins", "function")},
        "metrics": [["accuracy", "my_metric"]],
    }
    s = walk_config(root)
    kinds = {(c.kind, c.class_name) for c in s.custom_objects}
    assert kinds == {("initializer", "MyInit"), ("loss", "my_loss"), ("metric", "my_metric")}
    where = {c.class_name: c.where for c in s.custom_objects}
    assert where["MyInit"] == "layers/d/kernel_initializer"
    assert where["my_loss"] == "compile_config/loss/out"
    assert s.losses == ("my_loss",)
    assert s.metrics == ("accuracy", "my_metric")
    assert s.optimizer == "adam"
    assert s.has_compile_config


def test_unknown_activation_and_loss_strings_are_custom() -> None:
    root = {
        "class_name": "Sequential",
        "config": [
            {"class_name": "Dense", "config": {"name": "d", "activation": "swish_custom"}},
            {"class_name": "Activation", "config": {"name": "a", "activation": "softmax"}},
        ],
    }
    s = walk_config(root, training_config={"loss": "MSE", "metrics": ["acc", "f2_custom"]})
    assert {(c.kind, c.class_name) for c in s.custom_objects} == {
        ("activation", "swish_custom"),
        ("metric", "f2_custom"),
    }


# ------------------------------------------------------------------ lambdas and security


def test_keras3_lambda_bytecode_is_never_decoded() -> None:
    fn = {"class_name": "__lambda__", "config": {"code": "!!not base64!!", "defaults": None}}
    lam = k3("Lambda", {"name": "lam", "function": fn}, name="lam")
    s = walk_config(functional([input_layer("x", [None, 2]), lam], ["x", 0, 0]))
    assert [(x.layer, x.has_bytecode, x.function_type) for x in s.lambdas] == [
        ("lam", True, "lambda")
    ]
    assert [x.kind for x in s.security] == ["lambda"]


def test_keras2_lambda_by_name_and_raw_and_output_shape_lambda() -> None:
    root = {
        "class_name": "Sequential",
        "config": {
            "layers": [
                {
                    "class_name": "Lambda",
                    "config": {
                        "name": "named",
                        "function": "double",
                        "function_type": "function",
                        "module": "mymod",
                    },
                },
                {
                    "class_name": "Lambda",
                    "config": {
                        "name": "code",
                        "function": ["YWJj", None, None],
                        "function_type": "lambda",
                    },
                },
                {
                    "class_name": "Lambda",
                    "config": {
                        "name": "shape",
                        "function": "f",
                        "function_type": "function",
                        "module": "m",
                        "output_shape": ["YWJj", None, None],
                        "output_shape_type": "lambda",
                    },
                },
            ]
        },
    }
    s = walk_config(root)
    got = [(x.layer, x.has_bytecode, x.function_type, x.function_name) for x in s.lambdas]
    assert got == [
        ("named", False, "function", "mymod.double"),
        ("code", True, "lambda", None),
        ("shape", True, "function", "m.f"),
    ]
    assert len([x for x in s.security if x.kind == "lambda"]) == 3


def test_keras1_merge_with_lambda_mode() -> None:
    merge = {
        "class_name": "Merge",
        "config": {
            "name": "merge_1",
            "mode": ["Y29kZQ==", None, None],
            "mode_type": "lambda",
            "layers": [],
        },
    }
    s = walk_config({"class_name": "Sequential", "config": [merge]})
    assert s.lambdas[0].has_bytecode
    assert s.dialect is ConfigDialect.KERAS1


@pytest.mark.parametrize(
    ("layer", "kind"),
    [
        (k3("TFSMLayer", {"name": "t", "filepath": "/srv/sm"}), "tfsm_layer"),
        (k3("TorchModuleWrapper", {"name": "t", "module": "gASV"}), "torch_module_wrapper"),
        (k3("StringLookup", {"name": "t", "vocabulary": "/etc/passwd"}), "lookup_vocabulary_file"),
        (k3("IntegerLookup", {"name": "t", "vocabulary": "vocab.txt"}), "lookup_vocabulary_file"),
    ],
)
def test_security_objects(layer: dict, kind: str) -> None:
    layer["name"] = "t"
    s = walk_config(functional([input_layer("x", [None, 1]), layer], ["x", 0, 0]))
    assert [x.kind for x in s.security] == [kind]
    assert s.security[0].where == "layers/t"
    assert s.custom_objects == ()


def test_lookup_with_inline_vocabulary_is_not_a_file_read() -> None:
    layer = k3("StringLookup", {"name": "t", "vocabulary": ["a", "b"]}, name="t")
    s = walk_config(functional([input_layer("x", [None, 1]), layer], ["x", 0, 0]))
    assert s.security == ()


def test_objects_hidden_in_inbound_node_kwargs_are_found() -> None:
    evil = k3("Evil", {}, "os", "os>Evil")
    dense = k3(
        "Dense", {"name": "d"}, name="d", inbound_nodes=[{"args": [], "kwargs": {"m": evil}}]
    )
    s = walk_config(functional([input_layer("x", [None, 1]), dense], ["x", 0, 0]))
    assert [c.class_name for c in s.custom_objects] == ["Evil"]
    assert [x.detail for x in s.security] == ["imports module 'os', running its code"]


# ------------------------------------------------------------------ structure and inputs


def test_wrappers_rnn_cells_and_nested_model_paths() -> None:
    lstm = k3("LSTM", {"name": "fwd"})
    bidi = k3(
        "Bidirectional",
        {"name": "bi", "layer": lstm, "backward_layer": k3("LSTM", {"name": "bwd"})},
    )
    td = k3("TimeDistributed", {"name": "td", "layer": k3("Dense", {"name": "inner"})})
    rnn = k3(
        "RNN",
        {
            "name": "rnn",
            "cell": k3(
                "StackedRNNCells",
                {
                    "name": "st",
                    "cells": [
                        k3("GRUCell", {"name": "c0"}),
                        k3("MyCell", {"name": "c1"}, "cells_pkg", "cells_pkg>MyCell"),
                    ],
                },
            ),
        },
    )
    inner = k3("Sequential", {"name": "enc", "layers": [k3("Dense", {"name": "e1"})]}, "keras")
    root = functional([input_layer("x", [None, 3, 2]), bidi, td, rnn, inner], ["x", 0, 0])
    s = walk_config(root)
    assert [x.path for x in s.layers] == [
        "x",
        "bi",
        "bi/fwd",
        "bi/bwd",
        "td",
        "td/inner",
        "rnn",
        "rnn/st",
        "rnn/st/c0",
        "rnn/st/c1",
        "enc",
        "enc/e1",
    ]
    assert s.custom_objects[0].where == "layers/rnn/st/c1"
    assert s.top_level_layers == 4


def test_multi_input_functional_keeps_input_layers_order() -> None:
    a = input_layer("a", [None, 3], key="batch_input_shape")
    b = input_layer("b", [None, 5, 2], key="batch_input_shape", dtype="int32")
    root = {
        "class_name": "Functional",
        "config": {"layers": [a, b], "input_layers": [["b", 0, 0], ["a", 0, 0]]},
    }
    s = walk_config(root)
    assert s.inputs == (InputSpec("b", (None, 5, 2), "int32"), InputSpec("a", (None, 3), "float32"))


def test_keras3_dict_inputs_and_policy_dict_dtype() -> None:
    dtype = k3("DTypePolicy", {"name": "float32"}, "keras")
    root = functional([input_layer("a", [None, 3], dtype=dtype)], {"a": ["a", 0, 0]})
    s = walk_config(root)
    assert s.inputs == (InputSpec("a", (None, 3), "float32"),)
    assert s.dialect is ConfigDialect.KERAS3


def test_sequential_inputs_from_first_layer_variants() -> None:
    def seq(first: dict) -> tuple[InputSpec, ...]:
        return walk_config({"class_name": "Sequential", "config": [first]}).inputs

    assert seq({"class_name": "Dense", "config": {"name": "d", "input_shape": [7]}}) == (
        InputSpec("d_input", (None, 7), None),
    )
    keras1 = {
        "class_name": "LSTM",
        "config": {"name": "l", "input_dim": 3, "input_length": 5, "input_dtype": "float32"},
    }
    assert seq(keras1) == (InputSpec("l_input", (None, 5, 3), "float32"),)
    dense1 = {"class_name": "Dense", "config": {"name": "d", "input_dim": 784.0}}
    assert seq(dense1) == (InputSpec("d_input", (None, 784), None),)
    built = k3(
        "Sequential",
        {"name": "s", "layers": [k3("Dense", {"name": "d"})]},
        "keras",
        build_config={"input_shape": [None, 6]},
    )
    assert walk_config(built).inputs == (InputSpec("", (None, 6), None),)


# ------------------------------------------------------------------ dialects and dtype policy


@pytest.mark.parametrize(
    ("root", "version", "dialect"),
    [
        (functional([input_layer("x", [None, 1])], ["x", 0, 0]), None, ConfigDialect.KERAS3),
        (
            k3("Sequential", {"layers": [k3("Dense", {"name": "d"})]}, "keras"),
            None,
            ConfigDialect.KERAS3,
        ),
        (
            functional(
                [input_layer("x", [None, 1], "batch_input_shape")],
                [["x", 0, 0]],
                "keras.src.engine.functional",
            ),
            None,
            ConfigDialect.TF_KERAS_2_13,
        ),
        (
            functional(
                [input_layer("x", [None, 1], "batch_input_shape")],
                [["x", 0, 0]],
                "keras.engine.functional",
            ),
            "2.12.0",
            ConfigDialect.KERAS2,
        ),
        (
            {
                "class_name": "Sequential",
                "config": [{"class_name": "Dense", "config": {"name": "d"}}],
            },
            None,
            ConfigDialect.KERAS2,
        ),
        (
            {
                "class_name": "Sequential",
                "config": [{"class_name": "Dense", "config": {"name": "d"}}],
            },
            "1.2.2",
            ConfigDialect.KERAS1,
        ),
        (
            {
                "class_name": "Sequential",
                "config": [
                    {
                        "class_name": "Dense",
                        "config": {"name": "d", "output_dim": 3, "init": "uniform"},
                    }
                ],
            },
            None,
            ConfigDialect.KERAS1,
        ),
        (
            {
                "class_name": "Sequential",
                "config": [{"class_name": "Embedding", "config": {"name": "e", "output_dim": 3}}],
            },
            None,
            ConfigDialect.KERAS2,
        ),
        ({"class_name": "Model", "config": {}}, "3.1.0", ConfigDialect.KERAS3),
        (
            k3("Sequential", {"layers": [k3("Dense", {"name": "d"})]}, "keras"),
            "2.15.0",
            ConfigDialect.TF_KERAS_2_13,
        ),
        ({"class_name": "Model", "config": {}}, None, ConfigDialect.UNKNOWN),
    ],
)
def test_dialects(root: dict, version: str | None, dialect: ConfigDialect) -> None:
    assert walk_config(root, keras_version=version).dialect is dialect


def test_mixed_precision_policies() -> None:
    keras2 = {
        "class_name": "Sequential",
        "config": {
            "layers": [
                {"class_name": "Dense", "config": {"name": "a", "dtype": "float32"}},
                {
                    "class_name": "Dense",
                    "config": {
                        "name": "b",
                        "dtype": {"class_name": "Policy", "config": {"name": "mixed_bfloat16"}},
                    },
                },
            ]
        },
    }
    assert walk_config(keras2).dtype_policy == "mixed_bfloat16"
    plain = {
        "class_name": "Sequential",
        "config": {
            "layers": [
                {"class_name": "InputLayer", "config": {"name": "i", "dtype": "int32"}},
                {"class_name": "Dense", "config": {"name": "a", "dtype": "float64"}},
            ]
        },
    }
    assert walk_config(plain).dtype_policy == "float64"


# ------------------------------------------------------------------ bounds


def test_walk_rejects_non_objects() -> None:
    with pytest.raises(ModelFileError, match="not a serialized Keras object"):
        walk_config([1, 2], where="m.h5")


def test_walk_of_deep_python_structure_is_bounded() -> None:
    deep: list = []
    cur = deep
    for _ in range(20_000):
        nxt: list = []
        cur.append(nxt)
        cur = nxt
    with pytest.raises(ModelFileError, match="nested deeper"):
        walk_config({"class_name": "Sequential", "config": {"layers": deep}}, where="m")


def test_walk_stops_past_max_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_LAYERS", 50)
    layers = [{"class_name": "Dense", "config": {"name": f"d{i}"}} for i in range(60)]
    with pytest.raises(ModelFileError, match="more than 50 serialized objects"):
        walk_config({"class_name": "Sequential", "config": layers}, where="m")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 200"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested deeper than 200"),
        (b"[1," * 250 + b"1" + b"]" * 250, "nested deeper than 200"),
        (b'{"class_name": "\xff\xfe"}', "not UTF-8"),
        (b'{"a": [1, 2}', "not valid JSON"),
        (b"", "not valid JSON"),
    ],
)
def test_load_json_bounded_rejects(data: bytes, message: str) -> None:
    start = time.monotonic()
    with pytest.raises(ModelFileError, match=message):
        load_json_bounded(data, "config.json", "m.keras")
    assert time.monotonic() - start < 2


def test_load_json_bounded_accepts_brackets_inside_strings_and_limit_depth() -> None:
    text = b'{"a": "' + b"[" * 5000 + b'", "b": ' + b"[" * 199 + b"]" * 199 + b"}"
    assert isinstance(load_json_bounded(text, "x", "p"), dict)


def test_load_json_bounded_size_and_container_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_JSON_BYTES", 100)
    with pytest.raises(ModelFileError, match="over the 100-byte limit"):
        load_json_bounded(b" " * 101, "config.json", "p")
    monkeypatch.undo()
    monkeypatch.setattr(cfgmod, "MAX_JSON_CONTAINERS", 10)
    with pytest.raises(ModelFileError, match="more than 10 JSON containers"):
        load_json_bounded(b"[" + b"[]," * 20 + b"[]]", "config.json", "p")


# ------------------------------------------------------------------ real configs


def test_real_keras1_config_pm009() -> None:
    config, training, version = h5_configs(real("pm-009"))
    s = walk_config(config, keras_version=version, training_config=training)
    assert s.dialect is ConfigDialect.KERAS1
    assert [x.class_name for x in s.layers] == [
        "LSTM",
        "LSTM",
        "TimeDistributedDense",
        "Activation",
    ]
    assert s.inputs == (InputSpec("lstm_1_input", (None, 10, 2), "float32"),)
    assert (s.optimizer, s.losses) == ("RMSprop", ("categorical_crossentropy",))
    assert s.custom_objects == ()


def test_real_lambda_config_pm013_keeps_python2_bytecode_opaque() -> None:
    config, _training, version = h5_configs(real("pm-013"))
    s = walk_config(config, keras_version=version)
    assert s.model_class == "Model"
    assert [(x.layer, x.has_bytecode) for x in s.lambdas] == [
        ("lambda_3", True),
        ("lambda_4", True),
    ]


def test_real_float_dims_pm010() -> None:
    config, _training, version = h5_configs(real("pm-010"))
    assert walk_config(config, keras_version=version).inputs[0].shape == (None, 784)


def test_config_json_fixtures_and_looks_like() -> None:
    files = sorted(FIXTURES.glob("*/mlp_config.json"))
    if not files:
        pytest.skip("generated fixtures not present")
    for path in files:
        info = read_config_json(str(path), path.read_bytes())
        assert info.format is ModelFormat.KERAS_CONFIG_JSON
        assert not info.loadable
        assert info.needs.startswith("weights from elsewhere")
        assert info.inputs[0].shape == (None, 8)
        assert info.dialect in (ConfigDialect.KERAS3, ConfigDialect.TF_KERAS_2_13)
    assert not looks_like_keras_config({"class_name": "Dense", "config": {"units": 3}})
    assert not looks_like_keras_config({"keras_version": "3.1.0", "date_saved": "x"})
    assert looks_like_keras_config({"class_name": "Sequential", "config": {"layers": []}})
    with pytest.raises(ModelFileError, match="not a Keras model config"):
        read_config_json("x.json", b'{"class_name": "Dense", "config": {}}')


def test_no_ml_framework_or_h5py_imported_by_readers() -> None:
    code = (
        "import sys; import envdoctor.modelfiles.config, envdoctor.modelfiles.keras_archive, "
        "envdoctor.modelfiles.hdf5, envdoctor.modelfiles.config_json; "
        "print(sorted(m for m in ('h5py', 'tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
