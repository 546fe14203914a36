"""``envdoctor explain CODE`` and ``envdoctor explain --error TEXT|-|FILE [--model] [--python]``.

* ``explain CODE`` prints the documentation of a finding code (cause, evidence, fixes,
  source); ``explain CAUSE_ID`` that of a known error cause.  Exit 0; 2 for an unknown code.
* ``explain --error`` classifies a real error message (a message, a Python traceback, or R
  output such as ``reticulate::py_last_error()``): ``-`` reads standard input, an existing
  file path reads the file.  With ``--model``/``--python`` the message is combined with what
  envdoctor reads of the model and the environment.  The result is one finding: ED008
  (recognized, severity error) or ED009 (not recognized, warning), so the exit code follows
  ``--fail-on`` like every command.

``--format json`` prints the ``check`` envelope with one more key, ``explanation``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable

from envdoctor.render.explain import explanation_json

__all__ = ["MAX_ERROR_BYTES", "explanation_json", "read_error_argument", "register", "run"]

MAX_ERROR_BYTES = 4 * 1024 * 1024
"""Most bytes read from standard input or an error file (bytes)."""


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``explain`` subcommand to the parser's subparsers ``sub``."""
    p = sub.add_parser(
        "explain",
        help="document a finding code, or classify a real error message into its cause",
        description="`explain CODE` documents a finding code. `explain --error TEXT` (or - "
        "for standard input, or a file holding a traceback, from Python or from R's "
        "py_last_error()) classifies a real error into a known cause with its fixes, from "
        "signatures kept as data with their sources; --model and --python add what envdoctor "
        "reads of the model and the environment. An unknown error is reported as unknown, "
        "with the closest known causes.",
    )
    p.add_argument("code", nargs="?", metavar="CODE", help="a finding code, e.g. ED103")
    p.add_argument("--error", metavar="TEXT", help="the error message, '-' (stdin) or a file")
    p.add_argument("--model", metavar="PATH", help="the model the error is about")
    p.add_argument(
        "--python", metavar="PATH", help="the interpreter (or environment) it happened in",
    )
    p.add_argument(
        "--fail-on", choices=("error", "warning", "info"), default="error",
        help="exit 1 when a finding is at or above this severity (default: error)",
    )
    common(p)


def read_error_argument(value: str) -> str:
    """Return the error text named by ``--error``: the text, stdin (``-``) or a file's content.

    Raises:
        UsageError: nothing to read, or the file cannot be read.
    """
    from envdoctor.errors import UsageError

    if value == "-":
        data = sys.stdin.buffer.read(MAX_ERROR_BYTES)
        text = data.decode("utf-8", "replace")
    elif "\n" not in value and len(value) < 4096 and os.path.isfile(value):
        try:
            with open(value, "rb") as handle:
                text = handle.read(MAX_ERROR_BYTES).decode("utf-8", "replace")
        except OSError as exc:
            raise UsageError(f"--error {value}: {exc.strerror or exc}") from None
    else:
        text = value
    if not text.strip():
        raise UsageError("--error: the error text is empty")
    return text


def _doc_report(args: argparse.Namespace) -> int:
    from envdoctor.commands._common import _color
    from envdoctor.errors import UsageError
    from envdoctor.explain import cause_by_id, explain_code
    from envdoctor.types import Report

    code = args.code.strip()
    doc: dict[str, Any]
    try:
        doc = explain_code(code)
    except KeyError:
        cause = cause_by_id(code)
        if cause is None:
            raise UsageError(
                f"unknown code {code!r}: finding codes look like ED103 "
                "(see the README), error causes like savedmodel_in_keras3"
            ) from None
        doc = {
            "id": cause.id, "title": cause.title, "cause": cause.cause,
            "codes": list(cause.codes), "source": cause.source,
            "fixes": [f.text for f in cause.fixes],
            "signatures": [s.pattern.pattern for s in cause.signatures],
        }
    # Not a check report: an empty envelope around the code's documentation.
    report = Report(models=(), environments=(), findings=(), verdicts=())
    out = sys.stdout
    if args.format == "json":
        import json

        from envdoctor.render.json_out import envelope

        data = envelope(report, "explain")
        data["explanation"] = doc
        out.write(json.dumps(data, sort_keys=True, indent=2) + "\n")
    else:
        from envdoctor.render.console import render_code_doc

        render_code_doc(doc, out, color=_color(args, out))
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``envdoctor explain``; return the exit code.

    Raises:
        UsageError: neither CODE nor --error, both, or an unknown code (exit code 2).
        EnvdoctorError: an unreadable --python interpreter (exit code 2).
    """
    from envdoctor.commands._common import _color, _exit_for
    from envdoctor.errors import UsageError

    if args.code and args.error is not None:
        raise UsageError("give either CODE or --error, not both")
    if args.code:
        return _doc_report(args)
    if args.error is None:
        raise UsageError("give a finding CODE (e.g. ED103) or --error TEXT")
    text = read_error_argument(args.error)

    from envdoctor import app
    from envdoctor.checks.observed import explanation_finding
    from envdoctor.explain import classify
    from envdoctor.types import Report

    env = app.read_env(args.python) if args.python else None
    expl = classify(text, model_path=args.model, env=env)
    model = expl.context.model
    found = explanation_finding(expl, args.model or "", env.python if env else "")
    # Not a check report: explain's own (one ED0xx finding for the pasted error, no
    # verdict); the static checks behind it ran through the pipeline (app.check_pair).
    report = Report(
        models=(model,) if model is not None and args.model else (),
        environments=(env,) if env is not None else (),
        findings=(found,),
        verdicts=(),
    )
    out = sys.stdout
    if args.format == "json":
        import json

        from envdoctor.render.json_out import envelope

        data = envelope(report, "explain")
        data["explanation"] = explanation_json(expl)
        out.write(json.dumps(data, sort_keys=True, indent=2) + "\n")
    else:
        from envdoctor.render.console import render_explain

        render_explain(report, out, color=_color(args, out))
    return _exit_for(report, args.fail_on)
