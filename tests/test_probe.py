"""Tests of envdoctor.probe: the probe script, the bounded runner and the on-disk cache."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from envdoctor.errors import EnvironmentReadError, ProbeError, ProbeTimeout
from envdoctor.probe import (
    MAX_STDOUT_BYTES,
    SCRIPT_PATH,
    cache_dir,
    cache_key,
    clean_child_env,
    load_cached,
    parse_probe_output,
    probe_interpreter,
    run_probe,
)

PYENV = Path("/root/.pyenv/versions")


def canned_answer(prefix: str = "/opt/fake", version: str = "3.11.4") -> dict[str, object]:
    major, minor, micro = (int(x) for x in version.split("."))
    return {
        "executable": f"{prefix}/bin/python",
        "prefix": prefix,
        "base_prefix": prefix,
        "version": version,
        "version_info": [major, minor, micro, "final", 0],
        "implementation": "cpython",
        "arch": "x86_64",
        "platform": "linux",
        "site_packages": [f"{prefix}/lib/python{major}.{minor}/site-packages"],
        "user_site": None,
    }


def write_fake(path: Path, body: str) -> Path:
    """Write an executable ``#!/bin/sh`` script standing in for an interpreter."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def counting_fake(
    tmp_path: Path, answer: dict[str, object], name: str = "python"
) -> tuple[Path, Path]:
    """A fake interpreter that appends one line per run to a log and prints ``answer``."""
    log = tmp_path / f"{name}.runs.log"
    canned = tmp_path / f"{name}.answer.json"
    canned.write_text(json.dumps(answer))
    fake = write_fake(
        tmp_path / "fakebin" / name,
        f'echo "run $*" >> "{log}"\ncat "{canned}"',
    )
    return fake, log


def runs(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache_home = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    return cache_home


# --------------------------------------------------------------------------------------------
# the real script in real interpreters


@pytest.mark.parametrize("version", ["2.7.18", "3.6.15", "3.13.0"])
def test_script_runs_in_real_interpreters(version: str) -> None:
    python = PYENV / version / "bin" / "python"
    if not python.exists():
        pytest.skip(f"{python} not installed")
    info = run_probe(str(python), timeout=30)
    assert info["version"] == version
    assert info["version_info"][:3] == [int(x) for x in version.split(".")]  # type: ignore[index]
    assert info["prefix"] == str(PYENV / version)
    assert info["base_prefix"] == str(PYENV / version)
    assert info["implementation"] == "cpython"
    assert info["platform"].startswith("linux")  # type: ignore[union-attr]
    xy = ".".join(version.split(".")[:2])
    assert str(PYENV / version / "lib" / f"python{xy}" / "site-packages") in info["site_packages"]  # type: ignore[operator]
    assert isinstance(info["user_site"], str)


def test_script_is_python2_syntax_and_stdlib_only() -> None:
    python2 = PYENV / "2.7.18" / "bin" / "python"
    if not python2.exists():
        pytest.skip("python 2.7 not installed")
    subprocess.run(
        [
            str(python2),
            "-c",
            "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')",
            str(SCRIPT_PATH),
        ],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    text = SCRIPT_PATH.read_text()
    for forbidden in ('f"', "f'", ":=", "import typing", "from typing import"):
        # typing is imported only under "if False:" for type checkers
        if forbidden.startswith(("import typing", "from typing")):
            assert text.count(forbidden) <= 1
        else:
            assert forbidden not in text


def test_probe_of_a_venv_reports_its_prefix(tmp_path: Path) -> None:
    base = PYENV / "3.11.7" / "bin" / "python"
    if not base.exists():
        pytest.skip("python 3.11.7 not installed")
    venv = tmp_path / "venv"
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(venv)], check=True)
    info = run_probe(str(venv / "bin" / "python"))
    assert info["prefix"] == str(venv)
    assert info["base_prefix"] == str(PYENV / "3.11.7")
    assert info["site_packages"] == [str(venv / "lib" / "python3.11" / "site-packages")]


# --------------------------------------------------------------------------------------------
# failure modes


