"""File-system helpers for discovery: never raise, say why something could not be read.

Every discovery source walks directories that may be missing, dangling, unreadable or
hostile (a ``pyvenv.cfg`` of a gigabyte, a file where a directory should be).  These
helpers turn every :class:`OSError` into a value the caller can report.
"""

from __future__ import annotations

import os
from typing import Optional, Union

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
        return sorted(_listdir(path))
    except OSError as exc:
        return exc
    except ValueError as exc:  # embedded NUL in a path read from a file
        return OSError(str(exc))


def entries(path: str) -> list[str]:
    """List a directory, sorted; an unreadable or missing one gives ``[]``.

    Args:
        path: the directory.

    Returns:
        The sorted entry names.
    """
    found = listdir(path)
    return found if isinstance(found, list) else []


def isdir(path: str) -> bool:
    """``os.path.isdir`` that is False instead of raising."""
    try:
        return os.path.isdir(path)
    except (OSError, ValueError):
        return False


def isfile(path: str) -> bool:
    """``os.path.isfile`` that is False instead of raising."""
    try:
        return os.path.isfile(path)
    except (OSError, ValueError):
        return False


def lexists(path: str) -> bool:
    """``os.path.lexists`` (True for a dangling symlink) that is False instead of raising."""
    try:
        return os.path.lexists(path)
    except (OSError, ValueError):
        return False


def islink(path: str) -> bool:
    """``os.path.islink`` that is False instead of raising."""
    try:
        return os.path.islink(path)
    except (OSError, ValueError):
        return False


def norm(path: str) -> str:
    """Return a key naming a file: its real path, case-normalized.

    Args:
        path: any path (it need not exist).

    Returns:
        ``os.path.normcase(os.path.realpath(path))``, or the absolute path when that fails.
    """
    try:
        return os.path.normcase(os.path.realpath(path))
    except (OSError, ValueError):
        return os.path.normcase(os.path.abspath(path))


def read_small(path: str, limit: int = MAX_SMALL_FILE_BYTES) -> Optional[str]:
    """Return the text of a small file (UTF-8, BOM stripped), or None.

    Args:
        path: the file.
        limit: the largest size accepted, in bytes.

    Returns:
        The text, or None when the file is missing, unreadable or larger than ``limit``.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except (OSError, ValueError):
        return None
    if len(data) > limit:
        return None
    return data.decode("utf-8-sig", "replace")


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
            return fh.read(size)
    except OSError as exc:
        return exc
    except ValueError as exc:
        return OSError(str(exc))


def describe(exc: OSError) -> str:
    """Return ``exc`` as a short phrase (``"Permission denied"``, ``"No such file..."``).

    Args:
        exc: the error.

    Returns:
        Its ``strerror`` when set, else its text or class name.
    """
    return exc.strerror or str(exc) or type(exc).__name__
