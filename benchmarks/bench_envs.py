"""Speed of discovery + static inventory of many environments, against named peers.

Run:  .venv/bin/python benchmarks/bench_envs.py [--sizes 10,30,100] [--runs 5]

On a temporary HOME holding N real venvs (``~/.virtualenvs/envNNN``), each a ``cp -a`` copy of
one ``python -m venv`` venv (pip included: its package directories are symlinked to one shared
copy to save disk; its dist-info is real) with 20 real ``*.dist-info`` directories copied from
this repository's ``.venv``, it times:

  * ``discover() + read_candidates()`` in a fresh process with an empty probe cache (cold,
    in-process time after imports) and the same call repeated in that process (warm, median),
    plus the wall time of that whole fresh process (interpreter start + imports + call);
  * peer 1: a loop of ``<env>/bin/python -m pip list --format json`` over the N envs;
  * peer 2: a loop of ``uv pip list --python <env>/bin/python --format json`` (uv's interpreter
    cache empty on the first loop, filled on the second);

and prints the figures, the per-environment cost (growth from 10 to 100 envs) and the ratios
peer / envdoctor.  Discovery also finds the interpreter running it (``active``), so N + 1
environments are read.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASE_PYTHON = Path("/root/.pyenv/versions/3.11.7/bin/python3")
DIST_SOURCE = REPO / ".venv" / "lib" / "python3.11" / "site-packages"
UV = REPO / ".venv" / "bin" / "uv"

CHILD = r"""
import json, os, statistics, sys, time
t0 = time.perf_counter()
from envdoctor.discovery import discover, read_candidates
home, runs = sys.argv[1], int(sys.argv[2])
environ = {"HOME": home, "PATH": "", "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]}
t1 = time.perf_counter()
cands = discover(environ=environ, cwd=home, home=home)
rows = read_candidates(cands, environ=environ)
cold = time.perf_counter() - t1
warm = []
for _ in range(runs):
    t = time.perf_counter()
    rows = read_candidates(discover(environ=environ, cwd=home, home=home), environ=environ)
    warm.append(time.perf_counter() - t)
ok = sum(1 for _, env, _ in rows if env is not None)
probed = sum(1 for _, env, _ in rows if env is not None and env.probed)
pkgs = sum(len(env.packages) for _, env, _ in rows if env is not None)
warm_median = statistics.median(warm) if warm else cold
print(json.dumps({"import": t1 - t0, "cold": cold, "warm": warm_median,
                  "envs": len(rows), "ok": ok, "probed": probed, "packages": pkgs}))
"""


def build_seed(root: Path) -> Path:
    """One real venv with pip and 20 real dist-info directories; pip's code shared by symlink."""
    seed = root / "seed"
    subprocess.run([str(BASE_PYTHON), "-m", "venv", str(seed)], check=True)
    site = seed / "lib" / "python3.11" / "site-packages"
    shared = root / "shared-site"
    shared.mkdir()
    for entry in sorted(site.iterdir()):
        if entry.is_dir() and not entry.name.endswith(".dist-info"):
            target = shared / entry.name
            shutil.move(str(entry), str(target))
            entry.symlink_to(target)
    for dist in sorted(DIST_SOURCE.glob("*.dist-info"))[:20]:
        if not (site / dist.name).exists():
            subprocess.run(["cp", "-a", str(dist), str(site)], check=True)
    return seed


def make_envs(seed: Path, home: Path, n: int) -> list[Path]:
    venvs = home / ".virtualenvs"
    venvs.mkdir(parents=True, exist_ok=True)
    envs = []
    for i in range(n):
        env = venvs / f"env{i:03d}"
        if not env.exists():
            subprocess.run(["cp", "-a", str(seed), str(env)], check=True)
            cfg = env / "pyvenv.cfg"
            cfg.write_text(cfg.read_text().replace(str(seed), str(env)))
        envs.append(env)
    return envs


def _child(home: Path, runs: int) -> tuple[dict[str, float], float]:
    """Run CHILD in a fresh process with an empty probe cache: (its figures, its wall time)."""
    cache = Path(tempfile.mkdtemp(prefix="envdoctor-bench-cache-"))
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(home), str(runs)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    wall = time.perf_counter() - start
    shutil.rmtree(cache, ignore_errors=True)
    return json.loads(out), wall


def run_api(home: Path, runs: int) -> dict[str, float]:
    """Cold and warm in-process figures, and the wall time of a cold one-shot process."""
    _, process = _child(home, 0)
    result, _ = _child(home, runs)
    result["process"] = process
    return result


def run_cli(home: Path, *, hang: bool = False, fmt: str = "json",
            warm_runs: int = 1) -> tuple[float, float]:
    """Wall time of `envdoctor envs` under HOME: (cold cache, warm cache median of warm_runs).

    With ``hang``, a ``python3`` that never answers (a broken shim, a dead network mount: a
    shell script that sleeps) comes first on PATH; the cold run waits one probe budget (2 s)
    for it, the warm runs remember its failure.  ``fmt`` "text" prints the table to a pipe.
    """
    cache = Path(tempfile.mkdtemp(prefix="envdoctor-bench-cli-"))
    path = "/usr/bin:/bin"
    if hang:
        dead = cache / "deadmount" / "bin"
        dead.mkdir(parents=True)
        (dead / "python3").write_text("#!/bin/sh\nexec sleep 600\n")
        (dead / "python3").chmod(0o755)
        path = f"{dead}:{path}"
    env = {
        "HOME": str(home),
        "PATH": path,
        "XDG_CACHE_HOME": str(cache),
    }
    cmd = [sys.executable, "-m", "envdoctor", "envs", "--format", fmt]
    times = []
    for _ in range(1 + warm_runs):
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, env=env, cwd=str(home), check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"envdoctor envs failed: {done.stderr.decode()[-500:]}")
        if fmt == "json":
            json.loads(done.stdout)
    shutil.rmtree(cache, ignore_errors=True)
    return times[0], statistics.median(times[1:])


