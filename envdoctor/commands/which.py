"""``envdoctor which --model MODEL... [--for-r]``: the interpreter that can load the models.

Prints only the interpreter path of the best environment that loads and runs every model
(for ``RETICULATE_PYTHON`` and shell scripts), exit 0; when none can, exit 1 with the
closest candidate and its fixes on stderr.  ``--for-r`` (or ``--reticulate-version``) is
:func:`envdoctor.rlang.report.which_for_r`.  ``envdoctor.cli.main`` first replays a warm
answer (:mod:`envdoctor.rlang.fastwhich`) before this module is even imported.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from envdoctor.commands._common import EXIT_FINDINGS, EXIT_OK, _spinner


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``which`` subcommand to the parser's subparsers ``sub`` (no ``common``)."""
    which = sub.add_parser(
        "which",
        help="print the path of the best interpreter that can load the model(s)",
        description="Print only the interpreter path of the best environment that can load "
        "and run every MODEL (for RETICULATE_PYTHON and shell scripts). When none can, exit 1 "
        "and print the closest candidate and the fix that would make it work on stderr.",
    )
    which.add_argument(
        "--model", dest="models", action="append", required=True, metavar="MODEL",
        help="model to load (repeat for several)",
    )
    which.add_argument(
        "--prefer", metavar="NAME", help="prefer environments whose name/path has NAME"
    )
    which.add_argument(
        "--reticulate-version", metavar="X.Y",
        help="the reticulate in use (default: the installed one); for which: implies --for-r",
    )
    which.add_argument(
        "--for-r", action="store_true",
        help="only environments R's reticulate can bind (e.g. Python <= 3.11 under "
        "reticulate 1.28); why others are skipped goes to stderr",
    )
    which.add_argument(
        "--r-sets", choices=("RETICULATE_PYTHON_FALLBACK", "RETICULATE_PYTHON", "none"),
        default="RETICULATE_PYTHON_FALLBACK",
        help="with --for-r: the variable the caller sets to the answer (envdoctor_use() "
        "passes it); stderr says when something still outranks it, and the line to change",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``which``; raises :class:`envdoctor.errors.EnvdoctorError` for bad input."""
    if args.for_r or args.reticulate_version:
        from envdoctor.rlang.report import which_for_r

        return which_for_r(
            args.models,
            prefer=args.prefer,
            reticulate_version=args.reticulate_version,
            r_sets=args.r_sets,
        )
    return _which(args)


def _which(args: argparse.Namespace) -> int:
    """``envdoctor which``: print the best interpreter; exit 1 with the closest one and its fix."""
    from envdoctor import app
    from envdoctor.types import Severity

    models = tuple(app.inspect_model(p) for p in args.models)
    with _spinner("Looking for an environment that can load it"):
        ranked = app.rank_environments(models, prefer=args.prefer)
    usable = [r for r in ranked if r.report is not None]
    for r in usable:
        assert r.report is not None
        if all(v.status != "error" for v in r.report.verdicts):
            sys.stdout.write(r.candidate.python + "\n")
            return EXIT_OK
    err = sys.stderr
    names = ", ".join(args.models)
    if not usable:
        err.write(f"envdoctor: no readable Python environment found to load {names}\n")
        return EXIT_FINDINGS
    best = usable[0]
    assert best.report is not None
    err.write(
        f"envdoctor: no environment on this machine can load {names}.\n"
        f"closest: {best.candidate.python} ({best.candidate.kind} {best.candidate.name})\n"
    )
    for f in best.report.findings:
        if f.severity is not Severity.ERROR:
            continue
        err.write(f"  {f.code} {f.title}\n")
        for fix in f.fixes[:2]:
            err.write(f"    fix: {fix.text}\n")
    return EXIT_FINDINGS
