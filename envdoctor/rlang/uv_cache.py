"""Where reticulate >= 1.41's ephemeral uv environments are (a leaf: imports nothing of ours).

reticulate builds the environment with ``uv tool run --isolated`` (``R/py_require.R`` l.700-851
of reticulate 1.46.0); uv keeps it in its cache as ``archive-v0/<hash>/``, a venv with
``pyvenv.cfg`` (observed with uv 0.13.10); a reticulate-managed uv uses
``tools::R_user_dir("reticulate", "cache")/uv/cache``.  Read by the discovery emulation
(:mod:`envdoctor.rlang._resolver`) and re-exported by :mod:`envdoctor.rlang.ephemeral`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

CACHE_SUBDIRS = ("archive-v0", "environments-v2")
"""uv cache buckets that hold ephemeral tool environments."""


def uv_cache_dirs(environ: Mapping[str, str], home: str) -> list[str]:
    """The uv cache directories, reticulate's own last.

    ``UV_CACHE_DIR``, ``$XDG_CACHE_HOME/uv`` (or ``~/.cache/uv``), then reticulate's
    ``$R_USER_CACHE_DIR/R/reticulate/uv/cache`` (else under ``$XDG_CACHE_HOME`` or
    ``~/.cache``).
    """
    xdg = environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    dirs = []
    if environ.get("UV_CACHE_DIR"):
        dirs.append(os.path.expanduser(environ["UV_CACHE_DIR"]))
    dirs.append(os.path.join(xdg, "uv"))
    r_cache = environ.get("R_USER_CACHE_DIR") or xdg
    dirs.append(os.path.join(r_cache, "R", "reticulate", "uv", "cache"))
    out: list[str] = []
    for d in dirs:
        if d not in out:
            out.append(d)
    return out


def cached_envs(environ: Mapping[str, str], home: str) -> list[str]:
    """Interpreters (``bin/python``) of the ephemeral environments in uv's caches, newest first.

    Only directories with a ``pyvenv.cfg`` count (the other ``archive-v0`` entries are
    unpacked wheels).  Never raises.
    """
    found: list[tuple[float, str]] = []
    for cache in uv_cache_dirs(environ, home):
        for sub in CACHE_SUBDIRS:
            bucket = os.path.join(cache, sub)
            try:
                names = os.listdir(bucket)
            except OSError:
                continue
            for name in names:
                cfg = os.path.join(bucket, name, "pyvenv.cfg")
                try:
                    mtime = os.stat(cfg).st_mtime
                except OSError:
                    continue
                python = os.path.join(bucket, name, "bin", "python")
                if os.path.lexists(python):
                    found.append((mtime, python))
    found.sort(reverse=True)
    return [p for _m, p in found]