def loop(commands: list[list[str]], env: dict[str, str]) -> float:
    start = time.perf_counter()
    for cmd in commands:
        done = subprocess.run(cmd, capture_output=True, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{cmd} failed: {done.stderr.decode()[-500:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,30,100")
    parser.add_argument("--runs", type=int, default=5, help="warm repetitions (median)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for tool in (BASE_PYTHON, UV):
        if not tool.exists():
            raise SystemExit(f"{tool} is needed")
    with tempfile.TemporaryDirectory(prefix="envdoctor-bench-envs-") as tmp:
        root = Path(tmp)
        seed = build_seed(root)
        uv_cache = root / "uv-cache"
        peer_env = {
            **os.environ,
            "HOME": str(root / "home"),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
            "UV_CACHE_DIR": str(uv_cache),
            "UV_NO_CONFIG": "1",
        }
        rows = []
        for n in sizes:
            envs = make_envs(seed, root / "home", n)
            api = run_api(root / "home", args.runs)
            cli_cold, cli_warm = run_cli(root / "home")
            hang_cold, hang_warm = run_cli(root / "home", hang=True, fmt="text",
                                           warm_runs=args.runs)
            pythons = [str(e / "bin" / "python") for e in envs]
            pip_t = loop([[p, "-m", "pip", "list", "--format", "json"] for p in pythons], peer_env)
            shutil.rmtree(uv_cache, ignore_errors=True)
            uv_cmds = [[str(UV), "pip", "list", "--python", p, "--format", "json"] for p in pythons]
            uv_cold = loop(uv_cmds, peer_env)
            uv_warm = loop(uv_cmds, peer_env)
            rows.append((n, api, pip_t, uv_cold, uv_warm))
            print(
                f"N={n:4d}: envdoctor cold {api['cold']:.3f} s, warm {api['warm']:.3f} s"
                f" (read {int(api['ok'])}/{int(api['envs'])} envs, {int(api['packages'])} dists,"
                f" {int(api['probed'])} probed; whole process {api['process']:.3f} s);"
                f" pip loop {pip_t:.2f} s; uv loop cold {uv_cold:.2f} s, warm {uv_warm:.2f} s;"
                f" `envdoctor envs --format json` cold {cli_cold:.3f} s, warm {cli_warm:.3f} s"
                f" (pip loop / cli cold {pip_t / cli_cold:.0f}x, uv warm / cli warm"
                f" {uv_warm / cli_warm:.1f}x)",
                flush=True,
            )
            print(
                f"        with a hanging python3 first on PATH, `envdoctor envs` (text, piped):"
                f" cold {hang_cold:.3f} s (target <= 3 s), warm {hang_warm:.3f} s (median of"
                f" {args.runs}; target <= 0.3 s: {'OK' if hang_warm <= 0.3 else 'OVER'});"
                f" uv warm loop / this warm {uv_warm / hang_warm:.1f}x",
                flush=True,
            )
    print()
    cols = (
        "N",
        "ed cold",
        "ed warm",
        "ed proc",
        "pip loop",
        "uv cold",
        "uv warm",
        "pip/proc",
        "uv/proc",
        "pip/cold",
        "uv/cold",
        "ms/env ed",
        "ms/env pip",
        "ms/env uv",
    )
    print(" ".join(f"{c:>10}" for c in cols))
    for n, api, pip_t, uv_cold, uv_warm in rows:
        cold, proc = api["cold"], api["process"]
        cells = (
            f"{n}",
            f"{cold:.3f}",
            f"{api['warm']:.3f}",
            f"{proc:.3f}",
            f"{pip_t:.2f}",
            f"{uv_cold:.2f}",
            f"{uv_warm:.2f}",
            f"{pip_t / proc:.1f}x",
            f"{uv_warm / proc:.1f}x",
            f"{pip_t / cold:.0f}x",
            f"{uv_warm / cold:.1f}x",
            f"{1000 * api['warm'] / n:.2f}",
            f"{1000 * pip_t / n:.0f}",
            f"{1000 * uv_warm / n:.1f}",
        )
        print(" ".join(f"{c:>10}" for c in cells))
    print(
        "(seconds; ed = envdoctor discover()+read_candidates(); proc = a fresh process running"
        " it once; uv = its warm loop)"
    )
    first, last = rows[0], rows[-1]
    grow = (last[1]["warm"] / last[0]) / (first[1]["warm"] / first[0])
    print(
        f"\ngrowth of envdoctor's per-env warm cost from N={first[0]} to N={last[0]}: x{grow:.2f}"
        " (1.0 = linear in N)"
    )


if __name__ == "__main__":
    main()
