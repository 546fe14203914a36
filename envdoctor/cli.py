"""Command line: ``envdoctor check|inspect ...``.

This is the only place where exceptions become exit codes:

* 0 — no finding at or above ``--fail-on`` (default ``error``);
* 1 — findings at or above ``--fail-on``;
* 2 — usage error or unreadable input (model file, interpreter);
* 3 — internal error (a bug in envdoctor; please report it).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn, Optional, TextIO

from envdoctor import __version__
from envdoctor.errors import EnvdoctorError
from envdoctor.types import Report, Severity

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and one line, as documented."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"envdoctor: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (subcommands ``check`` and ``inspect``)."""
    parser = _Parser(
        prog="envdoctor",
        description="Will this saved Keras/TensorFlow model load and run in this Python "
        "environment? Reads the model and the environment without importing TensorFlow.",
    )
    parser.add_argument("--version", action="version", version=f"envdoctor {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--format",
            choices=("text", "json"),
            default="text",
            help="text (default: a doctor-style report) or json (one envelope on stdout)",
        )
        p.add_argument(
            "--no-color", action="store_true", help="no colour (NO_COLOR is honoured too)"
        )

    check = sub.add_parser(
        "check",
        help="diagnose models against a Python environment (the main job)",
        description="Predict whether each MODEL loads and runs a first forward pass in the "
        "target environment, and how to fix it when it will not.",
    )
    check.add_argument(
        "models", nargs="*", metavar="MODEL", help=".keras, .h5, SavedModel dir, ..."
    )
    check.add_argument(
        "--python",
        metavar="PATH",
        help="interpreter (or environment prefix) that will load the model; default: this one",
    )
    check.add_argument(
        "--fail-on",
        choices=("error", "warning", "info"),
        default="error",
        help="exit 1 when a finding is at or above this severity (default: error)",
    )
    common(check)

    insp = sub.add_parser(
        "inspect",
        help="read a saved model's metadata (nothing is imported or executed)",
        description="Say what MODEL is and what it records, without importing TensorFlow "
        "or Keras and without executing anything in the file.",
    )
    insp.add_argument("model", metavar="MODEL")
    common(insp)
    return parser


def _color(args: argparse.Namespace, stream: TextIO) -> bool:
    if getattr(args, "no_color", False) or os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


def _exit_for(report: Report, fail_on: str) -> int:
    threshold = Severity(fail_on).rank
    if any(f.severity.rank >= threshold for f in report.findings):
        return EXIT_FINDINGS
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from envdoctor import app

    out = sys.stdout
    if args.command == "inspect":
        info = app.inspect_model(args.model)
        report = Report(models=(info,), environments=(), findings=(), verdicts=())
        if args.format == "json":
            from envdoctor.render.json_out import dumps

            out.write(dumps(report, "inspect"))
        else:
            from envdoctor.render.console import render_inspect

            render_inspect(info, out, color=_color(args, out))
        return EXIT_OK

    report = app.run(app.Options(models=tuple(args.models), python=args.python))
    if args.format == "json":
        from envdoctor.render.json_out import dumps

        out.write(dumps(report, "check"))
    else:
        from envdoctor.render.console import render_check

        render_check(report, out, color=_color(args, out))
    return _exit_for(report, args.fail_on)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line and return its exit code (see the module docstring).

    Args:
        argv: arguments without the program name; default ``sys.argv[1:]``.

    Returns:
        0, 1, 2 or 3 as documented in the README.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_INPUT
    try:
        return _run(args)
    except EnvdoctorError as exc:
        sys.stderr.write(f"envdoctor: error: {exc}\n")
        return EXIT_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("envdoctor: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        if args.debug:
            raise
        sys.stderr.write(
            f"envdoctor: internal error: {type(exc).__name__}: {exc} "
            "(this is a bug in envdoctor; rerun with --debug and report it)\n"
        )
        return EXIT_INTERNAL
