"""ED201-ED204: Lambda bytecode across Pythons, safe_mode, code run on load."""

from __future__ import annotations

import base64
import dataclasses
import struct

from test_checks_support import find, lambda_layer, make_env, make_model

from envdoctor.checks import rawconfig, run_checks
from envdoctor.types import ModelFormat, SecurityObject, Severity, Sidecar

K33 = make_env(
    "3.11.7", tensorflow="2.16.2", keras="3.3.3", h5py="3.11.0", numpy="1.26.4", protobuf="4.25.3"
)
K315 = make_env(
    "3.11.7", tensorflow="2.21.0", keras="3.15.1", h5py="3.11.0", numpy="2.1.0", protobuf="6.31.1"
)
TF215 = make_env(
    "3.10.13", tensorflow="2.15.1", keras="2.15.0", h5py="3.11.0", numpy="1.26.4", protobuf="4.25.3"
)
SEC = (SecurityObject("lambda", "layers/lambda", "Lambda bytecode runs on load"),)


def lam(fmt: ModelFormat, keras: str, python: str | None = None) -> object:
    sidecar = Sidecar(("python_env.yaml",), python, ()) if python else None
    path = "/m/lam.keras" if fmt is ModelFormat.KERAS_ARCHIVE else "/m/lam.h5"
    return make_model(
        fmt, keras, path=path, lambdas=(lambda_layer(),), security=SEC, sidecar=sidecar
    )


def codes_of(model: object, env: object) -> dict[str, Severity]:
    return {f.code: f.severity for f in run_checks(model, env)}  # type: ignore[arg-type]


def test_ed203_archive_refused_by_safe_mode_everywhere() -> None:
    for env, keras in ((TF215, "2.15.0"), (K33, "3.3.3"), (K315, "3.15.1")):
        found = run_checks(lam(ModelFormat.KERAS_ARCHIVE, keras, "3.11.2"), env)  # type: ignore[arg-type]
        f = find(found, "ED203")
        assert f.severity is Severity.ERROR
        assert any("safe_mode=False" in x.text and "ONLY" in x.description for x in f.fixes)
        assert "ED204" not in [x.code for x in found]  # refused, not run


def test_ed203_legacy_h5_only_from_keras_3_11_3() -> None:
    assert codes_of(lam(ModelFormat.KERAS_H5, "3.3.3", "3.11.7"), K33).get("ED203") is None
    assert codes_of(lam(ModelFormat.KERAS_H5, "3.3.3", "3.11.7"), K315)["ED203"] is Severity.ERROR
    env3113 = make_env(
        tensorflow="2.19.0", keras="3.11.3", h5py="3.11.0", numpy="2.1.0", protobuf="5.28.0"
    )
    assert (
        codes_of(lam(ModelFormat.KERAS_H5, "3.3.3", "3.11.7"), env3113)["ED203"] is Severity.ERROR
    )
    env3112 = dataclasses.replace(env3113, packages={**env3113.packages})
    env3112.packages["keras"] = dataclasses.replace(env3112.packages["keras"], version="3.11.2")
    assert "ED203" not in codes_of(lam(ModelFormat.KERAS_H5, "3.3.3", "3.11.7"), env3112)


def test_ed201_other_marshal_family_is_an_error() -> None:
    found = codes_of(lam(ModelFormat.KERAS_H5, "2.15.0", "3.10.13"), K33)
    assert found["ED201"] is Severity.ERROR
    assert found["ED204"] is Severity.WARNING  # Keras 3.3.3 runs h5 lambdas without safe_mode


def test_ed201_same_family_other_minor_is_a_warning() -> None:
    env = make_env(
        "3.10.13",
        tensorflow="2.15.1",
        keras="2.15.0",
        h5py="3.11.0",
        numpy="1.26.4",
        protobuf="4.25.3",
    )
    assert codes_of(lam(ModelFormat.KERAS_H5, "2.13.1", "3.9.18"), env)["ED201"] is Severity.WARNING
    assert "ED201" not in codes_of(lam(ModelFormat.KERAS_H5, "2.15.0", "3.10.2"), env)


