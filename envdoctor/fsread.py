"""Bounded file-system reads that never raise and say why something could not be read.

A leaf module (imports nothing of envdoctor): discovery uses it as
:mod:`envdoctor.discovery._fs`, and the warm path of ``envdoctor which --for-r`` imports it
alone, without the discovery package.

Every discovery source walks directories that may be missing, dangling, unreadable or
hostile (a ``pyvenv.cfg`` of a gigabyte, a file where a directory should be).  These
helpers turn every :class:`OSError` into a value the caller can report.

They are also discovery's only contact with the file system, so a walk can be recorded
(:func:`recording`): each observation (what was asked of which path, and a fingerprint of
the answer) goes into a journal, and :func:`still_true` later says, by asking the same
questions again, whether the walk would see the same thing.  The warm path of
``envdoctor which --for-r`` (:mod:`envdoctor.rlang.which_cache`) uses it instead of walking.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat as _stat
from collections.abc import Callable, Iterator, Sequence
from typing import Optional, Union

Observation = tuple[str, str, object]
"""``(operation, path, fingerprint of the answer)``: one entry of a journal."""

_JOURNAL: list[Optional[list[Observation]]] = [None]
"""The journal being recorded, if any (see :func:`recording`): a one-item holder."""


def _note(op: str, path: str, answer: object) -> None:
    journal = _JOURNAL[0]
    if journal is not None:
        journal.append((op, path, answer))


def _digest(data: Union[str, bytes, Sequence[str]]) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    elif not isinstance(data, bytes):
        data = "\0".join(data).encode("utf-8", "surrogateescape")
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


@contextlib.contextmanager
def recording() -> Iterator[list[Observation]]:
    """Record every observation made through this module while the block runs.

    Yields:
        The journal (a list that fills as the walk goes; JSON-serializable entries).
    """
    previous = _JOURNAL[0]
    journal: list[Observation] = []
    _JOURNAL[0] = journal
    try:
        yield journal
    finally:
        _JOURNAL[0] = previous


def _fingerprint(op: str, path: str) -> object:
    """Ask ``op`` of ``path`` again, unrecorded, and return the fingerprint of the answer."""
    saved = _JOURNAL[0]
    _JOURNAL[0] = None
    try:
        if op == "listdir":
            found = listdir(path)
            return _digest(found) if isinstance(found, list) else type(found).__name__
        if op in ("isdir", "isfile", "lexists", "islink", "x_ok"):
            return {"isdir": isdir, "isfile": isfile, "lexists": lexists, "islink": islink,
                    "x_ok": x_ok}[op](path)
        if op in ("norm", "realpath"):
            return norm(path) if op == "norm" else realpath(path)
        if op.startswith("read_small:"):
            text = read_small(path, int(op.split(":", 1)[1]))
            return None if text is None else _digest(text)
        if op.startswith("read_head:"):
            head = read_head(path, int(op.split(":", 1)[1]))
            return _digest(head) if isinstance(head, bytes) else type(head).__name__
        if op in ("stat", "lstat"):
            return _stat_print(path, op == "lstat")
        if op == "readlink":
            try:
                return os.readlink(path)
            except (OSError, ValueError) as exc:
                return type(exc).__name__
    finally:
        _JOURNAL[0] = saved
    return ("unknown operation", op)


def still_true(journal: Sequence[Sequence[object]]) -> bool:
    """True when every observation of ``journal`` gives the same answer now.

    Args:
        journal: entries recorded by :func:`recording` (possibly read back from JSON).

    Returns:
        False at the first answer that differs (or a malformed entry).
    """
    try:
        for op, path, answer in journal:
            now = _fingerprint(str(op), str(path))
            if now != answer and not (isinstance(now, tuple) and list(now) == answer):
                return False
    except (TypeError, ValueError):
        return False
    return True


def _stat_print(path: str, link: bool) -> object:
    try:
        st = os.lstat(path) if link else os.stat(path)
    except (OSError, ValueError) as exc:
        return type(exc).__name__
    return [_stat.S_IFMT(st.st_mode), st.st_mode & 0o777, st.st_size, st.st_mtime_ns]


def stat(path: str, *, follow: bool = True) -> os.stat_result:
    """``os.stat`` (``os.lstat`` with ``follow=False``), recorded; raises like them."""
    try:
        result = os.stat(path) if follow else os.lstat(path)
    except (OSError, ValueError) as exc:
        _note("stat" if follow else "lstat", path, type(exc).__name__)
        raise
    _note("stat" if follow else "lstat", path,
          [_stat.S_IFMT(result.st_mode), result.st_mode & 0o777, result.st_size,
           result.st_mtime_ns])
    return result


def readlink(path: str) -> str:
    """``os.readlink``, recorded; raises like it."""
    try:
        target = os.readlink(path)
    except (OSError, ValueError) as exc:
        _note("readlink", path, type(exc).__name__)
        raise
    _note("readlink", path, target)
    return target


def x_ok(path: str) -> bool:
    """``os.access(path, os.X_OK)``, recorded."""
    try:
        ok = os.access(path, os.X_OK)
    except (OSError, ValueError):
        ok = False
    _note("x_ok", path, ok)
    return ok


def realpath(path: str) -> str:
    """``os.path.realpath``, recorded (the absolute path when it fails)."""
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        real = os.path.abspath(path)
    _note("realpath", path, real)
    return real

MAX_SMALL_FILE_BYTES = 256 * 1024
"""Largest ``environments.txt`` / ``.condarc`` / ``.python-version`` / ``pyproject.toml``
read (bytes); bigger files are treated as unreadable."""

_listdir = os.listdir
"""The directory lister (tests replace it to simulate permission errors when run as root)."""


def listdir(path: str) -> Union[list[str], OSError]:
    """List a directory, sorted, or return the error.

    Args:
        path: the directory.

    Returns:
        The sorted entry names, or the :class:`OSError` raised while listing
        (``FileNotFoundError``, ``NotADirectoryError``, ``PermissionError``...).
    """
    try:
        found: Union[list[str], OSError] = sorted(_listdir(path))
    except OSError as exc:
        found = exc
    except ValueError as exc:  # embedded NUL in a path read from a file
        found = OSError(str(exc))
    if _JOURNAL[0] is not None:
        _note("listdir", path, _digest(found) if isinstance(found, list) else
              type(found).__name__)
    return found


def entries(path: str) -> list[str]:
    """List a directory, sorted; an unreadable or missing one gives ``[]``.

    Args:
        path: the directory.

    Returns:
        The sorted entry names.
    """
    found = listdir(path)
    return found if isinstance(found, list) else []


def _ask(op: str, test: Callable[[str], bool], path: str) -> bool:
    """Run a yes/no file test that is False instead of raising, and record it."""
    try:
        answer = test(path)
    except (OSError, ValueError):
        answer = False
    _note(op, path, answer)
    return answer


def isdir(path: str) -> bool:
    """``os.path.isdir`` that is False instead of raising."""
    return _ask("isdir", os.path.isdir, path)


def isfile(path: str) -> bool:
    """``os.path.isfile`` that is False instead of raising."""
    return _ask("isfile", os.path.isfile, path)


def lexists(path: str) -> bool:
    """``os.path.lexists`` (True for a dangling symlink) that is False instead of raising."""
    return _ask("lexists", os.path.lexists, path)


def islink(path: str) -> bool:
    """``os.path.islink`` that is False instead of raising."""
    return _ask("islink", os.path.islink, path)


def norm(path: str) -> str:
    """Return a key naming a file: its real path, case-normalized.

    Args:
        path: any path (it need not exist).

    Returns:
        ``os.path.normcase(os.path.realpath(path))``, or the absolute path when that fails.
    """
    try:
        key = os.path.normcase(os.path.realpath(path))
    except (OSError, ValueError):
        key = os.path.normcase(os.path.abspath(path))
    _note("norm", path, key)
    return key


def read_small(path: str, limit: int = MAX_SMALL_FILE_BYTES) -> Optional[str]:
    """Return the text of a small file (UTF-8, BOM stripped), or None.

    Args:
        path: the file.
        limit: the largest size accepted, in bytes.

    Returns:
        The text, or None when the file is missing, unreadable or larger than ``limit``.
    """
    text: Optional[str] = None
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
        if len(data) <= limit:
            text = data.decode("utf-8-sig", "replace")
    except (OSError, ValueError):
        text = None
    if _JOURNAL[0] is not None:
        _note(f"read_small:{limit}", path, None if text is None else _digest(text))
    return text


def read_head(path: str, size: int = 4096) -> Union[bytes, OSError]:
    """Return the first ``size`` bytes of a file, or the error met opening it.

    Args:
        path: the file.
        size: how many bytes to read.

    Returns:
        The bytes read (possibly fewer), or the :class:`OSError`.
    """
    try:
        with open(path, "rb") as fh:
            head: Union[bytes, OSError] = fh.read(size)
    except OSError as exc:
        head = exc
    except ValueError as exc:
        head = OSError(str(exc))
    if _JOURNAL[0] is not None:
        _note(f"read_head:{size}", path,
              _digest(head) if isinstance(head, bytes) else type(head).__name__)
    return head


def describe(exc: OSError) -> str:
    """Return ``exc`` as a short phrase (``"Permission denied"``, ``"No such file..."``).

    Args:
        exc: the error.

    Returns:
        Its ``strerror`` when set, else its text or class name.
    """
    return exc.strerror or str(exc) or type(exc).__name__
