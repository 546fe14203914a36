"""Source 6: directories that hold one venv per subdirectory.

``$RETICULATE_VIRTUALENV_ROOT``, ``$WORKON_HOME`` and ``~/.virtualenvs`` (reticulate's
``virtualenv_root()`` and virtualenvwrapper; R's keras3 makes ``r-keras``, tensorflow
``r-tensorflow``, reticulate ``r-reticulate`` there; on Windows R's ``~`` is the possibly
OneDrive-redirected Documents folder), pipenv's ``~/.local/share/virtualenvs`` and poetry's
``~/.cache/pypoetry/virtualenvs`` (compat-facts §4.1, §5.3).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from envdoctor.discovery import _fs, _layout, _places
from envdoctor.discovery._base import Candidate, Context

NAME = "venv_homes"


def is_env_dir(path: str) -> bool:
    """True when ``path`` has ``pyvenv.cfg``, ``conda-meta/`` or an interpreter, or cannot be read.

    Args:
        path: a subdirectory of a venv home.

    Returns:
        Whether to list it (an unreadable directory is listed, as broken).
    """
    if not isinstance(_fs.listdir(path), list):
        return _fs.lexists(path)
    return (
        _fs.isfile(os.path.join(path, "pyvenv.cfg"))
        or _fs.isdir(os.path.join(path, "conda-meta"))
        or _layout.interpreter_in(path) is not None
    )


def find(ctx: Context) -> Iterator[Candidate]:
    """Yield every environment directory in the venv homes.

    Args:
        ctx: the discovery context.

    Yields:
        Candidates (kind from ``pyvenv.cfg``, or ``pipenv`` / ``poetry`` by location).
    """
    for home in _places.venv_home_dirs(ctx):
        for name in _fs.entries(home):
            path = os.path.join(home, name)
            if name.startswith(".") or not (_fs.isdir(path) or _fs.islink(path)):
                continue
            if is_env_dir(path) or (_fs.islink(path) and not _fs.lexists(_fs.realpath(path))):
                yield _layout.from_prefix(ctx, path, notes=(f"in {home}",))
