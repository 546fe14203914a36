"""ED401-ED410: the environment alone."""

from __future__ import annotations

import pytest
from knowledge_support import newest_keras, newest_tf
from test_checks_support import errors, find, make_env, make_model

from envdoctor.checks import run_checks
from envdoctor.types import Environment, ModelFormat, Severity

BASE = {"numpy": "1.26.4", "protobuf": "4.25.3", "h5py": "3.11.0"}


def sev(env: Environment, code: str, model: object = None) -> Severity | None:
    hits = [f.severity for f in run_checks(model, env) if f.code == code]  # type: ignore[arg-type]
    return hits[0] if hits else None


def test_ed401_tf_keras_minor_mismatch() -> None:
    used = make_env(
        tensorflow="2.16.2",
        keras="3.3.3",
        tf_keras="2.15.0",
        env_vars={"TF_USE_LEGACY_KERAS": "1"},
        **BASE,
    )
    f = find(run_checks(None, used), "ED401")
    assert f.severity is Severity.ERROR
    assert f.fixes[0].text == '"/envs/t/bin/python" -m pip install "tf-keras==2.16.*"'
    unused = make_env(tensorflow="2.16.2", keras="3.3.3", tf_keras="2.15.0", **BASE)
    assert sev(unused, "ED401") is Severity.WARNING
    ok = make_env(tensorflow="2.16.2", keras="3.3.3", tf_keras="2.16.0", **BASE)
    assert sev(ok, "ED401") is None


def test_ed402_legacy_without_tf_keras() -> None:
    env = make_env(
        tensorflow="2.15.1", keras="2.15.0", env_vars={"TF_USE_LEGACY_KERAS": "True"}, **BASE
    )
    f = find(run_checks(None, env), "ED402")
    assert f.severity is Severity.ERROR and "Keras cannot be imported" in f.detail
    assert any("tf-keras==2.15.*" in x.text for x in f.fixes)
    assert any(x.text == 'Sys.unsetenv("TF_USE_LEGACY_KERAS")' for x in f.fixes)
    # the model checks stay quiet: there is no Keras to judge against
    assert errors(make_model(), env) == ["ED402"]


def test_ed403_keras3_with_old_tensorflow() -> None:
    tf215 = make_env(tensorflow="2.15.1", keras="3.0.5", **BASE)
    f = find(run_checks(None, tf215), "ED403")
    assert f.severity is Severity.WARNING
    assert f.fixes[0].text.endswith('"keras>=2.15.0,<2.16"')
    tf214 = make_env(tensorflow="2.14.1", keras="3.3.3", **BASE)
    assert sev(tf214, "ED403") is Severity.ERROR
    assert errors(make_model(), tf214) == ["ED403"]


def test_ed404_numpy2() -> None:
    env = make_env(
        tensorflow="2.14.0", keras="2.14.0", numpy="2.0.2", protobuf="4.25.3", h5py="3.11.0"
    )
    f = find(run_checks(None, env), "ED404")
    assert f.severity is Severity.ERROR and "metadata does not forbid" in f.detail
    assert f.fixes[0].text.endswith('"numpy<2"')
    env12 = make_env(tensorflow="2.12.1", keras="2.12.0", numpy="2.0.2", protobuf="4.25.3")
    assert find(run_checks(None, env12), "ED404").fixes[0].text.endswith('"numpy>=1.22,<=1.24.3"')
    assert (
        sev(make_env(tensorflow="2.18.0", keras="3.6.0", numpy="2.0.2", protobuf="4.25.3"), "ED404")
        is None
    )


def test_ed405_protobuf() -> None:
    fatal = make_env(
        "3.10.1", tensorflow="2.11.1", keras="2.11.0", numpy="1.24.0", protobuf="4.21.12"
    )
    assert sev(fatal, "ED405") is Severity.ERROR
    new = make_env(tensorflow="2.21.0", keras="3.15.1", numpy="2.1.0", protobuf="4.25.3")
    assert sev(new, "ED405") is Severity.ERROR
    soft = make_env(tensorflow="2.15.1", keras="2.15.0", numpy="1.26.4", protobuf="5.27.0")
    f = find(run_checks(None, soft), "ED405")
    assert f.severity is Severity.WARNING and "envdoctor verify" in f.detail
    # the installed metadata wins over the knowledge table
    meta = make_env(
        tensorflow="2.15.1",
        keras="2.15.0",
        numpy="1.26.4",
        protobuf="5.27.0",
        requires={"tensorflow": ("protobuf>=3.20.3,<6",)},
    )
    assert sev(meta, "ED405") is None


