"""Fuzz every model reader with many hostile inputs; print inputs, crashes, slowest, peak RSS.

Usage (from the repo root, with the test venv)::

    .venv/bin/python benchmarks/fuzz_readers.py [--inputs 20000] [--jobs 2] [--seed 1]
        [--timeout 30] [--cli-every 10] [--family NAME] [--keep DIR] [--json-out FILE]

Each input is made by ``tests/fuzz/mutators.py`` from the real fixtures and the real models
(truncation, bit flips, zip bombs, lying zip headers, HDF5 external links and virtual
datasets, huge and deep JSON, SavedModel directories with symlinks, FIFOs and traversal
names...), then read in a fresh forked child, so that a crash, a hang or a memory blow-up of
one input is seen and measured alone:

* ``envdoctor.modelfiles.read_model(path)``: anything but ``ModelFileError`` escaping is a
  crash; so is a child killed by a signal (a segfault in HDF5, say) or one that does not
  finish within ``--timeout`` seconds (a hang);
* every ``--cli-every``-th input also goes through the command line in-process
  (``envdoctor inspect PATH --format json`` and ``envdoctor check PATH --python FAKEENV``):
  an exit code other than 0/1/2, or a traceback on stderr, is a crash.

Time is the wall time of ``read_model`` alone.  Peak memory is the child's peak RSS
(``ru_maxrss``, which starts afresh in a forked child) and its growth over the RSS at the
start of the read.  Crashing inputs are copied to ``--keep`` with their seed; rebuild one with
``tests/fuzz/mutators.py``'s ``reproduce(seed, dir)``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "fuzz"))
sys.path.insert(0, str(REPO / "tests"))

import mutators  # noqa: E402
from ci_support import fake_env  # noqa: E402

from envdoctor import cli  # noqa: E402
from envdoctor.errors import ModelFileError  # noqa: E402
from envdoctor.modelfiles import read_model  # noqa: E402

AS_LIMIT = 4 * 1024**3
"""Address-space cap of each child (bytes): a runaway allocation fails instead of swapping."""


def _rss_kb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _run_cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(argv)
        except SystemExit as exc:  # argparse
            rc = exc.code if isinstance(exc.code, int) else 2
    return rc, err.getvalue()


def child(seed: int, family: str | None, work: Path, env: str, with_cli: bool) -> dict[str, Any]:
    """Make and read one input (runs in the forked child)."""
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
    result: dict[str, Any] = {"seed": seed}
    warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we write
    try:
        path, label = mutators.generate(random.Random(seed), work, family)
    except Exception as exc:  # the generator itself failed: not a reader problem
        result.update(outcome="gen_error", label=f"{type(exc).__name__}: {exc}"[:300])
        return result
    result["label"] = label[:300]
    result["path"] = str(path)
    rss0 = _rss_kb()
    start = time.perf_counter()
    try:
        read_model(str(path))
        result["outcome"] = "ok"
    except ModelFileError as exc:
        # read_model turns any unexpected exception into a ModelFileError naming it: count
        # those apart, they are reader bugs hidden behind a clean error.
        masked = "unexpected error while reading" in str(exc)
        result["timeout"] = "HDF5 library did not finish" in str(exc)
        result["outcome"] = "masked" if masked else "rejected"
        if masked:
            result["detail"] = str(exc)[-1000:]
    except BaseException as exc:
        result["outcome"] = "crash"
        result["detail"] = "".join(traceback.format_exception(exc))[-2000:]
    result["seconds"] = time.perf_counter() - start
    result["rss_start_kb"] = rss0
    # HDF5 files are read in a forked grandchild (envdoctor's isolation): count it too.
    result["peak_kb"] = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    if with_cli and result["outcome"] != "crash":
        for argv in (["inspect", str(path), "--format", "json"],
                     ["check", str(path), "--python", env, "--format", "json", "--no-config"]):
            rc, err = _run_cli(argv)
            if rc not in (0, 1, 2) or "Traceback" in err or (rc == 2 and err.count("\n") != 1):
                result["outcome"] = "crash"
                result["detail"] = f"cli {argv[0]}: exit {rc}: {err[-1500:]}"
                break
        result["cli"] = True
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=20_000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds per input (read_model + the CLI runs)")
    ap.add_argument("--cli-every", type=int, default=10)
    ap.add_argument("--family", choices=sorted(mutators.GENERATORS))
    ap.add_argument("--keep", type=Path, help="copy crashing inputs here")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="envdoctor-fuzz-"))
    os.environ["XDG_CACHE_HOME"] = str(root / "cache")
    env = str(fake_env(root))
    mutators.gen_hdf5(random.Random(0), Path(tempfile.mkdtemp(dir=root)))  # warm h5py
    running: dict[int, tuple[int, int, float, Path]] = {}  # pid -> (fd, seed, start, work)
    answers: dict[int, bytes] = {}
    results: list[dict[str, Any]] = []
    next_index = 0
    t_start = time.time()
    last_report = t_start

    def launch(index: int) -> None:
        seed = args.seed * 1_000_003 + index
        work = root / f"in{index}"
        work.mkdir()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child, in a process group of its own (killed whole on timeout)
            os.setpgid(0, 0)
            os.close(r)
            code = 0
            try:
                res = child(seed, args.family, work, env, index % args.cli_every == 0)
                os.write(w, json.dumps(res).encode())
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(w)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        os.set_blocking(r, False)
        running[pid] = (r, seed, time.monotonic(), work)
        answers[pid] = b""

    def drain(pid: int) -> None:
        fd = running[pid][0]
        with contextlib.suppress(BlockingIOError, OSError):
            while chunk := os.read(fd, 65536):
                answers[pid] += chunk

    def finish(pid: int, status: int, timed_out: bool) -> None:
        drain(pid)
        fd, seed, started, work = running.pop(pid)
        data = answers.pop(pid)
        os.close(fd)
        res: dict[str, Any]
        try:
            res = json.loads(data) if data else {"seed": seed}
        except ValueError:
            res = {"seed": seed}
        if timed_out:
            res.update(outcome="crash", detail=f"hang: killed after {args.timeout} s",
                       seconds=time.monotonic() - started)
        elif "outcome" not in res:
            sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            res.update(outcome="crash", detail=f"child died (signal {sig}, status {status})")
        results.append(res)
        if res["outcome"] == "crash":
            print(f"CRASH seed={seed} {res.get('label', '')}\n  {res.get('detail', '')[-600:]}",
                  flush=True)
            if args.keep:
                dest = args.keep / f"seed{seed}"
                shutil.rmtree(dest, ignore_errors=True)
                with contextlib.suppress(OSError):
                    shutil.copytree(work, dest, symlinks=True)
        shutil.rmtree(work, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir(work)

    while next_index < args.inputs or running:
        while next_index < args.inputs and len(running) < args.jobs:
            launch(next_index)
            next_index += 1
        fds = {v[0]: pid for pid, v in running.items()}
        select.select(list(fds), [], [], 0.05)
        for pid in list(running):
            drain(pid)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                finish(pid, status, False)
            elif time.monotonic() - running[pid][2] > args.timeout:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)  # the child and anything it started
                os.waitpid(pid, 0)
                finish(pid, 0, True)
        if time.time() - last_report > 30:
            last_report = time.time()
            print(f"... {len(results)} inputs, {time.time() - t_start:.0f} s", flush=True)

    shutil.rmtree(root, ignore_errors=True)
    elapsed = time.time() - t_start
    measured = [r for r in results if "seconds" in r and r["outcome"] != "gen_error"]
    crashes = [r for r in results if r["outcome"] == "crash"]
    slowest = max(measured, key=lambda r: r["seconds"], default={})
    peak = max(measured, key=lambda r: r.get("peak_kb", 0), default={})
    growth = max(measured, key=lambda r: r.get("peak_kb", 0) - r.get("rss_start_kb", 0),
                 default={})
    by_family: dict[str, dict[str, int]] = {}
    for r in results:
        fam = str(r.get("label", "gen_error")).split(":", 1)[0]
        counts = by_family.setdefault(fam, {})
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    timeouts = [r for r in measured if r.get("timeout")]
    others = [r for r in measured if not r.get("timeout")]
    slowest_other = max(others, key=lambda r: r["seconds"], default={})
    summary = {
        "inputs_tried": len(measured),
        "generator_errors": sum(1 for r in results if r["outcome"] == "gen_error"),
        "crashes": len(crashes),
        "rejected_with_ModelFileError": sum(1 for r in measured if r["outcome"] == "rejected"),
        "masked_errors": sum(1 for r in measured if r["outcome"] == "masked"),
        "read_ok": sum(1 for r in measured if r["outcome"] == "ok"),
        "cli_runs": sum(2 for r in measured if r.get("cli")),
        "slowest_seconds": round(slowest.get("seconds", 0.0), 3),
        "slowest_input": slowest.get("label", ""),
        "slowest_seed": slowest.get("seed"),
        "hdf5_timeouts": len(timeouts),
        "slowest_seconds_without_hdf5_timeouts": round(slowest_other.get("seconds", 0.0), 3),
        "slowest_input_without_hdf5_timeouts": slowest_other.get("label", ""),
        "peak_rss_mb": round(peak.get("peak_kb", 0) / 1024, 1),
        "peak_rss_input": peak.get("label", ""),
        "max_rss_growth_mb": round(
            (growth.get("peak_kb", 0) - growth.get("rss_start_kb", 0)) / 1024, 1),
        "max_rss_growth_input": growth.get("label", ""),
        "wall_seconds": round(elapsed, 1),
        "jobs": args.jobs,
        "by_family": by_family,
    }
    print(json.dumps(summary, indent=2))
    if args.json_out:
        masked = [r for r in results if r["outcome"] in ("masked", "gen_error")]
        slowest10 = sorted(measured, key=lambda r: -r["seconds"])[:10]
        args.json_out.write_text(json.dumps(
            {"summary": summary, "crashes": crashes, "masked": masked, "slowest": slowest10},
            indent=2))
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
