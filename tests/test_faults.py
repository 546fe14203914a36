"""Faults in the machine: concurrent runs on one cache, damaged or unwritable caches, broken
interpreters, environments deleted while they are read.

Every run must end with a correct result or one clear line (exit 2), never a traceback, and
the probe cache must never be left with an entry that does not parse.  Interpreters are fake
``#!/bin/sh`` scripts that need probing (no ``pyvenv.cfg``, no ``lib/pythonX.Y``), so each
run goes through the probe and its cache; ``XDG_CACHE_HOME`` points at a temporary directory.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ci_support import FIXTURES, GOOD_STACK, REPO, fake_env, write_exe

from envdoctor.discovery import discover, read_candidates
from envdoctor.errors import EnvdoctorError, EnvironmentReadError, ProbeError, ProbeTimeout
from envdoctor.inventory import read_environment
from envdoctor.probe import cache as probe_cache
from envdoctor.probe.runner import REQUIRED_KEYS

MLP = FIXTURES / "tf221" / "mlp.keras"
ENTRY = re.compile(r"^[0-9a-f]{64}\.json$")


# ------------------------------------------------------------------------------------ helpers


def probed_interpreter(root: Path, *, delay: float = 0.0, body: str = "") -> tuple[Path, Path]:
    """A fake interpreter that must be probed; it answers for a prefix with a Keras 3 stack.

    Returns:
        ``(interpreter, log)``: the log gets one line per run.
    """
    prefix = fake_env(root, GOOD_STACK, name="target")
    (prefix / "pyvenv.cfg").unlink()  # no static evidence: the interpreter must be run
    site = prefix / "lib" / "python3.11" / "site-packages"
    moved = prefix / "site"
    site.rename(moved)
    shutil.rmtree(prefix / "lib")
    answer = {
        "executable": str(root / "bin" / "python"), "prefix": str(prefix),
        "base_prefix": str(prefix), "version": "3.11.7",
        "version_info": [3, 11, 7, "final", 0], "implementation": "cpython",
        "arch": "x86_64", "platform": "linux", "site_packages": [str(moved)], "user_site": None,
    }
    canned = root / "answer.json"
    canned.write_text(json.dumps(answer))
    log = root / "runs.log"
    script = body or f'echo "run $$" >> "{log}"\nsleep {delay}\ncat "{canned}"'
    return write_exe(root / "bin" / "python", script), log


def runs(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def envdoctor(*args: str, cache: Path, timeout: float = 120) -> subprocess.Popen[str]:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPATH=str(REPO))
    for key in ("KERAS_BACKEND", "TF_USE_LEGACY_KERAS"):
        env.pop(key, None)
    return subprocess.Popen(
        [sys.executable, "-m", "envdoctor", *args], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env, cwd=str(REPO),
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def assert_clean_exit(rc: int, err: str) -> None:
    assert rc in (0, 1, 2), (rc, err)
    assert "Traceback" not in err and "internal error" not in err, err
    if rc == 2:
        assert err.count("\n") == 1 and err.startswith("envdoctor: error: "), err


def assert_cache_sound(cache: Path) -> list[Path]:
    """Every cache entry parses and has the shape store_cached/store_failure write."""
    probe_dir = cache / "envdoctor" / "probe"
    entries = sorted(probe_dir.glob("*.json")) if probe_dir.is_dir() else []
    for path in entries:
        if path.name.startswith(".tmp-"):
            continue
        assert ENTRY.match(path.name), path
        entry = json.loads(path.read_text())
        assert set(entry) in ({"key", "info"}, {"key", "failure"}), path
        if "info" in entry:
            assert set(REQUIRED_KEYS) <= set(entry["info"])
        else:
            assert entry["failure"]["kind"] in ("timeout", "error")
            assert isinstance(entry["failure"]["message"], str)
    return [p for p in entries if ENTRY.match(p.name)]


def verdict(out: str) -> tuple[str, str]:
    data = json.loads(out)
    return data["verdicts"][0]["status"], data["environments"][0]["prefix"]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(path))
    return path


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[bool]:
    """Mount a tmpfs at ``path`` (root only); yield False when mounting is not permitted."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        yield False
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                             capture_output=True, check=False).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


# ------------------------------------------------------------------------- concurrency


