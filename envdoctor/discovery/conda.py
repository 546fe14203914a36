"""Source 5: conda / mamba / micromamba environments, found without running conda.

Where (compat-facts §5.3, §4.1): the registry ``~/.conda/environments.txt`` (one prefix a
line, kept by ``conda.core.envs_manager``), the usual installer roots and their ``envs/``
(``~/miniconda3``, ``~/anaconda3``, ``~/miniforge3``, ``~/mambaforge``, ``~/micromamba``,
``/opt/conda``, the root of ``$CONDA_EXE``, ``$MAMBA_ROOT_PREFIX``, reticulate's
``r-miniconda``), ``~/.conda/envs``, ``CONDA_ENVS_PATH`` / ``CONDA_ENVS_DIRS`` and
``envs_dirs`` of ``.condarc``.  A prefix counts when it has ``conda-meta/``; on Windows its
interpreter is ``python.exe`` at the prefix root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from envdoctor.discovery import _fs, _layout, _places
from envdoctor.discovery._base import Candidate, Context

NAME = "conda"

_KEY_RE = re.compile(r"^(envs_dirs|envs_path)\s*:\s*(.*?)\s*(?:#.*)?$")
_ITEM_RE = re.compile(r"^\s+-\s+(.*?)\s*(?:\s#.*)?$")


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_envs_dirs(text: str) -> list[str]:
    """Return the ``envs_dirs`` (alias ``envs_path``) entries of a ``.condarc``.

    A tiny YAML reader for the forms conda writes and documents: a block list
    (``envs_dirs:`` then ``  - path`` lines), a flow list (``envs_dirs: [a, b]``) or a
    single scalar.

    Args:
        text: the ``.condarc`` text.

    Returns:
        The paths as written (unexpanded), in order.
    """
    found: list[str] = []
    in_list = False
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if in_list:
            m = _ITEM_RE.match(line)
            if m:
                found.append(_unquote(m.group(1)))
                continue
            in_list = False
        key = _KEY_RE.match(line)
        if not key:
            continue
        rest = key.group(2)
        if not rest:
            in_list = True
        elif rest.startswith("[") and rest.endswith("]"):
            found += [_unquote(p) for p in rest[1:-1].split(",") if p.strip()]
        else:
            found.append(_unquote(rest))
    return [f for f in found if f]


def _condarc_files(ctx: Context) -> list[str]:
    files = [ctx.expand(ctx.get("CONDARC"))] if ctx.get("CONDARC") else []
    for rel in (
        ".condarc",
        os.path.join(".config", "conda", ".condarc"),
        os.path.join(".config", "conda", "condarc"),
        os.path.join(".conda", ".condarc"),
        os.path.join(".conda", "condarc"),
    ):
        files += ctx.in_homes(rel)
    return files


def envs_dirs(ctx: Context) -> list[tuple[str, str]]:
    """Directories holding one conda env per subdirectory, with where each came from.

    Args:
        ctx: the discovery context.

    Returns:
        ``(directory, origin)`` pairs: each root's ``envs``, ``~/.conda/envs``, then
        ``CONDA_ENVS_PATH`` / ``CONDA_ENVS_DIRS``, then ``.condarc`` ``envs_dirs``.
    """
    dirs = [(os.path.join(r, "envs"), f"envs of conda root {r}") for r in _places.conda_roots(ctx)]
    dirs += [(d, "conda's per-user envs directory") for d in ctx.in_homes(".conda", "envs")]
    for var in ("CONDA_ENVS_PATH", "CONDA_ENVS_DIRS"):
        dirs += [(d, var) for d in ctx.path_list(var, commas=var == "CONDA_ENVS_DIRS")]
    for rc in _condarc_files(ctx):
        text = _fs.read_small(rc)
        if text:
            dirs += [(ctx.expand(d), f"envs_dirs in {rc}") for d in parse_envs_dirs(text)]
    return dirs


def conda_prefixes(ctx: Context) -> Iterator[tuple[str, str, bool]]:
    """Yield every conda prefix this machine's files mention, with its origin.

    Args:
        ctx: the discovery context.

    Yields:
        ``(prefix, origin, listed)``: ``listed`` is True when a registry or a root names
        the prefix itself (it should exist); False for a subdirectory of an envs dir.
    """
    for txt in ctx.in_homes(".conda", "environments.txt"):
        for line in (_fs.read_small(txt, 4 * 1024 * 1024) or "").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                yield ctx.expand(line.strip()), f"listed in {txt}", True
    for root in _places.conda_roots(ctx):
        if _fs.isdir(os.path.join(root, "conda-meta")):
            yield root, "conda root", True
    for directory, origin in envs_dirs(ctx):
        for name in _fs.entries(directory):
            path = os.path.join(directory, name)
            if not name.startswith(".") and (_fs.isdir(path) or _fs.islink(path)):
                yield path, origin, False


def find(ctx: Context) -> Iterator[Candidate]:
    """Yield each conda prefix (and any other environment kept in an envs directory).

    Args:
        ctx: the discovery context.

    Yields:
        Candidates; an envs-directory entry with no ``conda-meta/``, no ``pyvenv.cfg`` and
        no interpreter is a broken candidate (a half-removed environment).
    """
    for prefix, origin, listed in conda_prefixes(ctx):
        note = (origin,)
        evidence = (
            _fs.isdir(os.path.join(prefix, "conda-meta"))
            or _fs.isfile(os.path.join(prefix, "pyvenv.cfg"))
            or _layout.interpreter_in(prefix) is not None
        )
        if listed or evidence or not isinstance(_fs.listdir(prefix), list):
            venv = _fs.isfile(os.path.join(prefix, "pyvenv.cfg"))
            yield _layout.from_prefix(ctx, prefix, kind=None if venv else "conda", notes=note)
        else:
            yield Candidate(
                python=os.path.join(prefix, _layout.INTERPRETER_NAMES[0]),
                prefix=prefix,
                kind="conda",
                name=os.path.basename(prefix),
                broken=(
                    f"not Python: {prefix} has no conda-meta/ and no interpreter"
                    " (a half-removed conda environment?)"
                ),
                notes=note,
            )
