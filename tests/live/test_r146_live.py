"""Real Rscript sessions under today's R stack: reticulate 1.46.0, keras3 1.2.0, tensorflow 2.20.

The stack comes from ``../shared/r-src`` installed by ``scripts/install_r.sh`` into
``~/.cache/envdoctor/r-lib-1.46`` (``ENVDOCTOR_R_LIB_146``); every R session here runs with
``R_LIBS`` set to it.  The tests skip when that library is absent (install_r.sh failed).

* envdoctor_use() binds the environment that loads the model although keras3's ``r-keras``
  virtualenv (delay-load, step 9 of 1.46's order) and a ``py_require()`` declaration compete,
  and keras3's ``load_model()`` + ``predict()`` work there; a user's own RETICULATE_PYTHON
  is kept and named with its file and line;
* with no environment that can load the model, the ``py_require()`` declaration
  envdoctor_use() makes is built by reticulate itself with uv (from PyPI, with a local
  pyenv Python 3.11: ``UV_PYTHON_PREFERENCE=only-system``; uv's own cache is reused) and
  loads and predicts;
* ``envdoctor envs --reticulate`` names the Python R really binds
  (``reticulate::py_config()``) for several setups.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from livecommon import FIXTURES, REPO
from test_r_live import SCRIPT, machine, prefix, result_of, rscript, run_r  # noqa: F401

pytestmark = [pytest.mark.live, pytest.mark.r]

LIB_146 = Path(
    os.environ.get("ENVDOCTOR_R_LIB_146", str(Path.home() / ".cache" / "envdoctor" / "r-lib-1.46"))
)
LSTM = FIXTURES / "tf221" / "lstm.keras"  # Keras 3.15 (TF 2.21): tf215's Keras 2 cannot load it
NETWORK_VARS = (
    "SSL_CERT_FILE", "SSL_CERT_DIR", "UV_NATIVE_TLS", "UV_DEFAULT_INDEX", "HTTPS_PROXY",
    "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy", "UV_OFFLINE",
)
PYENV_311 = sorted(Path.home().glob(".pyenv/versions/3.11.*/bin/python3.11"))


def _has_146() -> bool:
    desc = LIB_146 / "reticulate" / "DESCRIPTION"
    return desc.is_file() and "Version: 1.46.0" in desc.read_text() and (
        LIB_146 / "keras3" / "DESCRIPTION"
    ).is_file()


@pytest.fixture(scope="module")
def lib146(rscript: str) -> Path:  # noqa: F811
    if not _has_146():
        subprocess.run(
            ["bash", str(REPO / "scripts" / "install_r.sh")], timeout=900, check=False,
            capture_output=True,
        )
    if not _has_146():
        pytest.skip(f"reticulate 1.46 + keras3 not installed in {LIB_146} (install_r.sh failed)")
    return LIB_146


def env146(machine: dict[str, Path], live_envs: dict[str, Path], **extra: str) -> dict[str, str]:  # noqa: F811
    """R's variables: the 1.46 library, no uv (unless given), envdoctor by module."""
    env = {
        "HOME": str(machine["home"]),
        "PATH": "/usr/bin:/bin",
        "XDG_CACHE_HOME": str(machine["tmp"] / "cache"),
        "ENVDOCTOR_PYTHON": sys.executable,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "LANG": "C.UTF-8",
        "R_LIBS": str(LIB_146),
        "RETICULATE_CHECK_REQUIRED_PACKAGES": "false",
    }
    env.update(extra)
    return env


KERAS3_PREDICT = r"""
library(keras3)
reticulate::py_require("numpy")   # a py_require() declaration, as packages and scripts make
chk <- envdoctor_check("{model}")
eval(parse(text = attr(chk, "r_code")))   # keras3::load_model(), a float32 batch, predict
cfg <- reticulate::py_config()
cat("RESULT ", jsonlite::toJSON(list(
  python = cfg$python, forced = cfg$forced, prefix = reticulate::import("sys")$prefix,
  shape = as.integer(unlist(if (is.null(dim(y))) y$shape else dim(y))),
  reticulate = as.character(packageVersion("reticulate")),
  var = Sys.getenv("RETICULATE_PYTHON")
), auto_unbox = TRUE), "\n", sep = "")
"""