@pytest.mark.timeout(240)
def test_sixteen_concurrent_runs_share_one_cache(tmp_path: Path, cache: Path) -> None:
    python, log = probed_interpreter(tmp_path, delay=0.3)
    procs = [envdoctor("check", str(MLP), "--python", str(python), "--format", "json",
                       "--no-config", cache=cache) for _ in range(16)]
    results = [finish(p) for p in procs]
    for rc, out, err in results:
        assert_clean_exit(rc, err)
        assert rc == 0, err
        assert verdict(out) == ("ok", str(tmp_path / "target"))
    assert 1 <= runs(log) <= 16  # each run probed at most once
    entries = assert_cache_sound(cache)
    assert len(entries) == 1
    assert not [p for p in entries[0].parent.iterdir() if p.name.startswith(".tmp-")]
    # The next run is answered from the cache: the interpreter is not run again.
    before = runs(log)
    rc, out, err = finish(envdoctor("check", str(MLP), "--python", str(python), "--format",
                                    "json", "--no-config", cache=cache))
    assert rc == 0 and verdict(out)[0] == "ok" and runs(log) == before


@pytest.mark.timeout(240)
def test_concurrent_writers_killed_mid_write_never_leave_a_corrupt_entry(
    tmp_path: Path, cache: Path
) -> None:
    """Writers storing big entries are SIGKILLed at random moments, again and again."""
    python, _ = probed_interpreter(tmp_path)
    program = (
        "import sys, json\n"
        "from envdoctor.probe import cache\n"
        "info = json.load(open(sys.argv[2]))\n"
        "info['padding'] = 'x' * 4_000_000\n"
        "while True:\n"
        "    cache.store_cached(sys.argv[1], info)\n"
    )
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPATH=str(REPO))
    for round_ in range(12):
        writers = [subprocess.Popen([sys.executable, "-c", program, str(python),
                                     str(tmp_path / "answer.json")], env=env)
                   for _ in range(3)]
        time.sleep(0.3 + 0.05 * round_)
        for w in writers:
            os.kill(w.pid, signal.SIGKILL)
        for w in writers:
            w.wait()
        assert_cache_sound(cache)
    # Whatever the kills left, a real run reads or rewrites the entry and answers correctly.
    rc, out, err = finish(envdoctor("check", str(MLP), "--python", str(python), "--format",
                                    "json", "--no-config", cache=cache))
    assert rc == 0, err
    assert verdict(out)[0] == "ok"
    assert_cache_sound(cache)


# ------------------------------------------------------------------------- damaged cache


