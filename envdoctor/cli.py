"""Command line: ``envdoctor check|envs|which|inspect|r|verify|explain|fix|env|report``.

The parser root (``--version``, ``--debug``, ``common``'s ``--format``/``--no-color``), the
registry loop over :data:`envdoctor.commands.MODULES` (each subcommand is a module of
:mod:`envdoctor.commands`) and :func:`main`.  This is the only place where exceptions
become exit codes (:data:`EXIT_OK`... are defined in :mod:`envdoctor.commands._common`,
which the commands return, and importable from here):

* 0 — no finding at or above ``--fail-on`` (default ``error``);
* 1 — findings at or above ``--fail-on``;
* 2 — usage error or unreadable input (model file, interpreter);
* 3 — internal error (a bug in envdoctor; please report it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn, Optional

from envdoctor import __version__
from envdoctor.commands._common import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    FORMATS,
)
from envdoctor.errors import EnvdoctorError

__all__ = ["EXIT_FINDINGS", "EXIT_INPUT", "EXIT_INTERNAL", "EXIT_OK", "FORMATS",
           "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and one line, as documented."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"envdoctor: error: {message}\n")


def _command_of(argv: Optional[Sequence[str]]) -> Optional[str]:
    """The subcommand named in ``argv`` (its first word that is not an option), if any."""
    for word in argv or ():
        if not word.startswith("-"):
            return word
    return None


def build_parser(argv: Optional[Sequence[str]] = None) -> argparse.ArgumentParser:
    """Build the argument parser: the root, then the subcommands of :mod:`envdoctor.commands`.

    Args:
        argv: the arguments about to be parsed.  When they name a subcommand, only that
            subcommand's module of :mod:`envdoctor.commands` is imported and registered
            (``check`` imports no other command module: start-up time, issue 14);
            otherwise (help, a typo) every subcommand is, so that usage and errors list
            them all.
    """
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
            choices=FORMATS,
            default="text",
            help="text (default: a doctor-style report), json (one envelope on stdout), "
            "markdown (e.g. for $GITHUB_STEP_SUMMARY) or github (workflow annotations)",
        )
        p.add_argument(
            "--no-color", action="store_true", help="no colour (NO_COLOR is honoured too)"
        )

    import importlib

    from envdoctor.commands import MODULES

    wanted = _command_of(argv)
    names: Sequence[str] = MODULES
    if wanted is not None and wanted in MODULES:
        names = (wanted,)
    for name in names:
        module = importlib.import_module(f"envdoctor.commands.{name}")
        module.register(sub, common)
    return parser


def _run(args: argparse.Namespace) -> int:
    """Run the subcommand ``args.command`` (its module's ``run``) and return its exit code."""
    import importlib

    module = importlib.import_module(f"envdoctor.commands.{args.command}")
    code: int = module.run(args)
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line and return its exit code (see the module docstring).

    Args:
        argv: arguments without the program name; default ``sys.argv[1:]``.

    Returns:
        0, 1, 2 or 3 as documented in the README.
    """
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["which"]:  # envdoctor_use() on every R start: replay a warm cache first
        from envdoctor.rlang.fastwhich import try_cached

        cached = try_cached(argv)
        if cached is not None:
            return cached
    parser = build_parser(argv)
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
