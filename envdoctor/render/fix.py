"""The output of ``envdoctor fix``: the plan and what happened, for people and as JSON.

:func:`render_text` writes the plan (the numbered list ``check`` ends with, each install
step's resolver dry run), the remedies by hand, and after ``--yes`` each step's result, the
snapshot and its restore command, before → after and what is left; :func:`to_json` is the
``fix`` envelope.  Both take the :class:`envdoctor.fix.FixOutcome` that
:func:`envdoctor.fix.run_fix` returns and plan nothing themselves.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Callable, Optional, TextIO

if TYPE_CHECKING:
    from envdoctor.fix import FixOutcome
    from envdoctor.installer import Change
    from envdoctor.types import Report, Severity


def _rerun(args: argparse.Namespace, outcome: FixOutcome) -> str:
    from envdoctor.installer import display
    from envdoctor.snapshot import self_command

    words = ["fix", *args.models, "--python", outcome.plan.env.python]
    if args.severity != "error":
        words += ["--severity", args.severity]
    return f"{self_command()} {display(words)} --yes"


def render_text(outcome: FixOutcome, args: argparse.Namespace, out: TextIO) -> None:
    """Write the plan, and what happened when it was applied, for a person."""
    plan = outcome.plan
    env = plan.env
    w = out.write
    w(f"envdoctor fix: {env.python}\n")
    w(f"  Python {env.python_version or '?'}, {env.manager} environment {env.prefix}\n")
    for model in outcome.before.models:
        w(f"  model: {model.path}\n")
    w("\n")
    if not plan.findings:
        w(f"Nothing to fix: no finding at or above {plan.severity.value}.\n")
        return
    w(f"Findings to fix ({plan.severity.value} and above):\n")
    for f in plan.findings:
        mark = "✗" if f.severity.value == "error" else "!"
        w(f"  {mark} {f.code} {f.title}\n")
    w("\n")
    for warning in plan.warnings:
        w(f"warning: {warning}\n")
    items = plan.items()
    if items:
        # the same numbered list `envdoctor check` ends with (Plan.items)
        w("Plan (run once, in order; with --yes envdoctor runs the install steps, "
          "the rest is yours):\n")
    steps = {s.text: s for s in plan.steps}
    label = {"uv": "uv pip install --dry-run", "pip": "pip install --dry-run --report"}
    from envdoctor.render.facts import item_lines

    for number, item in enumerate(items, 1):
        for line in item_lines(number, item):
            w(line + "\n")
        step = steps.get(item.text) if item.kind == "command" else None
        dry = step.dry_run if step is not None else None
        if step is None or dry is None:
            continue
        name = label.get(step.tool, f"{step.tool} install --dry-run")
        if dry.ok:
            w(f"     resolver dry run ({name}): resolves; "
              f"{len(dry.changes) or 'no'} change{'s' if len(dry.changes) != 1 else ''}\n")
            for change in dry.changes:
                w(f"       {change.text()} ({change.action})\n")
        else:
            w(f"     resolver dry run ({name}): DOES NOT RESOLVE\n")
            for line in dry.output.splitlines():
                w(f"       {line}\n")
    if items:
        w("\n")
    if plan.manual:
        w("Other remedies of the findings by hand (alternatives to the steps above):\n")
        for m in plan.manual:
            others = [f for f in m.fixes[:4] if f.kind != "note"][1:]
            if not others:
                continue
            w(f"  {m.code} {m.title}\n")
            for fix in others[:3]:
                w(f"     {fix.kind}: {fix.text}\n")
        w("\n")
    _render_status(outcome, args, w)


def _render_status(
    outcome: FixOutcome, args: argparse.Namespace, w: Callable[[str], Any]
) -> None:
    status = outcome.status
    if status in ("manual-only", "unresolvable"):
        if status == "manual-only":
            w("Nothing to install: the steps above are by hand.\n")
        else:
            w("The plan does not resolve; nothing was changed.\n")
        if outcome.before.models:
            from envdoctor.installer import display
            from envdoctor.snapshot import self_command

            models = display([m.path for m in outcome.before.models][:1])
            w("If this environment cannot be fixed in place, build a new one that loads the "
              f"model:\n  {self_command()} env create {models} --path NEW_DIR\n")
        return
    if status == "planned":
        w("Nothing was changed. After applying, envdoctor checks again and says what is "
          "left. To apply the plan:\n")
        w(f"  {_rerun(args, outcome)}\n")
        return
    for number, run in enumerate(outcome.runs, 1):
        state = "done" if run.ok else f"FAILED (exit {run.returncode})"
        if run.timed_out:
            state = "FAILED (timed out)"
        label = f"Step {number}" if number <= len(outcome.plan.steps) else (
            "Repair (reinstalled distributions whose shared files a step removed)")
        w(f"{label}: {state} in {run.seconds:.1f} s\n")
        if not run.ok:
            from envdoctor.installer import tail

            for line in tail(run.error or run.output, 20).splitlines():
                w(f"    {line}\n")
    if outcome.snapshot is not None:
        w(f"Snapshot of the environment before: {outcome.snapshot.path}\n")
        w(f"  restore: {outcome.restore[0]}\n")
        for line in outcome.restore[1:]:
            w(f"       or: {line}\n")
    if status == "failed":
        w("A step failed: nothing more was run. The snapshot is kept; the command above "
          "restores the environment exactly.\n")
        if outcome.changes:
            w("Changed so far:\n")
            for change in outcome.changes:
                w(f"  {change.text()}\n")
        return
    w("\nBefore → after:\n")
    for change in outcome.changes:
        w(f"  {change.text()}\n")
    if not outcome.changes:
        w("  (no package changed)\n")
    before_codes = _codes(outcome.before, outcome.plan.severity)
    after_codes = _codes(outcome.after, outcome.plan.severity)
    w(f"  findings ({outcome.plan.severity.value}+): {before_codes or 'none'} → "
      f"{after_codes or 'none'}\n")
    if outcome.after is not None:
        before_v = {(v.model, v.python): v.status for v in outcome.before.verdicts}
        for v in outcome.after.verdicts:
            was = next((s for (m, _), s in before_v.items() if m == v.model), "?")
            w(f"  {v.model or 'environment'}: {was} → {v.status}\n")
    _render_left(outcome, w)
    if outcome.verify is not None:
        w("Verify (real load and forward pass"
          + (f", with {_settings_text(outcome)}" if outcome.with_settings == () else "")
          + "):\n")
        for m in outcome.verify.models:
            if m.outcome == "ok":
                w(f"  ✓ {m.path}: loads and runs\n")
            else:
                fail = m.failure
                why = f"{fail.error_type}: {fail.error}" if fail else m.outcome
                w(f"  ✗ {m.path}: fails at {m.outcome}: {why}\n")
        if outcome.verify.problem:
            w(f"  {outcome.verify.problem}\n")
    if outcome.success:
        w("Fixed.\n")
    elif outcome.with_settings == ():
        w(f"Installed. Set {_settings_text(outcome)} as above when you run it; until then "
          "`envdoctor check` still reports what is left (exit 1).\n")
    else:
        w("Findings remain (see above and `envdoctor check`).\n")


def _settings_text(outcome: FixOutcome) -> str:
    return ", ".join(f"{k}={v}" if v is not None else f"{k} unset"
                     for k, v in outcome.settings.items())


def _render_left(outcome: FixOutcome, w: Callable[[str], Any]) -> None:
    """Write what is left after applying.

    Each remaining finding with its own fixes (as the check gives them for the changed
    environment), and whether setting the variables those fixes name clears them all.
    """
    if outcome.after is None:
        return
    left = [f for f in outcome.after.findings if f.severity.rank >= outcome.plan.severity.rank]
    if not left:
        return
    w("Left after the plan (each with its fixes, as the check now gives them):\n")
    for f in left:
        w(f"  {f.code} {f.title}\n")
        for fix in f.fixes[:3]:
            w(f"     {fix.kind}: {fix.text}\n")
    if outcome.with_settings == ():
        w(f"With {_settings_text(outcome)} set before Python starts (in R: before reticulate "
          "starts Python), the check finds nothing left.\n")


def _codes(report: Optional[Report], severity: Severity) -> str:
    if report is None:
        return ""
    codes = sorted({f.code for f in report.findings if f.severity.rank >= severity.rank})
    return ", ".join(codes)


def to_json(outcome: FixOutcome) -> dict[str, Any]:
    """Return the JSON envelope of ``fix``.

    It is the check envelope (of the environment after, when the plan was applied, else
    before) plus a ``fix`` key with the plan, the dry runs, the snapshot and what ran.
    """
    from envdoctor.render.json_out import envelope, to_jsonable

    report = outcome.after or outcome.before
    data = envelope(report, "fix")
    plan = outcome.plan
    data["fix"] = {
        "status": outcome.status,
        "success": outcome.success,
        "python": plan.env.python,
        "prefix": plan.env.prefix,
        "tool": plan.tool.name if plan.tool else None,
        "severity": plan.severity.value,
        "findings": [f.code for f in plan.findings],
        "steps": [
            {
                "command": s.text,
                "argv": list(s.argv),
                "requirements": list(s.requirements),
                "codes": list(s.codes),
                "dry_run": None if s.dry_run is None else {
                    "ok": s.dry_run.ok,
                    "changes": [_change(c) for c in s.dry_run.changes],
                    "output": "" if s.dry_run.ok else s.dry_run.output,
                },
            }
            for s in plan.steps
        ],
        "manual": [
            {"code": m.code, "title": m.title, "fixes": to_jsonable(list(m.fixes))}
            for m in plan.manual
        ],
        "warnings": list(plan.warnings),
        "snapshot": str(outcome.snapshot.path) if outcome.snapshot else None,
        "restore": list(outcome.restore),
        "runs": [
            {"command": list(r.argv), "returncode": r.returncode, "seconds": r.seconds,
             "ok": r.ok, "output": "" if r.ok else r.output[-4000:]}
            for r in outcome.runs
        ],
        "changes": [_change(c) for c in outcome.changes],
        "settings": dict(outcome.settings),
        "left_with_settings": None if outcome.with_settings is None
        else sorted({f.code for f in outcome.with_settings}),
        "before": {"codes": sorted({f.code for f in outcome.before.findings}),
                   "verdicts": to_jsonable(list(outcome.before.verdicts))},
        "verify": None,
    }
    if outcome.verify is not None:
        from envdoctor.verify import to_jsonable as verify_json

        data["fix"]["verify"] = verify_json(outcome.verify)
    return data


def _change(change: Change) -> dict[str, Any]:
    return {"name": change.name, "from": change.before, "to": change.after,
            "action": change.action}
