"""The dev corpus of real public reports (tests/fixtures/explain_corpus/dev_*.jsonl) does not regress."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import score_explain  # noqa: E402

DEV_FLOOR_PCT = 92.0
"""Dev score reached on 2026-12-07 (36/39); a change that loses a case fails."""
DEV_WRONG_CEILING_PCT = 3.0


def test_dev_corpus_does_not_regress() -> None:
    files = sorted(str(p) for p in (ROOT / "tests/fixtures/explain_corpus").glob("dev_*.jsonl"))
    assert files
    result = score_explain.score(score_explain.load(files))
    assert result["all"]["correct_pct"] >= DEV_FLOOR_PCT, result["all"]
    assert result["all"]["wrong_pct"] <= DEV_WRONG_CEILING_PCT, result["all"]
