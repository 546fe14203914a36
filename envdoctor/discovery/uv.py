r"""Source 7: uv-managed Python installations and uv tool environments.

Python installs: ``UV_PYTHON_INSTALL_DIR``, else ``$XDG_DATA_HOME/uv/python`` or
``~/.local/share/uv/python`` (Windows ``%APPDATA%\uv\data\python``), one
``<impl>-<version>-<os>-<arch>-<libc>`` directory each with ``bin/python3`` (Windows:
``python.exe`` at its root); uv also keeps ``<impl>-<X.Y>-...`` symlinks to the newest
patch release, deduplicated here by real path.  Tools: ``UV_TOOL_DIR`` or
``~/.local/share/uv/tools/<tool>`` (venvs with ``pyvenv.cfg``).  (compat-facts §5.3.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from envdoctor.discovery import _fs, _layout, _places
from envdoctor.discovery._base import Candidate, Context

NAME = "uv"

PYTHON_DIR_PREFIXES = ("cpython-", "pypy-", "graalpy-")
"""Name prefixes of uv's managed Python directories."""


def find(ctx: Context) -> Iterator[Candidate]:
    """Yield uv's managed Pythons (real directories before version-alias symlinks), then tools.

    Args:
        ctx: the discovery context.

    Yields:
        Candidates of kind ``uv-python``, then the tool envs (kind ``uv``).
    """
    for directory in _places.uv_python_dirs(ctx):
        names = [n for n in _fs.entries(directory) if n.startswith(PYTHON_DIR_PREFIXES)]
        names.sort(key=lambda n: _fs.islink(os.path.join(directory, n)))
        for name in names:
            path = os.path.join(directory, name)
            if _fs.isdir(path) or _fs.islink(path):
                yield _layout.from_prefix(
                    ctx, path, kind="uv-python", notes=(f"uv Python in {directory}",)
                )
    for directory in _places.uv_tool_dirs(ctx):
        for name in _fs.entries(directory):
            path = os.path.join(directory, name)
            if not name.startswith(".") and (_fs.isdir(path) or _fs.islink(path)):
                yield _layout.from_prefix(ctx, path, notes=(f"uv tool environment in {directory}",))
