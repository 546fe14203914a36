"""Project configuration (``[tool.envdoctor]``, ``envdoctor.toml``) and how ``check`` uses it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ci_support import FIXTURES, REPO, cli, fake_env

from envdoctor.config import (
    ConfigError,
    expand_environments,
    expand_models,
    find_config,
    load_config,
    plan_check,
)
from envdoctor.errors import UsageError

MLP = FIXTURES / "tf221" / "mlp.keras"
LAMBDA_H5 = FIXTURES / "tf215" / "lambda.h5"

PYPROJECT = """\
[project]
name = "demo"

[tool.envdoctor]
models = ["models/*.keras", "models/legacy.h5"]
fail-on = "warning"
environments = ["fakeenv", "python3.11", "~/envs/x"]

[tool.envdoctor.ignore]
ED201 = "we load with the saving Python"
ed701 = "  input notes are noise  "
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    shutil.copy(MLP, root / "models" / "b.keras")
    shutil.copy(MLP, root / "models" / "a.keras")
    shutil.copy(LAMBDA_H5, root / "models" / "legacy.h5")
    (root / "pyproject.toml").write_text(PYPROJECT)
    fake_env(root)
    return root


def test_pyproject_table_is_read_and_validated(project: Path) -> None:
    cfg = load_config(str(project / "pyproject.toml"))
    assert cfg.models == ("models/*.keras", "models/legacy.h5")
    assert cfg.fail_on == "warning"
    assert dict(cfg.ignore) == {"ED201": "we load with the saving Python",
                                "ED701": "input notes are noise"}
    assert cfg.root == str(project)
    assert not cfg.all_environments


def test_models_and_environments_resolve_relative_to_the_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    cfg = load_config("pyproject.toml")
    assert expand_models(cfg) == ("models/a.keras", "models/b.keras", "models/legacy.h5")
    monkeypatch.chdir(project.parent)
    assert expand_models(cfg) == tuple(
        f"project/models/{n}" for n in ("a.keras", "b.keras", "legacy.h5")
    )
    envs = expand_environments(cfg)
    assert envs == (str(project / "fakeenv"), "python3.11",
                    os.path.expanduser("~/envs/x"))


def test_envdoctor_toml_top_level_and_list_form_of_ignore(tmp_path: Path) -> None:
    (tmp_path / "envdoctor.toml").write_text(
        'models = "m.keras"\nenvironments = "all"\n'
        'ignore = [{code = "ED802", reason = "sidecar is stale"}]\n'
    )
    cfg = load_config(str(tmp_path / "envdoctor.toml"))
    assert cfg.models == ("m.keras",)
    assert cfg.all_environments and cfg.environments == ()
    assert dict(cfg.ignore) == {"ED802": "sidecar is stale"}
    (tmp_path / "other.toml").write_text('[tool.envdoctor]\nfail_on = "info"\n')
    assert load_config(str(tmp_path / "other.toml")).fail_on == "info"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[tool.envdoctor]\nmodel = ["x"]\n', "unknown key 'model'"),
        ('[tool.envdoctor]\nfail-on = "fatal"\n', "fail-on must be one of"),
        ('[tool.envdoctor]\nmodels = [1]\n', "models must be a list of non-empty strings"),
        ('[tool.envdoctor.ignore]\nED201 = ""\n', "ED201 needs a reason"),
        ('[tool.envdoctor.ignore]\nE201 = "why"\n', "is not a finding code"),
        ('[tool.envdoctor]\nignore = [{code = "ED201"}]\n', "ED201 needs a reason"),
        ('[tool.envdoctor]\nignore = "ED201"\n', "ignore must be a table"),
        ('[tool.envdoctor]\nenvironments = [""]\n', "environments must be a list"),
        ("[tool.envdoctor\n", "not valid TOML"),
        ('[project]\nname = "x"\n', "no [tool.envdoctor] table"),
        ("[tool]\nenvdoctor = 3\n", "[tool.envdoctor] must be a table"),
    ],
)
def test_invalid_configuration_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    assert message in str(info.value)
    assert str(info.value).startswith(str(path))
    assert isinstance(info.value, UsageError)


def test_unreadable_configurations(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_config(str(tmp_path / "missing.toml"))
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(str(binary))
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (1024 * 1024 + 10))
    with pytest.raises(ConfigError, match="larger than"):
        load_config(str(big))


def test_a_pattern_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "envdoctor.toml").write_text('models = ["models/*.keras"]\n')
    with pytest.raises(ConfigError, match="matches no file"):
        expand_models(load_config(str(tmp_path / "envdoctor.toml")))


