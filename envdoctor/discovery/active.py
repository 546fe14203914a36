"""Source 1: the active environment (``VIRTUAL_ENV``, ``CONDA_PREFIX``) and envdoctor's own Python.

``VIRTUAL_ENV`` is set by a venv's ``activate`` script (PEP 405); ``CONDA_PREFIX`` and
``CONDA_DEFAULT_ENV`` by ``conda activate``.  reticulate honours ``VIRTUAL_ENV`` too
(compat-facts §4.1, step 5).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

from envdoctor.discovery import _layout
from envdoctor.discovery._base import Candidate, Context

NAME = "active"


def find(ctx: Context) -> Iterator[Candidate]:
    """Yield the activated venv, the activated conda env and the running interpreter.

    Args:
        ctx: the discovery context.

    Yields:
        Up to three candidates, in that order (a variable pointing nowhere gives a
        broken candidate).
    """
    venv = ctx.get("VIRTUAL_ENV")
    if venv:
        yield _layout.from_prefix(ctx, ctx.expand(venv), notes=(f"activated: VIRTUAL_ENV={venv}",))
    conda = ctx.get("CONDA_PREFIX")
    if conda:
        env_name = ctx.get("CONDA_DEFAULT_ENV")
        named = env_name if env_name and not any(s in env_name for s in "/\\") else None
        yield _layout.from_prefix(
            ctx,
            ctx.expand(conda),
            name=named,
            notes=(f"activated: CONDA_PREFIX={conda}",),
        )
    if sys.executable:
        yield _layout.from_python(
            ctx,
            sys.executable,
            notes=(f"the interpreter running envdoctor ({os.path.basename(sys.executable)})",),
        )