def test_truncated_cache_entry_is_ignored_and_rewritten(tmp_path: Path, cache: Path) -> None:
    python, log = probed_interpreter(tmp_path)
    env = read_environment(str(python))
    assert env.probed and runs(log) == 1
    [entry] = assert_cache_sound(cache)
    data = entry.read_bytes()
    for cut in (0, 1, len(data) // 2, len(data) - 1):
        entry.write_bytes(data[:cut])  # what a non-atomic writer leaves when it dies
        again = read_environment(str(python))
        assert again.prefix == env.prefix and again.python_version == "3.11.7"
        assert_cache_sound(cache)
    assert runs(log) == 5  # each damaged entry made it probe again, once
    entry.write_bytes(b"\x00\xff" * 100)
    assert read_environment(str(python)).prefix == env.prefix
    assert json.loads(entry.read_text())["info"]["version"] == "3.11.7"


def test_write_failing_half_way_leaves_no_partial_entry(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python, log = probed_interpreter(tmp_path)
    read_environment(str(python))
    [entry] = assert_cache_sound(cache)
    good = entry.read_bytes()
    entry.unlink()
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, fh: object) -> None:
            self.fh = fh

        def __enter__(self) -> HalfWriter:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()  # type: ignore[attr-defined]

        def write(self, data: bytes) -> int:
            self.fh.write(data[: len(data) // 2])  # type: ignore[attr-defined]
            raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(probe_cache.os, "fdopen", lambda fd, mode: HalfWriter(
            real_fdopen(fd, mode)))
        env = read_environment(str(python))
    assert env.python_version == "3.11.7"
    assert not entry.exists()
    assert not list(entry.parent.glob(".tmp-*"))  # the temporary file was removed
    assert_cache_sound(cache)
    read_environment(str(python))
    assert entry.read_bytes() == good


@pytest.mark.parametrize("failure", [errno.EROFS, errno.EACCES, errno.ENOSPC, errno.EDQUOT])
def test_unwritable_cache_only_disables_caching(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, failure: int
) -> None:
    python, log = probed_interpreter(tmp_path)

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(failure, os.strerror(failure))

    monkeypatch.setattr(probe_cache.tempfile, "mkstemp", refuse)
    for _ in range(2):
        env = read_environment(str(python))
        assert env.python_version == "3.11.7"
    assert runs(log) == 2  # nothing cached: probed each time, no error
    assert_cache_sound(cache)


def test_cache_path_that_is_a_file(tmp_path: Path, cache: Path) -> None:
    """The cache directory cannot be created (a file is in the way): runs still work."""
    python, log = probed_interpreter(tmp_path)
    cache.mkdir()
    (cache / "envdoctor").write_text("not a directory")
    for _ in range(2):
        rc, out, err = finish(envdoctor("check", str(MLP), "--python", str(python),
                                        "--format", "json", "--no-config", cache=cache))
        assert rc == 0, err
        assert verdict(out)[0] == "ok"
    assert runs(log) == 2


@pytest.mark.timeout(120)
def test_read_only_cache_dir_mounted(tmp_path: Path, cache: Path) -> None:
    python, log = probed_interpreter(tmp_path)
    with tmpfs(cache / "envdoctor", "ro,size=1m") as mounted:
        if not mounted:
            pytest.skip("mounting a tmpfs is not permitted here (the in-process tests cover it)")
        for _ in range(2):
            rc, out, err = finish(envdoctor("check", str(MLP), "--python", str(python),
                                            "--format", "json", "--no-config", cache=cache))
            assert rc == 0, err
            assert verdict(out)[0] == "ok"
        assert runs(log) == 2
        assert list((cache / "envdoctor").iterdir()) == []


@pytest.mark.timeout(120)
def test_full_cache_dir_mounted(tmp_path: Path, cache: Path) -> None:
    python, log = probed_interpreter(tmp_path)
    answer = json.loads((tmp_path / "answer.json").read_text())
    answer["padding"] = "x" * 200_000  # bigger than the space left: ENOSPC half-way
    (tmp_path / "answer.json").write_text(json.dumps(answer))
    with tmpfs(cache / "envdoctor", "size=64k") as mounted:
        if not mounted:
            pytest.skip("mounting a tmpfs is not permitted here (the in-process tests cover it)")
        for _ in range(2):
            rc, out, err = finish(envdoctor("check", str(MLP), "--python", str(python),
                                            "--format", "json", "--no-config", cache=cache))
            assert rc == 0, err
            assert verdict(out)[0] == "ok"
        assert runs(log) == 2
        assert_cache_sound(cache)
        probe_dir = cache / "envdoctor" / "probe"
        assert not list(probe_dir.glob("*")) if probe_dir.exists() else True


# ------------------------------------------------------------------ broken interpreters


BROKEN = {
    "hangs": ("sleep 600", ProbeTimeout, "did not answer in"),
    "hangs_with_child": ("sleep 600 &\nsleep 600", ProbeTimeout, "did not answer in"),
    "floods": ("while :; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done", ProbeError,
               "flooded stdout"),
    "floods_one_line": ("head -c 5000000 /dev/zero | tr '\\0' x", ProbeError, "flooded"),
    "exits_early": ("echo 'Fatal Python error: init_fs_encoding' >&2\nexit 1", ProbeError,
                    "exited with code 1: Fatal Python error"),
    "killed": ("kill -SEGV $$", ProbeError, "killed by signal SIGSEGV"),
    "invalid_json": ("echo '{\"executable\": '", ProbeError, "not JSON"),
    "json_lies": ("echo '{\"executable\": 1}'", ProbeError, "lacks the key"),
    "binary": ("printf '\\377\\376\\000'", ProbeError, "not UTF-8"),
    "nothing": ("exit 0", ProbeError, "printed nothing"),
    "closes_stdout_then_hangs": ("exec 1>&-\nsleep 600", ProbeTimeout, "did not answer"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_interpreter_is_a_clear_error(name: str, tmp_path: Path, cache: Path) -> None:
    body, error, message = BROKEN[name]
    python = write_exe(tmp_path / "bin" / "python", f"# envdoctor-fault-{name}-{os.getpid()}\n"
                       + body)
    start = time.monotonic()
    with pytest.raises(error) as info:
        read_environment(str(python), timeout=2.0)
    assert time.monotonic() - start < 15
    assert message in str(info.value), str(info.value)
    assert isinstance(info.value, EnvironmentReadError)
    # only the failure is remembered (issue 14), never an answer
    for entry_path in assert_cache_sound(cache):
        assert "failure" in json.loads(entry_path.read_text()), entry_path
    # Nothing it started is left running (its whole process group was killed).
    marker = f"envdoctor-fault-{name}-{os.getpid()}"
    time.sleep(0.2)
    assert not _processes_with(marker), marker


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(pid))
    return found


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["hangs", "floods", "exits_early", "invalid_json", "killed"])
def test_cli_with_a_broken_interpreter_is_one_line_exit_2(name: str, tmp_path: Path,
                                                          cache: Path) -> None:
    body = BROKEN[name][0]
    python = write_exe(tmp_path / "bin" / "python", body)
    # The probe timeout is 20 s in the CLI; 2 s here keeps the test short.
    program = (
        "import sys, envdoctor.inventory as inv, envdoctor.cli as cli\n"
        "inv.read_environment.__kwdefaults__['timeout'] = 2.0\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPATH=str(REPO))
    for fmt in ("text", "json", "github"):
        proc = subprocess.run([sys.executable, "-c", program, "check", str(MLP), "--python",
                               str(python), "--format", fmt, "--no-config"],
                              capture_output=True, text=True, env=env, timeout=60, check=False)
        assert proc.returncode == 2, (proc.stdout, proc.stderr)
        assert proc.stdout == ""
        assert_clean_exit(proc.returncode, proc.stderr)
        assert str(python) in proc.stderr


# -------------------------------------------------------- environments deleted mid-read


def _churn(root: Path, stop: threading.Event, errors: list[BaseException]) -> None:
    """Delete and recreate a venv as fast as possible until ``stop`` is set."""
    try:
        while not stop.is_set():
            shutil.rmtree(root / "churn", ignore_errors=True)
            prefix = fake_env(root, {**GOOD_STACK, **{f"pkg{i}": "1.0" for i in range(60)}},
                              name="churn")
            (prefix / "bin" / "python3").symlink_to("python")
    except BaseException as exc:  # fake_env can lose a race with rmtree: keep churning
        if not stop.is_set():
            errors.append(exc)


@pytest.mark.timeout(120)
def test_environment_deleted_while_read(tmp_path: Path, cache: Path) -> None:
    stop = threading.Event()
    churn_errors: list[BaseException] = []
    root = tmp_path / "homes"
    root.mkdir()
    outcomes = {"read": 0, "clear error": 0}
    thread = threading.Thread(target=_churn, args=(root, stop, churn_errors), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            try:
                env = read_environment(str(root / "churn"), timeout=2.0)
            except EnvironmentReadError as exc:
                assert str(exc).strip() and "\n" not in str(exc)
                outcomes["clear error"] += 1
            else:
                assert env.prefix == str(root / "churn")
                outcomes["read"] += 1
    finally:
        stop.set()
        thread.join(10)
    assert outcomes["read"] + outcomes["clear error"] > 20, outcomes
    assert_cache_sound(cache)


@pytest.mark.timeout(120)
def test_discovery_while_environments_are_deleted(tmp_path: Path, cache: Path) -> None:
    """``envs``-style discovery + reading, with a venv home whose venvs come and go."""
    stop = threading.Event()
    churn_errors: list[BaseException] = []
    home = tmp_path / "workon"
    home.mkdir()
    environ = {"WORKON_HOME": str(home), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    thread = threading.Thread(target=_churn, args=(home, stop, churn_errors), daemon=True)
    thread.start()
    seen = 0
    try:
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            cands = discover(environ=environ, cwd=str(tmp_path), home=str(tmp_path))
            for cand, env, error in read_candidates(cands, environ=environ, timeout=2.0):
                assert env is not None or error, cand
                if error:
                    assert "\n" not in error
            seen += 1
    finally:
        stop.set()
        thread.join(10)
    assert seen > 3


@pytest.mark.timeout(180)
def test_cli_while_the_environment_is_deleted(tmp_path: Path, cache: Path) -> None:
    stop = threading.Event()
    churn_errors: list[BaseException] = []
    thread = threading.Thread(target=_churn, args=(tmp_path, stop, churn_errors), daemon=True)
    thread.start()
    codes: dict[int, int] = {}
    try:
        for _ in range(12):
            procs = [envdoctor("check", str(MLP), "--python", str(tmp_path / "churn"),
                               "--format", "json", "--no-config", cache=cache)
                     for _ in range(4)]
            for proc in procs:
                rc, out, err = finish(proc)
                assert_clean_exit(rc, err)
                if rc in (0, 1):
                    json.loads(out)
                codes[rc] = codes.get(rc, 0) + 1
    finally:
        stop.set()
        thread.join(10)
    assert sum(codes.values()) == 48
    assert_cache_sound(cache)


def test_every_error_here_is_an_envdoctor_error() -> None:
    assert issubclass(ProbeTimeout, EnvdoctorError) and issubclass(ProbeError, EnvdoctorError)
