"""``envdoctor envs [--reticulate]``: every Python environment on this machine, read statically.

With ``--reticulate``, also which Python R's reticulate would bind here, and why
(:func:`envdoctor.rlang.report.run_envs_reticulate`).  Exit code 0 (2 for bad input).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from envdoctor.commands._common import EXIT_OK, _color, _serialize, _spinner


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``envs`` subcommand to the parser's subparsers ``sub``."""
    envs = sub.add_parser(
        "envs",
        help="list every Python environment on this machine and its ML stack",
        description="Find every interpreter and environment (active, project, PATH, pyenv, "
        "conda/mamba, venv homes incl. R's r-reticulate/r-keras/r-tensorflow, uv, pipx, "
        "reticulate's variables) and read each statically.",
    )
    common(envs)
    envs.add_argument(
        "--reticulate", action="store_true",
        help="also say which Python R's reticulate would bind here, and why (JSON key "
        "'reticulate')",
    )
    envs.add_argument(
        "--reticulate-version", metavar="X.Y",
        help="the reticulate in use (default: the installed one); for which: implies --for-r",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``envs``; raises :class:`envdoctor.errors.EnvdoctorError` for bad input."""
    out = sys.stdout
    if args.reticulate:
        from envdoctor.rlang.report import run_envs_reticulate

        return run_envs_reticulate(args, out, _color(args, out))
    from envdoctor import app

    with _spinner("Reading environments"):
        report = app.run_all(())
    if args.format in ("json", "markdown", "github"):
        out.write(_serialize(report, "envs", args.format))
    else:
        from envdoctor.render.console import render_envs

        render_envs(report, out, color=_color(args, out))
    return EXIT_OK
