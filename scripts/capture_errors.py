"""Capture real error texts from real runs, for envdoctor explain's tests.

Run with the development interpreter (envdoctor importable) after the test environments
exist (``scripts/make_fixtures.py envs``)::

    .venv/bin/python scripts/capture_errors.py [--out tests/fixtures/errors/captured.json]

Every entry comes from a real run of a real interpreter; nothing is typed by hand except the
scenario (what was done) and the cause expected for it.  No environment is modified: the
scenarios only change environment variables, limits, and files in a temporary directory.

* envdoctor verify's harness in the core environments: missing paths, empty directories,
  git-lfs pointers, a truncated archive, an HTML page saved as .h5, TF_USE_LEGACY_KERAS
  without tf-keras, a missing or unknown Keras backend (variable and stale keras.json),
  an address-space limit too small for TensorFlow, a time limit too short, and the
  float64 / wrong-rank forward passes of the fixtures;
* R (Rscript + reticulate, if installed): the error R prints and ``py_last_error()`` after a
  failed load, "already initialized", and a Python reticulate cannot bind.

Output: ``{"schema": 1, "entries": [{"id", "env", "scenario", "expected": [cause ids],
"context": {...}, "origin": "verify"|"r", "error_type", "error", "frames", "chain", "text"}]}``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from envdoctor.app import inspect_model  # noqa: E402
from envdoctor.probe.runner import clean_child_env  # noqa: E402
from envdoctor.types import ModelFormat, ModelInfo  # noqa: E402
from envdoctor.verify import Options, run_harness  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures"
CORE = ("tf215", "tf216-keras33", "tf221", "jax")
EXPECTED_FORWARD = {
    "predict_wrong_rank": ["input_rank", "input_shape"],
    "predict_float64": ["input_dtype", "input_shape"],
    "predict_float32": ["input_dtype", "input_shape", "input_rank"],
}
"""The causes a failed forward pass may have: verify fed the batch, so it is an input problem."""

LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 133742\n"
)


def load_make_fixtures() -> Any:
    import importlib.util

    path = REPO / "scripts" / "make_fixtures.py"
    spec = importlib.util.spec_from_file_location("make_fixtures", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_fixtures"] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Case:
    """One scenario: what is done, where, and the cause expected for the error it gives."""

    scenario: str
    env: str
    models: list[ModelInfo]
    expected: list[str]
    context: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    opts: dict[str, Any] = field(default_factory=dict)


def fake(path: Path, fmt: ModelFormat) -> ModelInfo:
    """A ModelInfo for a path envdoctor cannot read (missing, truncated): the harness only
    needs the path and the format."""
    return ModelInfo(path=str(path), format=fmt, loadable=True, summary="capture scenario")


def entries_from_run(run: Any, env: str, scenario: str, expected: list[str],
                     context: dict[str, Any], only_first: bool = True) -> list[dict[str, Any]]:
    out = []
    for model in run.models:
        for step in model.steps:
            if step.ok:
                continue
            out.append({
                "env": env, "scenario": scenario, "expected": expected, "context": context,
                "origin": "verify", "step": step.name, "error_type": step.error_type,
                "error": step.error, "frames": list(step.frames),
                "chain": [list(c) for c in step.chain], "text": None,
            })
            if only_first:
                break
    return out


def harness_scenarios(envs: dict[str, Path], tmp: Path, mf: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def run(env: str, models: list[ModelInfo], extra: dict[str, str] | None = None,
            **opts: Any) -> Any:
        environ = dict(mf.child_env(mf.ENV_SPECS[env]))
        environ.pop("PYTHONPATH", None)
        environ.update(extra or {})
        return run_harness(str(envs[env]), models, Options(**opts), environ=environ)

    empty = tmp / "empty_dir"
    empty.mkdir()
    lfs_h5 = tmp / "lfs" / "model.h5"
    lfs_keras = tmp / "lfs" / "model.keras"
    lfs_h5.parent.mkdir()
    lfs_h5.write_text(LFS_POINTER)
    lfs_keras.write_text(LFS_POINTER)
    truncated = tmp / "truncated.keras"
    truncated.write_bytes((FIXTURES / "tf221" / "mlp.keras").read_bytes()[:4096])
    html = tmp / "download.h5"
    html.write_text("<!DOCTYPE html><html><head><title>Sign in</title></head><body>Sign in to "
                    "download this file</body></html>\n")
    keras_home = tmp / "keras_home"
    keras_home.mkdir()
    (keras_home / "keras.json").write_text(json.dumps({
        "floatx": "float32", "epsilon": 1e-07, "backend": "torch",
        "image_data_format": "channels_last"}))

    mlp221 = [inspect_model(str(FIXTURES / "tf221" / "mlp.keras"))]
    unknown, empty_fmt = ModelFormat.UNKNOWN, ModelFormat.EMPTY
    lfs_fmt = ModelFormat.GIT_LFS_POINTER
    missing = {"model_missing": True}
    cases: list[Case] = [
        Case("missing .keras path, Keras 3", "tf221", [fake(tmp / "nothere.keras", unknown)],
             ["wrong_or_empty_path"], missing),
        Case("missing SavedModel directory, Keras 3", "tf221",
             [fake(tmp / "missing_model_dir", unknown)], ["wrong_or_empty_path"], missing),
        Case("missing .h5 path, Keras 2", "tf215", [fake(tmp / "nothere.h5", unknown)],
             ["wrong_or_empty_path"], missing),
        Case("missing SavedModel directory, Keras 2", "tf215",
             [fake(tmp / "missing_model_dir", unknown)], ["wrong_or_empty_path"], missing),
        Case("empty directory, Keras 3", "tf221", [fake(empty, empty_fmt)],
             ["wrong_or_empty_path"], {"format": "empty"}),
        Case("empty directory, Keras 2", "tf215", [fake(empty, empty_fmt)],
             ["wrong_or_empty_path"], {"format": "empty"}),
        Case("git-lfs pointer saved as model.h5, Keras 3", "tf221", [fake(lfs_h5, lfs_fmt)],
             ["git_lfs_pointer"], {"format": "git_lfs_pointer"}),
        Case("git-lfs pointer saved as model.keras, Keras 3", "tf221",
             [fake(lfs_keras, lfs_fmt)], ["git_lfs_pointer"], {"format": "git_lfs_pointer"}),
        Case("git-lfs pointer saved as model.h5, Keras 2", "tf215", [fake(lfs_h5, lfs_fmt)],
             ["git_lfs_pointer"], {"format": "git_lfs_pointer"}),
        Case("truncated .keras archive (first 4 KiB), Keras 3", "tf221",
             [fake(truncated, unknown)], ["corrupt_file"], {"model_unreadable": True}),
        Case("HTML page saved as model.h5, Keras 2", "tf215", [fake(html, unknown)],
             ["corrupt_file"]),
        Case("HTML page saved as model.h5, Keras 3", "tf221", [fake(html, unknown)],
             ["corrupt_file"]),
        Case("TF_USE_LEGACY_KERAS=1 without tf-keras (TF 2.21)", "tf221", mlp221,
             ["legacy_keras_without_tf_keras"], extra={"TF_USE_LEGACY_KERAS": "1"}),
        Case("KERAS_BACKEND=jax, jax not installed", "tf221", mlp221, ["backend_missing"],
             extra={"KERAS_BACKEND": "jax"}),
        Case("KERAS_BACKEND=torch, torch not installed", "tf221", mlp221, ["backend_missing"],
             extra={"KERAS_BACKEND": "torch"}),
        Case("stale keras.json naming torch (KERAS_HOME)", "tf221", mlp221, ["backend_missing"],
             extra={"KERAS_HOME": str(keras_home)}),
        Case("KERAS_BACKEND=theano (not a Keras 3 backend)", "tf221", mlp221,
             ["backend_missing"], extra={"KERAS_BACKEND": "theano"}),
        Case("address-space limit of 600 MiB", "tf221", mlp221, ["resource_limit"],
             opts={"memory": 600 * 1024**2}),
        Case("time limit of 0.05 s per model", "tf215",
             [inspect_model(str(FIXTURES / "tf215" / "lstm_savedmodel"))], ["verify_incomplete"],
             opts={"timeout": 0.05}),
    ]
    for case in cases:
        print(f"capture: {case.env}: {case.scenario}", file=sys.stderr)
        result = run(case.env, case.models, case.extra, **case.opts)
        found = entries_from_run(result, case.env, case.scenario, case.expected, case.context)
        if not found:
            print(f"capture: WARNING: {case.scenario}: no failure", file=sys.stderr)
        out.extend(found)
    # Forward passes: float64 and wrong-rank batches of real fixtures.
    extra_models = ["tf216-keras33/mixed_savedmodel", "tf216-keras33/custom_savedmodel",
                    "tf213/lstm.h5"]
    for env in CORE:
        names = [f"{env}/{n}" for n in ("mlp.keras", "mlp.h5", "lstm.keras", "lstm.h5",
                                        "mlp_savedmodel", "lstm_savedmodel", "custom_savedmodel")]
        names += extra_models
        paths = [FIXTURES / n for n in names if (FIXTURES / n).exists()]
        models = [inspect_model(str(p)) for p in paths]
        print(f"capture: {env}: forward passes of {len(models)} fixtures", file=sys.stderr)
        result = run(env, models)
        seen: set[tuple[str, str, str]] = set()
        for model in result.models:
            steps = [(s, None) for s in model.steps]
            steps += [(s, a) for a in model.attempts for s in a.steps]
            for step, att in steps:
                if step.ok or step.name not in EXPECTED_FORWARD:
                    continue
                key = (step.name, step.error_type or "", (step.error or "")[:80])
                if key in seen:
                    continue
                seen.add(key)
                expected = EXPECTED_FORWARD[step.name]
                where = f" ({att.name})" if att is not None else ""
                out.append({
                    "env": env, "scenario": f"{step.name} of {model.path}{where}",
                    "expected": expected, "context": {}, "origin": "verify", "step": step.name,
                    "error_type": step.error_type, "error": step.error,
                    "frames": list(step.frames), "chain": [list(c) for c in step.chain],
                    "text": None,
                })
    return out


R_LOAD = """
Sys.setenv(RETICULATE_PYTHON = "{python}", TF_CPP_MIN_LOG_LEVEL = "3")
library(reticulate)
tf <- import("tensorflow")
res <- tryCatch(tf$keras$models$load_model("{model}"), error = function(e) e)
cat("=== R error ===\\n"); cat(conditionMessage(res), "\\n")
cat("=== py_last_error ===\\n"); print(py_last_error())
"""

R_ALREADY = """
Sys.setenv(RETICULATE_PYTHON = "{python}")
library(reticulate)
invisible(py_config())
use_python("{other}", required = TRUE)
"""

R_BIND = """
Sys.setenv(RETICULATE_PYTHON = "{python}")
library(reticulate)
py_config()
"""


def run_r(code: str) -> str:
    env = clean_child_env(os.environ)
    env.pop("LD_LIBRARY_PATH", None)
    proc = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300, check=False)
    return (proc.stdout + proc.stderr).strip()


def r_scenarios(envs: dict[str, Path]) -> list[dict[str, Any]]:
    if shutil.which("Rscript") is None:
        print("capture: no Rscript: R scenarios skipped", file=sys.stderr)
        return []
    out: list[dict[str, Any]] = []
    probe = run_r('cat(requireNamespace("reticulate", quietly = TRUE))')
    if "TRUE" not in probe:
        print("capture: reticulate not installed: R scenarios skipped", file=sys.stderr)
        return []

    def add(scenario: str, env: str, text: str, expected: list[str],
            context: dict[str, Any]) -> None:
        out.append({"env": env, "scenario": scenario, "expected": expected, "context": context,
                    "origin": "r", "step": None, "error_type": None, "error": None,
                    "frames": [], "chain": [], "text": text})

    text = run_r(R_LOAD.format(python=envs["tf215"], model="tests/fixtures/tf215/custom.h5"))
    r_err, _, last = text.partition("=== py_last_error ===")
    add("R: tf$keras$models$load_model of a model with an unregistered custom layer: the R error",
        "tf215", r_err.split("=== R error ===")[-1].strip(), ["custom_object_missing"], {})
    add("R: the same, py_last_error()", "tf215", last.strip(), ["custom_object_missing"], {})
    text = run_r(R_LOAD.format(python=envs["tf221"], model="tests/fixtures/tf215/mlp_savedmodel"))
    r_err, _, last = text.partition("=== py_last_error ===")
    add("R: a SavedModel loaded with Keras 3: the R error", "tf221",
        r_err.split("=== R error ===")[-1].strip(), ["savedmodel_in_keras3"],
        {"model": "tests/fixtures/tf215/mlp_savedmodel"})
    add("R: the same, py_last_error()", "tf221", last.strip(), ["savedmodel_in_keras3"],
        {"model": "tests/fixtures/tf215/mlp_savedmodel"})
    add("R: use_python() after another Python was initialized", "tf215",
        run_r(R_ALREADY.format(python=envs["tf215"], other=envs["tf221"])),
        ["reticulate_already_initialized"], {})
    add("R: reticulate 1.28 asked to bind Python 3.12", "jax",
        run_r(R_BIND.format(python=envs["jax"])), ["reticulate_cannot_bind"], {})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(FIXTURES / "errors" / "captured.json"))
    args = parser.parse_args()
    mf = load_make_fixtures()
    envs = {k: Path(v) for k, v in mf.ensure_envs(list(CORE)).items()}
    os.chdir(REPO)
    with tempfile.TemporaryDirectory(prefix="envdoctor-capture-") as tmp:
        entries = harness_scenarios(envs, Path(tmp), mf)
    entries += r_scenarios(envs)
    for index, entry in enumerate(entries):
        entry["id"] = f"c{index:03d}"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"schema": 1, "entries": entries}, indent=1) + "\n")
    print(f"capture: {len(entries)} entries written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
