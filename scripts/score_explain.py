#!/usr/bin/env python3
"""Score ``envdoctor explain`` on a corpus of real failure reports (JSONL).

Usage::

    python scripts/score_explain.py tests/fixtures/explain_corpus/dev_*.jsonl \\
        [--json] [--show wrong|unknown|all]

Each record (see tests/fixtures/explain_corpus/README.md) holds ``error`` (the text the
user pasted), ``cause`` (the cause id confirmed in the thread) and ``lang``.  The error
text alone is classified (no model, no environment: a new user pasting a traceback).

Scoring, per record:

* correct: the top cause's label (``label`` in errors.json, the corpus cause id) equals the
  record's cause; for ``out_of_scope`` records, the answer is unknown;
* wrong: a recognized top cause (score at or above the threshold) with another label;
* unknown: not recognized (counts as not correct, and not wrong).

Prints the figures for all records and for R records (``lang == "r"``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from envdoctor.explain import classify  # noqa: E402


def load(paths: list[str]) -> list[dict[str, Any]]:
    """Read every record of the JSONL files, deduplicated by URL (first one wins)."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("url") in seen:
                continue
            seen.add(rec.get("url"))
            out.append(rec)
    return out


def judge(rec: dict[str, Any]) -> tuple[str, str]:
    """Return ``(outcome, answer)``: outcome correct|wrong|unknown, answer the label or ''."""
    expl = classify(rec["error"])
    answer = expl.best.cause.label if expl.best else ""
    label = rec["cause"]
    if label == "out_of_scope":
        return ("correct" if not answer else "wrong"), answer
    if not answer:
        return "unknown", ""
    return ("correct" if answer == label else "wrong"), answer


def score(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures for all records and for the R ones: n, correct, wrong, unknown and ratios."""
    def block(rows: list[tuple[dict[str, Any], str, str]]) -> dict[str, Any]:
        n = len(rows)
        c = sum(1 for _, o, _ in rows if o == "correct")
        w = sum(1 for _, o, _ in rows if o == "wrong")
        return {"n": n, "correct": c, "wrong": w, "unknown": n - c - w,
                "correct_pct": round(100 * c / n, 1) if n else 0.0,
                "wrong_pct": round(100 * w / n, 1) if n else 0.0}

    rows = [(r, *judge(r)) for r in records]
    return {
        "all": block(rows),
        "r": block([x for x in rows if x[0].get("lang") == "r"]),
        "rows": [{"url": r["url"], "lang": r.get("lang"), "cause": r["cause"],
                  "outcome": o, "answer": a} for r, o, a in rows],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--show", choices=("wrong", "unknown", "all", "none"), default="none")
    args = parser.parse_args(argv)
    result = score(load(args.files))
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=2))
        return 0
    for key in ("all", "r"):
        b = result[key]
        print(f"{key:>3}: {b['correct']}/{b['n']} correct ({b['correct_pct']}%), "
              f"{b['wrong']} wrong ({b['wrong_pct']}%), {b['unknown']} unknown")
    if args.show != "none":
        for row in result["rows"]:
            if args.show == "all" or row["outcome"] == args.show:
                print(f"{row['outcome']:8} {row['cause']:32} -> {row['answer'] or '-':32} "
                      f"{row['lang']} {row['url']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
