"""scripts/update_knowledge.py: the hand-kept release tables agree with the committed
release metadata (envdoctor/knowledge/releases.json), offline."""

from __future__ import annotations

import email.parser
import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "index" / "tensorflow-2.15.0.post1-cp310-manylinux.metadata"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "update_knowledge", ROOT / "scripts" / "update_knowledge.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _releases() -> dict:
    return json.loads((ROOT / "envdoctor" / "knowledge" / "releases.json").read_text())


def test_hand_tables_agree_with_release_metadata() -> None:
    problems = _script().check(_releases())
    disagreements = [p for p in problems if "(unverified)" not in p]
    assert disagreements == []


def test_check_catches_a_wrong_hand_row(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "envdoctor" / "knowledge", knowledge)
    tf = json.loads((knowledge / "tensorflow.json").read_text())
    row = next(r for r in tf["releases"] if r["minor"] == "2.15")
    del row["patches"]["2.15.0.post1"]
    (knowledge / "tensorflow.json").write_text(json.dumps(tf))
    problems = _script().check(_releases(), knowledge)
    assert any("2.15.0.post1" in p and "ml_dtypes" in p for p in problems)


def test_relevant_requirements_from_real_metadata() -> None:
    msg = email.parser.Parser().parsestr(FIXTURE.read_text(), headersonly=True)
    rows = _script()._relevant(msg.get_all("Requires-Dist"))
    assert "ml-dtypes~=0.2.0" in rows
    committed = next(
        r for r in _releases()["packages"]["tensorflow"] if r["version"] == "2.15.0.post1"
    )
    assert committed["requires_dist"] == rows
    assert committed["requires_python"] == msg["Requires-Python"]
