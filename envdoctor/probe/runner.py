"""Run the probe script in a target interpreter, safely and with bounds.

The target is started without a shell, with stdin closed, in its own process group
(POSIX), with a cleaned environment (see :func:`clean_child_env`), a timeout in
seconds and a cap on the bytes it may print.  Its answer must be exactly one JSON
object with the keys and types that ``_script.py`` prints; anything else is a
:class:`~envdoctor.errors.ProbeError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Optional

from envdoctor.errors import ProbeError, ProbeTimeout

SCRIPT_PATH = Path(__file__).resolve().with_name("_script.py")
"""The probe script run inside the target interpreter."""

MAX_STDOUT_BYTES = 1024 * 1024
"""Most bytes the probe may print on stdout before it is killed as a flood (bytes)."""

MAX_STDERR_BYTES = 64 * 1024
"""Bytes of stderr kept (the tail) to explain a crash (bytes)."""

PROBE_FLAGS = ("-E", "-s", "-B")
"""Interpreter flags: ignore PYTHON* variables, no user site, write no .pyc files.

``-I`` would be the Python 3 spelling, but Python 2.7 rejects it and the version of
the target is often exactly what we do not know yet; the script drops its own
directory from ``sys.path`` itself, which is what ``-I`` adds on top of ``-E -s``.
"""

REQUIRED_KEYS: dict[str, tuple[type, ...]] = {
    "executable": (str,),
    "prefix": (str,),
    "base_prefix": (str,),
    "version": (str,),
    "version_info": (list,),
    "implementation": (str,),
    "arch": (str,),
    "platform": (str,),
    "site_packages": (list,),
    "user_site": (str, type(None)),
}
"""Keys the probe prints and the JSON types each may have."""

_R_LIB_RE = re.compile(r"(^|/)R/lib/?$")


_SYSTEM_LIB_DIRS = frozenset(
    {
        "/lib",
        "/lib64",
        "/usr/lib",
        "/usr/lib64",
        "/usr/local/lib",
        "/lib/x86_64-linux-gnu",
        "/usr/lib/x86_64-linux-gnu",
        "/lib/aarch64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
    }
)
"""Directories the dynamic loader searches by default; R's ldpaths lists them first."""


