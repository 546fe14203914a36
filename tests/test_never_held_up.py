"""A hanging interpreter on PATH holds ``envdoctor envs`` up once, for one budget, never again.

Real subprocesses of the CLI against a temporary HOME and cache; the hanging interpreter is
a shell script that sleeps (a broken shim, a python on a dead network mount).  Behaviour is
asserted, not timing (timing is in ``benchmarks/bench_envs.py``): the message, that the
second run does not start it again, that touching it makes it tried again, and that the
real environment next to it is still found.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(os.name != "posix", reason="shell-script interpreter")


def _machine(tmp_path: Path) -> tuple[dict[str, str], Path, Path, Path]:
    home = tmp_path / "home"
    home.mkdir()
    hang_bin = tmp_path / "deadmount" / "bin"
    hang_bin.mkdir(parents=True)
    log = tmp_path / "started.log"
    hang = hang_bin / "python3"
    hang.write_text(f"#!/bin/sh\necho started >> {log}\nexec sleep 600\n")
    hang.chmod(0o755)
    venv = tmp_path / "good-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    environ = {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PATH": os.pathsep.join([str(hang_bin), str(venv / "bin"), "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
        "COLUMNS": "200",
    }
    return environ, hang, log, venv


def _envs(environ: dict[str, str], cwd: Path, *fmt: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envdoctor", "envs", *fmt],
        capture_output=True, text=True, env={**environ, "PYTHONPATH": str(REPO)},
        timeout=60, check=False, cwd=cwd,
    )


def test_hanging_interpreter_is_killed_reported_and_remembered(tmp_path: Path) -> None:
    environ, hang, log, venv = _machine(tmp_path)
    cold = _envs(environ, tmp_path, "--format", "json")
    assert cold.returncode == 0, cold.stderr
    data = json.loads(cold.stdout)
    by_python = {c["python"]: c for c in data["candidates"]}
    assert str(hang) in by_python, sorted(by_python)
    assert by_python[str(hang)]["health"] == "broken"
    assert "did not answer in 2 s" in by_python[str(hang)]["reason"]
    assert str(venv / "bin" / "python") in {e["python"] for e in data["environments"]} or any(
        e["prefix"] == str(venv) for e in data["environments"]
    )
    assert log.read_text().count("started") == 1

    warm = _envs(environ, tmp_path, "--format", "json")
    assert warm.returncode == 0, warm.stderr
    again = {c["python"]: c for c in json.loads(warm.stdout)["candidates"]}
    assert "did not answer in 2 s" in again[str(hang)]["reason"]
    assert log.read_text().count("started") == 1, "the warm run started the hanging interpreter"

    # the file changes (the mount comes back, the shim is fixed): it is tried again
    hang.write_text(hang.read_text() + "# changed\n")
    _envs(environ, tmp_path, "--format", "json")
    assert log.read_text().count("started") == 2


def test_hanging_process_group_is_killed(tmp_path: Path) -> None:
    environ, hang, _log, _venv = _machine(tmp_path)
    pidfile = tmp_path / "child.pid"
    hang.write_text(f"#!/bin/sh\nsleep 600 &\necho $! > {pidfile}\nexec sleep 600\n")
    proc = _envs(environ, tmp_path, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    child = int(pidfile.read_text())
    try:
        os.kill(child, 0)
    except ProcessLookupError:
        return
    # a zombie is dead too: it only waits to be reaped by init
    stat = Path(f"/proc/{child}/stat").read_text().split()
    assert stat[2] == "Z", f"the hanging interpreter's child {child} is still running"
