"""``envdoctor r check|explain``: the commands ``scripts/envdoctor.R`` runs for R users.

* ``envdoctor r check MODEL... [--python P]`` checks the models against the Python R binds
  (``--python``: the one this R session is already bound to; default: the one reticulate
  would bind in this directory, :func:`envdoctor.rlang.reticulate.resolve`), with the R
  checks on.  When that Python cannot load a model (or reticulate stops with an error),
  ED908 names the environment that can, found by ranking every environment.  JSON: the
  ``check`` envelope plus a ``"reticulate"`` key.
* ``envdoctor r explain --error TEXT [--model M] [--python P]`` explains an error caught in
  R (:func:`envdoctor.rlang.explain.explain_error`); with a model and an interpreter the
  real check runs too.

Both accept ``--reticulate-version`` (R passes ``packageVersion("reticulate")``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable

NAME = "r"


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``r`` subcommand and its ``check`` / ``explain`` actions."""
    p = sub.add_parser(
        "r",
        help="helpers for R users (used by scripts/envdoctor.R): check, explain",
        description="R users reach Keras through reticulate, which binds one Python per R "
        "session. 'r check' checks models against the Python R binds; 'r explain' explains "
        "an error caught in R.",
    )
    p.add_argument(
        "action",
        choices=("check", "explain", "require"),
        help="check: models vs R's Python; explain: an error; require: the py_require() "
        "lines that make reticulate >= 1.41's own uv environment load the models",
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="models (check)")
    p.add_argument(
        "--python",
        metavar="PATH",
        help="the Python R is bound to (default: the one reticulate would bind in this directory)",
    )
    p.add_argument("--error", metavar="TEXT", help="explain: the error text")
    p.add_argument("--error-file", metavar="PATH", help="explain: read the error text from a file")
    p.add_argument("--model", metavar="MODEL", help="explain: the model being loaded")
    p.add_argument("--reticulate-version", metavar="X.Y", help="the reticulate in use")
    p.add_argument("--fail-on", choices=("error", "warning", "info"), default="error")
    common(p)


def run(args: argparse.Namespace) -> int:
    """Run ``envdoctor r ACTION``; return the exit code (0, 1, or raise UsageError)."""
    from envdoctor.errors import UsageError
    from envdoctor.rlang import context

    context.activate(args.reticulate_version)
    if args.action == "explain":
        return _explain(args)
    if args.action == "require":
        if not args.models:
            raise UsageError("r require needs at least one MODEL")
        return _require(args)
    if not args.models:
        raise UsageError("r check needs at least one MODEL")
    return _check(args)


def _check(args: argparse.Namespace) -> int:
    from envdoctor import app
    from envdoctor.checks import r_session
    from envdoctor.render.r import reticulate_json
    from envdoctor.rlang import context
    from envdoctor.rlang.report import reticulate_report
    from envdoctor.types import Severity

    ctx = context.current()
    rr = reticulate_report(reticulate_version=ctx.reticulate_version or None)
    binding = rr.binding
    target = args.python or (binding.python if not binding.error else "")
    models = tuple(app.inspect_model(p) for p in args.models)
    if target:
        report = app.run(app.Options(models=tuple(args.models), python=target))
    else:
        # No interpreter to check in: an empty check report (no report lines).
        report = app.build_report(models, (), (), (), checked=())
    failing = binding.error or any(v.status == "error" for v in report.verdicts) or not target
    extra = []
    if failing and not args.python:
        alternative = ""
        for ranked in app.rank_environments(models):
            if ranked.report is None:
                continue
            if not any(f.severity is Severity.ERROR for f in ranked.report.findings):
                alternative = ranked.candidate.python
                break
        lines: list[str] = []
        if not alternative:
            from envdoctor.rlang.ephemeral import for_r_users

            req = for_r_users(list(args.models), os.environ)
            lines = req.r_lines() if req is not None else []
        for info in models:
            errors = [
                f
                for f in report.findings
                if f.severity is Severity.ERROR and f.model in ("", info.path)
            ]
            extra.append(
                r_session.binding_finding(info.path, binding, errors, alternative, lines)
            )
    if extra:
        findings = (*extra, *report.findings)
        verdicts = tuple(
            app.judge(v.model, v.python, [f for f in findings if f.model in ("", v.model)])
            for v in report.verdicts
        ) or tuple(app.judge(m.path, "", extra) for m in models)
        report = app.build_report(
            report.models or models, report.environments, findings, verdicts
        )
    out = sys.stdout
    if args.format == "json":
        from envdoctor.render.json_out import envelope

        data = envelope(report, "r check")
        data["reticulate"] = reticulate_json(rr)
        data["reticulate"]["checked_python"] = target
        out.write(json.dumps(data, sort_keys=True, indent=2) + "\n")
    else:
        from envdoctor.render.console import render_check
        from envdoctor.render.r import render_reticulate

        color = out.isatty() and not args.no_color and not os.environ.get("NO_COLOR")
        render_check(report, out, color=color)
        render_reticulate(rr, out)
    threshold = Severity(args.fail_on).rank
    return 1 if any(f.severity.rank >= threshold for f in report.findings) else 0


