"""The command line as a user meets it: real subprocesses, real files, exit codes, JSON contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "lstm.keras"
REAL = REPO.parent / "shared" / "real-models"

ENVELOPE_KEYS = {
    "schema_version", "envdoctor_version", "command", "host", "models", "environments",
    "findings", "verdicts", "checked", "summary", "candidates",
}
FINDING_KEYS = {"code", "severity", "title", "detail", "evidence", "source", "fixes", "model", "python"}
VERDICT_KEYS = {"model", "python", "status", "codes"}
FIX_KEYS = {"kind", "text", "description"}
ENV_KEYS = {
    "python", "prefix", "kind", "manager", "python_version", "implementation", "arch",
    "site_packages", "packages", "tf_build_info", "keras_backend", "keras_backend_source",
    "env_vars", "probed", "notes",
}
MODEL_KEYS = {
    "path", "format", "loadable", "summary", "needs", "size_bytes", "keras_version", "backend",
    "tensorflow_version", "date_saved", "dialect", "model_class", "model_module", "layers",
    "custom_objects", "lambdas", "security", "inputs", "dtype_policy", "weights_member",
    "weights_bytes", "has_training_config", "savedmodel", "sidecar", "notes",
}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.pop("KERAS_BACKEND", None)
    full_env.pop("TF_USE_LEGACY_KERAS", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "envdoctor", *args],
        capture_output=True, text=True, env=full_env, timeout=120, check=False, cwd=REPO,
    )


def test_json_contract_keys_are_pinned() -> None:
    proc = run("check", str(EXAMPLE), "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == ENVELOPE_KEYS
    assert data["schema_version"] == "1"
    assert data["command"] == "check"
    assert set(data["models"][0]) == MODEL_KEYS
    assert set(data["environments"][0]) == ENV_KEYS
    assert data["verdicts"] and all(set(v) == VERDICT_KEYS for v in data["verdicts"])
    assert data["verdicts"][0]["model"] == str(EXAMPLE)
    assert data["verdicts"][0]["status"] in ("ok", "warning", "error")
    for f in data["findings"]:
        assert set(f) == FINDING_KEYS
        assert f["severity"] in ("error", "warning", "info")
        assert f["code"].startswith("ED") and f["source"]
        for fix in f["fixes"]:
            assert set(fix) == FIX_KEYS
    # Keys are sorted and there is no colour or progress text on stdout.
    assert proc.stdout == json.dumps(data, sort_keys=True, indent=2) + "\n"
    assert "\x1b[" not in proc.stdout


def test_project_venv_without_tensorflow_cannot_load_the_example() -> None:
    """The test venv has no TensorFlow/Keras: the verdict must be error, exit code 1."""
    proc = run("check", str(EXAMPLE), "--format", "json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert data["verdicts"][0]["status"] == "error"
    assert data["summary"]["status"] == "error"
    model = data["models"][0]
    assert model["format"] == "keras_archive"
    assert model["keras_version"] == "3.15.1"
    # The example ships with its training environment's files: they are read as evidence.
    assert model["sidecar"]["python_version"] == "3.11.7"


def test_fail_on_threshold() -> None:
    assert run("check", str(EXAMPLE), "--fail-on", "error").returncode == 1
    proc = run("check", "--format", "json")  # the environment alone
    data = json.loads(proc.stdout)
    severities = {f["severity"] for f in data["findings"]}
    expected = 1 if "error" in severities else 0
    assert proc.returncode == expected


def test_text_report_is_plain_without_terminal_and_fits_80_columns() -> None:
    proc = run("check", str(EXAMPLE))
    assert proc.returncode == 1
    assert "\x1b[" not in proc.stdout
    assert "will NOT load" in proc.stdout
    # Fix commands sit alone on a line indented by 6 and are never split, so they paste whole;
    # everything else wraps at 80 columns.
    prose = [line for line in proc.stdout.splitlines() if not line.startswith("      ")]
    assert max(len(line) for line in prose) <= 80
    assert all(line == line.rstrip() for line in proc.stdout.splitlines())


def test_no_color_is_honoured_even_when_forced() -> None:
    proc = run("check", str(EXAMPLE), env={"NO_COLOR": "1"})
    assert "\x1b[" not in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("check", "/nonexistent/model.keras"),
        ("inspect", "/nonexistent/model.keras"),
        ("check", str(EXAMPLE), "--python", "/nonexistent/bin/python"),
        ("check", "--bogus-flag"),
        ("frobnicate",),
    ],
)
def test_bad_input_is_one_line_exit_2_without_traceback(args: tuple[str, ...]) -> None:
    proc = run(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert "envdoctor: error:" in proc.stderr
    assert proc.stdout == ""


def test_truncated_archive_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "truncated.keras"
    bad.write_bytes(EXAMPLE.read_bytes()[: EXAMPLE.stat().st_size // 2])
    proc = run("check", str(bad))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_inspect_json_and_text_on_a_real_model() -> None:
    proc = run("inspect", str(EXAMPLE), "--format", "json")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    info = data["models"][0]
    assert info["inputs"][0]["shape"] == [None, 5, 3]
    text = run("inspect", str(EXAMPLE))
    assert text.returncode == 0
    assert "3.15.1" in text.stdout and "LSTM" in text.stdout or "lstm" in text.stdout.lower()


def test_python_dash_m_and_console_script_agree() -> None:
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("envdoctor ")
    script = Path(sys.executable).with_name("envdoctor")
    if script.exists():
        alt = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
        assert alt.stdout == proc.stdout


def test_check_never_imports_tensorflow_or_keras() -> None:
    """The doctor's own process must not import TF/Keras/JAX/torch, even when they are importable."""
    code = (
        "import sys, envdoctor.cli as c\n"
        "rc = c.main(['check', sys.argv[1], '--format', 'json'])\n"
        "bad = [m for m in ('tensorflow', 'keras', 'jax', 'torch', 'tf_keras') if m in sys.modules]\n"
        "print('IMPORTED', bad, file=sys.stderr)\n"
        "sys.exit(10 if bad else rc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(EXAMPLE)], capture_output=True, text=True, check=False, cwd=REPO
    )
    assert "IMPORTED []" in proc.stderr
    assert proc.returncode in (0, 1)


def test_fix_lines_quote_hostile_paths_and_names(tmp_path: Path) -> None:
    """A path with quotes and a newline stays one string literal in every Python/R fix line."""
    import ast
    import shutil

    hostile = tmp_path / 'x"); __import__("os").system("touch pwned"); ("\nz.weights.h5'
    shutil.copy(REPO / "tests" / "fixtures" / "tf221" / "mlp.weights.h5", hostile)
    proc = run("check", str(hostile), "--format", "json")
    data = json.loads(proc.stdout)
    lines = [fx["text"] for f in data["findings"] for fx in f["fixes"] if fx["kind"] == "python"]
    assert lines
    for line in lines:
        tree = ast.parse(line)  # one statement, and the path is a single Constant
        consts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
        assert str(hostile) in consts, line
        assert not any(isinstance(n, ast.Call) and getattr(n.func, "id", "") == "__import__"
                       for n in ast.walk(tree))
