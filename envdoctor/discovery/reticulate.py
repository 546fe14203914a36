"""Source 9: the interpreters R's reticulate is told to use by environment variables.

``RETICULATE_PYTHON`` (a python binary; ``managed`` means reticulate's own ephemeral uv
venv and names no interpreter), ``RETICULATE_PYTHON_ENV`` (an env name, looked up as
``virtualenv_root()/<name>`` then as a conda env of that name, or a path containing a
slash), ``RETICULATE_PYTHON_FALLBACK`` (a python binary).  reticulate ``R/config.R``
``py_discover_config()`` and ``R/install.R`` ``py_resolve()``; compat-facts §4.1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from envdoctor.discovery import _fs, _layout, _places, conda
from envdoctor.discovery._base import Candidate, Context

NAME = "reticulate"

_STEPS = {
    "RETICULATE_PYTHON": "R's reticulate binds to this interpreter first (discovery step 1)",
    "RETICULATE_PYTHON_ENV": "R's reticulate uses this environment (discovery step 2)",
    "RETICULATE_PYTHON_FALLBACK": "R's reticulate falls back to this interpreter (step 12)",
}


def _missing(var: str, value: str, python: str, why: str) -> Candidate:
    return Candidate(
        python=python,
        prefix=os.path.dirname(python),
        kind="unknown",
        name=var,
        broken=f"interpreter missing: {var}={value}: {why}",
        notes=(_STEPS[var],),
    )


def _interpreter(ctx: Context, var: str) -> Iterator[Candidate]:
    value = ctx.get(var)
    if not value or (var == "RETICULATE_PYTHON" and value.lower() == "managed"):
        return
    path = ctx.expand(value)
    note = f"{var}={value}: {_STEPS[var]}"
    if not _fs.lexists(path):
        yield _missing(var, value, path, "does not exist (reticulate stops with an error)")
    else:
        yield _layout.from_python(ctx, path, notes=(note,))


def _named_env(ctx: Context) -> Iterator[Candidate]:
    var = "RETICULATE_PYTHON_ENV"
    value = ctx.get(var)
    if not value:
        return
    note = f"{var}={value}: {_STEPS[var]}"
    if "/" in value or "\\" in value:
        yield _layout.from_prefix(ctx, ctx.expand(value), notes=(note,))
        return
    roots = _places.reticulate_virtualenv_roots(ctx)
    for root in roots:
        path = os.path.join(root, value)
        if _fs.isdir(path) or _fs.islink(path):
            yield _layout.from_prefix(ctx, path, notes=(note,))
            return
    for prefix, _origin, _listed in conda.conda_prefixes(ctx):
        is_base = value == "base" and _fs.isdir(os.path.join(prefix, "condabin"))
        if (os.path.basename(prefix) == value or is_base) and _fs.isdir(prefix):
            yield _layout.from_prefix(ctx, prefix, name=value, notes=(note,))
            return
    where = ", ".join(roots)
    yield _missing(
        var,
        value,
        os.path.join(roots[0], value, "bin", "python") if roots else value,
        f"no virtualenv of that name in {where} and no conda environment of that name",
    )


def find(ctx: Context) -> Iterator[Candidate]:
    """Yield what ``RETICULATE_PYTHON``, ``RETICULATE_PYTHON_ENV`` and the fallback name.

    Args:
        ctx: the discovery context.

    Yields:
        Up to three candidates; a variable naming nothing gives a broken candidate.
    """
    yield from _interpreter(ctx, "RETICULATE_PYTHON")
    yield from _named_env(ctx)
    yield from _interpreter(ctx, "RETICULATE_PYTHON_FALLBACK")