def _require(args: argparse.Namespace) -> int:
    """``envdoctor r require MODEL...``: the ``py_require()`` declaration (ED910) as R lines.

    Text: one R line per line on stdout.  JSON: ``packages``, ``python_version``,
    ``env_vars``, ``label``, ``errors`` (codes still predicted), ``r_lines``.
    Exit 0, or 1 when envdoctor still predicts errors for the declared environment.
    """
    from envdoctor.rlang.ephemeral import py_require_for

    req = py_require_for(args.models, os.environ)
    if args.format == "json":
        data = {
            "packages": list(req.packages),
            "python_version": req.python_version,
            "env_vars": dict(req.env_vars),
            "label": req.label,
            "errors": list(req.errors),
            "r_lines": req.r_lines(),
        }
        sys.stdout.write(json.dumps(data, sort_keys=True, indent=2) + "\n")
    else:
        sys.stdout.write("\n".join(req.r_lines()) + "\n")
    return 1 if req.errors else 0


def _explain(args: argparse.Namespace) -> int:
    from envdoctor.errors import UsageError
    from envdoctor.rlang import context
    from envdoctor.rlang.explain import explain_error
    from envdoctor.types import Finding, Report, Severity

    text = args.error
    if args.error_file:
        try:
            with open(args.error_file, encoding="utf-8", errors="replace") as fh:
                text = fh.read(200_000)
        except OSError as exc:
            raise UsageError(f"cannot read {args.error_file}: {exc}") from exc
    if not text:
        raise UsageError("r explain needs --error TEXT or --error-file PATH")
    ctx = context.current()
    found: list[Finding] = explain_error(
        text, model=args.model, python=args.python, reticulate_version=ctx.reticulate_version
    )
    if args.model and args.python:
        from dataclasses import replace

        from envdoctor import app

        report = app.run(app.Options(models=(args.model,), python=args.python))
        for f in report.findings:
            same = next((i for i, g in enumerate(found) if g.code == f.code), None)
            if same is not None:  # the check says the same about this model: merge
                g = found[same]
                found[same] = replace(
                    g,
                    detail=f"{g.detail} {f.detail}",
                    evidence=g.evidence + f.evidence,
                    fixes=g.fixes + f.fixes,
                )
            elif f.severity is Severity.ERROR:
                found.append(f)
    out = sys.stdout
    # Not a check report: the explanation's findings for the envelope (no verdict, no lines).
    report = Report(models=(), environments=(), findings=tuple(found), verdicts=())
    if args.format == "json":
        from envdoctor.render.json_out import envelope

        data = envelope(report, "r explain")
        data["recognized"] = bool(found)
        out.write(json.dumps(data, sort_keys=True, indent=2) + "\n")
    else:
        from envdoctor.render.r import render_r_explain

        render_r_explain(found, out)
    return 0 if found else 1