def clean_child_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of ``environ`` fit for running a Python interpreter.

    R (``/usr/lib/R/etc/ldpaths``) puts its own library directory in front of
    ``LD_LIBRARY_PATH`` (``R_HOME/lib``, e.g. ``/usr/lib/R/lib``), which can make a
    child Python load R's copies of shared libraries.  Those entries are removed:
    ``/usr/lib/R/lib``, any entry ending in ``/R/lib``, and ``$R_HOME/lib``.  R's
    ``ldpaths`` also adds the system library directories (``/usr/lib/x86_64-linux-gnu``,
    ``/lib/x86_64-linux-gnu``, ``/usr/lib``, ``/usr/local/lib``, ...) and Java's
    ``lib/server``; listed in ``LD_LIBRARY_PATH`` they win over a pyenv Python's own
    RUNPATH, so it loads Debian's ``libpython3.X.so`` instead of its own (seen with
    Debian's R 4.2.2 and pyenv 3.11.7: ``sys.version`` says 3.11.2).  The dynamic loader
    searches those system directories anyway, so they are removed as well.  Empty
    entries (which mean "the current directory") are removed too; when nothing is
    left the variable is dropped.  Every other variable is kept as is.

    Args:
        environ: the environment the child would otherwise inherit.

    Returns:
        A new ``dict[str, str]``; ``environ`` is not modified.
    """
    env = dict(environ)
    value = env.get("LD_LIBRARY_PATH")
    if value is None:
        return env
    r_home = env.get("R_HOME", "").rstrip("/")
    r_lib = os.path.normpath(r_home + "/lib") if r_home else None
    kept: list[str] = []
    for entry in value.split(":"):
        if not entry:
            continue
        norm = os.path.normpath(entry)
        if norm == "/usr/lib/R/lib" or _R_LIB_RE.search(norm) or (r_lib and norm == r_lib):
            continue
        if norm in _SYSTEM_LIB_DIRS or norm.endswith("/lib/server"):
            continue
        kept.append(entry)
    if kept:
        env["LD_LIBRARY_PATH"] = ":".join(kept)
    else:
        del env["LD_LIBRARY_PATH"]
    return env


def _pump(
    stream: IO[bytes],
    sink: bytearray,
    cap: int,
    overflow: Optional[threading.Event],
) -> None:
    """Copy ``stream`` into ``sink`` in chunks until EOF.

    With ``overflow`` set, reading stops and ``overflow`` is set once ``sink`` passes
    ``cap`` bytes; without it only the last ``cap`` bytes are kept.
    """
    try:
        while True:
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                return
            sink.extend(chunk)
            if len(sink) > cap:
                if overflow is None:
                    del sink[: len(sink) - cap]
                else:
                    overflow.set()
                    return
    except (OSError, ValueError):
        return


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process and, on POSIX, its whole process group (started with a new session)."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError, OSError):
        with contextlib.suppress(OSError):
            proc.kill()


def _last_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    if not text:
        return "(no output on stderr)"
    line = text.splitlines()[-1].strip()
    return line[:300]


def check_probe_answer(python: str, info: object) -> dict[str, object]:
    """Check that a decoded probe answer has every key, with the right JSON types.

    Args:
        python: the interpreter path, used in error messages.
        info: the decoded JSON value.

    Returns:
        ``info`` as a ``dict[str, object]``.

    Raises:
        ProbeError: not an object, a key missing, a value of the wrong type, or
            ``version`` disagreeing with ``version_info`` (a "lie").
    """
    if not isinstance(info, dict):
        raise ProbeError(f"{python}: the probe printed JSON that is not an object")
    missing = sorted(k for k in REQUIRED_KEYS if k not in info)
    if missing:
        raise ProbeError(
            f"{python}: the probe's answer lacks the key(s) {', '.join(missing)};"
            " not the answer of envdoctor's probe script"
        )
    for key, types in REQUIRED_KEYS.items():
        if not isinstance(info[key], types):
            raise ProbeError(
                f"{python}: the probe's answer has a {type(info[key]).__name__} for {key!r}"
            )
    vinfo = info["version_info"]
    assert isinstance(vinfo, list)
    if len(vinfo) < 3 or not all(isinstance(v, int) and not isinstance(v, bool) for v in vinfo[:3]):
        raise ProbeError(f"{python}: the probe's answer has a malformed 'version_info'")
    site_packages = info["site_packages"]
    assert isinstance(site_packages, list)
    if not all(isinstance(p, str) for p in site_packages):
        raise ProbeError(f"{python}: the probe's answer has a non-string in 'site_packages'")
    version = info["version"]
    assert isinstance(version, str)
    if not version.startswith(f"{vinfo[0]}.{vinfo[1]}"):
        raise ProbeError(
            f"{python}: the probe's answer is inconsistent: version {version!r}"
            f" but version_info {vinfo[:3]}"
        )
    return {str(k): v for k, v in info.items()}


def parse_probe_output(python: str, data: bytes) -> dict[str, object]:
    """Decode what the probe printed: exactly one JSON object with the expected keys.

    Lines that are not JSON objects (e.g. a banner printed by a ``sitecustomize``) are
    ignored; zero or several JSON objects are an error.

    Args:
        python: the interpreter path, used in error messages.
        data: the raw stdout of the probe (bytes).

    Returns:
        The decoded object, keys as printed by ``_script.py``.

    Raises:
        ProbeError: undecodable bytes, no JSON object, several JSON objects, or an
            object with missing keys / wrong types (a "lie").
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProbeError(f"{python}: the probe printed bytes that are not UTF-8") from None
    stripped = text.strip()
    if not stripped:
        raise ProbeError(f"{python}: the probe printed nothing on stdout")
    try:
        return check_probe_answer(python, json.loads(stripped))
    except ValueError:
        pass
    objects: list[object] = []
    for raw in stripped.splitlines():
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            objects.append(json.loads(line))
        except ValueError:
            continue
    if not objects:
        first = stripped.splitlines()[0][:120]
        raise ProbeError(f"{python}: the probe printed something that is not JSON: {first!r}")
    if len(objects) > 1:
        raise ProbeError(f"{python}: the probe printed {len(objects)} JSON objects, not one")
    return check_probe_answer(python, objects[0])


