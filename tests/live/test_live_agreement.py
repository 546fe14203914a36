"""Live tier: envdoctor's verdicts against what really happens.

For every fixture model (saved by real Keras/TensorFlow versions, tests/fixtures/<env>/) and
every real environment (built by scripts/make_fixtures.py with uv, cached between runs), this
1. runs ``envdoctor check --python <env python> --format json`` on all fixtures (one CLI run
   per environment, in a subprocess, exactly as a user or CI would), and
2. really loads each fixture there with the standard loader and runs a forward pass on a float32
   batch (scripts/real_load.py: TensorFlow imported once per environment, one forked child per
   model),
then asserts that envdoctor's ``error`` verdict appears exactly when the real load or forward
pass failed.  The agreement table is written to ``$ENVDOCTOR_LIVE_REPORT`` (default
``<tmp>/envdoctor-live-agreement.md``) and printed with ``-s``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from livecommon import FIXTURES, REPO, fixture_models

pytestmark = [pytest.mark.live]


def _child_env(make_fixtures: ModuleType, name: str) -> dict[str, str]:
    env: dict[str, str] = make_fixtures.child_env(make_fixtures.ENV_SPECS[name])
    return env


@pytest.fixture(scope="session")
def real_results(make_fixtures: ModuleType, live_envs: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """{env name: {model path: result}} from really loading every fixture in every env."""
    models = [str(m) for m in fixture_models()]
    out: dict[str, dict[str, Any]] = {}
    for name, python in live_envs.items():
        proc = subprocess.run(
            [str(python), str(REPO / "scripts" / "real_load.py"), *models],
            capture_output=True,
            text=True,
            env=_child_env(make_fixtures, name),
            timeout=3000,
            check=False,
        )
        assert proc.returncode == 0, f"real_load failed in {name}: {proc.stderr[-3000:]}"
        data = json.loads(proc.stdout)
        out[name] = {r["model"]: r for r in data["results"]}
    return out


@pytest.fixture(scope="session")
def predictions(make_fixtures: ModuleType, live_envs: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """{env name: {model path: verdict}} from one `envdoctor check --format json` run per env."""
    models = [str(m) for m in fixture_models()]
    out: dict[str, dict[str, Any]] = {}
    for name, python in live_envs.items():
        env = _child_env(make_fixtures, name)
        env["PATH"] = os.environ.get("PATH", "")
        proc = subprocess.run(
            [sys.executable, "-m", "envdoctor", "check", "--python", str(python), "--format", "json", *models],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
        assert proc.returncode in (0, 1), f"envdoctor check failed in {name}: {proc.stderr[-3000:]}"
        data = json.loads(proc.stdout)
        by_model = {v["model"]: v for v in data["verdicts"]}
        findings: dict[str, list[str]] = {}
        for f in data["findings"]:
            findings.setdefault(f["model"], []).append(f"{f['code']}:{f['severity']}")
        out[name] = {m: {**by_model[m], "findings": findings.get(m, [])} for m in models}
    return out


def _short(text: str | None) -> str:
    if not text:
        return ""
    first = text.strip().splitlines()[-1] if text.strip() else ""
    return first[:110]


def test_every_fixture_env_pair_agrees(
    live_envs: dict[str, Path],
    real_results: dict[str, dict[str, Any]],
    predictions: dict[str, dict[str, Any]],
) -> None:
    rows = []
    disagreements = []
    for name in live_envs:
        for model in (str(m) for m in fixture_models()):
            real = real_results[name][model]
            pred = predictions[name][model]
            real_ok = bool(real["loaded"] and real["predicted"])
            predicted_ok = pred["status"] != "error"
            agree = real_ok == predicted_ok
            rel = os.path.relpath(model, FIXTURES)
            row = (
                f"| {rel} | {name} | {pred['status']} {','.join(pred['codes'])} | "
                f"{'ok' if real_ok else 'FAIL ' + str(real.get('stage')) + ': ' + _short(real.get('error_type'))} | "
                f"{'yes' if agree else '**NO**'} |"
            )
            rows.append(row)
            if not agree:
                disagreements.append(
                    f"{rel} in {name}: envdoctor said {pred['status']} {pred['findings']}, "
                    f"real: loaded={real['loaded']} predicted={real['predicted']} "
                    f"{real.get('error_type')}: {_short(real.get('error'))}"
                )
    total = len(rows)
    table = "\n".join(
        [
            f"Agreement: {total - len(disagreements)}/{total} fixture x environment pairs",
            "",
            "| fixture | environment | envdoctor verdict | real load + forward pass | agree |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )
    report = Path(os.environ.get("ENVDOCTOR_LIVE_REPORT", Path(tempfile.gettempdir()) / "envdoctor-live-agreement.md"))
    report.write_text(table + "\n")
    print(table)
    assert total >= 4 * 20, f"too few pairs were compared ({total})"
    assert not disagreements, "envdoctor disagrees with reality:\n" + "\n".join(disagreements)
