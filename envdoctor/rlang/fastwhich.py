"""The warm-cache path of ``envdoctor which --for-r``: answer before building the CLI.

``envdoctor_use()`` in an ``.Rprofile`` runs ``envdoctor which --for-r --model M`` on every R
start.  With a warm cache (:mod:`envdoctor.rlang.which_cache`) the answer is one file read,
but building the argument parser imports every command module and the checks (~0.25 s on a
2-core machine, measured with ``benchmarks/bench_r.py``).  :func:`try_cached` parses just
the arguments ``envdoctor_use()`` passes, computes the same key and replays a hit; anything
else (another option, a miss, a missing model, the cache off) returns None and the normal
CLI runs, which computes and stores the answer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Optional

_VALUED = {"--model": "models", "--prefer": "prefer", "--r-sets": "r_sets",
           "--reticulate-version": "reticulate_version"}
R_SETS = ("RETICULATE_PYTHON_FALLBACK", "RETICULATE_PYTHON", "none")


def _parse(argv: Sequence[str]) -> Optional[dict[str, object]]:
    if len(argv) < 2 or argv[0] != "which":
        return None
    out: dict[str, object] = {"models": [], "prefer": None, "r_sets": R_SETS[0],
                              "reticulate_version": None, "for_r": False}
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--for-r":
            out["for_r"] = True
            i += 1
            continue
        name, eq, value = arg.partition("=")
        if name not in _VALUED:
            return None
        if not eq:
            if i + 1 >= len(argv):
                return None
            value = argv[i + 1]
            i += 1
        i += 1
        field = _VALUED[name]
        if field == "models":
            models = out["models"]
            assert isinstance(models, list)
            models.append(value)
        else:
            out[field] = value
    if not out["models"] or out["r_sets"] not in R_SETS:
        return None
    if not out["for_r"] and not out["reticulate_version"]:
        return None
    return out


def try_cached(argv: Sequence[str]) -> Optional[int]:
    """Replay a cached ``which --for-r`` answer for ``argv``; None when the CLI must run.

    Returns:
        The cached exit status (its stdout and stderr written), or None.  Never raises.
    """
    try:
        args = _parse(argv)
        if args is None:
            return None
        from envdoctor.rlang import which_cache

        if not which_cache.enabled(os.environ):
            return None
        models = [str(m) for m in args["models"]]  # type: ignore[attr-defined]
        if not all(os.path.exists(p) for p in models):
            return None
        version = args["reticulate_version"] or os.environ.get(
            "ENVDOCTOR_RETICULATE_VERSION", ""
        ).strip()
        if not version:  # the installed one would have to be read: let the CLI do it
            return None
        entry = which_cache.fast_key(
            models,
            prefer=args["prefer"],  # type: ignore[arg-type]
            reticulate_version=str(version),
            environ=os.environ,
            cwd=os.getcwd(),
            r_sets=str(args["r_sets"]),
        )
        if entry is None:
            return None
        hit = which_cache.load(entry)
    except Exception:
        return None
    if hit is None:
        return None
    sys.stdout.write(hit["stdout"])
    sys.stderr.write(hit["stderr"])
    return int(hit["status"])
