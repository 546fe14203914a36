"""One lock per environment, so that two envdoctor runs never change one environment at once.

The lock is an advisory lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows) on
``platformdirs.user_data_dir("envdoctor")/locks/<key>.lock``, where ``<key>`` is derived
from the real path of the environment's prefix (:func:`prefix_key`): two paths to one
environment (a symlink, a relative path) share the lock.  The operating system releases it
when the holder exits, however it exits, so a crashed run never leaves a stale lock.  The
holder writes who it is (pid, command, start time) to ``<key>.owner`` for the message of a
run that finds the lock taken.

Only envdoctor honours this lock: a ``pip install`` run by hand meanwhile is not stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Optional

from envdoctor.errors import EnvdoctorError

POLL_SECONDS = 0.2
"""How often a waiting run retries the lock, seconds."""


class LockBusy(EnvdoctorError):
    """Another envdoctor run holds the environment's lock (the CLI exits 1).

    Attributes:
        prefix: the environment prefix.
        owner: what the holder wrote about itself (``pid``, ``command``, ``since``), may be
            empty.
    """

    def __init__(self, prefix: str, owner: dict[str, object], waited: float) -> None:
        who = ""
        if owner:
            who = f" (pid {owner.get('pid', '?')}, `{owner.get('command', '?')}`, since " \
                  f"{owner.get('since', '?')})"
        waited_text = f" after waiting {waited:g} s" if waited else ""
        super().__init__(
            f"{prefix} is being changed by another envdoctor run{who}; nothing was changed"
            f"{waited_text}. Try again when it has finished, or pass --wait SECONDS."
        )
        self.prefix = prefix
        self.owner = owner


def data_dir() -> Path:
    """Return envdoctor's user data directory (``platformdirs.user_data_dir("envdoctor")``).

    On Linux ``$XDG_DATA_HOME/envdoctor`` (default ``~/.local/share/envdoctor``).
    """
    import platformdirs

    return Path(platformdirs.user_data_dir("envdoctor"))


def prefix_key(prefix: str) -> str:
    """Return 16 hex digits identifying an environment by the real path of its prefix."""
    real = os.path.normcase(os.path.realpath(prefix))
    return hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def lock_path(prefix: str, root: Optional[Path] = None) -> Path:
    """Return the lock file of the environment at ``prefix`` (it may not exist yet)."""
    return (root or data_dir()) / "locks" / f"{prefix_key(prefix)}.lock"


def _try_lock(handle: IO[bytes]) -> bool:
    """Take the lock without blocking; False when another process holds it."""
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(handle: IO[bytes]) -> None:
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import msvcrt

        with contextlib.suppress(OSError):
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    import fcntl

    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _read_owner(path: Path) -> dict[str, object]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


@contextlib.contextmanager
def environment_lock(
    prefix: str,
    *,
    wait: float = 0.0,
    command: str = "",
    root: Optional[Path] = None,
) -> Iterator[Path]:
    """Hold the lock of the environment at ``prefix`` for the ``with`` block.

    Args:
        prefix: the environment's prefix (``sys.prefix``).
        wait: seconds to wait for another run to release it; 0 refuses at once.
        command: what this run does, for the message another run prints.
        root: the data directory (default :func:`data_dir`).

    Yields:
        The lock file's path.

    Raises:
        LockBusy: another process still holds the lock after ``wait`` seconds.
        OSError: the lock file cannot be created.
    """
    path = lock_path(prefix, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    owner_path = path.with_suffix(".owner")
    deadline = time.monotonic() + max(0.0, wait)
    started = time.monotonic()
    handle = open(path, "a+b")  # noqa: SIM115 - held for the whole block
    try:
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                waited = round(time.monotonic() - started, 1)
                raise LockBusy(prefix, _read_owner(owner_path), waited)
            time.sleep(POLL_SECONDS)
        try:
            owner = {
                "pid": os.getpid(),
                "command": command or " ".join(sys.argv),
                "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "prefix": prefix,
            }
            tmp = owner_path.with_suffix(f".owner.{os.getpid()}")
            tmp.write_text(json.dumps(owner), encoding="utf-8")
            os.replace(tmp, owner_path)
            yield path
        finally:
            with contextlib.suppress(OSError):
                owner_path.unlink()
            _unlock(handle)
    finally:
        handle.close()
