"""Real data: the checks' ``error`` verdicts against real loads of real fixtures.

For every fixture saved by a real Keras/TensorFlow (``tests/fixtures/<env>/``) and every real
test environment (``~/.cache/envdoctor/test-envs/<name>``, built by
``scripts/make_fixtures.py``), the environment is read with
``envdoctor.inventory.read_environment`` and the model with ``envdoctor.modelfiles.read_model``;
an ``error`` finding must be present exactly when the real ``load_model`` + forward pass
failed (``tests/live/ground_truth_<env>.json``, written by ``make_fixtures.py truth``).

The ``*_custom_preloaded.json`` runs imported the custom-layer module first: there the
custom-object codes (ED301-ED304, which say "import it first") are left out and every other
error must still match.  Nothing here imports TensorFlow; the test only reads files.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any, Optional

import pytest

from envdoctor.checks import run_checks
from envdoctor.types import Environment, Finding, Severity, Sidecar

REPO = Path(__file__).resolve().parents[1]
LIVE = REPO / "tests" / "live"
ENVS_ROOT = Path(
    os.environ.get("ENVDOCTOR_TEST_ENVS", Path.home() / ".cache" / "envdoctor" / "test-envs")
)
CUSTOM_CODES = {"ED301", "ED302", "ED303", "ED304"}


def _make_fixtures() -> Optional[ModuleType]:
    path = REPO / "scripts" / "make_fixtures.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("make_fixtures_for_checks", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_fixtures_for_checks", module)
    spec.loader.exec_module(module)
    return module


def _truth_files() -> list[Path]:
    return sorted(LIVE.glob("ground_truth_*.json")) if LIVE.exists() else []


def _environment(name: str, preloaded: bool) -> Optional[Environment]:
    python = ENVS_ROOT / name / "bin" / "python"
    mf = _make_fixtures()
    if not python.exists() or mf is None or name not in mf.ENV_SPECS:
        return None
    from envdoctor.inventory import read_environment

    environ: dict[str, str] = mf.child_env(mf.ENV_SPECS[name])
    if not preloaded:
        environ.pop("PYTHONPATH", None)  # the plain truth ran without the custom-layer module
    return read_environment(str(python), environ=environ)


def _saver_sidecar(model_path: str) -> Optional[Sidecar]:
    record = REPO / Path(model_path).parent / "SAVED_WITH.json"
    if not record.exists():
        return None
    python = json.loads(record.read_text())["python"]
    return Sidecar(files=(str(record.relative_to(REPO)),), python_version=python, requirements=())


def _predicted_error(findings: list[Finding], preloaded: bool) -> bool:
    return any(
        f.severity is Severity.ERROR and not (preloaded and f.code in CUSTOM_CODES)
        for f in findings
    )


def _agreement(with_saver_python: bool) -> tuple[list[str], list[str]]:
    from envdoctor.modelfiles import read_model

    rows: list[str] = []
    bad: list[str] = []
    for truth_file in _truth_files():
        data: dict[str, Any] = json.loads(truth_file.read_text())
        preloaded = truth_file.name.endswith("_custom_preloaded.json")
        name = data.get("env_name") or truth_file.stem.removeprefix("ground_truth_")
        env = _environment(name, preloaded)
        if env is None:
            continue
        label = name + (" +import" if preloaded else "")
        for result in data["results"]:
            path = str(REPO / result["model"])
            model = read_model(path)
            if with_saver_python and model.sidecar is None:
                model = dataclasses.replace(model, sidecar=_saver_sidecar(result["model"]))
            findings = run_checks(model, env)
            predicted_fail = _predicted_error(findings, preloaded)
            real_fail = not (result["loaded"] and result["predicted"])
            codes = ",".join(f"{f.code}" for f in findings if f.severity is Severity.ERROR) or "-"
            real = "FAIL " + str(result.get("error_type")) if real_fail else "ok"
            agree = predicted_fail == real_fail
            fixture = result["model"].removeprefix("tests/fixtures/")
            verdict = f"error {codes}" if predicted_fail else "no error"
            mark = "yes" if agree else "**NO**"
            rows.append(f"| {fixture} | {label} | {verdict} | {real} | {mark} |")
            if not agree:
                head = (result.get("error_head") or "").splitlines()[:1]
                bad.append(f"{fixture} in {label}: predicted {codes}, real {real}: {head}")
    return rows, bad


def _report(rows: list[str], bad: list[str], tag: str) -> str:
    table = "\n".join(
        [
            f"Agreement ({tag}): {len(rows) - len(bad)}/{len(rows)} fixture x environment pairs",
            "",
            "| fixture | environment | envdoctor errors | real load + forward pass | agree |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )
    out = Path(
        os.environ.get(
            "ENVDOCTOR_CHECKS_REPORT", Path(tempfile.gettempdir()) / f"envdoctor-checks-{tag}.md"
        )
    )
    out.write_text(table + "\n")
    return table


@pytest.mark.skipif(not _truth_files(), reason="no tests/live/ground_truth_*.json yet")
@pytest.mark.parametrize("with_saver_python", [False, True], ids=["as-read", "saver-python"])
def test_error_verdicts_match_real_loads(with_saver_python: bool) -> None:
    """error present <=> real load/forward pass failed, for every fixture x environment."""
    rows, bad = _agreement(with_saver_python)
    if not rows:
        pytest.skip(f"no test environment found under {ENVS_ROOT}")
    table = _report(rows, bad, "saver-python" if with_saver_python else "as-read")
    print(table)
    assert len(rows) >= 100, "too few pairs compared"
    assert not bad, "checks disagree with real loads:\n" + "\n".join(bad) + "\n\n" + table
