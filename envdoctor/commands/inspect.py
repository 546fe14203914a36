"""``envdoctor inspect MODEL``: what a saved model is and records (nothing imported or run).

Exit code 0; 2 when the file is unreadable or not a model.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from envdoctor.commands._common import EXIT_OK, _color, _serialize


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``inspect`` subcommand to the parser's subparsers ``sub``."""
    insp = sub.add_parser(
        "inspect",
        help="read a saved model's metadata (nothing is imported or executed)",
        description="Say what MODEL is and what it records, without importing TensorFlow "
        "or Keras and without executing anything in the file.",
    )
    insp.add_argument("model", metavar="MODEL")
    common(insp)


def run(args: argparse.Namespace) -> int:
    """Run ``inspect``; raises :class:`envdoctor.errors.EnvdoctorError` for bad input."""
    from envdoctor import app
    from envdoctor.types import Report

    out = sys.stdout
    info = app.inspect_model(args.model)
    # Not a check report: the model as read, nothing checked.
    report = Report(models=(info,), environments=(), findings=(), verdicts=())
    if args.format in ("json", "markdown", "github"):
        out.write(_serialize(report, "inspect", args.format))
    else:
        from envdoctor.render.console import render_inspect

        render_inspect(info, out, color=_color(args, out))
    return EXIT_OK
