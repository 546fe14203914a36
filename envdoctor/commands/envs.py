"""``envdoctor envs [--reticulate]``: every Python environment on this machine, read statically.

With ``--reticulate``, also which Python R's reticulate would bind here, and why
(:func:`envdoctor.rlang.report.reticulate_report`, printed by :mod:`envdoctor.render.r`).
Exit code 0 (2 for bad input).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, TextIO

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
        return _envs_reticulate(args, out, _color(args, out))
    from envdoctor import app

    with _spinner("Reading environments"):
        report = app.run_all(())
    if args.format in ("json", "markdown", "github"):
        out.write(_serialize(report, "envs", args.format))
    else:
        from envdoctor.render.console import render_envs

        render_envs(report, out, color=_color(args, out))
    return EXIT_OK


def _envs_reticulate(args: argparse.Namespace, out: TextIO, color: bool) -> int:
    """``envdoctor envs --reticulate``: the usual listing, then the R side.

    JSON: the ``envs`` envelope with one more key, ``"reticulate"``.
    """
    import json

    from envdoctor import app
    from envdoctor.render.r import render_reticulate, reticulate_json
    from envdoctor.rlang.report import reticulate_report

    report = app.run_all(())
    rr = reticulate_report(reticulate_version=getattr(args, "reticulate_version", None))
    if args.format == "json":
        from envdoctor.render.json_out import envelope

        data = envelope(report, "envs")
        data["reticulate"] = reticulate_json(rr)
        out.write(json.dumps(data, sort_keys=True, indent=2) + "\n")
        return EXIT_OK
    from envdoctor.render.console import render_envs

    render_envs(report, out, color=color)
    render_reticulate(rr, out)
    return EXIT_OK