def run_probe(python: str, timeout: float = 20.0) -> dict[str, object]:
    """Run ``_script.py`` in the interpreter ``python`` and return its answer.

    The interpreter is run as ``python -E -s -B _script.py`` without a shell, stdin
    closed (``DEVNULL``), in a new session (its own process group on POSIX), with
    :func:`clean_child_env` applied to ``os.environ``.  At most
    :data:`MAX_STDOUT_BYTES` of stdout are accepted; the tail of stderr is kept to
    explain a crash.  On timeout or flood the whole process group is killed.

    Args:
        python: path of the interpreter to run.
        timeout: wall-clock limit for the whole run, in seconds.

    Returns:
        The decoded JSON object (see :data:`REQUIRED_KEYS`).

    Raises:
        ProbeTimeout: the interpreter did not finish within ``timeout`` seconds.
        ProbeError: it cannot be started, it exited with a non-zero code (the message
            gives the code and the last stderr line), it printed more than
            :data:`MAX_STDOUT_BYTES`, or its output is not exactly one JSON object of
            the expected shape.
    """
    if not os.path.exists(python):
        raise ProbeError(f"{python}: no such file")
    if os.path.isdir(python):
        raise ProbeError(f"{python}: is a directory, not an interpreter")
    # absolute: the child runs with the script directory as its working directory
    cmd = [os.path.abspath(python), *PROBE_FLAGS, str(SCRIPT_PATH)]
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_child_env(os.environ),
            cwd=str(SCRIPT_PATH.parent),
            start_new_session=(os.name == "posix"),
            close_fds=True,
        )
    except OSError as exc:
        raise ProbeError(f"{python}: cannot be run: {exc.strerror or exc}") from None
    assert proc.stdout is not None
    assert proc.stderr is not None
    out = bytearray()
    err = bytearray()
    flood = threading.Event()
    t_out = threading.Thread(
        target=_pump, args=(proc.stdout, out, MAX_STDOUT_BYTES, flood), daemon=True
    )
    t_err = threading.Thread(
        target=_pump, args=(proc.stderr, err, MAX_STDERR_BYTES, None), daemon=True
    )
    t_out.start()
    t_err.start()
    timed_out = False
    try:
        while True:
            remaining = timeout - (time.monotonic() - start)
            if remaining <= 0:
                timed_out = True
                break
            try:
                proc.wait(timeout=min(remaining, 0.05))
                break
            except subprocess.TimeoutExpired:
                if flood.is_set():
                    break
        if timed_out or flood.is_set():
            kill_tree(proc)
        else:
            # The interpreter exited; a child it left behind may still hold the pipes.
            for t in (t_out, t_err):
                t.join(max(0.0, min(1.0, timeout - (time.monotonic() - start))))
            if t_out.is_alive() or t_err.is_alive():
                kill_tree(proc)
    finally:
        if proc.poll() is None:
            kill_tree(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        t_out.join(1.0)
        t_err.join(1.0)
        for stream in (proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()
    elapsed = time.monotonic() - start
    if timed_out:
        raise ProbeTimeout(
            f"{python}: did not answer in {timeout:g} s (killed after {elapsed:.1f} s)"
        )
    if flood.is_set():
        raise ProbeError(
            f"{python}: flooded stdout with more than {MAX_STDOUT_BYTES} bytes; killed"
            " (not a Python interpreter answering envdoctor's probe?)"
        )
    rc = proc.returncode
    if rc != 0:
        if rc is not None and rc < 0:
            try:
                what = f"was killed by signal {signal.Signals(-rc).name}"
            except ValueError:
                what = f"was killed by signal {-rc}"
        else:
            what = f"exited with code {rc}"
        raise ProbeError(f"{python}: {what}: {_last_line(bytes(err))}")
    return parse_probe_output(python, bytes(out))
