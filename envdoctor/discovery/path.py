r"""Source 3: ``python``, ``python3`` and ``python3.X`` on ``PATH``, in PATH order.

A pyenv shim is replaced by the interpreter it selects (see :mod:`.pyenv`), with a note
saying so.  Windows Store stubs (``%LOCALAPPDATA%\Microsoft\WindowsApps\python*.exe``,
which open the Store instead of running Python) are skipped, as reticulate and
python-discovery do (compat-facts §4.1 step 15, §5.3).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator

from envdoctor.discovery import _fs, _layout, pyenv
from envdoctor.discovery._base import Candidate, Context

NAME = "path"

_POSIX_RE = re.compile(r"^python(?:3(?:\.(\d+)t?)?)?$")
_WINDOWS_RE = re.compile(r"^python(?:3(?:\.(\d+)t?)?)?\.exe$", re.IGNORECASE)


def is_store_stub(path: str) -> bool:
    r"""True for a path in ``Microsoft\WindowsApps`` (the Windows Store's app aliases)."""
    return "/microsoft/windowsapps/" in path.replace("\\", "/").lower() + "/"


def _order(name: str, m: re.Match[str]) -> tuple[int, int]:
    if m.group(1) is not None:
        return (2, -int(m.group(1)))
    return (1 if "3" in name else 0, 0)


def interpreter_names(names: list[str], *, windows: bool = False) -> list[str]:
    """Pick interpreter file names from a directory listing.

    Args:
        names: the entries of a PATH directory.
        windows: match ``python*.exe`` instead of POSIX names.

    Returns:
        ``python``, ``python3`` then ``python3.X`` newest first (``.exe`` forms on Windows).
    """
    pattern = _WINDOWS_RE if windows else _POSIX_RE
    picked = [(n, m) for n in names for m in [pattern.match(n)] if m]
    return [n for n, m in sorted(picked, key=lambda nm: _order(nm[0], nm[1]))]


def find(ctx: Context) -> Iterator[Candidate]:
    """Yield the interpreters on ``PATH`` (from ``ctx.environ``), first directory first.

    Args:
        ctx: the discovery context.

    Yields:
        Candidates; the first of each program name on PATH carries a note saying so.
    """
    seen_programs: set[str] = set()
    for directory in ctx.path_list("PATH"):
        if is_store_stub(directory):
            continue
        for name in interpreter_names(_fs.entries(directory), windows=os.name == "nt"):
            path = os.path.join(directory, name)
            if _fs.isdir(path):
                continue
            notes = [f"on PATH in {directory}"]
            if name not in seen_programs:
                seen_programs.add(name)
                notes = [f"first {name!r} on PATH"]
            root = pyenv.shim_root(ctx, path)
            if root is not None:
                cand = pyenv.resolve_shim(ctx, path, root)
                if cand is not None:
                    merged = "; ".join((*cand.notes, *notes))
                    yield dataclasses.replace(cand, notes=(merged,))
                continue
            yield _layout.from_python(ctx, path, notes=notes)
