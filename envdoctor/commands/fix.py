"""``envdoctor fix [MODEL ...] [--python PATH] [--yes]``: plan the fixes, apply them with --yes.

Without ``--yes`` it shows the plan (ordered commands, what each changes from → to, from the
resolver's own dry run) and changes nothing.  With ``--yes`` it takes the environment's lock,
saves a snapshot (and prints the command that restores it), runs the steps, then checks
again (``--verify``: really loads each model and runs a forward pass) and prints before →
after.  Exit codes: 0 nothing left to fix (after ``--yes``: fixed, and verified with
``--verify``); 1 findings remain (plan shown, not applied), the plan does not resolve, a step
failed, or another run holds the environment's lock; 2 bad input; 3 internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable

from envdoctor.render.fix import render_text, to_json

__all__ = ["NAME", "register", "render_text", "run", "to_json"]

NAME = "fix"


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``fix`` subcommand."""
    p = sub.add_parser(
        "fix",
        help="plan the fixes for an environment (apply them with --yes)",
        description="Plan the commands that fix what 'check' finds in the target environment, "
        "with the resolver's own dry run. Nothing changes without --yes; with --yes a "
        "snapshot is saved first and the exact restore command printed.",
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="models the environment must load")
    p.add_argument(
        "--python", metavar="PATH",
        help="interpreter (or environment prefix) to fix; default: this one",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--yes", action="store_true", help="apply the plan (default: only show it)")
    mode.add_argument(
        "--dry-run", action="store_true",
        help="only show the plan and the resolver's dry run (the default without --yes; "
        "nothing changes)",
    )
    p.add_argument(
        "--verify", action="store_true",
        help="after applying, really load each model and run a forward pass",
    )
    p.add_argument(
        "--severity", choices=("error", "warning"), default="error",
        help="fix findings at or above this severity (default: error)",
    )
    p.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS",
        help="wait this long for another envdoctor run changing the same environment "
        "(default 0: refuse at once)",
    )
    p.add_argument(
        "--verify-timeout", type=float, default=300.0, metavar="SECONDS",
        help="seconds allowed per model for --verify (default 300)",
    )
    p.add_argument(
        "--for-r", action="store_true",
        help="the caller is R: R checks on, and the py_require() lines that make "
        "reticulate (>= 1.41)'s own uv environment load the models",
    )
    common(p)


def run(args: argparse.Namespace) -> int:
    """Run ``envdoctor fix``; return the exit code.

    Raises:
        UsageError: an unsupported ``--format`` or a negative ``--wait``.
    """
    from envdoctor.envlock import LockBusy
    from envdoctor.errors import UsageError
    from envdoctor.fix import run_fix
    from envdoctor.types import Severity

    if args.format not in ("text", "json"):
        raise UsageError("fix supports --format text or json")
    if args.wait < 0:
        raise UsageError("--wait must be >= 0 seconds")
    if args.for_r:
        from envdoctor.rlang import context

        context.activate()
    err = sys.stderr
    text = args.format == "text"
    live = err.isatty()  # progress goes to stderr, and only on a terminal

    def progress(line: str) -> None:
        if live:
            err.write(f"envdoctor: {line}\n")
            err.flush()

    def echo(line: str) -> None:
        if live and text:
            err.write(f"    | {line}\n")
            err.flush()

    try:
        outcome = run_fix(
            args.models, args.python, yes=args.yes, severity=Severity(args.severity),
            verify=args.verify, wait=args.wait, verify_timeout=args.verify_timeout,
            progress=progress, on_line=echo,
        )
    except LockBusy as exc:
        err.write(f"envdoctor: {exc}\n")
        return 1
    req = None
    if args.models and (args.for_r or os.environ.get("ENVDOCTOR_FOR_R")):
        from envdoctor.rlang import ephemeral

        req = ephemeral.for_r_users(args.models, os.environ)
    if text:
        render_text(outcome, args, sys.stdout)
        if req is not None:
            from envdoctor.rlang import context, ephemeral

            lines = ephemeral.render_for_r(req, context.current().reticulate_version)
            sys.stdout.write("\n".join(lines) + "\n")
    else:
        import json

        data = to_json(outcome)
        if req is not None:
            from envdoctor.rlang import ephemeral

            data["r_py_require"] = ephemeral.to_json(req)
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return 0 if outcome.success else 1
