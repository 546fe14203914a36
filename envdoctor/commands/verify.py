"""``envdoctor verify MODEL... [--python PATH | --all]``: load for real, then report.

See :mod:`envdoctor.verify`.  Exit codes as for ``check``: 0 no finding at or above
``--fail-on``, 1 findings at or above it, 2 bad input (unreadable model or interpreter,
bad option), 3 internal error.  ``--format json`` prints the ``check`` envelope with one
more key, ``verify``: the harness runs (every step, timed, with the real messages).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

UNSAFE_HELP = (
    "also try safe_mode=False as a fix: this deserializes and RUNS code stored in the model "
    "(Lambda bytecode, TFSMLayer SavedModels, pickled torch modules) inside the verifying "
    "process. Only for files you trust"
)


DEFAULT_TIMEOUT = 300.0
"""``--timeout`` default, seconds: :data:`envdoctor.verify.DEFAULT_TIMEOUT` (a test keeps them
equal), written here so that building the parser does not import the verifier."""


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``verify`` subcommand to the parser's subparsers ``sub``."""
    p = sub.add_parser(
        "verify",
        help="load each model for real in the target environment (sandboxed subprocess)",
        description="In a subprocess of the target interpreter (-I, stdin closed, a temporary "
        "working directory, a time limit and an address-space limit), load each MODEL with "
        "the format's standard loader and its defaults, run a forward pass on a float32 batch "
        "of 2, and report what a float64 batch and a batch of the wrong rank do. When loading "
        "fails, try the fixes that need no change to the environment, so that a fix is proven. "
        "The real exception is classified like `envdoctor explain`, and compared with the "
        "static check. safe_mode=False is never used without --unsafe. Verify runs the model "
        "as load_model and predict would (a Lambda in a Keras 2 .h5 runs even with safe_mode): "
        "the limits guard against accidents (time, memory, stdin, working directory), they are "
        "not a security sandbox. Use it on files you trust.",
    )
    p.add_argument("models", nargs="+", metavar="MODEL", help=".keras, .h5, SavedModel dir, ...")
    p.add_argument(
        "--python", metavar="PATH",
        help="interpreter (or environment prefix) to verify in; default: this one",
    )
    p.add_argument(
        "--all", dest="all_envs", action="store_true",
        help="verify in every environment on this machine (slow: one real load per env)",
    )
    p.add_argument("--unsafe", action="store_true", help=UNSAFE_HELP)
    p.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help=f"time limit per model, seconds (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--memory", default="8G", metavar="SIZE",
        help="address-space limit of the verifying process (default 8G; 0 = none)",
    )
    p.add_argument(
        "--module-path", action="append", default=[], metavar="DIR",
        help="directory holding modules that define the model's custom objects (repeatable); "
        "PYTHONPATH, the working directory and the model's directory are searched too",
    )
    p.add_argument(
        "--import", dest="imports", action="append", default=[], metavar="MODULE",
        help="module to import as a fix for custom objects (repeatable)",
    )
    p.add_argument(
        "--fail-on", choices=("error", "warning", "info"), default="error",
        help="exit 1 when a finding is at or above this severity (default: error)",
    )
    common(p)


def run(args: argparse.Namespace) -> int:
    """Run ``envdoctor verify``; return the exit code.

    Raises:
        UsageError: bad option values (exit code 2).
        EnvdoctorError: unreadable model or interpreter (exit code 2).
    """
    from envdoctor.commands._common import _color, _exit_for, _spinner
    from envdoctor.errors import UsageError
    from envdoctor.verify import Options, parse_memory, verify_models

    if args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    options = Options(
        timeout=float(args.timeout),
        memory=parse_memory(args.memory),
        unsafe=bool(args.unsafe),
        module_path=tuple(args.module_path),
        imports=tuple(args.imports),
    )
    with _spinner("Loading the model(s) for real"):
        result = verify_models(args.models, python=args.python, all_envs=args.all_envs,
                               options=options)
    out = sys.stdout
    if args.format == "json":
        import json

        from envdoctor.render.json_out import envelope
        from envdoctor.verify import to_jsonable

        data = envelope(result.report, "verify")
        data["verify"] = [to_jsonable(r) for r in result.runs]
        out.write(json.dumps(data, sort_keys=True, indent=2) + "\n")
    else:
        from envdoctor.render.console import render_verify

        render_verify(result.report, result.runs, out, color=_color(args, out))
    return _exit_for(result.report, args.fail_on)
