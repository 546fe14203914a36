"""Open files of a model without blocking on FIFOs, devices or sockets.

A hostile SavedModel or checkpoint directory can hold a FIFO (or a symbolic link to one)
named ``variables/x``, ``ckpt.index`` or ``checkpoint``: a plain ``open()`` for reading then
waits forever for a writer.  :func:`open_regular` opens with ``O_NONBLOCK`` (which returns
at once for a FIFO and changes nothing for a regular file), checks with ``fstat`` that the
descriptor is a regular file, and refuses anything else.

Also the other bounded reads every reader shares: :func:`read_bounded` (a whole small file)
and :func:`directory_size` (a walk that never follows links).  A leaf module: it imports
only :mod:`envdoctor.modelfiles.limits`, so every reader (``detect``, ``savedmodel``,
``sidecar``, ``keras_archive``) can use it without importing another reader.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

from envdoctor.modelfiles.limits import MAX_WALK_ENTRIES


class NotRegularFileError(OSError):
    """The path is a FIFO, a device, a socket or a directory, not a regular file."""


def open_regular(path: str) -> BinaryIO:
    """Open ``path`` for binary reading, only if it is a regular file.

    Args:
        path: the file (symbolic links are followed, as ``open`` does).

    Returns:
        A binary file object positioned at offset 0; the caller closes it.

    Raises:
        NotRegularFileError: the path is not a regular file (``strerror`` says what it is).
        OSError: the file cannot be opened (missing, permission denied, link loop, ...).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegularFileError(errno.EINVAL, f"not a regular file ({_kind(mode)})", path)
    try:
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def read_limited(handle: BinaryIO, limit: int) -> bytes:
    """Read a file to its end, or to ``limit + 1`` bytes, without reserving ``limit`` bytes.

    ``handle.read(n)`` reserves ``n`` bytes before reading; with ``n`` = 512 MB that is half
    a gigabyte for a 1 kB file.  This reads the size ``fstat`` gives (plus one byte), and
    only when the file turns out longer (it grew, or it is a ``/proc`` file that says 0)
    goes on in 1 MiB chunks.

    Args:
        handle: a binary file opened for reading, positioned at 0.
        limit: the most bytes wanted (bytes).

    Returns:
        The bytes read: at most ``limit + 1`` (more than ``limit`` means "over the limit").

    Raises:
        OSError: the file cannot be read.
    """
    try:
        size = os.fstat(handle.fileno()).st_size
    except (OSError, ValueError):
        size = 0
    first = handle.read(min(size, limit) + 1)
    if len(first) <= size or len(first) > limit:
        return first
    chunks = [first]
    total = len(first)
    while total <= limit:
        chunk = handle.read(min(1 << 20, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_bounded(path: str, limit: int) -> bytes:
    """Read a whole file in one bounded read (``limit`` in bytes).

    Raises:
        OSError: the file cannot be opened or read.
        ValueError: the file is larger than ``limit`` bytes.
    """
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise ValueError(f"{size} bytes is over the {limit}-byte limit")
        data = read_limited(handle, limit)
    if len(data) > limit:
        raise ValueError(f"more than {limit} bytes (the file grew while being read)")
    return data


def is_inside(root_real: str, target: str) -> bool:
    """True when ``target``, links resolved, is ``root_real`` or under it (a real path)."""
    try:
        return os.path.commonpath([root_real, os.path.realpath(target)]) == root_real
    except ValueError:
        return False


def directory_size(root: str) -> tuple[int, list[str]]:
    """Sum the sizes of the regular files under ``root`` without following symlinks.

    Args:
        root: a directory.

    Returns:
        ``(total size in bytes, notes)``.  Symbolic links are never counted (targets inside
        the directory are counted once, as themselves); links that point outside ``root`` and
        a walk cut short at :data:`MAX_WALK_ENTRIES` entries are reported in the notes.
    """
    total = 0
    seen = 0
    outside: list[str] = []
    notes: list[str] = []
    root_real = os.path.realpath(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            seen += 1
            full = os.path.join(dirpath, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                if not is_inside(root_real, full):
                    outside.append(os.path.relpath(full, root))
            elif stat.S_ISREG(info.st_mode):
                total += info.st_size
        if seen > MAX_WALK_ENTRIES:
            notes.append(f"more than {MAX_WALK_ENTRIES} entries: the size counts only part of them")
            break
    if outside:
        shown = ", ".join(sorted(outside)[:5]) + (" ..." if len(outside) > 5 else "")
        notes.append(
            f"{len(outside)} symbolic link(s) point outside the directory and were not "
            f"counted in its size: {shown}"
        )
    return total, notes
