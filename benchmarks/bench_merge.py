"""Time and peak memory of `envdoctor report merge` over 10,000 realistic reports (issue 14 item 5).

Run:  .venv/bin/python benchmarks/bench_merge.py [--reports 10000] [--hosts 2500] [--runs 3]

1. Real reports first: `python -m envdoctor check tests/fixtures/tf221/mlp.keras
   examples/lstm.keras --python ENV --format json` against each real test environment that
   exists (~/.cache/envdoctor/test-envs/tf221, tf213, ...; their reports list a few hundred
   installed distributions, like a real serving environment) and against this venv.
2. From those, N reports in a temporary directory, one file each, pretty-printed as `check`
   writes them: report i is a base report with its host set to node<i mod hosts>, its
   interpreter path renamed per report (/opt/envs/env<k>/bin/python, so every report adds
   rows), and each verdict's status and codes drawn from a seeded RNG (ok 70%, warning 10%,
   error 20%).
3. Measured, each in a fresh child whose peak RSS is read with resource.getrusage
   (RUSAGE_CHILDREN of a wrapper that runs only that child), median wall time of --runs:
   * `envdoctor report merge DIR --format json` (the directory path),
   * the same reports as one JSON Lines stream on standard input,
   * the same at N/10 reports (how time and memory grow),
   * peers: `jq -s length` over the concatenated reports (jq's slurp holds every report)
     and a naive Python merge that json.load()s every file into a list first.

Prints the figures: seconds, reports per second, peak RSS in MB, input MB, rows.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENVS_ROOT = Path(os.environ.get("ENVDOCTOR_TEST_ENVS",
                                Path.home() / ".cache" / "envdoctor" / "test-envs"))
MODELS = ("tests/fixtures/tf221/mlp.keras", "examples/lstm.keras")

WRAPPER = r"""
import resource, subprocess, sys, time
stdin = open(sys.argv[1], "rb") if sys.argv[1] != "-" else subprocess.DEVNULL
t = time.perf_counter()
proc = subprocess.run(sys.argv[2:], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
sys.stderr.buffer.write(proc.stderr[-2000:])
print(wall, rss, proc.returncode, len(proc.stdout))
"""

NAIVE = r"""
import glob, json, sys
reports = [json.load(open(p)) for p in sorted(glob.glob(sys.argv[1] + "/*.json"))]
rows = {(r["host"], v["python"], v["model"]): v["status"] for r in reports for v in r["verdicts"]}
print(len(rows))
"""


def base_reports() -> list[dict]:
    targets = [ENVS_ROOT / n for n in ("tf221", "tf213", "tf216-keras33", "jax")
               if (ENVS_ROOT / n / "bin" / "python").exists()]
    targets.append(Path(sys.executable))
    out = []
    for target in targets:
        proc = subprocess.run(
            [sys.executable, "-m", "envdoctor", "check", *MODELS, "--python", str(target),
             "--format", "json"],
            capture_output=True, text=True, cwd=REPO, check=False,
            env={**os.environ, "ENVDOCTOR_HOST": "base"},
        )
        if proc.returncode not in (0, 1):
            raise SystemExit(f"check against {target} failed: {proc.stderr}")
        out.append(json.loads(proc.stdout))
    return out


def generate(bases: list[dict], root: Path, n: int, hosts: int, seed: int = 14) -> tuple[int, int]:
    """Write n reports into root; return (bytes written, rows expected)."""
    rng = random.Random(seed)
    total = 0
    rows = set()
    for i in range(n):
        report = json.loads(json.dumps(bases[i % len(bases)]))
        host = f"node{i % hosts:05d}"
        python = f"/opt/envs/env{i // hosts}/bin/python"
        old = report["environments"][0]["python"]
        report["host"] = host
        report["environments"][0]["python"] = python
        for v in report["verdicts"]:
            v["python"] = python
            draw = rng.random()
            if draw < 0.7:
                v["status"], v["codes"] = "ok", []
            elif draw < 0.8:
                v["status"], v["codes"] = "warning", ["ED801"]
            else:
                v["status"] = "error"
                v["codes"] = rng.choice([["ED101"], ["ED409"], ["ED204", "ED409"]])
            rows.add((host, python, v["model"]))
        for f in report["findings"]:
            if f["python"] == old:
                f["python"] = python
        text = json.dumps(report, sort_keys=True, indent=2) + "\n"
        (root / f"report-{i:05d}.json").write_text(text)
        total += len(text)
    return total, len(rows)


def measure(cmd: list[str], stdin: str, runs: int) -> tuple[float, float, int]:
    walls, rss, code = [], 0.0, 0
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", WRAPPER, stdin, *cmd],
                              capture_output=True, text=True, cwd=REPO, check=False)
        wall, kib, code, _ = proc.stdout.split()
        walls.append(float(wall))
        rss = max(rss, int(kib) / 1024)
        if proc.stderr.strip():
            print("   stderr:", proc.stderr.strip().splitlines()[-1][:160])
    return statistics.median(walls), rss, int(code)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=10_000)
    ap.add_argument("--hosts", type=int, default=2500)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    t = time.perf_counter()
    bases = base_reports()
    sizes = [len(json.dumps(b, indent=2)) for b in bases]
    print(f"base reports: {len(bases)} real check reports "
          f"({min(sizes) / 1024:.0f}-{max(sizes) / 1024:.0f} KB each), "
          f"{time.perf_counter() - t:.1f} s")
    tmp = Path(tempfile.mkdtemp(prefix="envdoctor-bench-merge-"))
    try:
        merge = [sys.executable, "-m", "envdoctor", "report", "merge"]
        results = []
        for n in (args.reports // 10, args.reports):
            root = tmp / f"r{n}"
            root.mkdir()
            t = time.perf_counter()
            size, rows = generate(bases, root, n, min(args.hosts, n))
            print(f"\n{n} reports, {size / 1e6:.0f} MB, {rows} rows expected "
                  f"(generated in {time.perf_counter() - t:.1f} s)")
            wall, rss, code = measure([*merge, str(root), "--format", "json"], "-", args.runs)
            print(f"  report merge DIR          {wall:7.2f} s  {n / wall:8.0f} reports/s  "
                  f"peak RSS {rss:6.0f} MB  exit {code}")
            results.append((n, wall, rss))
            jsonl = tmp / f"r{n}.jsonl"
            with jsonl.open("w") as out:
                for p in sorted(root.iterdir()):
                    out.write(json.dumps(json.loads(p.read_text())) + "\n")
            wall, rss, code = measure([*merge, "-", "--format", "json"], str(jsonl), args.runs)
            print(f"  report merge - (JSONL)    {wall:7.2f} s  {n / wall:8.0f} reports/s  "
                  f"peak RSS {rss:6.0f} MB  exit {code}")
            cat = tmp / f"r{n}.cat"
            with cat.open("wb") as out:
                for p in sorted(root.iterdir()):
                    out.write(p.read_bytes())
            wall, rss, code = measure([*merge, "-", "--format", "json"], str(cat), args.runs)
            print(f"  report merge - (cat)      {wall:7.2f} s  {n / wall:8.0f} reports/s  "
                  f"peak RSS {rss:6.0f} MB  exit {code}")
            wall, rss, _ = measure([sys.executable, "-c", NAIVE, str(root)], "-", 1)
            print(f"  peer: naive json.load all {wall:7.2f} s  {n / wall:8.0f} reports/s  "
                  f"peak RSS {rss:6.0f} MB")
            if shutil.which("jq"):
                wall, rss, _ = measure(["jq", "-s", "length"], str(cat), 1)
                print(f"  peer: jq -s (slurp)       {wall:7.2f} s  {n / wall:8.0f} reports/s  "
                      f"peak RSS {rss:6.0f} MB")
            cat.unlink()
            jsonl.unlink()
        (n1, w1, r1), (n2, w2, r2) = results
        print(f"\ngrowth {n1} -> {n2} reports: time x{w2 / w1:.1f}, peak RSS x{r2 / r1:.2f} "
              f"({(r2 - r1) / (n2 - n1) * 1024:.2f} KB per report: the table's rows)")
    finally:
        if args.keep:
            print("kept", tmp)
        else:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
