"""``envdoctor check MODEL... [--python PATH | --all] [--for-r]``: the main job.

Predicts whether each model loads and runs a first forward pass in the target environment
(:func:`envdoctor.app.run`, configuration merged by :func:`envdoctor.config.plan_check`),
and how to fix it when it will not (the closing plan,
:func:`envdoctor.commands._common._plans`).  Exit codes: 0 no finding at or above
``--fail-on``, 1 findings at or above it, 2 bad input, 3 internal error.  Start-up matters
(R startup scripts run it): this module imports no other command module, and neither rich
nor the verifier in a pipe (``tests/test_lazy_imports.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, Callable

from envdoctor.commands._common import _color, _exit_for, _plans, _serialize, _spinner
from envdoctor.errors import UsageError

if TYPE_CHECKING:
    from envdoctor.types import Report


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``check`` subcommand to the parser's subparsers ``sub``."""
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


def run(args: argparse.Namespace) -> int:
    """Run ``check``; raises :class:`envdoctor.errors.EnvdoctorError` for bad input."""
    out = sys.stdout
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
    from envdoctor import app

    with _spinner("Reading environments" if plan.all_environments else "Reading"):
        report = app.run(
            app.Options(
                models=plan.models,
                python=plan.python,
                environments=plan.environments,
                all_envs=plan.all_environments,
                prefer=args.prefer,
                ignore=plan.ignore,
            )
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
