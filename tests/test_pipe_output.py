"""Text output in a pipe or a log: values whole, COLUMNS honoured, greppable, ``-`` for n/a.

Real subprocesses of the CLI with stdout a pipe, against a temporary HOME holding real
venvs (``python -m venv``) under long directory names, one of them under ``$HOME`` (shown
as ``~``), one outside it, and one with a Keras 3 distribution's metadata planted in its
site-packages (what envdoctor reads: the ``.dist-info`` directory).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "lstm.keras"

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX venv layout")

LONG = "a-directory-name-long-enough-to-break-any-table-column-" * 2


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


def _plant_keras(prefix: Path, version: str = "3.15.1") -> None:
    site = next(prefix.glob("lib/python3*/site-packages"))
    dist = site / f"keras-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: keras\nVersion: {version}\n")
    (dist / "RECORD").write_text("")
    (site / "keras").mkdir()
    (site / "keras" / "__init__.py").write_text("")


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, Path]]:
    root = tmp_path_factory.mktemp("pipes")
    home = root / "home"
    workon = home / ".virtualenvs"
    workon.mkdir(parents=True)
    outside = root / LONG / "envs"
    outside.mkdir(parents=True)
    envs = {
        "home_no_keras": _venv(workon / f"{LONG}-no-keras"),
        "home_keras": _venv(workon / f"{LONG}-keras3"),
        "outside": _venv(outside / f"{LONG}-outside"),
    }
    _plant_keras(envs["home_keras"])
    environ = {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(root / "cache"),
        "WORKON_HOME": str(outside),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO),
    }
    return environ, envs


def _cli(environ: dict[str, str], *args: str, columns: str | None) -> str:
    env = dict(environ)
    if columns is not None:
        env["COLUMNS"] = columns
    proc = subprocess.run(
        [sys.executable, "-m", "envdoctor", *args], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env, timeout=120, check=False,
        cwd=environ["HOME"],
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "\x1b[" not in proc.stdout
    return proc.stdout


def _shown(path: Path, home: str) -> str:
    text = str(path)
    return "~" + text[len(home):] if text.startswith(home + os.sep) else text


@pytest.mark.parametrize("columns", ["60", "200", None])
def test_piped_envs_keeps_every_location_whole_with_tilde_and_dashes(
    machine: tuple[dict[str, str], dict[str, Path]], columns: str | None
) -> None:
    environ, envs = machine
    home = environ["HOME"]
    out = _cli(environ, "envs", columns=columns)
    lines = out.splitlines()
    header = lines[0].split()
    assert header == ["kind", "location", "Python", "TF", "Keras", "tf-keras", "NumPy",
                      "backend", "health"]
    rows: dict[str, list[str]] = {}
    for prefix in envs.values():
        where = _shown(prefix / "bin" / "python", home)
        hits = [line for line in lines if where in line.split()]
        assert len(hits) == 1, (where, out)
        assert str(prefix) not in out or not str(prefix).startswith(home), out
        rows[str(prefix)] = hits[0].split()
    # under $HOME shown as ~, outside it absolute
    assert rows[str(envs["home_no_keras"])][1].startswith("~/.virtualenvs/")
    assert rows[str(envs["outside"])][1] == str(envs["outside"] / "bin" / "python")
    # greppable: one row per line, the same number of fields in every environment's row
    # (awk '{print $8}' is the backend), '-' where a value does not apply
    for fields in rows.values():
        assert len(fields) == 9, fields
    no_keras = rows[str(envs["home_no_keras"])]
    assert no_keras[3:8] == ["-", "-", "-", "-", "-"], no_keras  # TF .. backend
    keras3 = rows[str(envs["home_keras"])]
    assert keras3[4] == "3.15.1" and keras3[7] == "tensorflow", keras3
    # no line is cut: the longest planted location fits on its line whatever COLUMNS says
    width = int(columns or "80")
    table = lines[: lines.index(next(ln for ln in lines if ln.endswith("broken.")))]
    assert all(line == line.rstrip() for line in table)
    if columns == "200":
        longest = max(len(_shown(p / "bin" / "python", home)) for p in envs.values())
        assert longest < 200 or max(len(ln) for ln in table) > 200
    assert max(len(ln) for ln in table) > width  # wider values are not cut to COLUMNS


@pytest.mark.parametrize("columns", ["60", "200"])
def test_piped_check_keeps_the_environment_path_whole_and_wraps_prose_at_columns(
    machine: tuple[dict[str, str], dict[str, Path]], columns: str
) -> None:
    environ, envs = machine
    home = environ["HOME"]
    python = envs["outside"] / "bin" / "python"
    out = _cli(environ, "check", str(EXAMPLE), "--python", str(python), columns=columns)
    lines = out.splitlines()
    assert f"Python environment {python}" in lines, out
    # no Keras in that environment: no backend is claimed
    describe = lines[lines.index(f"Python environment {python}") + 1]
    assert "backend" not in describe, describe
    # prose wraps between words at COLUMNS; only lines holding one long word (a path, a
    # command to paste) may be longer
    for line in lines:
        if len(line) > int(columns):
            words = line.split()
            assert any(len(w) > int(columns) // 2 for w in words) or line.startswith("      "), line

    out = _cli(environ, "check", str(EXAMPLE), "--all", columns=columns)
    for prefix in envs.values():
        where = _shown(prefix / "bin" / "python", home)
        assert any(where in line.split() for line in out.splitlines()), (where, out)


def test_piped_envs_reticulate_keeps_paths_whole(
    machine: tuple[dict[str, str], dict[str, Path]]
) -> None:
    environ, envs = machine
    out = _cli(environ, "envs", "--reticulate", columns="60")
    for prefix in envs.values():
        where = _shown(prefix / "bin" / "python", environ["HOME"])
        assert any(where in line.split() for line in out.splitlines()), (where, out)
