"""The Python API: ``envdoctor.check``, ``envdoctor.preflight`` and ``PreflightError``."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from ci_support import EXAMPLE, FIXTURES, GOOD_STACK, REPO, fake_env

import envdoctor
from envdoctor.api import PreflightError, apply_ignores, envelope_schema, failing
from envdoctor.errors import EnvdoctorError, EnvironmentReadError, ModelFileError, UsageError
from envdoctor.types import Report, Severity

MLP = FIXTURES / "tf221" / "mlp.keras"
LAMBDA_H5 = FIXTURES / "tf215" / "lambda.h5"


def test_import_envdoctor_stays_cheap_and_exports_lazily() -> None:
    code = (
        "import sys, envdoctor\n"
        "heavy = sorted(m for m in sys.modules if m.startswith('envdoctor.') or m in "
        "('typing', 'rich', 'h5py', 'packaging', 'importlib_metadata'))\n"
        "print(heavy)\n"
        "from envdoctor import check, preflight, PreflightError, inspect_model\n"
        "print(check.__module__, preflight.__module__, PreflightError.__module__, "
        "inspect_model.__module__)\n"
        "print('tensorflow' in sys.modules or 'keras' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, check=True)
    first, second, third = proc.stdout.splitlines()
    assert first == "[]"
    assert second == "envdoctor.api envdoctor.api envdoctor.api envdoctor.app"
    assert third == "False"
    with pytest.raises(AttributeError):
        _ = envdoctor.not_a_thing  # type: ignore[attr-defined]
    assert {"check", "preflight", "PreflightError", "inspect_model"} <= set(dir(envdoctor))


def test_check_returns_a_report_for_str_path_and_lists(tmp_path: Path) -> None:
    env = fake_env(tmp_path)
    one = envdoctor.check(MLP, python=env)
    assert isinstance(one, Report)
    assert [v.status for v in one.verdicts] == ["ok"]
    assert one.environments[0].python == str(env / "bin" / "python")
    assert not (env / "runs.log").exists()  # read statically: the interpreter never ran
    several = envdoctor.check([str(MLP), LAMBDA_H5], python=str(env))
    assert [v.model for v in several.verdicts] == [str(MLP), str(LAMBDA_H5)]
    assert [v.status for v in several.verdicts] == ["ok", "error"]
    alone = envdoctor.check(python=env)
    assert [v.model for v in alone.verdicts] == [""]


def test_check_against_several_environments(tmp_path: Path) -> None:
    good = fake_env(tmp_path, name="good")
    keras2 = fake_env(tmp_path, {"tensorflow": "2.15.1", "keras": "2.15.0", "numpy": "1.26.4",
                                 "h5py": "3.10.0", "protobuf": "4.25.3"},
                      version="3.10.13", name="keras2")
    report = envdoctor.check(MLP, environments=[good, keras2])
    assert [(Path(v.python).parent.parent.name, v.status) for v in report.verdicts] == [
        ("good", "ok"), ("keras2", "error")
    ]
    assert len(report.environments) == 2
    assert any(f.code == "ED101" for f in report.findings)
    with pytest.raises(UsageError):
        envdoctor.check(MLP, python=good, environments=[keras2])


def test_preflight_passes_and_returns_the_report(tmp_path: Path) -> None:
    report = envdoctor.preflight(MLP, python=fake_env(tmp_path))
    assert [v.status for v in report.verdicts] == ["ok"]
    assert all(f.severity is Severity.INFO for f in report.findings)


def test_preflight_raises_with_the_findings(tmp_path: Path) -> None:
    env = fake_env(tmp_path)
    with pytest.raises(PreflightError) as info:
        envdoctor.preflight(LAMBDA_H5, python=env)
    err = info.value
    assert isinstance(err, EnvdoctorError)
    assert err.path == str(LAMBDA_H5)
    assert err.python == str(env / "bin" / "python")
    assert err.fail_on == "error"
    assert err.findings and all(f.severity is Severity.ERROR for f in err.findings)
    assert {f.code for f in err.findings} <= {v for v in err.report.verdicts[0].codes}
    message = str(err)
    assert message.splitlines()[0].startswith(f"{LAMBDA_H5} should not be loaded in ")
    assert "ED203 [error] Lambda refused by safe_mode" in message
    assert "fix: " in message
    clone = pickle.loads(pickle.dumps(err))
    assert isinstance(clone, PreflightError) and str(clone) == message


def test_preflight_fail_on_and_ignore(tmp_path: Path) -> None:
    env = fake_env(tmp_path)
    # The example's training pins (requirements.txt beside it) are not met: a warning only.
    envdoctor.preflight(EXAMPLE, python=env)
    with pytest.raises(PreflightError) as info:
        envdoctor.preflight(EXAMPLE, python=env, fail_on="warning")
    assert [f.code for f in info.value.findings] == ["ED801"]
    report = envdoctor.preflight(EXAMPLE, python=env, fail_on="warning",
                                 ignore={"ED801": "pins are loose on purpose"})
    assert [(i.finding.code, i.reason) for i in report.ignored] == [
        ("ED801", "pins are loose on purpose")
    ]
    assert report.verdicts[0].status == "ok" and report.verdicts[0].codes == ()
    with pytest.raises(PreflightError):
        envdoctor.preflight(MLP, python=env, fail_on="info")
    with pytest.raises(UsageError):
        envdoctor.preflight(MLP, python=env, fail_on="fatal")


def test_preflight_in_this_interpreter_without_keras_raises() -> None:
    """The test venv has no Keras/TensorFlow: loading anything here must be predicted to fail."""
    with pytest.raises(PreflightError) as info:
        envdoctor.preflight(EXAMPLE)
    assert "ED409" in {f.code for f in info.value.findings}
    assert info.value.python == sys.executable or info.value.python.endswith("python")


def test_preflight_bad_inputs_raise_the_documented_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError):
        envdoctor.preflight(tmp_path / "missing.keras")
    truncated = tmp_path / "t.keras"
    truncated.write_bytes(MLP.read_bytes()[:100])
    with pytest.raises(ModelFileError):
        envdoctor.preflight(truncated)
    with pytest.raises(EnvironmentReadError):
        envdoctor.preflight(MLP, python=tmp_path / "no-python")


def test_failing_and_apply_ignores_recompute_verdicts(tmp_path: Path) -> None:
    report = envdoctor.check(LAMBDA_H5, python=fake_env(tmp_path))
    errors = failing(report, "error")
    assert errors and errors == tuple(f for f in report.findings if f.severity is Severity.ERROR)
    assert failing(report, "info")[0].severity is Severity.ERROR  # most severe first
    codes = {f.code for f in errors}
    quiet = apply_ignores(report, {c: "accepted" for c in codes})
    assert not failing(quiet, "error")
    assert quiet.verdicts[0].status in ("ok", "warning")
    assert set(quiet.verdicts[0].codes).isdisjoint(codes)
    assert {i.finding.code for i in quiet.ignored} == codes
    assert all(item.status != "error" for item in quiet.checked)
    assert apply_ignores(report, {}) is report


def test_check_with_a_configuration(tmp_path: Path) -> None:
    env = fake_env(tmp_path, GOOD_STACK)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.keras").write_bytes(MLP.read_bytes())
    (tmp_path / "models" / "b.h5").write_bytes(LAMBDA_H5.read_bytes())
    config = tmp_path / "envdoctor.toml"
    config.write_text(
        'models = ["models/*"]\nenvironments = ["fakeenv"]\n'
        '[ignore]\nED203 = "we load with safe_mode=False: the file is ours"\n'
    )
    report = envdoctor.check(config=config)
    assert [Path(v.model).name for v in report.verdicts] == ["a.keras", "b.h5"]
    assert report.environments[0].prefix == str(env)
    assert "ED203" in {i.finding.code for i in report.ignored}
    assert "ED203" not in {f.code for f in report.findings}
    # Arguments win over the configuration.
    only = envdoctor.check(MLP, config=str(config), python=env)
    assert [v.model for v in only.verdicts] == [str(MLP)]


def test_envelope_schema_is_packaged() -> None:
    schema = envelope_schema()
    assert schema["$schema"].startswith("https://json-schema.org/draft/2020-12")
