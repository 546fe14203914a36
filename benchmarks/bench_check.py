"""Speed and memory of `envdoctor check` / `inspect` against the peers named in issue #2.

Run:  .venv/bin/python benchmarks/bench_check.py [--env tf221] [--runs 5]

Prints, for one real environment built by scripts/make_fixtures.py:
  * wall time of `envdoctor check MODEL --python ENV` (median of --runs, seconds),
  * wall time of `ENV/python -c "import tensorflow"` (the peer: what a user pays before loading),
  * wall time of a real `load_model` + predict in that environment (scripts/real_load.py),
  * the ratio check / import (target <= 1/50 = 0.02, goal 1/80 = 0.0125; issue #14),
  * the import-time budget: `python -X importtime -m envdoctor check MODEL --python ENV` with
    stdout a pipe, the modules it imports (top 12 by cumulative time), the total against
    IMPORT_BUDGET_MS, and that none of NEVER_IMPORTED is imported (rich, jsonschema, the
    verifier; TensorFlow/Keras/JAX/torch never are);
and for `inspect` on a .keras archive whose weights member is ~500 MB (a real Keras save of a
Dense(11000 x 11000) layer, made once in ENV and cached under the envs root):
  * wall time and peak RSS (MB) of `envdoctor inspect`, beside the same on the small example,
    (target: time does not grow with the weights size; peak memory < 100 MB).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]

IMPORT_BUDGET_MS = 120.0
"""Most import time (ms, the sum of the top-level cumulative figures of `-X importtime`) that
`check` of one model with stdout a pipe may spend; measured 2 cores, see README."""

NEVER_IMPORTED = ("rich", "jsonschema", "envdoctor.verify", "envdoctor.verify_harness",
                  "envdoctor.fix", "envdoctor.envcreate", "tensorflow", "keras", "jax", "torch")
"""Modules `check MODEL` in a pipe must not import (rich only renders on a terminal)."""


def import_budget(cmd: list[str], env: dict[str, str] | None, runs: int = 3) -> None:
    """Print the import-time budget of `cmd` (a `python -m envdoctor ...` command line)."""
    best: dict[str, tuple[int, int]] = {}
    totals = []
    for _ in range(runs):
        proc = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True,
                              text=True, env=env, check=False)
        total = 0
        rows: dict[str, tuple[int, int]] = {}
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line:
                continue
            _self_us, cum_us, name = line[len("import time:"):].split("|", 2)
            try:
                cum = int(cum_us)
            except ValueError:
                continue
            depth = (len(name) - len(name.lstrip(" ")) - 1) // 2  # " " + 2 spaces a level
            rows[name.strip()] = (cum, depth)
            if depth == 0:
                total += cum
        totals.append(total)
        if total == min(totals):
            best = rows
    total_ms = min(totals) / 1000
    packages = {"rich", "jsonschema", "tensorflow", "keras", "jax", "torch"}
    bad = [m for m in best if m in NEVER_IMPORTED or m.split(".")[0] in packages]
    print(f"import time of check (best of {runs}):     {total_ms:7.1f} ms  budget {IMPORT_BUDGET_MS:.0f} ms"
          f"  {'OK' if total_ms <= IMPORT_BUDGET_MS else 'OVER'}; {len(best)} modules")
    top = sorted(((c, n) for n, (c, d) in best.items() if d == 0), reverse=True)[:12]
    print("  top-level imports (ms): " + ", ".join(f"{n} {c / 1000:.1f}" for c, n in top))
    print(f"  never imported {', '.join(NEVER_IMPORTED)}: "
          + ("OK" if not bad else "IMPORTED " + ", ".join(sorted(bad))))


def make_fixtures():
    spec = importlib.util.spec_from_file_location("make_fixtures", REPO / "scripts" / "make_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_fixtures"] = mod
    spec.loader.exec_module(mod)
    return mod


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Run cmd; return (seconds, peak RSS in MB sampled every 5 ms, exit code)."""
    start = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, proc.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.005)
    return time.perf_counter() - start, peak / 2**20, proc.returncode


def median_time(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[float, float]:
    results = [timed(cmd, env) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


BIG_SAVER = r"""
import sys, numpy as np
import keras
inp = keras.Input((11000,))
out = keras.layers.Dense(11000, use_bias=False)(inp)
m = keras.Model(inp, out)
m.save(sys.argv[1])
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", default="tf221")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    mf = make_fixtures()
    python = str(mf.ensure_envs([args.env])[args.env])
    child = mf.child_env(mf.ENV_SPECS[args.env])
    child["PATH"] = os.environ.get("PATH", "")
    model = str(REPO / "examples" / "lstm.keras")
    envdoctor = [sys.executable, "-m", "envdoctor"]

    check_t, check_mem = median_time([*envdoctor, "check", model, "--python", python], args.runs, child)
    import_t, import_mem = median_time([python, "-c", "import tensorflow"], max(1, args.runs // 2), child)
    load_t, _ = median_time([python, str(REPO / "scripts" / "real_load.py"), model], 1, child)
    print(f"environment: {args.env} ({python})")
    print(f"envdoctor check (median of {args.runs}):   {check_t:7.3f} s   peak RSS {check_mem:6.1f} MB")
    print(f"python -c 'import tensorflow':        {import_t:7.3f} s   peak RSS {import_mem:6.1f} MB")
    print(f"real load_model + predict:            {load_t:7.3f} s")
    ratio = check_t / import_t
    print(f"ratio check / import tensorflow:      {ratio:7.4f}   = 1/{1 / ratio:.0f}   "
          f"(target <= 1/50: {'OK' if ratio <= 1 / 50 else 'OVER'}; goal 1/80: "
          f"{'OK' if ratio <= 1 / 80 else 'not yet'})")
    import_budget([*envdoctor, "check", model, "--python", python], child)
    print(f"ratio check / real load:              {check_t / load_t:7.3f}")

    big = Path(mf.envs_root()) / "bench-500mb.keras"
    if not big.exists():
        subprocess.run([python, "-c", BIG_SAVER, str(big)], check=True, env=child)
    small_t, small_mem = median_time([*envdoctor, "inspect", model], args.runs)
    big_t, big_mem = median_time([*envdoctor, "inspect", str(big)], args.runs)
    print(f"inspect small .keras ({os.path.getsize(model) / 2**20:.2f} MB): {small_t:7.3f} s   peak RSS {small_mem:6.1f} MB")
    print(f"inspect big .keras ({os.path.getsize(big) / 2**20:.0f} MB):     {big_t:7.3f} s   peak RSS {big_mem:6.1f} MB")
    print(f"ratio big / small inspect time:       {big_t / small_t:7.3f}   (target ~1: no growth with weights size)")


if __name__ == "__main__":
    main()