def test_find_config_walks_up_and_stops_at_the_project_root(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    deep = root / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(str(deep)) is None or not str(find_config(str(deep))).startswith(str(root))
    (root / ".git").mkdir()
    assert find_config(str(deep)) is None
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(str(deep)) is None
    (root / "pyproject.toml").write_text('[tool.envdoctor]\nfail-on = "warning"\n')
    assert find_config(str(deep)) == str(root / "pyproject.toml")
    (root / "envdoctor.toml").write_text('fail-on = "info"\n')
    assert find_config(str(deep)) == str(root / "envdoctor.toml")
    # A nested project (its own pyproject.toml without the table) stops the search.
    (root / "a" / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    assert find_config(str(deep)) is None


def test_plan_check_precedence(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    plan = plan_check()
    assert plan.models == ("models/a.keras", "models/b.keras", "models/legacy.h5")
    assert plan.fail_on == "warning"
    assert plan.environments[0] == str(project / "fakeenv")
    assert set(plan.ignore) == {"ED201", "ED701"}
    given = plan_check(models=["x.keras"], python="/usr/bin/python3", fail_on="error")
    assert given.models == ("x.keras",)
    assert given.python == "/usr/bin/python3" and given.environments == ()
    assert given.fail_on == "error"
    assert set(given.ignore) == {"ED201", "ED701"}  # the project's ignores still apply
    assert plan_check(use_config=False).config is None
    assert plan_check(use_config=False).fail_on == "error"
    every = plan_check(all_environments=True)
    assert every.all_environments and every.environments == ()


def test_cli_check_uses_the_discovered_configuration(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(PYPROJECT.replace('"fakeenv", "python3.11", "~/envs/x"', '"fakeenv"'))
    proc = cli("check", "--format", "json", cwd=project)
    data = json.loads(proc.stdout)
    assert [v["model"] for v in data["verdicts"]] == [
        "models/a.keras", "models/b.keras", "models/legacy.h5"
    ]
    assert {v["python"] for v in data["verdicts"]} == {str(project / "fakeenv" / "bin" / "python")}
    ignored = {(i["code"], i["reason"]) for i in data["summary"]["ignored"]}
    assert ("ED701", "input notes are noise") in ignored
    assert all(f["code"] not in ("ED201", "ED701") for f in data["findings"])
    assert proc.returncode == 1  # legacy.h5 fails (ED203 and more)

    # fail-on from the configuration: only the .keras files, with a warning-free verdict...
    pyproject.write_text(pyproject.read_text().replace('"models/legacy.h5"', '"models/a.keras"'))
    quiet = cli("check", cwd=project)
    assert quiet.returncode == 0, quiet.stdout
    assert "ignored ED701" in quiet.stdout
    # ...and fail-on "info" from the command line wins over the file (ED701 no longer ignored).
    pyproject.write_text(pyproject.read_text().replace('ed701 = "  input notes are noise  "', ""))
    assert cli("check", cwd=project).returncode == 0
    assert cli("check", "--fail-on", "info", cwd=project).returncode == 1
    # A MODEL on the command line replaces the configuration's models.
    one = json.loads(cli("check", str(MLP), "--format", "json", cwd=project).stdout)
    assert [v["model"] for v in one["verdicts"]] == [str(MLP)]
    # --no-config: the environment running envdoctor, no models.
    bare = json.loads(cli("check", "--no-config", "--format", "json", cwd=project).stdout)
    assert [v["model"] for v in bare["verdicts"]] == [""]
    assert bare["summary"]["ignored"] == []


def test_cli_explicit_config_from_another_directory(tmp_path: Path, project: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    config = project / "pyproject.toml"
    # ~/envs/x does not exist: one clear line, exit 2.
    broken = cli("check", "--config", str(config), cwd=other)
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    assert broken.stderr.startswith("envdoctor: error: ") and "envs/x" in broken.stderr
    config.write_text(PYPROJECT.replace('"fakeenv", "python3.11", "~/envs/x"', '"fakeenv"'))
    proc = cli("check", "--config", str(config), "--format", "json", cwd=other)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert [v["model"] for v in data["verdicts"]] == [
        str(project / "models" / n) for n in ("a.keras", "b.keras", "legacy.h5")
    ]
    # An explicit --config is used even when MODELs are given (models replaced).
    one = json.loads(cli("check", str(MLP), "--config", str(config), "--format", "json",
                         cwd=other).stdout)
    assert [v["python"] for v in one["verdicts"]] == [str(project / "fakeenv" / "bin" / "python")]


def test_cli_bad_configuration_is_exit_2_one_line(tmp_path: Path) -> None:
    (tmp_path / "envdoctor.toml").write_text('fail-on = "sometimes"\n')
    proc = cli("check", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "fail-on must be one of" in proc.stderr
    assert "Traceback" not in proc.stderr
    missing = cli("check", "--config", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "cannot read it" in missing.stderr
    (tmp_path / "envdoctor.toml").write_text('models = ["*.keras"]\n')
    nomatch = cli("check", cwd=tmp_path)
    assert nomatch.returncode == 2 and "matches no file" in nomatch.stderr


@pytest.mark.parametrize("version", ["3.9.18", "3.10.13"])
def test_tomli_is_used_before_python_3_11(tmp_path: Path, version: str) -> None:
    """On 3.9/3.10 the configuration is read with tomli (a runtime dependency there).

    tomli must be importable by that interpreter, or sit in ``$ENVDOCTOR_TEST_TOMLI_<X_Y>``
    (e.g. ``pip install --target DIR tomli`` run by that interpreter).
    """
    old = Path(f"/root/.pyenv/versions/{version}/bin/python")
    if not old.exists():
        pytest.skip(f"no Python {version}")
    extra = os.environ.get("ENVDOCTOR_TEST_TOMLI_" + "_".join(version.split(".")[:2]), "")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (extra, str(REPO)) if p)}
    probe = subprocess.run([str(old), "-c", "import tomli"], capture_output=True, env=env,
                           check=False)
    if probe.returncode != 0:
        pytest.skip(f"tomli is not installed for Python {version}")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    code = ("import sys; from envdoctor.config import load_config; "
            "c = load_config(sys.argv[1]); print(c.fail_on, sorted(c.ignore), "
            "'tomli' in sys.modules)")
    proc = subprocess.run([str(old), "-c", code, str(tmp_path / "pyproject.toml")],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.stdout.strip() == "warning ['ED201', 'ED701'] True", proc.stderr
