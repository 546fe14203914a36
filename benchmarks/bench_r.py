"""What envdoctor_use() adds to an R start with a warm cache, under reticulate 1.28 and 1.46.

For each reticulate (Debian's 1.28: no R_LIBS; 1.46.0: R_LIBS=~/.cache/envdoctor/r-lib-1.46,
from scripts/install_r.sh), Rscript -e 'invisible(1)' is started N times with an R profile
that only sources scripts/envdoctor.R, and N times with one that also calls
envdoctor_use(MODEL, quiet = TRUE), alternating; the answer is cached first (one warm-up
run).  Printed: the median wall time of each, the difference (what envdoctor_use() adds),
the time envdoctor_use() itself takes measured inside R (proc.time() around it), and the
ratio to the 0.3 s target (goal 0.15 s).

The machine is a temporary HOME whose ~/.virtualenvs holds r-tf215 and r-tf221 (the
environments of scripts/make_fixtures.py, built when missing), so discovery sees what the
live R tests see.  Nothing here asserts; exit status 1 only when a median exceeds 0.3 s.

Usage: python benchmarks/bench_r.py [--runs N] [--model PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "envdoctor.R"
LIB_146 = Path(
    os.environ.get("ENVDOCTOR_R_LIB_146", str(Path.home() / ".cache" / "envdoctor" / "r-lib-1.46"))
)
TARGET, GOAL = 0.3, 0.15


def _envs() -> dict[str, Path]:
    spec = importlib.util.spec_from_file_location("make_fixtures", REPO / "scripts" / "make_fixtures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_fixtures"] = module
    spec.loader.exec_module(module)
    built: dict[str, Path] = module.ensure_envs(["tf215", "tf221"], extra=False)
    return {k: Path(v) for k, v in built.items()}


def _run(rscript: str, env: dict[str, str], profile: Path, cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [rscript, "-e", "invisible(1)"],
        env={**env, "R_PROFILE_USER": str(profile)},
        cwd=str(cwd), capture_output=True, text=True, timeout=300, check=False,
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"bench_r: Rscript failed:\n{proc.stderr[-2000:]}")
    return took


def bench(rscript: str, label: str, env: dict[str, str], tmp: Path, model: Path, runs: int) -> float:
    """Print the figures for one reticulate; return the median overhead in seconds."""
    work = tmp / "work"
    without = tmp / f"without-{label}.R"
    without.write_text(f'source("{SCRIPT}")\n')
    with_use = tmp / f"with-{label}.R"
    with_use.write_text(f'source("{SCRIPT}")\nenvdoctor_use("{model}", quiet = TRUE)\n')
    inside = tmp / f"inside-{label}.R"
    inside.write_text(
        f'source("{SCRIPT}")\nt0 <- proc.time()[["elapsed"]]\n'
        f'envdoctor_use("{model}", quiet = TRUE)\n'
        'cat(sprintf("%.4f", proc.time()[["elapsed"]] - t0), file = Sys.getenv("ENVDOCTOR_BENCH_OUT"))\n'
    )
    _run(rscript, env, with_use, work)  # warm the which-cache
    times: dict[str, list[float]] = {"without": [], "with": [], "inside": []}
    out = tmp / "inside.txt"
    for _ in range(runs):
        times["without"].append(_run(rscript, env, without, work))
        times["with"].append(_run(rscript, env, with_use, work))
        _run(rscript, {**env, "ENVDOCTOR_BENCH_OUT": str(out)}, inside, work)
        times["inside"].append(float(out.read_text()))
    med = {k: statistics.median(v) for k, v in times.items()}
    overhead = med["with"] - med["without"]
    print(
        f"reticulate {label}: Rscript start median without envdoctor_use() {med['without']:.3f} s, "
        f"with {med['with']:.3f} s -> adds {overhead:.3f} s; envdoctor_use() inside R "
        f"{med['inside']:.3f} s (median of {runs}); {overhead / TARGET:.2f} x the {TARGET} s "
        f"target, {overhead / GOAL:.2f} x the {GOAL} s goal"
    )
    return overhead


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--model", default=str(REPO / "tests" / "fixtures" / "tf221" / "lstm.keras"))
    args = p.parse_args()
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("bench_r: Rscript is not installed (scripts/install_r.sh)", file=sys.stderr)
        return 2
    envs = _envs()
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-r-") as d:
        tmp = Path(d)
        venvs = tmp / "home" / ".virtualenvs"
        venvs.mkdir(parents=True)
        (tmp / "work").mkdir()
        for name, python in envs.items():
            (venvs / f"r-{name}").symlink_to(python.parent.parent, target_is_directory=True)
        base = {
            "HOME": str(tmp / "home"),
            "PATH": "/usr/bin:/bin",
            "XDG_CACHE_HOME": str(tmp / "cache"),
            "ENVDOCTOR_PYTHON": sys.executable,
            "LANG": "C.UTF-8",
        }
        envdoctor_bin = Path(sys.executable).parent / "envdoctor"
        if envdoctor_bin.exists():
            base["ENVDOCTOR_BIN"] = str(envdoctor_bin)
        worst = max(worst, bench(rscript, "1.28", base, tmp, Path(args.model), args.runs))
        if (LIB_146 / "reticulate" / "DESCRIPTION").is_file():
            worst = max(
                worst,
                bench(rscript, "1.46", {**base, "R_LIBS": str(LIB_146)}, tmp, Path(args.model),
                      args.runs),
            )
        else:
            print(f"reticulate 1.46: not installed in {LIB_146} (scripts/install_r.sh); skipped")
    return 1 if worst > TARGET else 0


if __name__ == "__main__":
    raise SystemExit(main())
