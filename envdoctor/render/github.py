r"""GitHub Actions workflow commands (``--format github``): findings become annotations.

Each error finding prints ``::error file=MODEL,title=CODE TITLE::DETAIL`` and each warning
``::warning ...``, so they show on the run's summary page and, for files in the pull
request, on the file itself.  Findings about the environment alone carry no ``file``.
Notes (``info``) and ignored findings go to a collapsed log group; the last line is a
one-line summary.  Format: https://docs.github.com/actions/reference/workflow-commands-for-github-actions

Everything printed is escaped as the Actions toolkit does (``%``, CR and LF in messages;
also ``:`` and ``,`` in properties), so nothing read from a model file or an environment
can end a command early or start a new one (a layer named ``x\n::add-mask::...`` is text).
"""

from __future__ import annotations

from envdoctor.types import Finding, ModelInfo, Report, Severity

LEVEL = {"error": "error", "warning": "warning", "info": "notice"}
"""Finding severity -> workflow command."""

MAX_MESSAGE_CHARS = 4000
"""Longest annotation message printed (characters); longer ones are cut."""


def escape_data(value: object) -> str:
    """Escape a workflow command's message (``%``, CR, LF), as ``@actions/core`` does.

    Args:
        value: any value.

    Returns:
        The escaped text (one line).
    """
    return str(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: object) -> str:
    """Escape a workflow command property value (also ``:`` and ``,``).

    Args:
        value: any value.

    Returns:
        The escaped text (one line).
    """
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _line(value: object) -> str:
    """A plain log line: one line, and never a workflow command (no leading ``::``)."""
    flat = " ".join(str(value).split())
    return " " + flat if flat.startswith("::") else flat


def command(level: str, message: str, **props: str) -> str:
    """Format one workflow command.

    Args:
        level: ``"error"``, ``"warning"`` or ``"notice"``.
        message: the annotation text (may hold newlines).
        **props: ``file``, ``title``, ``line``...; empty values are left out.

    Returns:
        ``::level key=value,...::message`` without a trailing newline.
    """
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    shown = ",".join(f"{k}={escape_property(v)}" for k, v in props.items() if v)
    return f"::{level}{' ' + shown if shown else ''}::{escape_data(message)}"


def _message(f: Finding) -> str:
    parts = [f.detail] if f.detail else []
    if f.python:
        parts.append(f"Python: {f.python}")
    parts.extend(f"{label}: {value}" for label, value in f.evidence[:6])
    for fix in f.fixes[:3]:
        desc = f" ({fix.description})" if fix.description else ""
        parts.append(f"Fix{desc}: {fix.text}")
    if f.source:
        parts.append(f"Source: {f.source}")
    return "\n".join(parts) or f.title


def render_check(report: Report) -> str:
    """Workflow commands for ``envdoctor check``.

    Args:
        report: the pipeline's result.

    Returns:
        One ``::error``/``::warning`` line per finding at warning or above, a log group of
        notes and ignored findings, and a summary line; ends with a newline.
    """
    lines = []
    several = len({f.python for f in report.findings if f.python}) > 1
    for f in sorted(report.findings, key=lambda f: -f.severity.rank):
        if f.severity is Severity.INFO:
            continue
        where = f" [{f.python}]" if several and f.python else ""
        lines.append(command(LEVEL[f.severity.value], _message(f), file=f.model,
                             title=f"{f.code} {f.title}{where}"))
    notes = [f for f in report.findings if f.severity is Severity.INFO]
    if notes or report.ignored:
        lines.append(f"::group::envdoctor: {len(notes)} note(s), {len(report.ignored)} ignored")
        for f in notes:
            where = f" ({f.model})" if f.model else ""
            lines.append(_line(f"{f.code} {f.title}{where}: {f.detail}"))
        shown = {(i.finding.code, i.finding.title, i.finding.model, i.reason): None
                 for i in report.ignored}
        for code, title, model, reason in shown:
            where = f" ({model})" if model else ""
            lines.append(_line(f"ignored {code} {title}{where}: {reason}"))
        lines.append("::endgroup::")
    errors = sum(1 for f in report.findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in report.findings if f.severity is Severity.WARNING)
    failing = sum(1 for v in report.verdicts if v.status == "error")
    tail = f"; {failing} of {len(report.verdicts)} check(s) will fail" if failing else ""
    lines.append(_line(f"envdoctor: {errors} error(s), {warnings} warning(s), "
                       f"{len(notes)} note(s){tail}"))
    return "\n".join(lines) + "\n"


def render_inspect(info: ModelInfo) -> str:
    """A ``::notice`` on the model saying what it is and what loading it needs.

    Args:
        info: the model as read.

    Returns:
        One workflow command line, ending with a newline.
    """
    message = info.summary + (f"\nTo load it: {info.needs}" if info.needs else "")
    message += "".join(f"\nNote: {n}" for n in info.notes)
    return command("notice", message, file=info.path, title="envdoctor inspect") + "\n"


def render_envs(report: Report) -> str:
    """``::warning`` per broken environment, then one plain line per environment.

    Args:
        report: the result of discovery.

    Returns:
        The lines, ending with a newline.
    """
    lines = [
        command("warning", f"{c.python or c.prefix}: {c.reason}", title="broken Python environment")
        for c in report.candidates
        if c.health == "broken"
    ]
    envs = {e.python: e for e in report.environments}
    for cand in report.candidates:
        env = envs.get(cand.python)
        version = f" Python {env.python_version}" if env else ""
        lines.append(_line(f"{cand.health}: {cand.kind} {cand.python or cand.prefix}{version}"))
    broken = sum(1 for c in report.candidates if c.health == "broken")
    lines.append(_line(f"envdoctor: {len(report.candidates)} environment(s), {broken} broken"))
    return "\n".join(lines) + "\n"


def render(report: Report, command_name: str) -> str:
    """Workflow commands for a command's report.

    Args:
        report: the pipeline's result.
        command_name: ``"check"``, ``"inspect"`` or ``"envs"`` (anything else renders
            as check).

    Returns:
        The lines, ending with a newline.
    """
    if command_name == "inspect" and report.models:
        return "".join(render_inspect(m) for m in report.models)
    if command_name == "envs":
        return render_envs(report)
    return render_check(report)
