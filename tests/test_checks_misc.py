"""ED501-ED504 (SavedModel), ED601 (advisories), ED701/ED702 (inputs), ED801/ED802 (sidecar)."""

from __future__ import annotations

from knowledge_support import recommended_keras
from test_checks_support import find, make_env, make_model, savedmodel_info

from envdoctor.checks import run_checks
from envdoctor.types import Environment, InputSpec, ModelFormat, Severity, Sidecar

TF215 = make_env(
    "3.10.13", tensorflow="2.15.1", keras="2.15.0", h5py="3.11.0", numpy="1.26.4", protobuf="4.25.3"
)
K315 = make_env(
    "3.11.7", tensorflow="2.21.0", keras="3.15.1", h5py="3.11.0", numpy="2.1.0", protobuf="6.31.1"
)


def sev(model: object, env: Environment, code: str) -> Severity | None:
    hits = [f.severity for f in run_checks(model, env) if f.code == code]  # type: ignore[arg-type]
    return hits[0] if hits else None


def sm(**kw: object) -> object:
    return make_model(ModelFormat.SAVEDMODEL, None, path="/m/sm", **kw)  # type: ignore[arg-type]


def test_ed501_tensorflow_text_missing_or_mismatched() -> None:
    model = sm(
        tensorflow_version="2.15.1",
        savedmodel=savedmodel_info(ops=("CaseFoldUTF8", "MatMul", "SentencepieceOp")),
    )
    f = find(run_checks(model, TF215), "ED501")  # type: ignore[arg-type]
    assert f.severity is Severity.ERROR and "CaseFoldUTF8" in f.detail
    assert f.fixes[0].text.endswith('"tensorflow-text==2.15.*"')
    assert any(x.text == "import tensorflow_text" for x in f.fixes)
    wrong = make_env(
        "3.10.13",
        tensorflow="2.15.1",
        keras="2.15.0",
        tensorflow_text="2.14.0",
        h5py="3.11.0",
        numpy="1.26.4",
        protobuf="4.25.3",
    )
    assert sev(model, wrong, "ED501") is Severity.ERROR
    right = make_env(
        "3.10.13",
        tensorflow="2.15.1",
        keras="2.15.0",
        tensorflow_text="2.15.0",
        h5py="3.11.0",
        numpy="1.26.4",
        protobuf="4.25.3",
    )
    assert sev(model, right, "ED501") is Severity.INFO


def test_ed501_other_addons() -> None:
    model = sm(savedmodel=savedmodel_info(ops=("Addons>DeformableConv2D", "IO>AudioResample")))
    found = [f for f in run_checks(model, TF215) if f.code == "ED501"]  # type: ignore[arg-type]
    assert {f.severity for f in found} == {Severity.ERROR} and len(found) == 2


def test_ed502_newer_producer() -> None:
    model = sm(tensorflow_version="2.16.2", savedmodel=savedmodel_info("2.16.2", producer=1766))
    f = find(run_checks(model, TF215), "ED502")  # type: ignore[arg-type]
    assert f.severity is Severity.WARNING and "1766 > 1645" in f.detail
    assert (
        sev(sm(tensorflow_version="2.15.1", savedmodel=savedmodel_info()), TF215, "ED502") is None
    )


def test_ed503_tf1_savedmodel() -> None:
    model = sm(
        tensorflow_version="1.14.0",
        savedmodel=savedmodel_info("1.14.0", keras_metadata=False, producer=27),
    )
    assert sev(model, TF215, "ED503") is Severity.ERROR
    assert sev(model, TF215, "ED504") is None
    assert sev(model, K315, "ED503") is Severity.WARNING
    assert sev(model, K315, "ED103") is Severity.ERROR


def test_ed601_advisories_with_a_concrete_upgrade() -> None:
    env = make_env(
        "3.11.7",
        tensorflow="2.16.2",
        keras="3.3.3",
        h5py="3.11.0",
        numpy="1.26.4",
        protobuf="4.25.3",
    )
    f = find(run_checks(None, env), "ED601")
    assert f.severity is Severity.WARNING and "CVE-2025-1550" in f.detail
    assert f.fixes[0].text == (
        f'"/envs/t/bin/python" -m pip install "keras=={recommended_keras("3.11.7")}"'
    )
    py310 = make_env(
        "3.10.13",
        tensorflow="2.16.2",
        keras="3.3.3",
        h5py="3.11.0",
        numpy="1.26.4",
        protobuf="4.25.3",
    )
    fixes = find(run_checks(None, py310), "ED601").fixes
    assert fixes[0].text.endswith(f'"keras=={recommended_keras("3.10.13")}"')
    assert "still affected" in fixes[1].text  # the 3.12 line lacks some later fixes
    py39 = make_env(
        "3.9.18",
        tensorflow="2.16.2",
        keras="3.3.3",
        h5py="3.11.0",
        numpy="1.26.4",
        protobuf="4.25.3",
    )
    assert find(run_checks(None, py39), "ED601").fixes[0].text.endswith('"keras==3.10.0"')
    assert "ED601" not in [x.code for x in run_checks(None, K315)]


def test_ed701_ed702_inputs() -> None:
    model = make_model(
        inputs=(InputSpec("x", (None, 5, 3), "float32"), InputSpec("", (None,), None)),
        dtype_policy="mixed_float16",
    )
    found = run_checks(model, K315)
    f = find(found, "ED701")
    assert f.severity is Severity.INFO
    assert "'x': shape (None, 5, 3): rank 3, 3 features, float32" in f.detail
    assert "rank 1" in f.detail and "feed float32" in f.detail
    assert find(found, "ED702").severity is Severity.INFO


def test_ed801_ed802_sidecar() -> None:
    side = Sidecar(
        ("requirements.txt", "python_env.yaml"),
        "3.10.12",
        (
            "tensorflow==2.15.1",
            "keras==2.15.0",
            "numpy<2",
            "pandas>=2",
            'pywin32; sys_platform == "win32"',
        ),
    )
    model = make_model(sidecar=side)
    found = run_checks(model, K315)
    f = find(found, "ED801")
    assert f.severity is Severity.WARNING
    assert "tensorflow (current: 2.21.0, required: ==2.15.1)" in f.detail
    assert "pandas (current: uninstalled, required: >=2)" in f.detail
    assert "pywin32" not in f.detail
    assert f.fixes[0].text.startswith('"/envs/t/bin/python" -m pip install "tensorflow==2.15.1"')
    assert find(found, "ED802").severity is Severity.WARNING
    same = make_model(sidecar=Sidecar(("python_env.yaml",), "3.11.2", ("keras==3.15.1",)))
    assert {f.code for f in run_checks(same, K315)} & {"ED801", "ED802"} == set()