def test_ed406_h5py() -> None:
    env = make_env(tensorflow="2.21.0", keras="3.15.1", numpy="2.1.0", protobuf="6.31.1")
    assert sev(env, "ED406", make_model(ModelFormat.KERAS_H5, path="/m/a.h5")) is Severity.ERROR
    assert sev(env, "ED406", make_model(weights_member="model.weights.h5")) is Severity.ERROR
    assert sev(env, "ED406", make_model(weights_member="model.weights.npz")) is None


@pytest.mark.parametrize(
    ("backend", "source", "missing"),
    [
        ("jax", "KERAS_BACKEND", "jax"),
        ("torch", "/root/.keras/keras.json", "torch"),
        ("tensorflow", "default", "tensorflow"),
    ],
)
def test_ed407_backend_missing(backend: str, source: str, missing: str) -> None:
    env = make_env(
        "3.12.1",
        keras="3.15.1",
        numpy="2.1.0",
        h5py="3.11.0",
        backend=backend,
        backend_source=source,
    )
    f = find(run_checks(None, env), "ED407")
    assert f.severity is Severity.ERROR and source in f.detail and missing in f.detail
    installed = make_env("3.12.1", keras="3.15.1", jax="0.4.30", jaxlib="0.4.30", backend="jax")
    assert sev(installed, "ED407") is None


def test_ed408_pip_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import envdoctor.inventory

    env = make_env(tensorflow="2.16.2", keras="3.3.3", tf_keras="2.15.0", **BASE)
    problems = [
        ("tf-keras", "tf-keras 2.15.0 requires tensorflow<2.16,>=2.15, but 2.16.2 is installed")
    ]
    monkeypatch.setattr(envdoctor.inventory, "pip_check", lambda e, names=None: problems)
    assert sev(env, "ED408") is Severity.ERROR
    problems[:] = [("keras", "keras 3.3.3 requires rich, which is not installed")]
    assert sev(env, "ED408") is Severity.WARNING
    problems[:] = [("requests", "requests 2.0 requires idna, which is not installed")]
    assert sev(env, "ED408") is None


def test_ed409_no_keras() -> None:
    env = make_env(numpy="1.26.4")
    assert sev(env, "ED409") is Severity.INFO
    f = find(run_checks(make_model(), env), "ED409")
    assert f.severity is Severity.ERROR
    assert f.fixes[0].text.endswith(f'"tensorflow=={newest_tf("3.11.7").minor}.*"')  # type: ignore[union-attr]
    tf216 = make_env(tensorflow="2.16.2", **BASE)
    fix = find(run_checks(make_model(), tf216), "ED409").fixes[0].text
    assert fix.endswith(f'"keras=={newest_keras("3.11.7", newest_tf("3.11.7"))}"')
    keras_only = make_env("3.10.4", keras="2.15.0", **BASE)
    f = find(run_checks(make_model(), keras_only), "ED409")
    assert f.severity is Severity.ERROR and f.fixes[0].text.endswith('"tensorflow==2.15.*"')


def test_ed410_python_range() -> None:
    env = make_env(
        "3.13.1", tensorflow="2.17.1", keras="3.6.0", requires_python={"keras": ">=3.9"}, **BASE
    )
    f = find(run_checks(None, env), "ED410")
    assert f.severity is Severity.WARNING and "3.9-3.12" in f.detail
    assert f.fixes[0].text.endswith(f'"tensorflow=={newest_tf("3.13.1").minor}.*"')  # type: ignore[union-attr]
    assert sev(make_env("3.11.7", tensorflow="2.17.1", keras="3.6.0", **BASE), "ED410") is None