def test_ed201_savedmodel_under_keras2_is_soft() -> None:
    model = dataclasses.replace(
        lam(ModelFormat.KERAS_H5, "2.15.0", "3.10.13"),  # type: ignore[type-var]
        format=ModelFormat.SAVEDMODEL,
        path="/m/sm",
    )
    tfk = dataclasses.replace(
        make_env(
            "3.12.1",
            tensorflow="2.21.0",
            keras="3.15.1",
            tf_keras="2.21.0",
            h5py="3.11.0",
            numpy="2.1.0",
            protobuf="6.31.1",
        ),
        env_vars={"TF_USE_LEGACY_KERAS": "1"},
    )
    assert codes_of(model, tfk)["ED201"] is Severity.WARNING


def test_ed201_inferred_from_the_saver_version() -> None:
    # Keras 3.15 runs only on Python >= 3.11: its bytecode cannot be read by 3.10
    env310 = make_env(
        "3.10.13",
        tensorflow="2.15.1",
        keras="3.3.3",
        h5py="3.11.0",
        numpy="1.26.4",
        protobuf="4.25.3",
    )
    assert codes_of(lam(ModelFormat.KERAS_H5, "3.15.1"), env310)["ED201"] is Severity.ERROR


def test_ed202_unknown_python_is_a_warning() -> None:
    found = run_checks(lam(ModelFormat.KERAS_H5, "2.15.0"), K33)  # type: ignore[arg-type]
    f = find(found, "ED202")
    assert f.severity is Severity.WARNING
    assert "python_env.yaml" in f.detail and "envdoctor verify" in f.detail


def _code(fields: int, flags: int) -> str:
    raw = (
        bytes([0xE3])
        + struct.pack("<" + "I" * fields, *([1] + [0] * (fields - 2) + [flags]))
        + b"\xf3\x08\x00\x00\x00"
    )
    return base64.b64encode(raw + b"\x00" * 40).decode()


def test_marshal_header_families() -> None:
    assert rawconfig.marshal_families(_code(6, 0x53)) == {"3.8-3.10"}
    assert rawconfig.marshal_families(_code(5, 0x13)) == {"3.11+", "3.0-3.7"}
    assert rawconfig.marshal_families(_code(5, 0x43)) == {"3.0-3.7"}
    assert rawconfig.marshal_families(_code(4, 0x43)) == {"2.x"}
    assert rawconfig.marshal_families("not base64 at all !!") is None
    assert rawconfig.marshal_families(base64.b64encode(b"x" * 40).decode()) is None


def test_lambda_codes_walk() -> None:
    config = {
        "class_name": "Functional",
        "config": {
            "layers": [
                {
                    "class_name": "Lambda",
                    "config": {"function": {"class_name": "__lambda__", "config": {"code": "AAA"}}},
                },
                {
                    "class_name": "Lambda",
                    "config": {"function": ["BBB", None, None], "function_type": "lambda"},
                },
                {"class_name": "Lambda", "config": {"function": "CCC", "function_type": "lambda"}},
                {
                    "class_name": "Lambda",
                    "config": {"function": "named_fn", "function_type": "function"},
                },
            ]
        },
    }
    assert sorted(rawconfig.lambda_codes(config)) == ["AAA", "BBB", "CCC"]


def test_ed204_and_ed205_wrappers() -> None:
    tfsm = (
        SecurityObject("tfsm_layer", "layers/tfsm", "TFSMLayer loads the external SavedModel 'x'"),
    )
    model = make_model(security=tfsm)
    env311 = make_env(
        tensorflow="2.19.0", keras="3.11.3", h5py="3.11.0", numpy="2.1.0", protobuf="5.28.0"
    )
    f = find(run_checks(model, env311), "ED204")
    assert f.severity is Severity.WARNING and "layers/tfsm" in f.detail
    found = run_checks(model, K315)
    assert find(found, "ED205").severity is Severity.ERROR
    assert "ED204" not in [x.code for x in found]
    torch = (SecurityObject("torch_module_wrapper", "layers/t", "torch.load (pickle)"),)
    assert find(run_checks(make_model(security=torch), K315), "ED205").severity is Severity.WARNING


def test_ed204_non_keras_module_only_when_keras_imports_it() -> None:
    from test_checks_support import custom

    sec = (SecurityObject("non_keras_module", "layers/scale", "imports module 'mypkg.layers'"),)
    model = make_model(custom_objects=(custom(),), security=sec)
    assert "ED204" in [f.code for f in run_checks(model, K33)]  # Keras 3.3 imports it itself
    assert "ED204" not in [f.code for f in run_checks(model, K315)]  # 3.15 does not
