"""`envdoctor fix` and `envdoctor env create` on real TensorFlow environments.

* A real environment that cannot load a real fixture: a uv venv of Python 3.10 with
  tensorflow-cpu 2.15.1, then NumPy 2.1 forced in with --no-deps (what `pip install -U numpy`
  does to many TF 2.15 users).  `import tensorflow` fails there ("_ARRAY_API not found").
  `fix --yes --verify` makes the real load of tests/fixtures/tf215/mlp.keras succeed; the
  snapshot then restores the original freeze exactly.
* Two concurrent `fix --yes` on one environment: one refuses (the other's lock), or waits
  with --wait; the environment ends fixed, never half-installed.
* `env create` for a tf.keras 2.15 model and for a Keras 3 model: each new environment
  really loads and runs its model (checked with scripts/real_load.py, not envdoctor).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from livecommon import EXTRA, FIXTURES, REPO

pytestmark = [pytest.mark.live]

MODEL = FIXTURES / "tf215" / "mlp.keras"


def envdoctor(*args: str, data: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "KERAS_BACKEND", "TF_USE_LEGACY_KERAS", "PYTHONPATH")
    }
    env.update(
        {"XDG_DATA_HOME": str(data), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    )
    return subprocess.run(
        [sys.executable, "-m", "envdoctor", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
        timeout=timeout,
        check=False,
    )


def real_load(python: Path, model: Path) -> dict[str, object]:
    """Load the model with scripts/real_load.py (the ground-truth harness), not envdoctor."""
    proc = subprocess.run(
        [str(python), str(REPO / "scripts" / "real_load.py"), str(model)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": os.environ.get("HOME", "/tmp"),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "CUDA_VISIBLE_DEVICES": "",
        },
    )
    data = json.loads(proc.stdout)
    result: dict[str, object] = data["results"][0]
    return result


def uv_freeze(uv: list[str], python: Path) -> list[str]:
    out = subprocess.run(
        [*uv, "pip", "freeze", "--python", str(python)], capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if line.strip()]


def make_broken(make_fixtures: ModuleType, where: Path) -> Path:
    """A real TF 2.15 environment with NumPy 2 forced in (cannot import TensorFlow)."""
    uv = make_fixtures.uv_command()
    interpreter = make_fixtures.find_interpreter("3.10")
    run = make_fixtures._run
    run([*uv, "venv", "--quiet", "--python", str(interpreter), str(where)])
    python = where / "bin" / "python"
    run([*uv, "pip", "install", "--quiet", "--python", str(python), "tensorflow-cpu==2.15.1"])
    run([*uv, "pip", "install", "--quiet", "--python", str(python), "--no-deps", "numpy==2.1.*"])
    return python


def test_fix_makes_a_real_load_work_and_the_snapshot_restores_it_exactly(
    tmp_path: Path, make_fixtures: ModuleType
) -> None:
    uv = make_fixtures.uv_command()
    python = make_broken(make_fixtures, tmp_path / "broken")
    data = tmp_path / "data"
    original = uv_freeze(uv, python)
    assert any(line.startswith("numpy==2.1.") for line in original)
    before = real_load(python, MODEL)
    assert not before["loaded"] and before["stage"] == "import", before

    plan = envdoctor("fix", str(MODEL), "--python", str(python), data=data)
    assert plan.returncode == 1, plan.stderr
    assert "ED404" in plan.stdout and "numpy 2.1." in plan.stdout and "→ 1." in plan.stdout
    assert uv_freeze(uv, python) == original  # no --yes: nothing changed

    fixed = envdoctor(
        "fix",
        str(MODEL),
        "--python",
        str(python),
        "--yes",
        "--verify",
        "--format",
        "json",
        data=data,
    )
    assert fixed.returncode == 0, fixed.stdout[-3000:] + fixed.stderr[-3000:]
    result = json.loads(fixed.stdout)["fix"]
    assert result["status"] == "applied" and result["success"]
    assert [c["name"] for c in result["changes"]] == ["numpy"]
    assert result["verify"]["models"][0]["outcome"] == "ok"
    after = real_load(python, MODEL)
    assert after["loaded"] and after["predicted"], after

    snap = Path(result["snapshot"])
    assert snap.read_text().splitlines() == original
    assert result["restore"][0].endswith(f"env restore {snap} --yes")
    restored = envdoctor("env", "restore", str(snap), "--yes", data=data)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert uv_freeze(uv, python) == original == snap.read_text().splitlines()
    assert not real_load(python, MODEL)["loaded"]


def test_two_concurrent_fixes_one_refuses_nothing_half_installed(
    tmp_path: Path, make_fixtures: ModuleType
) -> None:
    uv = make_fixtures.uv_command()
    python = make_broken(make_fixtures, tmp_path / "broken")
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["XDG_DATA_HOME"] = str(data)
    argv = [sys.executable, "-m", "envdoctor", "fix", str(MODEL), "--python", str(python), "--yes"]
    procs = [
        subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(REPO)
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    codes = sorted(p.returncode for p in procs)
    texts = [out for out, _ in outs]
    # Both start together; the one that takes the lock second refuses at once.  (If the
    # machine is so loaded that one only starts after the other finished, it finds nothing
    # left to fix: the runs were serialized all the same.)
    assert codes in ([0, 1], [0, 0]), outs
    assert sum("Fixed." in t for t in texts) == 1, outs
    for (out, err), p in zip(outs, procs):
        if p.returncode == 1:
            assert "being changed by another envdoctor run" in err, (out, err)
            assert out == ""
        elif "Fixed." not in out:
            assert "Nothing to fix" in out
    freeze = uv_freeze(uv, python)
    assert "numpy==1.26.4" in freeze
    check = subprocess.run(
        [*uv, "pip", "check", "--python", str(python)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert len(list((data / "envdoctor" / "snapshots").glob("*/*.txt"))) == 1

    # With --wait the second run waits for the first, then finds nothing left to do.
    restored = envdoctor(
        "env",
        "restore",
        str(next((data / "envdoctor" / "snapshots").glob("*/*.txt"))),
        "--yes",
        data=data,
    )
    assert restored.returncode == 0, restored.stdout
    procs = [
        subprocess.Popen(
            [*argv, "--wait", "300"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=str(REPO),
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    texts = sorted(out for out, _ in outs)
    assert sum("Fixed." in t for t in texts) == 1
    assert sum("Nothing to fix" in t for t in texts) == 1
    assert "numpy==1.26.4" in uv_freeze(uv, python)


@pytest.mark.parametrize(
    ("model", "python", "expect"),
    [
        # tf.keras 2.15 .keras archive: needs TF <= 2.15 (Keras 2); Python 3.10 as the fixture's.
        (FIXTURES / "tf215" / "mlp.keras", "3.10", "tensorflow-cpu==2.15.1"),
        # Keras 3.15 .keras archive: needs Keras >= 3.15 (Python >= 3.11) with TF 2.21.
        (FIXTURES / "tf221" / "lstm.keras", "3.11", "keras==3.15.1"),
    ],
    ids=["tf.keras-2.15", "keras-3"],
)
def test_env_create_builds_an_environment_that_really_loads_the_model(
    tmp_path: Path, model: Path, python: str, expect: str
) -> None:
    target = tmp_path / "env"
    proc = envdoctor(
        "env",
        "create",
        str(model),
        "--path",
        str(target),
        "--python",
        python,
        "--tf-dist",
        "tensorflow-cpu",
        data=tmp_path / "data",
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert expect in proc.stdout
    assert "verified:" in proc.stdout
    new_python = target / "bin" / "python"
    assert f'Sys.setenv(RETICULATE_PYTHON = "{new_python}")' in proc.stdout
    assert f"source {target / 'bin' / 'activate'}" in proc.stdout
    assert f'use_virtualenv("{target}", required = TRUE)' in proc.stdout
    result = real_load(new_python, model)
    assert result["loaded"] and result["predicted"], result


@pytest.mark.skipif(not EXTRA, reason="ENVDOCTOR_LIVE_EXTRA=1 builds TF 2.21 + tf-keras wheels")
def test_fix_that_needs_a_variable_and_a_restore_that_repairs_shared_files(
    tmp_path: Path, make_fixtures: ModuleType
) -> None:
    # A tf.keras 2.15 .keras file in a TF 2.21 (Keras 3) environment: the fix installs
    # tf-keras (which pulls `tensorflow` beside `tensorflow-cpu`) and needs
    # TF_USE_LEGACY_KERAS=1.  Restoring removes `tensorflow`, which deletes the files it shares
    # with tensorflow-cpu: the restore must reinstall tensorflow-cpu so TF still imports.
    uv = make_fixtures.uv_command()
    where = tmp_path / "tf221"
    make_fixtures._run(
        [
            *uv,
            "venv",
            "--quiet",
            "--python",
            str(make_fixtures.find_interpreter("3.12")),
            str(where),
        ]
    )
    python = where / "bin" / "python"
    make_fixtures._run(
        [*uv, "pip", "install", "--quiet", "--python", str(python), "tensorflow-cpu==2.21.0"]
    )
    data = tmp_path / "data"
    original = uv_freeze(uv, python)
    proc = envdoctor(
        "fix",
        str(MODEL),
        "--python",
        str(python),
        "--yes",
        "--verify",
        "--format",
        "json",
        data=data,
    )
    result = json.loads(proc.stdout)["fix"]
    assert proc.returncode == 1  # TF_USE_LEGACY_KERAS is not set in this shell
    assert result["status"] == "applied"
    assert result["settings"] == {"TF_USE_LEGACY_KERAS": "1"}
    assert result["left_with_settings"] == []
    assert result["verify"]["models"][0]["outcome"] == "ok"
    assert any("beside tensorflow-cpu" in w for w in result["warnings"])
    restored = envdoctor("env", "restore", result["snapshot"], "--yes", data=data)
    assert restored.returncode == 0, restored.stdout
    assert "--reinstall --no-deps tensorflow-cpu==2.21.0" in restored.stdout
    assert uv_freeze(uv, python) == original
    check = subprocess.run(
        [str(python), "-c", "import tensorflow as tf; print(tf.__version__)"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert check.stdout.strip() == "2.21.0", check.stderr[-2000:]
