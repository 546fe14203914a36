"""On-disk cache of probe answers, so each interpreter is run at most once.

Entries live in ``platformdirs.user_cache_dir("envdoctor")/probe/<key>.json`` (on Linux
``$XDG_CACHE_HOME/envdoctor/probe``, default ``~/.cache/envdoctor/probe``).  The key
is the SHA-256 of: the interpreter path as given (made absolute) and its real path,
the real file's ``st_mtime_ns`` and ``st_size``, the ``st_mtime_ns``/``st_size`` of a
``pyvenv.cfg`` next to it (a venv's ``bin/python`` is a symlink to its base
interpreter, so the real path alone would mix up a venv and its base), and the
SHA-256 of ``_script.py``.  Replacing the interpreter, editing ``pyvenv.cfg`` or
changing the probe script therefore invalidates the entry.

Entries are written atomically (a temporary file in the same directory, then
``os.replace``).  A corrupt or foreign entry is ignored and rewritten; a cache
directory that cannot be created or written just disables caching.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Optional

import platformdirs

from envdoctor.errors import ProbeError, ProbeTimeout
from envdoctor.probe.runner import (
    MAX_STDOUT_BYTES,
    SCRIPT_PATH,
    check_probe_answer,
    run_probe,
)

CACHE_FORMAT = 1
"""Version of the cache entry layout; bump to invalidate every entry."""


def cache_dir() -> Path:
    """Return the directory holding probe cache entries (it may not exist yet).

    Returns:
        ``Path(platformdirs.user_cache_dir("envdoctor")) / "probe"``.
    """
    return Path(platformdirs.user_cache_dir("envdoctor")) / "probe"


@lru_cache(maxsize=4)
def _script_digest(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def script_digest() -> str:
    """Return the SHA-256 of ``_script.py`` as it is on disk now.

    Returns:
        64 lower-case hex digits (recomputed only when the file's mtime or size changes).
    """
    st = SCRIPT_PATH.stat()
    return _script_digest(str(SCRIPT_PATH), st.st_mtime_ns, st.st_size)


def _stat_pair(path: str) -> Optional[list[int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def cache_key_material(python: str) -> dict[str, object]:
    """Return what identifies an interpreter for caching (see the module docstring).

    Args:
        python: the interpreter path.

    Returns:
        A JSON-able dict; two calls give equal dicts exactly when the cache entry applies.

    Raises:
        OSError: the interpreter cannot be stat'ed.
    """
    absolute = os.path.abspath(python)
    real = os.path.realpath(python)
    st = os.stat(real)
    bindir = os.path.dirname(absolute)
    return {
        "format": CACHE_FORMAT,
        "python": absolute,
        "realpath": real,
        "mtime_ns": st.st_mtime_ns,
        "size": st.st_size,
        "pyvenv_cfg": [
            _stat_pair(os.path.join(bindir, "pyvenv.cfg")),
            _stat_pair(os.path.join(os.path.dirname(bindir), "pyvenv.cfg")),
        ],
        "script_sha256": script_digest(),
    }


def cache_key(python: str) -> str:
    """Return the cache file stem for ``python``.

    Args:
        python: the interpreter path.

    Returns:
        The SHA-256 (64 hex digits) of :func:`cache_key_material` as sorted JSON.

    Raises:
        OSError: the interpreter cannot be stat'ed.
    """
    material = json.dumps(cache_key_material(python), sort_keys=True)
    return hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()


def load_cached(python: str, directory: Optional[Path] = None) -> Optional[dict[str, object]]:
    """Return the cached probe answer for ``python``, or None.

    A missing, unreadable, oversized, corrupt or non-matching entry gives None.

    Args:
        python: the interpreter path.
        directory: the cache directory (default :func:`cache_dir`).

    Returns:
        The probe answer as :func:`~envdoctor.probe.runner.run_probe` returned it, or None.
    """
    try:
        material = cache_key_material(python)
        key = cache_key(python)
        path = (directory or cache_dir()) / f"{key}.json"
        with open(path, "rb") as fh:
            data = fh.read(2 * MAX_STDOUT_BYTES + 1)
        if len(data) > 2 * MAX_STDOUT_BYTES:
            return None
        entry = json.loads(data.decode("utf-8"))
        if not isinstance(entry, dict) or entry.get("key") != material:
            return None
        return check_probe_answer(python, entry.get("info"))
    except Exception:
        return None


def store_cached(python: str, info: dict[str, object], directory: Optional[Path] = None) -> bool:
    """Write the probe answer for ``python`` to the cache, atomically.

    Args:
        python: the interpreter path.
        info: the probe answer.
        directory: the cache directory (default :func:`cache_dir`); created if missing.

    Returns:
        True when written; False when the cache is unusable (read-only, not a
        directory, disk full...): caching is then simply skipped.
    """
    tmp: Optional[str] = None
    try:
        target_dir = directory or cache_dir()
        target_dir.mkdir(parents=True, exist_ok=True)
        entry = {"key": cache_key_material(python), "info": info}
        payload = json.dumps(entry, sort_keys=True).encode("utf-8", "surrogateescape")
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=str(target_dir))
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, target_dir / f"{cache_key(python)}.json")
        tmp = None
    except Exception:
        return False
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return True


def load_failure(python: str, directory: Optional[Path] = None) -> Optional[dict[str, object]]:
    """Return the cached failure of ``python`` (``{"kind", "message", "timeout"}``), or None.

    A failure is cached under the same key as a success (path, real path, mtime, size,
    ``pyvenv.cfg``, probe script), so it applies only while the interpreter file is
    unchanged.

    Args:
        python: the interpreter path.
        directory: the cache directory (default :func:`cache_dir`).

    Returns:
        ``kind`` is ``"timeout"`` or ``"error"``, ``message`` the original error text,
        ``timeout`` the limit it was run with (seconds); None when nothing applies.
    """
    try:
        material = cache_key_material(python)
        path = (directory or cache_dir()) / f"{cache_key(python)}.json"
        with open(path, "rb") as fh:
            data = fh.read(64 * 1024 + 1)
        if len(data) > 64 * 1024:
            return None
        entry = json.loads(data.decode("utf-8"))
        if not isinstance(entry, dict) or entry.get("key") != material:
            return None
        failure = entry.get("failure")
        if not isinstance(failure, dict) or failure.get("kind") not in ("timeout", "error"):
            return None
        if not isinstance(failure.get("message"), str):
            return None
        if not isinstance(failure.get("timeout"), (int, float)):
            return None
        return {str(k): v for k, v in failure.items()}
    except Exception:
        return None


def store_failure(
    python: str, kind: str, message: str, timeout: float, directory: Optional[Path] = None
) -> bool:
    """Remember that probing ``python`` failed, keyed like a success (atomic write).

    Args:
        python: the interpreter path.
        kind: ``"timeout"`` or ``"error"``.
        message: the error text to raise again on later runs.
        timeout: the limit it was run with (seconds).
        directory: the cache directory (default :func:`cache_dir`).

    Returns:
        True when written, False when the cache is unusable.
    """
    tmp: Optional[str] = None
    try:
        target_dir = directory or cache_dir()
        target_dir.mkdir(parents=True, exist_ok=True)
        entry = {
            "key": cache_key_material(python),
            "failure": {"kind": kind, "message": message, "timeout": timeout},
        }
        payload = json.dumps(entry, sort_keys=True).encode("utf-8", "surrogateescape")
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=str(target_dir))
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, target_dir / f"{cache_key(python)}.json")
        tmp = None
    except Exception:
        return False
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return True


def probe_interpreter(
    python: str,
    timeout: float = 20.0,
    *,
    use_cache: bool = True,
    directory: Optional[Path] = None,
) -> dict[str, object]:
    """Return the probe answer for ``python``, from the cache or by running it once.

    Args:
        python: the interpreter path.
        timeout: limit for running the interpreter, in seconds.
        use_cache: False to always run the interpreter (the answer is still stored).
        directory: the cache directory (default :func:`cache_dir`).

    Returns:
        The probe answer (see :data:`~envdoctor.probe.runner.REQUIRED_KEYS`).

    Failures are cached too (:func:`store_failure`): while the interpreter file is
    unchanged, a cached error is raised again without running it, and a cached timeout
    is raised again when it was run with at least ``timeout`` seconds (an explicit
    ``--python`` with a longer limit tries again).

    Raises:
        ProbeTimeout: the interpreter did not answer within ``timeout`` seconds (now or
            on an earlier run, cached).
        ProbeError: running it failed (see :func:`~envdoctor.probe.runner.run_probe`).
    """
    if use_cache:
        cached = load_cached(python, directory)
        if cached is not None:
            return cached
        failure = load_failure(python, directory)
        if failure is not None:
            message = f"{failure['message']} (remembered; tried again once {python} changes)"
            if failure["kind"] == "error":
                raise ProbeError(message)
            limit = failure["timeout"]
            assert isinstance(limit, (int, float))
            if limit >= timeout:
                raise ProbeTimeout(message)
    try:
        info = run_probe(python, timeout)
    except ProbeTimeout as exc:
        store_failure(python, "timeout", str(exc), timeout, directory)
        raise
    except ProbeError as exc:
        if os.path.exists(python) and "cannot be run" not in str(exc):
            store_failure(python, "error", str(exc), timeout, directory)
        raise
    store_cached(python, info, directory)
    return info
