"""Speed and memory of `envdoctor check` / `inspect` against the peers named in issue #2.

Run:  .venv/bin/python benchmarks/bench_check.py [--env tf221] [--runs 5]

Prints, for one real environment built by scripts/make_fixtures.py:
  * wall time of `envdoctor check MODEL --python ENV` (median of --runs, seconds),
  * wall time of `ENV/python -c "import tensorflow"` (the peer: what a user pays before loading),
  * wall time of a real `load_model` + predict in that environment (scripts/real_load.py),
  * the ratio check / import (target < 0.1);
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
    print(f"ratio check / import tensorflow:      {check_t / import_t:7.3f}   (target < 0.1)")
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
