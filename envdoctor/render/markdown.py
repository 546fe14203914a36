"""GitHub-flavoured Markdown (``--format markdown``), e.g. for a CI job's step summary.

``envdoctor check --format markdown >> "$GITHUB_STEP_SUMMARY"`` shows the verdicts as a
table, then each error and warning with its evidence, fixes (in code blocks, ready to paste)
and source; notes and ignored findings are folded in ``<details>``.

Everything that comes from a model file or an environment is escaped: a layer named
``<img src=x>`` or ``a|b`` prints as text and never breaks a table, and code blocks are
fenced with more backticks than the code holds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from envdoctor.render.facts import layer_count_text
from envdoctor.types import CandidateInfo, Environment, Finding, ModelInfo, Report, Severity

if TYPE_CHECKING:
    from envdoctor.fix import Plan

ICON = {"ok": "✅", "warning": "⚠️", "error": "❌", "info": "ℹ️", "broken": "⛔"}
"""Status and severity marks."""

FIX_LABEL = {"command": "run", "env": "set", "python": "Python", "r": "R"}
"""How each kind of fix is introduced."""

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_BACKTICKS = re.compile(r"`+")
_LIST_NUMBER = re.compile(r"^(\d+)\.")


def text(value: object, *, line_start: bool = False) -> str:
    """Escape text for Markdown: HTML, emphasis, links and table pipes print literally.

    Args:
        value: any value; it is turned into one line (newlines become spaces).
        line_start: the text starts a line, so a leading ``#``, ``-``, ``+``, ``=`` or
            ``1.`` must not make a heading or a list.

    Returns:
        The escaped line.
    """
    raw = " ".join(str(value).split())
    raw = raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = _SPECIAL.sub(r"\\\1", raw)
    if line_start:
        if escaped[:1] in ("#", "-", "+", "="):
            escaped = "\\" + escaped
        escaped = _LIST_NUMBER.sub(r"\1\\.", escaped, count=1)
    return escaped


def code(value: object) -> str:
    r"""An inline code span for ``value`` that survives backticks and table pipes.

    Args:
        value: any value; newlines become spaces.

    Returns:
        The span, e.g. ``` ``a`b`` ```; ``|`` is escaped as ``\|`` (GitHub tables
        split cells on it even inside code spans).
    """
    raw = " ".join(str(value).split()).replace("|", "\\|")
    if not raw:
        return ""
    longest = max((len(m) for m in _BACKTICKS.findall(raw)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if raw.startswith("`") or raw.endswith("`") else ""
    return f"{fence}{pad}{raw}{pad}{fence}"


def block(value: str, lang: str = "") -> str:
    """A fenced code block that no backtick run inside ``value`` can close.

    Args:
        value: the code, kept verbatim (several lines allowed).
        lang: the info string, e.g. ``"sh"``.

    Returns:
        The block, ending with a newline.
    """
    longest = max((len(m) for m in _BACKTICKS.findall(value)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{value.rstrip()}\n{fence}\n"


def _env_line(env: Environment) -> str:
    from envdoctor.render.console import describe_env  # rich is imported only when printing

    return describe_env(env)


def _model_rows(info: ModelInfo) -> list[tuple[str, str]]:
    rows = [("what", info.summary), ("format", info.format.value)]
    if info.keras_version:
        rows.append(("saved by Keras", info.keras_version))
    if info.tensorflow_version:
        rows.append(("saved by TensorFlow", info.tensorflow_version))
    if info.backend:
        rows.append(("backend", info.backend))
    if info.layers:
        rows.append(("layers", layer_count_text(info)))
    for spec in info.inputs:
        dims = ", ".join("None" if d is None else str(d) for d in spec.shape)
        rows.append((f"input {spec.name or '?'}", f"({dims}) {spec.dtype or '?'}"))
    for obj in info.custom_objects:
        rows.append((f"custom {obj.kind}", f"{obj.class_name} ({obj.module})"))
    for lam in info.lambdas:
        kind = "Python bytecode" if lam.has_bytecode else f"function {lam.function_name or '?'}"
        rows.append(("Lambda", f"{lam.layer}: {kind}"))
    for sec in info.security:
        rows.append(("runs/reads on load", f"{sec.kind} at {sec.where}: {sec.detail}"))
    if info.needs:
        rows.append(("to load it", info.needs))
    rows.extend(("note", note) for note in info.notes)
    return rows


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    lines.append("")
    return lines


def _finding(f: Finding, heading: str = "####") -> list[str]:
    sev = f.severity.value
    lines = [f"{heading} {ICON[sev]} {f.code} {text(f.title)}", ""]
    where = []
    if f.model:
        where.append(f"model {code(f.model)}")
    if f.python:
        where.append(f"Python {code(f.python)}")
    if where:
        lines.extend([" · ".join(where), ""])
    if f.detail:
        lines.extend([text(f.detail, line_start=True), ""])
    for label, value in f.evidence:
        lines.append(f"- **{text(label)}**: {text(value)}")
    if f.evidence:
        lines.append("")
    for fix in f.fixes:
        desc = f" — {text(fix.description)}" if fix.description else ""
        if fix.kind == "note":
            lines.extend([f"**Fix**: {text(fix.text)}{desc}", ""])
            continue
        lang = {"command": "sh", "env": "sh", "python": "python", "r": "r"}.get(fix.kind, "")
        label = FIX_LABEL.get(fix.kind, fix.kind)
        lines.extend([f"**Fix** ({text(label)}){desc}:", "", block(fix.text, lang)])
    if f.source:
        lines.extend([f"<sub>Source: {text(f.source)}</sub>", ""])
    return lines


def _headline(report: Report) -> str:
    statuses = [v.status for v in report.verdicts]
    bad = sum(1 for s in statuses if s == "error")
    warn = sum(1 for s in statuses if s == "warning")
    what = "model" if report.models else "environment"
    if bad:
        return f"{ICON['error']} envdoctor: {bad} of {len(statuses)} {what} check(s) will fail"
    if warn:
        return f"{ICON['warning']} envdoctor: {warn} of {len(statuses)} {what} check(s) warn"
    return f"{ICON['ok']} envdoctor: every {what} check passed"


def render_check(report: Report, plans: Sequence[Plan] = ()) -> str:
    """Markdown for ``envdoctor check``: verdicts, checks, findings, notes, ignored findings.

    Args:
        report: the pipeline's result.
        plans: the closing plans (:func:`envdoctor.fix.report_plans`, built by the caller).

    Returns:
        The document, ending with a newline.
    """
    lines = [f"## {_headline(report)}", ""]
    envs = {e.python: e for e in report.environments}
    rows = []
    for v in report.verdicts:
        env = envs.get(v.python)
        where = code(v.python) + (f" ({text(_env_line(env))})" if env else "")
        rows.append((
            code(v.model) if v.model else "*(environment only)*",
            where,
            f"{ICON[v.status]} {v.status}",
            ", ".join(v.codes) or "—",
        ))
    lines += _table(("Model", "Python", "Verdict", "Codes"), rows)
    if report.checked:
        lines += _table(
            ("", "Check", "Result"),
            [(ICON[c.status], text(c.name), text(c.summary)) for c in report.checked],
        )
    serious = [f for f in report.findings if f.severity is not Severity.INFO]
    notes = [f for f in report.findings if f.severity is Severity.INFO]
    if serious:
        lines += ["### Findings", ""]
        for f in sorted(serious, key=lambda f: -f.severity.rank):
            lines += _finding(f)
    if notes:
        lines += [f"<details><summary>{len(notes)} note(s)</summary>", ""]
        for f in notes:
            lines += _finding(f)
        lines += ["</details>", ""]
    if report.ignored:
        lines += [
            f"<details><summary>{len(report.ignored)} finding(s) ignored by the project "
            "configuration</summary>",
            "",
        ]
        lines += _table(
            ("Code", "Severity", "Title", "Model", "Reason"),
            [
                (i.finding.code, i.finding.severity.value, text(i.finding.title),
                 code(i.finding.model) if i.finding.model else "—", text(i.reason))
                for i in report.ignored
            ],
        )
        lines += ["</details>", ""]
    counts = {s: sum(1 for f in report.findings if f.severity is s) for s in Severity}
    lines.append(
        f"{counts[Severity.ERROR]} error(s), {counts[Severity.WARNING]} warning(s), "
        f"{counts[Severity.INFO]} note(s)."
    )
    for plan in plans:
        items = plan.items()
        if not items:
            continue
        lines += ["", f"### Plan for {code(plan.env.prefix)} (run once, in order)", ""]
        for number, item in enumerate(items, 1):
            lines.append(f"{number}. {code(item.text)} ({', '.join(item.codes)})"
                         + (f"; in R: {code(item.r_text)}" if item.r_text else ""))
    return "\n".join(lines) + "\n"


def render_inspect(info: ModelInfo) -> str:
    """Markdown for ``envdoctor inspect``: what the model is and records.

    Args:
        info: the model as read.

    Returns:
        The document, ending with a newline.
    """
    lines = [f"## {code(info.path)}", ""]
    lines += _table(("Fact", "Value"), [(text(k), text(v)) for k, v in _model_rows(info)])
    return "\n".join(lines) + "\n"


def _health(cand: CandidateInfo) -> str:
    icon = ICON.get(cand.health, ICON["broken"])
    if cand.health == "broken":
        return f"{icon} broken: {text(cand.reason)}"
    return f"{icon} {cand.health}"


def render_envs(report: Report) -> str:
    """Markdown for ``envdoctor envs``: one table row per environment found.

    Args:
        report: the result of discovery (``candidates`` and readable ``environments``).

    Returns:
        The document, ending with a newline.
    """
    envs = {e.python: e for e in report.environments}
    rows = []
    for cand in report.candidates:
        env = envs.get(cand.python)
        stack = text(_env_line(env)) if env else "—"
        rows.append((text(cand.kind), code(cand.python or cand.prefix), stack, _health(cand)))
    broken = sum(1 for c in report.candidates if c.health == "broken")
    lines = [f"## envdoctor: {len(report.candidates)} Python environment(s), {broken} broken", ""]
    lines += _table(("Kind", "Interpreter", "Stack", "Health"), rows)
    return "\n".join(lines) + "\n"


def render(report: Report, command: str, plans: Sequence[Plan] = ()) -> str:
    """Markdown for a command's report.

    Args:
        report: the pipeline's result.
        command: ``"check"``, ``"inspect"`` or ``"envs"`` (anything else renders as check).
        plans: for ``check``, the closing plans (built by the caller).

    Returns:
        The document, ending with a newline.
    """
    if command == "inspect" and report.models:
        return "".join(render_inspect(m) for m in report.models)
    if command == "envs":
        return render_envs(report)
    return render_check(report, plans)