def test_use_wins_over_r_keras_and_py_require_then_keras3_predicts(
    rscript: str, lib146: Path, machine: dict[str, Path], live_envs: dict[str, Path]  # noqa: F811
) -> None:
    # keras3 1.2.0's delay-load r-keras (here TF 2.15 / Keras 2, which cannot load the model)
    # outranks RETICULATE_PYTHON_FALLBACK under 1.46; RETICULATE_PYTHON outranks it.
    venvs = machine["home"] / ".virtualenvs"
    (venvs / "r-keras").symlink_to(prefix(live_envs, "tf215"), target_is_directory=True)
    env = env146(machine, live_envs)
    proc = run_r(
        rscript, machine, env, KERAS3_PREDICT.replace("{model}", str(LSTM)),
        profile=f'envdoctor_use("{LSTM}")',
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = result_of(proc)
    assert res["reticulate"] == "1.46.0"
    assert Path(str(res["prefix"])).resolve() in (prefix(live_envs, "tf221"), prefix(live_envs, "tf220"))
    assert res["forced"] == "RETICULATE_PYTHON"
    assert res["shape"] == [2, 1]
    assert "envdoctor: RETICULATE_PYTHON=" in proc.stderr
    assert "outranks" in proc.stderr and "r-keras" in proc.stderr  # what it beat, said
    # Control: without envdoctor_use() R binds r-keras, and keras3 cannot load the model.
    control = run_r(
        rscript, machine, env,
        f'library(keras3)\nm <- tryCatch(load_model("{LSTM}"), error = function(e) "FAIL")\n'
        'cat("BOUND", reticulate::py_config()$forced, reticulate::import("sys")$prefix, '
        'identical(m, "FAIL"), "\\n")\n',
    )
    line = next(x for x in control.stdout.splitlines() if x.startswith("BOUND"))
    assert 'import("keras")' in line and line.rstrip().endswith("TRUE"), control.stdout + control.stderr[-2000:]
    assert Path(line.split()[2]).resolve() == prefix(live_envs, "tf215")


def test_a_user_reticulate_python_is_kept_and_named_with_its_line(
    rscript: str, lib146: Path, machine: dict[str, Path], live_envs: dict[str, Path]  # noqa: F811
) -> None:
    (machine["work"] / ".Renviron").write_text(f"RETICULATE_PYTHON={live_envs['tf215']}\n")
    env = env146(machine, live_envs)
    body = (
        f'w <- character()\nwithCallingHandlers(envdoctor_use("{LSTM}"), warning = function(c) '
        '{ w <<- c(w, conditionMessage(c)); invokeRestart("muffleWarning") })\n'
        'cat("WARN<<", w, ">>\\n", sep = "")\n'
        'cat("VAR", Sys.getenv("RETICULATE_PYTHON"), "\\n")\n'
    )
    proc = run_r(rscript, machine, env, body)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warn = proc.stdout.split("WARN<<", 1)[1].split(">>", 1)[0]
    assert "cannot win" in warn and "RETICULATE_PYTHON is already set" in warn
    assert f"line 1 of {machine['work'] / '.Renviron'}" in warn
    assert "which cannot load it" in warn and "restart R" in warn
    var = next(x for x in proc.stdout.splitlines() if x.startswith("VAR"))
    assert var.split()[1] == str(live_envs["tf215"])  # not changed


def test_already_initialized_under_146_is_said_plainly(
    rscript: str, lib146: Path, machine: dict[str, Path], live_envs: dict[str, Path]  # noqa: F811
) -> None:
    env = env146(machine, live_envs)
    body = (
        f'library(reticulate)\nuse_python("{live_envs["tf215"]}")\ninvisible(py_config())\n'
        f'w <- tryCatch(envdoctor_use("{LSTM}"), warning = function(w) conditionMessage(w))\n'
        'cat("MESSAGE<<", w, ">>\\n", sep = "")\n'
    )
    proc = run_r(rscript, machine, env, body)
    assert proc.returncode == 0, proc.stderr[-3000:]
    msg = proc.stdout.split("MESSAGE<<", 1)[1].split(">>", 1)[0]
    assert "already bound to" in msg and "cannot switch" in msg
    assert "RETICULATE_PYTHON=" in msg and "restart R" in msg


@pytest.mark.skipif(not PYENV_311, reason="no pyenv Python 3.11 for uv")
def test_py_require_declaration_builds_a_uv_env_that_loads_and_predicts(
    rscript: str, lib146: Path, machine: dict[str, Path], live_envs: dict[str, Path]  # noqa: F811
) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    # Only tf215 (Keras 2) is on this machine: nothing here loads the Keras 3 model.
    venvs = machine["home"] / ".virtualenvs"
    for name in ("r-tf221", "r-jax"):
        (venvs / name).unlink()
    pyenv = machine["tmp"] / "pyenv"
    (pyenv / "versions").mkdir(parents=True)
    base = PYENV_311[-1].parent.parent
    (pyenv / "versions" / base.name).symlink_to(base, target_is_directory=True)
    env = env146(
        machine,
        live_envs,
        PATH=f"{base / 'bin'}:/usr/bin:/bin",
        PYENV_ROOT=str(pyenv),
        RETICULATE_UV=uv,
        UV_PYTHON_PREFERENCE="only-system",
        UV_CACHE_DIR=os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv")),
        # how this machine reaches PyPI (certificates, proxies, index), passed through
        **{k: v for k, v in os.environ.items() if k in NETWORK_VARS or k.startswith("UV_INDEX")},
    )
    body = (
        "req <- .envdoctor_use_result\n"
        "library(keras3)\n"
        f'm <- load_model("{LSTM}")\n'
        "x <- reticulate::np_array(array(runif(30), dim = c(2, 5, 3)), dtype = 'float32')\n"
        "y <- m$predict(x, verbose = 0L)\n"
        "cfg <- reticulate::py_config()\n"
        'cat("RESULT ", jsonlite::toJSON(list(python = cfg$python, forced = cfg$forced,\n'
        "  ephemeral = isTRUE(cfg$ephemeral), shape = dim(y),\n"
        "  packages = req$packages, python_version = req$python_version),\n"
        '  auto_unbox = TRUE), "\\n", sep = "")\n'
    )
    proc = run_r(
        rscript, machine, env, body,
        profile=f'.envdoctor_use_result <- envdoctor_use("{LSTM}")', timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    res = result_of(proc)
    assert "declared reticulate's own uv environment" in proc.stderr
    assert res["forced"] == "py_require()" and res["ephemeral"] is True
    assert res["python_version"] == "3.11"
    assert any(str(p).startswith("keras==3.") for p in res["packages"])  # type: ignore[union-attr]
    assert res["shape"] == [2, 1]


def _predicted(machine: dict[str, Path], env: dict[str, str]) -> dict[str, object]:  # noqa: F811
    proc = subprocess.run(
        [sys.executable, "-m", "envdoctor", "envs", "--reticulate", "--format", "json"],
        capture_output=True, text=True, timeout=300, check=False, cwd=str(machine["work"]),
        env={**env, "R_HOME": "/usr/lib/R"} if Path("/usr/lib/R").is_dir() else env,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["reticulate"]
    assert data["binding"]["reticulate_version"] == "1.46.0"
    binding: dict[str, object] = data["binding"]
    return binding


@pytest.mark.parametrize("setup", ["r-keras", "dot-venv", "keras-python", "reticulate-python"])
def test_envs_reticulate_names_what_r_146_binds(
    rscript: str, lib146: Path, machine: dict[str, Path], live_envs: dict[str, Path], setup: str  # noqa: F811
) -> None:
    venvs = machine["home"] / ".virtualenvs"
    (venvs / "r-keras").symlink_to(prefix(live_envs, "tf215"), target_is_directory=True)
    env = env146(machine, live_envs)
    if setup == "dot-venv":  # ./.venv (step 8) outranks keras3's r-keras (step 9)
        (machine["work"] / ".venv").symlink_to(prefix(live_envs, "tf221"), target_is_directory=True)
    elif setup == "keras-python":  # keras3's .onLoad copies KERAS_PYTHON over RETICULATE_PYTHON
        env["RETICULATE_PYTHON"] = str(live_envs["tf215"])
        env["KERAS_PYTHON"] = str(live_envs["tf220"])
    elif setup == "reticulate-python":
        env["RETICULATE_PYTHON"] = str(live_envs["tf221"])
    predicted = _predicted(machine, env)
    proc = run_r(
        rscript, machine, env,
        'library(keras3)\ncfg <- reticulate::py_config()\n'
        'cat("R<<", cfg$python, "|", cfg$forced, ">>\\n", sep = "")\n',
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    python, forced = proc.stdout.split("R<<", 1)[1].split(">>", 1)[0].split("|")
    assert not predicted["error"], predicted
    assert os.path.realpath(str(predicted["python"])) == os.path.realpath(python), (
        predicted, python, forced,
    )
    assert predicted["forced_by"] == forced or (
        setup == "dot-venv" and "existing in the current working directory" in forced
    ), (predicted["forced_by"], forced)