def test_hang_is_a_timeout_within_the_bound(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    fake = write_fake(tmp_path / "sleeper", f'sleep 60 &\necho $! > "{pidfile}"\nwait')
    start = time.monotonic()
    with pytest.raises(ProbeTimeout, match="did not answer in 1 s"):
        run_probe(str(fake), timeout=1.0)
    assert time.monotonic() - start < 5
    # the whole process group was killed: the background sleep is gone (or a zombie)
    pid = int(pidfile.read_text())
    time.sleep(0.2)
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        state = [ln for ln in status.read_text().splitlines() if ln.startswith("State:")]
        assert state and "Z" in state[0]


def test_timeout_is_a_probe_error_and_an_environment_read_error() -> None:
    assert issubclass(ProbeTimeout, ProbeError)
    assert issubclass(ProbeError, EnvironmentReadError)


def test_stdout_flood_is_reported_and_killed(tmp_path: Path) -> None:
    fake = write_fake(tmp_path / "flood", "yes '{\"a\": 1}'")
    start = time.monotonic()
    with pytest.raises(ProbeError, match="flooded stdout") as info:
        run_probe(str(fake), timeout=20)
    assert not isinstance(info.value, ProbeTimeout)
    assert time.monotonic() - start < 10
    assert str(MAX_STDOUT_BYTES) in str(info.value)


def test_crash_reports_exit_code_and_last_stderr_line(tmp_path: Path) -> None:
    fake = write_fake(
        tmp_path / "crash",
        'echo "Traceback (most recent call last):" >&2\n'
        'echo "ImportError: libpython3.11.so.1.0: cannot open shared object file" >&2\nexit 1',
    )
    with pytest.raises(ProbeError) as info:
        run_probe(str(fake))
    msg = str(info.value)
    assert "exited with code 1" in msg
    assert "ImportError: libpython3.11.so.1.0: cannot open shared object file" in msg
    assert "\n" not in msg


def test_killed_by_signal(tmp_path: Path) -> None:
    fake = write_fake(tmp_path / "suicide", "kill -9 $$")
    with pytest.raises(ProbeError, match="killed by signal SIGKILL"):
        run_probe(str(fake))


def test_invalid_json(tmp_path: Path) -> None:
    fake = write_fake(tmp_path / "garbage", "echo 'Python 3.11.7 {not json'")
    with pytest.raises(ProbeError, match="not JSON"):
        run_probe(str(fake))


def test_empty_output(tmp_path: Path) -> None:
    fake = write_fake(tmp_path / "silent", "exit 0")
    with pytest.raises(ProbeError, match="printed nothing"):
        run_probe(str(fake))


def test_json_missing_keys_is_a_lie(tmp_path: Path) -> None:
    fake = write_fake(
        tmp_path / "liar", 'echo \'{"executable": "/usr/bin/python3", "version": "3.11.2"}\''
    )
    with pytest.raises(ProbeError, match="lacks the key") as info:
        run_probe(str(fake))
    assert "prefix" in str(info.value)


def test_json_wrong_types_is_a_lie(tmp_path: Path) -> None:
    answer = canned_answer()
    answer["version_info"] = "3.11.4"
    fake = write_fake(tmp_path / "liar2", f"echo '{json.dumps(answer)}'")
    with pytest.raises(ProbeError, match="version_info"):
        run_probe(str(fake))
    answer = canned_answer()
    answer["version"] = "2.7.18"  # disagrees with version_info
    fake = write_fake(tmp_path / "liar3", f"echo '{json.dumps(answer)}'")
    with pytest.raises(ProbeError, match="inconsistent"):
        run_probe(str(fake))


def test_two_json_objects_rejected_banner_tolerated() -> None:
    good = json.dumps(canned_answer()).encode()
    with pytest.raises(ProbeError, match="2 JSON objects"):
        parse_probe_output("py", good + b"\n" + good + b"\n")
    info = parse_probe_output("py", b"Welcome from sitecustomize\n" + good + b"\n")
    assert info["version"] == "3.11.4"
    with pytest.raises(ProbeError, match="not UTF-8"):
        parse_probe_output("py", b"\xff\xfe{")
    with pytest.raises(ProbeError, match="not an object"):
        parse_probe_output("py", b"[1, 2]")


def test_stdin_is_closed(tmp_path: Path) -> None:
    # `cat` would wait forever on an inherited terminal or pipe; DEVNULL gives EOF at once.
    answer = tmp_path / "a.json"
    answer.write_text(json.dumps(canned_answer()))
    fake = write_fake(tmp_path / "reader", f'cat > /dev/null\ncat "{answer}"')
    assert run_probe(str(fake), timeout=10)["version"] == "3.11.4"


def test_missing_and_unrunnable_interpreters(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="no such file"):
        run_probe(str(tmp_path / "nope"))
    with pytest.raises(ProbeError, match="is a directory"):
        run_probe(str(tmp_path))
    noexec = tmp_path / "noexec"
    noexec.write_text("#!/bin/sh\necho hi\n")
    noexec.chmod(0o644)
    with pytest.raises(ProbeError, match="cannot be run"):
        run_probe(str(noexec))


def test_flags_and_script_are_passed(tmp_path: Path) -> None:
    fake, log = counting_fake(tmp_path, canned_answer())
    run_probe(str(fake))
    line = log.read_text().strip()
    assert line == f"run -E -s -B {SCRIPT_PATH}"


# --------------------------------------------------------------------------------------------
# environment cleaning


def test_clean_child_env_strips_r_library_dirs() -> None:
    env = clean_child_env(
        {
            "LD_LIBRARY_PATH": (
                "/usr/lib/R/lib:/opt/R/4.3.1/lib/R/lib::/usr/local/cuda/lib64:/srv/rhome/lib"
            ),
            "R_HOME": "/srv/rhome",
            "HOME": "/home/u",
        }
    )
    assert env["LD_LIBRARY_PATH"] == "/usr/local/cuda/lib64"
    assert env["HOME"] == "/home/u"
    assert env["R_HOME"] == "/srv/rhome"


def test_clean_child_env_drops_variable_when_only_r_entries() -> None:
    env = clean_child_env({"LD_LIBRARY_PATH": "/usr/lib/R/lib/", "PATH": "/usr/bin"})
    assert "LD_LIBRARY_PATH" not in env
    assert env == {"PATH": "/usr/bin"}
    assert clean_child_env({"PATH": "/bin"}) == {"PATH": "/bin"}
    keep = {"LD_LIBRARY_PATH": "/opt/Rtools/library:/opt/lib"}
    assert clean_child_env(keep) == keep


def test_child_sees_cleaned_ld_library_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "ld.log"
    answer = tmp_path / "a.json"
    answer.write_text(json.dumps(canned_answer()))
    fake = write_fake(tmp_path / "ldpy", f'echo "$LD_LIBRARY_PATH" > "{log}"\ncat "{answer}"')
    monkeypatch.setenv("LD_LIBRARY_PATH", "/usr/lib/R/lib:/opt/cuda/lib64")
    run_probe(str(fake))
    assert log.read_text().strip() == "/opt/cuda/lib64"


# --------------------------------------------------------------------------------------------
# cache


def test_cache_dir_follows_platformdirs(_isolated_cache: Path) -> None:
    assert cache_dir() == _isolated_cache / "envdoctor" / "probe"


def test_cache_runs_interpreter_once(tmp_path: Path) -> None:
    fake, log = counting_fake(tmp_path, canned_answer())
    first = probe_interpreter(str(fake))
    assert runs(log) == 1
    second = probe_interpreter(str(fake))
    assert runs(log) == 1
    assert first == second
    files = list(cache_dir().glob("*.json"))
    assert [f.name for f in files] == [f"{cache_key(str(fake))}.json"]
    assert not list(cache_dir().glob(".tmp-*"))  # atomic write left no temporary file
    # use_cache=False runs again
    probe_interpreter(str(fake), use_cache=False)
    assert runs(log) == 2


def test_cache_invalidated_when_interpreter_changes(tmp_path: Path) -> None:
    fake, log = counting_fake(tmp_path, canned_answer())
    probe_interpreter(str(fake))
    st = fake.stat()
    os.utime(fake, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    probe_interpreter(str(fake))
    assert runs(log) == 2


def test_cache_keys_on_path_not_only_realpath(tmp_path: Path) -> None:
    fake, log = counting_fake(tmp_path, canned_answer())
    link = tmp_path / "venv" / "bin" / "python"
    link.parent.mkdir(parents=True)
    link.symlink_to(fake)
    assert cache_key(str(link)) != cache_key(str(fake))
    probe_interpreter(str(fake))
    probe_interpreter(str(link))
    assert runs(log) == 2


def test_corrupt_cache_file_is_ignored_and_rewritten(tmp_path: Path) -> None:
    fake, log = counting_fake(tmp_path, canned_answer())
    probe_interpreter(str(fake))
    entry = cache_dir() / f"{cache_key(str(fake))}.json"
    entry.write_text("{ this is not json")
    assert load_cached(str(fake)) is None
    info = probe_interpreter(str(fake))
    assert runs(log) == 2
    assert info["version"] == "3.11.4"
    assert load_cached(str(fake)) == info  # rewritten
    # a well-formed entry with a lying answer is ignored too
    entry.write_text(
        json.dumps({"key": json.loads(entry.read_text())["key"], "info": {"version": "9"}})
    )
    assert load_cached(str(fake)) is None


def test_unwritable_cache_disables_caching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Running as root ignores permission bits, so make the cache path a regular file.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    fake, log = counting_fake(tmp_path, canned_answer())
    assert probe_interpreter(str(fake))["version"] == "3.11.4"
    assert probe_interpreter(str(fake))["version"] == "3.11.4"
    assert runs(log) == 2


def test_read_only_cache_dir_disables_caching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import envdoctor.probe.cache as cache_mod

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(cache_mod.tempfile, "mkstemp", refuse)
    fake, log = counting_fake(tmp_path, canned_answer())
    probe_interpreter(str(fake))
    probe_interpreter(str(fake))
    assert runs(log) == 2
    assert not list(cache_dir().glob("*.json"))


def test_probe_errors_are_cached_until_the_file_changes(tmp_path: Path) -> None:
    log = tmp_path / "crash.log"
    fake = write_fake(tmp_path / "crash", f'echo x >> "{log}"\nexit 3')
    for _ in range(2):
        with pytest.raises(ProbeError, match="exited with code 3"):
            probe_interpreter(str(fake))
    assert runs(log) == 1
    fake.write_text(fake.read_text() + "# changed\n")
    with pytest.raises(ProbeError, match="exited with code 3"):
        probe_interpreter(str(fake))
    assert runs(log) == 2


def test_cached_timeout_is_retried_with_a_longer_limit(tmp_path: Path) -> None:
    log = tmp_path / "hang.log"
    fake = write_fake(tmp_path / "hang", f'echo x >> "{log}"\nexec sleep 600')
    for _ in range(2):
        with pytest.raises(ProbeTimeout, match="did not answer in 0.5 s"):
            probe_interpreter(str(fake), 0.5)
    assert runs(log) == 1
    with pytest.raises(ProbeTimeout, match="did not answer in 1 s"):
        probe_interpreter(str(fake), 1.0)
    assert runs(log) == 2


def test_relative_interpreter_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, log = counting_fake(tmp_path, canned_answer())
    monkeypatch.chdir(tmp_path)
    assert run_probe(os.path.relpath(fake))["version"] == "3.11.4"


def test_clean_child_env_strips_system_lib_dirs_r_puts_first() -> None:
    """R's ldpaths puts the system lib dir first; with it a pyenv Python loads Debian's libpython."""
    env = clean_child_env(
        {
            "LD_LIBRARY_PATH": "/usr/lib/R/lib:/usr/lib/x86_64-linux-gnu:"
            "/usr/lib/jvm/default-java/lib/server:/opt/cuda/lib64",
            "R_HOME": "/usr/lib/R",
        }
    )
    assert env["LD_LIBRARY_PATH"] == "/opt/cuda/lib64"


def test_pyenv_python_reports_its_own_version_with_r_ld_library_path() -> None:
    """Real: pyenv 3.11.7 with R's LD_LIBRARY_PATH loads Debian's libpython unless cleaned."""
    import os
    import subprocess

    py = "/root/.pyenv/versions/3.11.7/bin/python3.11"
    if not (os.path.exists(py) and os.path.exists("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0")):
        pytest.skip("needs pyenv 3.11.7 and Debian's libpython3.11")
    dirty = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": "/usr/lib/R/lib:/usr/lib/x86_64-linux-gnu"}
    code = "import platform; print(platform.python_version())"
    clean = subprocess.run([py, "-c", code], env=clean_child_env(dirty), capture_output=True, text=True)
    assert clean.stdout.strip() == "3.11.7"
