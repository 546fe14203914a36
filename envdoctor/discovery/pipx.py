r"""Source 8: pipx application venvs.

``$PIPX_HOME/venvs/*``, the defaults ``~/.local/share/pipx/venvs`` (Linux),
``~/Library/Application Support/pipx/venvs`` (macOS), ``~\pipx\venvs`` (Windows), the
legacy ``~/.local/pipx/venvs`` and ``%LOCALAPPDATA%\pipx\venvs``, and the global
``$PIPX_GLOBAL_HOME`` / ``/opt/pipx/venvs`` (compat-facts §5.3, pipx "configure paths").
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from envdoctor.discovery import _fs, _layout, _places
from envdoctor.discovery._base import Candidate, Context

NAME = "pipx"


def find(ctx: Context) -> Iterator[Candidate]:
    """Yield every pipx venv.

    Args:
        ctx: the discovery context.

    Yields:
        Candidates of kind ``pipx``, named after the application.
    """
    for directory in _places.pipx_venv_dirs(ctx):
        for name in _fs.entries(directory):
            path = os.path.join(directory, name)
            if not name.startswith(".") and (_fs.isdir(path) or _fs.islink(path)):
                yield _layout.from_prefix(
                    ctx, path, kind="pipx", notes=(f"pipx venv in {directory}",)
                )
