"""effective_keras: TensorFlow's lazy-loader rules (compat-facts §1.5), run_checks, verdict."""

from __future__ import annotations

import pytest
from test_checks_support import make_env, make_model

from envdoctor.checks import CHECKS, effective_keras, run_checks, verdict
from envdoctor.checks.runtime import (
    marshal_family,
    saved_by_tf_keras,
    saver_generation,
    saver_python_range,
)
from envdoctor.types import ConfigDialect, Finding, ModelFormat, Severity


def test_tf215_is_keras2() -> None:
    rt = effective_keras(make_env("3.10.13", tensorflow_cpu="2.15.1", keras="2.15.0"))
    assert (rt.generation, rt.version, rt.provided_by) == (2, "2.15.0", "keras")
    assert rt.loader == "tf.keras.models.load_model" and rt.tensorflow == "2.15.1"


def test_tf216_with_keras3() -> None:
    rt = effective_keras(make_env(tensorflow="2.16.2", keras="3.3.3"))
    assert (rt.generation, rt.version, rt.provided_by, rt.backend) == (
        3,
        "3.3.3",
        "keras",
        "tensorflow",
    )
    assert rt.loader == "keras.saving.load_model"


def test_tf215_with_keras3_is_keras3() -> None:
    rt = effective_keras(make_env(tensorflow="2.15.1", keras="3.0.5"))
    assert rt.generation == 3


@pytest.mark.parametrize("value", ["1", "true", "True"])
def test_legacy_env_routes_to_tf_keras(value: str) -> None:
    env = make_env(
        "3.12.1",
        tensorflow="2.21.0",
        keras="3.15.1",
        tf_keras="2.21.0",
        env_vars={"TF_USE_LEGACY_KERAS": value},
    )
    rt = effective_keras(env)
    assert (rt.generation, rt.version, rt.provided_by) == (2, "2.21.0", "tf-keras")


@pytest.mark.parametrize("value", ["yes", "TRUE", "0", ""])
def test_other_legacy_values_are_ignored(value: str) -> None:
    env = make_env(
        tensorflow="2.21.0",
        keras="3.15.1",
        tf_keras="2.21.0",
        env_vars={"TF_USE_LEGACY_KERAS": value},
    )
    assert effective_keras(env).generation == 3


def test_legacy_env_without_tf_keras() -> None:
    env = make_env(tensorflow="2.16.2", keras="3.3.3", env_vars={"TF_USE_LEGACY_KERAS": "1"})
    rt = effective_keras(env)
    assert rt.generation is None and "Keras cannot be imported" in rt.problem


def test_keras3_without_tensorflow_uses_backend() -> None:
    env = make_env("3.12.1", keras="3.15.1", jax="0.4.30", jaxlib="0.4.30", backend="jax")
    rt = effective_keras(env)
    assert (rt.generation, rt.backend, rt.tensorflow) == (3, "jax", None)
    assert rt.loader == "keras.saving.load_model"


def test_old_tf_with_keras3_is_broken() -> None:
    rt = effective_keras(make_env(tensorflow="2.14.1", keras="3.3.3"))
    assert rt.generation is None and "predates Keras 3" in rt.problem


def test_nothing_installed() -> None:
    rt = effective_keras(make_env(numpy="1.26.4"))
    assert rt.generation is None and rt.label() == "no usable Keras"


def test_keras2_without_tf_and_multibackend() -> None:
    assert effective_keras(make_env(keras="2.15.0")).generation is None
    rt = effective_keras(make_env("3.7.9", keras="2.3.1"))
    assert (rt.generation, rt.loader) == (2, "keras.models.load_model")


def test_tf_before_2_6_is_internal_keras() -> None:
    rt = effective_keras(make_env("3.7.9", tensorflow="2.4.1"))
    assert (rt.generation, rt.provided_by) == (2, "tensorflow.python.keras")


def test_saver_facts() -> None:
    assert saver_generation(make_model(keras_version="3.3.3")) == 3
    assert saver_generation(make_model(keras_version="2.15.0")) == 2
    assert saver_generation(make_model(keras_version=None, dialect=ConfigDialect.KERAS1)) == 1
    assert saver_generation(make_model(keras_version=None, dialect=ConfigDialect.UNKNOWN)) is None
    tfk = make_model(keras_version="2.21.0", model_module="tf_keras.src.engine.functional")
    assert saved_by_tf_keras(tfk)
    assert saver_python_range(make_model(keras_version="2.15.0")) == ((3, 9), (3, 11))
    assert saver_python_range(make_model(keras_version="3.15.1")) == ((3, 11), None)
    assert saver_python_range(make_model(keras_version="1.2.1")) is None


def test_marshal_families() -> None:
    assert marshal_family((2, 7)) == "2.x"
    assert marshal_family((3, 7)) == "3.0-3.7"
    assert marshal_family((3, 8)) == marshal_family((3, 10)) == "3.8-3.10"
    assert marshal_family((3, 11)) == marshal_family((3, 13)) == "3.11+"


def test_run_checks_sorts_and_scopes() -> None:
    env = make_env("3.11.7", tensorflow="2.16.2", keras="3.3.3", numpy="1.26.4", h5py="3.11.0")
    model = make_model(ModelFormat.SAVEDMODEL, None, path="/m/sm")
    found = run_checks(model, env)
    ranks = [f.severity.rank for f in found]
    assert ranks == sorted(ranks, reverse=True)
    assert all(f.python == env.python for f in found)
    by_code = {f.code: f for f in found}
    assert by_code["ED103"].model == "/m/sm"  # model-scoped
    assert by_code["ED601"].model == ""  # environment-scoped (keras 3.3.3 advisories)


def test_run_checks_without_model_only_reports_environment() -> None:
    env = make_env(tensorflow="2.15.1", keras="2.15.0", numpy="2.0.1", protobuf="4.25.3")
    found = run_checks(None, env)
    assert [f.code for f in found if f.severity is Severity.ERROR] == ["ED404"]
    assert all(f.model == "" for f in found)


def test_checks_are_registered_once_in_order() -> None:
    names = [c.name for c in CHECKS]
    assert len(names) == len(set(names))
    assert {c.scope for c in CHECKS} == {"model", "env"}


def _f(code: str, sev: Severity) -> Finding:
    return Finding(code=code, severity=sev, title="t", detail="d")


def test_verdict() -> None:
    assert verdict("m", "p", []).status == "ok"
    assert verdict("m", "p", [_f("ED701", Severity.INFO)]).status == "ok"
    v = verdict("m", "p", [_f("ED601", Severity.WARNING), _f("ED701", Severity.INFO)])
    assert (v.status, v.codes) == ("warning", ("ED601",))
    v = verdict(
        "m",
        "p",
        [_f("ED601", Severity.WARNING), _f("ED103", Severity.ERROR), _f("ED103", Severity.ERROR)],
    )
    assert (v.status, v.codes, v.model, v.python) == ("error", ("ED103", "ED601"), "m", "p")
