"""Command line: ``envdoctor check|inspect|envs|which ...``.

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
from typing import TYPE_CHECKING, Any, NoReturn, Optional, TextIO

from envdoctor import __version__
from envdoctor.errors import EnvdoctorError, UsageError

if TYPE_CHECKING:
    from envdoctor.fix import Plan
    from envdoctor.types import Report

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3

FORMATS = ("text", "json", "markdown", "github")
"""``--format`` choices: text (terminal report), json (the versioned envelope), markdown
(a CI step summary), github (GitHub Actions workflow annotations)."""


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and one line, as documented."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"envdoctor: error: {message}\n")


BUILTIN_COMMANDS = ("check", "envs", "which", "inspect")
"""Subcommands defined in this module; the others are modules of :mod:`envdoctor.commands`."""


def _command_of(argv: Optional[Sequence[str]]) -> Optional[str]:
    """The subcommand named in ``argv`` (its first word that is not an option), if any."""
    for word in argv or ():
        if not word.startswith("-"):
            return word
    return None


def build_parser(argv: Optional[Sequence[str]] = None) -> argparse.ArgumentParser:
    """Build the argument parser (subcommands ``check``, ``envs``, ``which``, ``inspect``).

    Args:
        argv: the arguments about to be parsed.  When they name a subcommand, only that
            subcommand's module of :mod:`envdoctor.commands` is imported and registered
            (``check`` imports none: start-up time, issue 14); otherwise (help, a typo)
            every subcommand is, so that usage and errors list them all.
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
        default=None,
        help="exit 1 when a finding is at or above this severity (default: the project "
        "configuration's fail-on, else error)",
    )
    check.add_argument(
        "--config",
        metavar="PATH",
        help="project configuration (pyproject.toml [tool.envdoctor] or envdoctor.toml); "
        "default: the first one found from the current directory up",
    )
    check.add_argument(
        "--no-config", action="store_true", help="do not look for a project configuration"
    )
    check.add_argument(
        "--all",
        dest="all_envs",
        action="store_true",
        help="check against every environment on this machine, best first",
    )
    check.add_argument(
        "--prefer", metavar="NAME", help="with --all: prefer environments whose name/path has NAME"
    )
    check.add_argument(
        "--for-r", action="store_true",
        help="the caller is R: R checks on, and when a model will not load, the py_require() "
        "lines that make reticulate (>= 1.41)'s own uv environment load it",
    )
    common(check)

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
    for p in (which, envs):
        p.add_argument(
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

    insp = sub.add_parser(
        "inspect",
        help="read a saved model's metadata (nothing is imported or executed)",
        description="Say what MODEL is and what it records, without importing TensorFlow "
        "or Keras and without executing anything in the file.",
    )
    insp.add_argument("model", metavar="MODEL")
    common(insp)

    import importlib

    from envdoctor.commands import MODULES

    wanted = _command_of(argv)
    if wanted in BUILTIN_COMMANDS:
        names: Sequence[str] = ()
    elif wanted in MODULES:
        names = (wanted,)
    else:
        names = MODULES
    for name in names:
        module = importlib.import_module(f"envdoctor.commands.{name}")
        module.register(sub, common)
    return parser


def _color(args: argparse.Namespace, stream: TextIO) -> bool:
    if getattr(args, "no_color", False) or os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


def _exit_for(report: Report, fail_on: str) -> int:
    from envdoctor.types import Severity

    threshold = Severity(fail_on).rank
    if any(f.severity.rank >= threshold for f in report.findings):
        return EXIT_FINDINGS
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from envdoctor import app
    from envdoctor.types import Report

    out = sys.stdout
    if args.command == "inspect":
        info = app.inspect_model(args.model)
        report = Report(models=(info,), environments=(), findings=(), verdicts=())
        if args.format in ("json", "markdown", "github"):
            out.write(_serialize(report, "inspect", args.format))
        else:
            from envdoctor.render.console import render_inspect

            render_inspect(info, out, color=_color(args, out))
        return EXIT_OK

    if args.command == "which":
        if args.for_r or args.reticulate_version:
            from envdoctor.rlang.report import which_for_r

            return which_for_r(
                args.models,
                prefer=args.prefer,
                reticulate_version=args.reticulate_version,
                r_sets=args.r_sets,
            )
        return _which(args)
    from envdoctor.commands import MODULES

    if args.command in MODULES:
        import importlib

        module = importlib.import_module(f"envdoctor.commands.{args.command}")
        code: int = module.run(args)
        return code
    if args.command == "envs" and args.reticulate:
        from envdoctor.rlang.report import run_envs_reticulate

        return run_envs_reticulate(args, out, _color(args, out))
    if args.command == "envs":
        with _spinner("Reading environments"):
            report = app.run_all(())
        if args.format in ("json", "markdown", "github"):
            out.write(_serialize(report, "envs", args.format))
        else:
            from envdoctor.render.console import render_envs

            render_envs(report, out, color=_color(args, out))
        return EXIT_OK

    if args.all_envs and args.python:
        raise UsageError("--all and --python exclude each other")
    if args.for_r:
        from envdoctor.rlang import context

        context.activate()
    from envdoctor.config import plan_check

    plan = plan_check(
        models=args.models,
        python=args.python,
        all_environments=args.all_envs,
        fail_on=args.fail_on,
        config_path=args.config,
        use_config=not args.no_config,
    )
    from envdoctor.api import check as api_check

    with _spinner("Reading environments" if plan.all_environments else "Reading"):
        report = api_check(
            plan.models,
            python=plan.python,
            environments=plan.environments,
            all_environments=plan.all_environments,
            prefer=args.prefer,
            ignore=plan.ignore,
        )
    req = None
    if args.for_r or os.environ.get("ENVDOCTOR_FOR_R"):
        req = _r_py_require(report)
    plans = _plans(report)
    if args.format in ("json", "markdown", "github"):
        text = _serialize(report, "check", args.format, plans)
        if req is not None and args.format == "json":
            import json

            from envdoctor.rlang import ephemeral

            data = json.loads(text)
            data["r_py_require"] = ephemeral.to_json(req)
            text = json.dumps(data, sort_keys=True, indent=2) + "\n"
        out.write(text)
    else:
        from envdoctor.render.console import render_check

        render_check(report, out, color=_color(args, out), plans=plans)
        if req is not None:
            from envdoctor.rlang import context, ephemeral

            lines = ephemeral.render_for_r(req, context.current().reticulate_version)
            out.write("\n".join(lines) + "\n")
    return _exit_for(report, plan.fail_on)


def _r_py_require(report: Report) -> Any:
    """For R users: the py_require() declaration for the models that fail (or None)."""
    from envdoctor.rlang import ephemeral

    failing = [v.model for v in report.verdicts if v.status == "error"]
    failing = list(dict.fromkeys(failing))
    return ephemeral.for_r_users(failing, os.environ) if failing else None


def _plans(report: Report) -> tuple[Plan, ...]:
    """The closing plan of ``check``: one per environment with errors (none without errors).

    It covers the warnings too (a pinned requirements file beside the model, an advisory),
    so that the one merged install command is the only one the user runs; it is what
    ``envdoctor fix --severity warning`` plans.  Built here, at the top, from the report
    (:func:`envdoctor.fix.report_plans`), and handed to the renderers, which import no
    planning code.
    """
    if report.candidates or not any(f.severity.value == "error" for f in report.findings):
        return ()
    from envdoctor.fix import report_plans
    from envdoctor.types import Severity

    return report_plans(report, Severity.WARNING)


def _serialize(report: Report, command: str, fmt: str,
               plans: Sequence[Plan] = ()) -> str:
    """Render a report as ``json``, ``markdown`` or ``github`` text (no colour)."""
    if fmt == "markdown":
        from envdoctor.render import markdown

        return markdown.render(report, command, plans)
    if fmt == "github":
        from envdoctor.render import github

        return github.render(report, command)
    from envdoctor.render.json_out import dumps

    return dumps(report, command, plans)


class _NullContext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _spinner(text: str) -> _NullContext | Any:
    """A rich spinner on stderr, only when stderr is a terminal (never in pipes or CI)."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return _NullContext()
    from rich.console import Console

    return Console(stderr=True).status(text + "…")


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
