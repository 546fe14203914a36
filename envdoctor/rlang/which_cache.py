"""A cache of ``envdoctor which --for-r`` answers, so R startup scripts stay fast.

``envdoctor_use()`` in ``.Rprofile`` runs on every R start; reading every environment and
checking the model each time costs about 0.3 s.  The answer only changes when one of its
inputs does, so it is cached under ``platformdirs.user_cache_dir("envdoctor")/which/``,
keyed by the SHA-256 of:

* envdoctor itself: its version and the ``st_mtime_ns`` of every ``.py``/``.json`` file of
  the package (an upgrade or an edited rule invalidates every entry);
* the request: each model's real path, size and ``st_mtime_ns`` (for a directory, also
  those of its first-level entries), ``--prefer``, the reticulate version, the working
  directory;
* the variables that steer discovery, reading or checks (``PATH``, ``HOME``,
  ``VIRTUAL_ENV``, ``PYTHONPATH``, ``KERAS_*``, ``TF_USE_LEGACY_KERAS``, ``RETICULATE_*``,
  ``TENSORFLOW_*``, ``R_LIBS*``, ``PYENV_*``, ``CONDA_*``, ``WORKON_HOME``, ``XDG_*``, ...), and
  the mtime of ``keras.json``;
* the machine: every environment discovery finds now (a static directory walk, ~5 ms),
  with the ``st_mtime_ns`` of its ``pyvenv.cfg``, ``conda-meta`` and ``site-packages``
  directories (installing or removing a distribution changes them) and of each
  ``PYTHONPATH`` directory.

Entries are written atomically (temporary file, then ``os.replace``); a corrupt entry is
ignored; an unwritable cache directory disables caching.  ``ENVDOCTOR_WHICH_CACHE=0``
disables it too.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

CACHE_FORMAT = 1
"""Version of the entry layout; bump to invalidate every entry."""

_VAR_PREFIXES = (
    "KERAS_",
    "TF_",
    "RETICULATE_",
    "PYENV",
    "CONDA",
    "XDG_",
    "UV_",
    "PIPENV_",
    "POETRY_",
    "PYTHON",
    "ENVDOCTOR_",
    "MAMBA",
    "TENSORFLOW_",
)
_VARS = ("PATH", "HOME", "VIRTUAL_ENV", "WORKON_HOME", "USERPROFILE", "R_LIBS", "R_LIBS_USER",
         "R_LIBS_SITE", "R_ENVIRON_USER")


def enabled(environ: Mapping[str, str]) -> bool:
    """False when ``ENVDOCTOR_WHICH_CACHE`` is ``0``/``false``/``no``."""
    return environ.get("ENVDOCTOR_WHICH_CACHE", "1").strip().lower() not in ("0", "false", "no")


def cache_dir() -> Path:
    """Return ``platformdirs.user_cache_dir("envdoctor")/which`` (it may not exist yet)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("envdoctor")) / "which"


def _stat(path: str) -> list[int]:
    try:
        st = os.stat(path)
    except OSError:
        return [-1, -1]
    return [st.st_mtime_ns, st.st_size]


def _package_stamp() -> list[Any]:
    from envdoctor import __version__

    root = Path(__file__).resolve().parents[1]
    stamps: list[Any] = [__version__]
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".py", ".json")):
                path = os.path.join(dirpath, name)
                stamps.append([os.path.relpath(path, root), *_stat(path)])
    return stamps


def _model_stamp(path: str) -> list[Any]:
    real = os.path.realpath(path)
    stamp: list[Any] = [os.path.abspath(path), real, *_stat(real)]
    if os.path.isdir(real):
        with contextlib.suppress(OSError):
            for name in sorted(os.listdir(real)):
                stamp.append([name, *_stat(os.path.join(real, name))])
    return stamp


def _env_stamp(prefix: str) -> list[Any]:
    stamp: list[Any] = [prefix, *_stat(os.path.join(prefix, "pyvenv.cfg"))]
    stamp.append(_stat(os.path.join(prefix, "conda-meta")))
    patterns = ("lib/python*/site-packages", "lib64/python*/site-packages", "Lib/site-packages")
    for pattern in patterns:
        for d in sorted(glob.glob(os.path.join(prefix, pattern))):
            stamp.append([d, *_stat(d)])
    return stamp


