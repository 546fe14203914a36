"""The sourced R-side facts, ``envdoctor/knowledge/r.json``.

Kept beside the other knowledge files, with a ``source`` on every row, and read once per
process.  Each fact is a dict; :func:`fact` returns one, :func:`error_signatures` the
patterns that :mod:`envdoctor.rlang.explain` matches against an error caught in R.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

DOCUMENTED_ORDER_SINCE = "1.41.0"
"""First reticulate with ``py_require()`` and the ephemeral uv environment (compat-facts §4.1;
``knowledge/r.json`` ``reticulate_py_require``)."""


@cache
def load() -> dict[str, Any]:
    """Return the parsed ``r.json`` (cached; do not mutate).

    Raises:
        TypeError: the file is not a JSON object (a packaging error).
    """
    text = resources.files("envdoctor.knowledge").joinpath("r.json").read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise TypeError("knowledge file r.json is not a JSON object")
    return data


def fact(name: str) -> dict[str, Any]:
    """Return the fact ``name`` of ``r.json`` (every fact has a ``source``).

    Raises:
        KeyError: no such fact.
    """
    value = load()["facts"][name]
    assert isinstance(value, dict)
    return value


def error_signatures() -> list[dict[str, Any]]:
    """Return the error signatures, in the order they are tried (most specific first)."""
    rows = load()["error_signatures"]
    assert isinstance(rows, list)
    return rows
