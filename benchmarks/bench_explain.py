#!/usr/bin/env python3
"""How long ``envdoctor explain`` takes for one paste (issue 12: under 0.3 s).

Usage::

    .venv/bin/python benchmarks/bench_explain.py [--runs 3] [--cli 20]

Two figures over every record of the explain corpus (tests/fixtures/explain_corpus/*.jsonl,
real pastes from public threads) plus the format pastes (tests/fixtures/pastes):

* in process: :func:`envdoctor.explain.classify` per paste (median, 95th percentile, max),
  after the cause base is loaded once;
* the command a user runs: ``python -m envdoctor explain --error FILE`` in a fresh
  process (interpreter start-up, imports and the cause base included), for ``--cli`` pastes
  (the longest ones first), wall time and the child's CPU time (user + system: the figure
  that does not grow when other jobs share the machine), median and max;

and, as the peer in the same run, ``python -c pass`` (the interpreter's own start-up).
Growth: classify is linear in the paste's length (capped at ``MAX_TEXT_CHARS``) and in the
number of causes (each cause's signatures are tried once per paste).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from envdoctor.explain import causes, classify  # noqa: E402

TARGET_S = 0.3


def pastes() -> list[str]:
    out: list[str] = []
    for path in sorted((ROOT / "tests/fixtures/explain_corpus").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["error"])
    out += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests/fixtures/pastes").glob("*.txt"))]
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed_run(argv: list[str]) -> tuple[float, float]:
    """Return (wall seconds, CPU seconds of the child: user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="in-process passes over every paste")
    ap.add_argument("--cli", type=int, default=20, help="pastes run through the CLI")
    args = ap.parse_args()
    texts = pastes()
    start = time.perf_counter()
    n_causes = len(causes())
    load_s = time.perf_counter() - start
    per: list[float] = []
    for _ in range(args.runs):
        for text in texts:
            t0 = time.perf_counter()
            classify(text)
            per.append(time.perf_counter() - t0)
    print(f"explain corpus: {len(texts)} pastes (median {statistics.median(len(t) for t in texts):.0f} "
          f"chars, max {max(len(t) for t in texts)}), {n_causes} causes; cause base loaded in "
          f"{load_s * 1000:.0f} ms")
    print(f"in process (classify): median {statistics.median(per) * 1000:.1f} ms, "
          f"p95 {pct(per, 0.95) * 1000:.1f} ms, max {max(per) * 1000:.1f} ms")
    base = [timed_run([sys.executable, "-c", "pass"])[0] for _ in range(5)]
    cli: list[float] = []
    cpu: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(sorted(texts, key=len, reverse=True)[: args.cli]):
            f = Path(tmp) / f"e{i}.txt"
            f.write_text(text, encoding="utf-8")
            wall, used = timed_run([sys.executable, "-m", "envdoctor", "explain", "--error",
                                    str(f)])
            cli.append(wall)
            cpu.append(used)
    med = statistics.median(cli)
    print(f"CLI (python -m envdoctor explain --error FILE), {len(cli)} longest pastes: wall "
          f"median {med:.3f} s, max {max(cli):.3f} s; CPU (user+sys) median "
          f"{statistics.median(cpu):.3f} s, max {max(cpu):.3f} s; peer python -c pass: wall "
          f"median {statistics.median(base):.3f} s")
    print(f"target {TARGET_S} s per paste: CLI median is {med / TARGET_S:.2f} x the target; "
          f"{'OK' if max(cli) <= TARGET_S else 'OVER'} (max)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