def _request(
    models: Sequence[str],
    *,
    prefer: Optional[str],
    reticulate_version: str,
    environ: Mapping[str, str],
    cwd: str,
    r_sets: str,
) -> dict[str, Any]:
    """Everything of the key but the machine (what discovery finds)."""
    env_vars = {k: v for k, v in environ.items() if k in _VARS or k.startswith(_VAR_PREFIXES)}
    keras_home = environ.get("KERAS_HOME") or os.path.join(environ.get("HOME", "~"), ".keras")
    pythonpath = [[p, *_stat(p)] for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {
        "format": CACHE_FORMAT,
        "envdoctor": _package_stamp(),
        "models": [_model_stamp(m) for m in models],
        "prefer": prefer or "",
        "r_sets": r_sets,
        "reticulate": reticulate_version,
        "cwd": cwd,
        "vars": sorted(env_vars.items()),
        "keras_json": _stat(os.path.join(keras_home, "keras.json")),
        "pythonpath": pythonpath,
    }


def _digest(material: Mapping[str, Any]) -> str:
    blob = json.dumps(material, sort_keys=True, default=str).encode("utf-8", "surrogateescape")
    return hashlib.sha256(blob).hexdigest()


def _machine(found: Sequence[Sequence[str]]) -> list[Any]:
    """``[python, broken, *stamps of its prefix]`` per environment ``(python, broken, prefix)``."""
    return [[python, broken, *_env_stamp(prefix)] for python, broken, prefix in found]


def key(
    models: Sequence[str],
    *,
    prefer: Optional[str],
    reticulate_version: str,
    environ: Mapping[str, str],
    cwd: str,
    r_sets: str = "RETICULATE_PYTHON_FALLBACK",
) -> str:
    """Return the cache key of a ``which --for-r`` request (see the module docstring).

    ``r_sets`` is what the caller sets to the answer (``--r-sets``; the notes depend on it).
    The discovery walk is recorded (:func:`envdoctor.fsread.recording`) and kept beside the
    entries, so that :func:`fast_key` can later compute the same key without walking.
    """
    from envdoctor.discovery import discover
    from envdoctor.fsread import recording

    request = _request(models, prefer=prefer, reticulate_version=reticulate_version,
                       environ=environ, cwd=cwd, r_sets=r_sets)
    with recording() as journal:
        found = [(c.python, c.broken or "", c.prefix)
                 for c in discover(environ=environ, cwd=cwd)]
    _store_walk(_digest(request), journal, found)
    return _digest({**request, "machine": _machine(found)})


def fast_key(
    models: Sequence[str],
    *,
    prefer: Optional[str],
    reticulate_version: str,
    environ: Mapping[str, str],
    cwd: str,
    r_sets: str = "RETICULATE_PYTHON_FALLBACK",
) -> Optional[str]:
    """Return :func:`key` without the discovery walk, when the recorded walk still holds.

    The walk recorded by the last :func:`key` of the same request is replayed
    (:func:`envdoctor.fsread.still_true`: every directory listing, file test, link and small
    file read gives the same answer now); then discovery would find the same environments,
    and only their stamps are read again.  Returns None when there is no recorded walk or
    any observation changed (the caller then computes :func:`key`).  POSIX only: the Windows
    sources also read the registry.
    """
    if os.name == "nt":
        return None
    from envdoctor.fsread import still_true

    request = _request(models, prefer=prefer, reticulate_version=reticulate_version,
                       environ=environ, cwd=cwd, r_sets=r_sets)
    walk = _load_walk(_digest(request))
    if walk is None or not still_true(walk["journal"]):
        return None
    return _digest({**request, "machine": _machine(walk["found"])})


def _walk_path(request_key: str) -> Path:
    return cache_dir() / f"walk-{request_key}.json"


def _store_walk(request_key: str, journal: Sequence[Any], found: Sequence[Any]) -> None:
    _write_atomic(_walk_path(request_key),
                  {"format": CACHE_FORMAT, "journal": list(journal), "found": list(found)})


def _load_walk(request_key: str) -> Optional[dict[str, Any]]:
    try:
        data = json.loads(_walk_path(request_key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        return None
    journal, found = data.get("journal"), data.get("found")
    if not isinstance(journal, list) or not isinstance(found, list):
        return None
    if not all(isinstance(f, list) and len(f) == 3 and all(isinstance(x, str) for x in f)
               for f in found):
        return None
    return data


def load(entry_key: str) -> Optional[dict[str, Any]]:
    """Return the cached answer for ``entry_key``, or None (missing or corrupt)."""
    path = cache_dir() / f"{entry_key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        return None
    if not isinstance(data.get("status"), int) or not isinstance(data.get("stdout"), str):
        return None
    if not isinstance(data.get("stderr"), str):
        return None
    return data


def store(entry_key: str, status: int, stdout: str, stderr: str) -> None:
    """Write an answer atomically; any failure just leaves the cache without it."""
    data = {"format": CACHE_FORMAT, "status": status, "stdout": stdout, "stderr": stderr}
    _write_atomic(cache_dir() / f"{entry_key}.json", data)


def _write_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON to ``path`` through a temporary file; any failure leaves no file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(tmp)
