"""`envdoctor which`, `check --all` and `envs` over real TensorFlow/Keras environments.

The real environments built by scripts/make_fixtures.py are planted (as symlinks) in
~/.virtualenvs of a temporary HOME, where R's reticulate/keras3 keep theirs; discovery must
find them there, and `which` must pick the one that really loads the model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from livecommon import FIXTURES, REPO

pytestmark = [pytest.mark.live]


@pytest.fixture()
def home(tmp_path: Path, live_envs: dict[str, Path]) -> Path:
    home = tmp_path / "home"
    venvs = home / ".virtualenvs"
    venvs.mkdir(parents=True)
    for name in ("tf215", "tf221", "jax"):
        prefix = live_envs[name].parent.parent
        (venvs / f"r-{name}").symlink_to(prefix, target_is_directory=True)
    return home


def run(home: Path, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    env.update(extra or {})
    return subprocess.run(
        [sys.executable, "-m", "envdoctor", *args],
        capture_output=True, text=True, env=env, cwd=str(home), timeout=300, check=False,
    )


def test_which_picks_the_environment_that_really_loads_the_model(home: Path, live_envs: dict[str, Path]) -> None:
    # A Keras 3.15 .keras archive: tf215 (Keras 2) cannot load it; jax has no KERAS_BACKEND
    # here, so Keras would use the tensorflow backend, which is not installed there.
    proc = run(home, "which", "--model", str(FIXTURES / "tf221" / "lstm.keras"))
    assert proc.returncode == 0, proc.stderr
    chosen = Path(proc.stdout.strip())
    assert proc.stdout.count("\n") == 1
    assert chosen.resolve() == live_envs["tf221"].resolve()
    # ... and that interpreter really loads it and runs a forward pass.
    real = subprocess.run(
        [str(chosen), str(REPO / "scripts" / "real_load.py"), str(FIXTURES / "tf221" / "lstm.keras")],
        capture_output=True, text=True, timeout=600, check=False,
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(home)},
    )
    result = json.loads(real.stdout)["results"][0]
    assert result["loaded"] and result["predicted"], result


def test_which_follows_keras_backend(home: Path, live_envs: dict[str, Path]) -> None:
    # With KERAS_BACKEND=jax the jax env can load a Keras 3 .keras; --prefer picks it.
    proc = run(
        home, "which", "--model", str(FIXTURES / "jax" / "mlp.keras"), "--prefer", "r-jax",
        extra={"KERAS_BACKEND": "jax"},
    )
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).resolve() == live_envs["jax"].resolve()


def test_which_when_nothing_can_load_it(home: Path) -> None:
    # A Lambda in a .keras archive is refused by safe_mode everywhere.
    proc = run(home, "which", "--model", str(FIXTURES / "tf221" / "lambda.keras"))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "closest:" in proc.stderr
    assert "ED203" in proc.stderr and "fix:" in proc.stderr


def test_check_all_is_best_first_and_envs_lists_them(home: Path, live_envs: dict[str, Path]) -> None:
    proc = run(home, "check", str(FIXTURES / "tf215" / "mlp.h5"), "--all", "--format", "json")
    data = json.loads(proc.stdout)
    order = [c["python"] for c in data["candidates"]]
    statuses = {v["python"]: v["status"] for v in data["verdicts"]}
    ranked = [statuses[p] for p in order if p in statuses]
    rank = {"ok": 0, "warning": 1, "error": 2}
    assert ranked == sorted(ranked, key=rank.__getitem__), ranked
    # tf215 (Keras 2.15) loads a Keras 2.15 .h5; tf221 (Keras 3.15) does not (compiled loss alias).
    by_real = {Path(p).resolve(): s for p, s in statuses.items()}
    assert by_real[live_envs["tf215"].resolve()] != "error"
    assert by_real[live_envs["tf221"].resolve()] == "error"

    envs = run(home, "envs", "--format", "json")
    assert envs.returncode == 0
    found = {Path(c["prefix"]).resolve() for c in json.loads(envs.stdout)["candidates"]}
    for name in ("tf215", "tf221", "jax"):
        assert live_envs[name].parent.parent.resolve() in found
    text = run(home, "envs")
    assert "2.21.0" in text.stdout and "2.15.1" in text.stdout
