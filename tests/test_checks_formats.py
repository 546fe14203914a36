"""ED101-ED110: format versus the loading Keras, with hand-built models and environments."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from knowledge_support import newest_keras, newest_tf
from test_checks_support import errors, find, layer, make_env, make_model, savedmodel_info

from envdoctor.checks import run_checks
from envdoctor.types import ConfigDialect, ModelFormat, Severity

TF215 = make_env(
    "3.10.13",
    tensorflow_cpu="2.15.1",
    keras="2.15.0",
    numpy="1.26.4",
    protobuf="4.25.3",
    h5py="3.11.0",
)
TF213 = make_env(
    "3.9.18",
    tensorflow_cpu="2.13.1",
    keras="2.13.1",
    numpy="1.24.3",
    protobuf="4.25.3",
    h5py="3.11.0",
)
K33 = make_env(
    "3.11.7",
    tensorflow_cpu="2.16.2",
    keras="3.3.3",
    numpy="1.26.4",
    protobuf="4.25.3",
    h5py="3.11.0",
)
K315 = make_env(
    "3.11.7",
    tensorflow_cpu="2.21.0",
    keras="3.15.1",
    numpy="2.1.0",
    protobuf="6.31.1",
    h5py="3.14.0",
)
TFK221 = dataclasses.replace(
    make_env(
        "3.12.1",
        tensorflow="2.21.0",
        keras="3.15.1",
        tf_keras="2.21.0",
        numpy="2.1.0",
        protobuf="6.31.1",
        h5py="3.14.0",
    ),
    env_vars={"TF_USE_LEGACY_KERAS": "1"},
)
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_ed101_keras3_archive_in_keras2() -> None:
    found = run_checks(make_model(keras_version="3.3.3"), TF215)
    f = find(found, "ED101")
    assert f.severity is Severity.ERROR and "batch_shape" in f.detail
    # the fix moves this Python 3.10 environment to a Keras-3 TensorFlow with a concrete keras
    texts = [x.text for x in f.fixes]
    tf = newest_tf(TF215.python_version)
    assert tf is not None
    want = f'"tensorflow-cpu=={tf.minor}.*" "keras=={newest_keras(TF215.python_version, tf)}"'
    assert any(want in t for t in texts), texts


def test_ed101_h5_and_config_too() -> None:
    assert "ED101" in errors(make_model(ModelFormat.KERAS_H5, "3.15.1", path="/m/a.h5"), TF215)
    assert "ED101" in errors(
        make_model(ModelFormat.KERAS_CONFIG_JSON, "3.15.1", loadable=False), TF215
    )


def test_ed101_under_legacy_env_suggests_unsetting_it() -> None:
    f = find(run_checks(make_model(keras_version="3.15.1"), TFK221), "ED101")
    assert any(x.text == "unset TF_USE_LEGACY_KERAS" for x in f.fixes)


def test_ed102_keras2_archive_in_keras3() -> None:
    model = make_model(keras_version="2.15.0", model_module="keras.src.engine.functional")
    for env in (K33, K315):
        f = find(run_checks(model, env), "ED102")
        assert f.severity is Severity.ERROR and "keras.src.engine.functional" in f.detail
    fixes = [x.text for x in find(run_checks(model, K315), "ED102").fixes]
    assert '"/envs/t/bin/python" -m pip install "tf-keras==2.21.*"' in fixes
    assert "export TF_USE_LEGACY_KERAS=1" in fixes


def test_ed103_savedmodel_in_keras3_names_the_endpoint() -> None:
    model = make_model(
        ModelFormat.SAVEDMODEL,
        None,
        path="/m/sm",
        savedmodel=savedmodel_info(signatures=("serve", "predict_images")),
    )
    f = find(run_checks(model, K33), "ED103")
    assert f.severity is Severity.ERROR
    assert any('TFSMLayer("/m/sm", call_endpoint="serve")' in x.text for x in f.fixes)
    assert any("tf-keras==2.16.*" in x.text for x in f.fixes)  # keras_metadata.pb present


def test_ed103_not_under_keras2_and_ed504_error_with_signature_fix() -> None:
    model = make_model(
        ModelFormat.SAVEDMODEL, None, path="/m/sm", savedmodel=savedmodel_info(keras_metadata=False)
    )
    found = run_checks(model, TF215)
    assert "ED103" not in [f.code for f in found]
    f = find(found, "ED504")
    # Keras 2 revives it as a _UserObject without predict (live run): the user's load fails.
    assert f.severity is Severity.ERROR
    kinds = {x.kind: x.text for x in f.fixes}
    assert 'tf.saved_model.load("/m/sm").signatures[' in kinds["python"]
    assert 'tensorflow::tf$saved_model$load("/m/sm")$signatures[[' in kinds["r"]


def test_ed104_archive_in_keras_2_11() -> None:
    env = make_env(
        "3.10.1",
        tensorflow="2.11.1",
        keras="2.11.0",
        numpy="1.24.0",
        protobuf="3.19.6",
        h5py="3.8.0",
    )
    assert "ED104" in errors(make_model(keras_version="2.11.0"), env)


def test_ed105_errors_and_warning() -> None:
    lstm = make_model(
        ModelFormat.KERAS_H5, "2.15.0", path="/m/x.h5", layers=(layer("InputLayer"), layer("LSTM"))
    )
    assert find(run_checks(lstm, K315), "ED105").severity is Severity.ERROR
    mixed = make_model(ModelFormat.KERAS_H5, "2.13.1", path="/m/x.h5", dtype_policy="mixed_float16")
    assert find(run_checks(mixed, K33), "ED105").severity is Severity.ERROR
    keras1 = make_model(ModelFormat.KERAS_H5, "1.2.1", path="/m/x.h5")
    assert find(run_checks(keras1, K315), "ED105").severity is Severity.ERROR
    plain = make_model(ModelFormat.KERAS_H5, "2.15.0", path="/m/x.h5")
    f = find(run_checks(plain, K315), "ED105")
    assert f.severity is Severity.WARNING and "envdoctor verify" in f.detail
    assert "ED105" not in [x.code for x in run_checks(plain, TF215)]


def test_ed106_keras3_minor_and_patch() -> None:
    assert (
        find(run_checks(make_model(keras_version="3.15.1"), K33), "ED106").severity
        is Severity.ERROR
    )
    env34 = make_env(
        tensorflow="2.17.1", keras="3.4.1", h5py="3.11.0", numpy="1.26.4", protobuf="4.25.3"
    )
    assert (
        find(run_checks(make_model(keras_version="3.6.0"), env34), "ED106").severity
        is Severity.WARNING
    )
    env336 = make_env(
        tensorflow="2.17.1", keras="3.6.0", h5py="3.11.0", numpy="1.26.4", protobuf="4.25.3"
    )
    assert (
        find(run_checks(make_model(keras_version="3.6.1"), env336), "ED106").severity
        is Severity.INFO
    )
    assert "ED106" not in [f.code for f in run_checks(make_model(keras_version="3.3.3"), K315)]


def test_ed106_keras2_tf_keras_files_in_keras_2_15() -> None:
    h5 = make_model(ModelFormat.KERAS_H5, "2.21.0", path="/m/x.h5")
    assert find(run_checks(h5, TF215), "ED106").severity is Severity.ERROR
    archive = make_model(keras_version="2.21.0", model_module="tf_keras.src.engine.functional")
    assert "ED106" in errors(archive, TF215)
    newer = make_model(ModelFormat.KERAS_H5, "2.15.0", path="/m/x.h5")
    assert find(run_checks(newer, TF213), "ED106").severity is Severity.WARNING


def test_ed107_regressions() -> None:
    assert "ED107" in errors(make_model(keras_version="2.13.1"), TF215)
    assert "ED107" in errors(make_model(keras_version="2.13.1"), TFK221)
    assert "ED107" in errors(make_model(keras_version="2.15.0"), TF213)
    assert "ED107" not in errors(make_model(ModelFormat.KERAS_H5, "2.13.1", path="/m/x.h5"), TF215)
    env34 = make_env(
        tensorflow="2.17.1", keras="3.4.1", h5py="3.11.0", numpy="1.26.4", protobuf="4.25.3"
    )
    seq = make_model(keras_version="3.3.3", model_class="Sequential")
    assert find(run_checks(seq, env34), "ED107").severity is Severity.WARNING


@pytest.mark.parametrize(
    "fmt",
    [
        ModelFormat.KERAS_WEIGHTS_H5,
        ModelFormat.KERAS_H5_WEIGHTS,
        ModelFormat.KERAS_CONFIG_JSON,
        ModelFormat.TF_CHECKPOINT,
        ModelFormat.TFLITE,
        ModelFormat.FROZEN_GRAPHDEF,
        ModelFormat.TF1_SESSION_BUNDLE,
        ModelFormat.GIT_LFS_POINTER,
        ModelFormat.PICKLE,
        ModelFormat.HDF5_NOT_A_MODEL,
        ModelFormat.EMPTY,
        ModelFormat.UNKNOWN,
    ],
)
def test_ed108_not_a_model(fmt: ModelFormat) -> None:
    model = make_model(fmt, None, loadable=False, needs="the model's code")
    f = find(run_checks(model, K315), "ED108")
    assert f.severity is Severity.ERROR and f.fixes


def test_ed108_silent_for_whole_models() -> None:
    assert "ED108" not in [f.code for f in run_checks(make_model(), K315)]


@pytest.mark.skipif(not (FIXTURES / "tf215" / "mlp.h5").exists(), reason="fixtures not built")
def test_ed109_loss_alias_read_from_the_real_file() -> None:
    from envdoctor.modelfiles import read_model

    model = read_model(str(FIXTURES / "tf215" / "mlp.h5"))
    f = find(run_checks(model, K315), "ED109")
    assert f.severity is Severity.ERROR and "'mse'" in f.detail
    assert any("compile=False" in x.text for x in f.fixes)
    assert "ED109" not in [x.code for x in run_checks(model, TF215)]


def test_ed109_silent_without_a_file() -> None:
    model = make_model(
        ModelFormat.KERAS_H5, "2.15.0", path="/nonexistent.h5", has_training_config=True
    )
    assert "ED109" not in [f.code for f in run_checks(model, K315)]


def test_ed110_keras1_in_tf_keras() -> None:
    keras1 = make_model(ModelFormat.KERAS_H5, "1.2.1", path="/m/x.h5", dialect=ConfigDialect.KERAS1)
    assert "ED110" in errors(keras1, TF215)
    assert "ED110" in errors(keras1, TFK221)
    old = make_env("3.7.9", keras="2.3.1", tensorflow="2.2.0", h5py="2.10.0")
    assert "ED110" not in errors(keras1, old)


@pytest.mark.parametrize("saver", ["tf215", "tf220"])
def test_ed103_multi_input_savedmodel_calls_signature_by_name(saver: str) -> None:
    """TFSMLayer cannot bind several inputs (the live verify matrix: every attempt raised
    "too many positional arguments"), so ED103 gives the keyword call of the signature."""
    from envdoctor.modelfiles.detect import read_model

    path = Path(__file__).parent / "fixtures" / saver / "multi_tfsaved"
    model = read_model(str(path))
    assert model.savedmodel is not None
    f = find(run_checks(model, K33), "ED103")
    texts = [x.text for x in f.fixes]
    assert not any("TFSMLayer(" in t for t in texts)
    py = next(t for t in texts if "tf.saved_model.load(" in t)
    names = [
        t.name
        for mg in model.savedmodel.meta_graphs
        for s in mg.signatures
        if s.key == "serving_default"
        for t in s.inputs
    ]
    assert len(names) == 2  # the file's own SignatureDef input names
    assert f"y = fn({names[0]}=x_0, {names[1]}=x_1)" in py
    r = next(x.text for x in f.fixes if x.kind == "r")
    assert f"y <- fn({names[0]} = x_0, {names[1]} = x_1)" in r
    # a single-input SavedModel keeps the TFSMLayer line
    single = read_model(str(Path(__file__).parent / "fixtures" / saver / "mlp_tfsaved"))
    f1 = find(run_checks(single, K33), "ED103")
    assert any("TFSMLayer(" in x.text for x in f1.fixes)
