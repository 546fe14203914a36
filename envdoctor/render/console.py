"""The doctor-style terminal report (rich, imported only here).

Colour only on a terminal; ``NO_COLOR`` honoured by the caller.  On a terminal rich
sizes the output to the window.  In a pipe or a log (stdout not a terminal) prose wraps
at ``COLUMNS`` (80 when unset), only between words, so a path or a command is never
broken; tables (``envs``) keep one row per line and every value whole, as wide as the
widest value needs (a line may be longer than ``COLUMNS``), with columns separated by
at least two spaces and ``-`` where a value does not apply, so ``grep`` and ``awk``
work.  Locations under the home directory are shown as ``~/...``.  Everything that comes
from a model file or an environment is escaped, so a layer named ``[bold]`` prints as
text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Optional, TextIO, Union

from envdoctor.render.facts import item_lines, layer_count_text
from envdoctor.types import Environment, Finding, ModelInfo, Report, Severity, worst_status

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from envdoctor.fix import Plan
    from envdoctor.verify import HarnessRun, Step

MARK = {"ok": "✓", "warning": "!", "error": "✗", "info": "•"}
STYLE = {"ok": "green", "warning": "yellow", "error": "red", "info": "cyan"}
STACK = ("tensorflow", "keras", "tf-keras", "numpy", "jax", "torch", "h5py", "protobuf")


def is_terminal(out: TextIO) -> bool:
    """True when ``out`` is an interactive terminal (False for pipes, files, ``StringIO``)."""
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def pipe_width(environ: Optional[Mapping[str, str]] = None) -> int:
    """Columns for output that is not a terminal: ``COLUMNS`` when it is a number >= 20, else 80."""
    value = (os.environ if environ is None else environ).get("COLUMNS", "").strip()
    return int(value) if value.isdigit() and int(value) >= 20 else 80


def home_path(path: object) -> str:
    """Return ``path`` with the home directory shown as ``~`` (``/home/me/x`` -> ``~/x``).

    For display only (tables, headers); commands to paste and ``which`` keep absolute paths.
    """
    text = str(path)
    home = os.path.expanduser("~").rstrip("/\\")
    if len(home) > 1 and (text == home or text.startswith(home + os.sep)):
        return "~" + text[len(home):]
    return text


_RICH_TAG = re.compile(r"((\\*)\[([a-z#/@][^[]*?)])")
"""rich's markup tag (``rich.markup.RE_TAGS``): ``[bold]``, ``[/red]``, escaped ``\\[x]``."""
_RICH_ESCAPE = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")
"""What ``rich.markup.escape`` escapes."""


def plain_text(markup: str) -> str:
    """Return rich ``markup`` as the plain text rich would print: tags dropped, escapes undone.

    The same parse as ``rich.markup._parse`` (rich's documented markup syntax), without
    importing rich: plain output (a pipe, a log, ``--no-color``) does not pay for it.
    """
    parts: list[str] = []
    position = 0
    for match in _RICH_TAG.finditer(markup):
        full, escapes, _tag = match.groups()
        start, end = match.span()
        parts.append(markup[position:start].replace("\\[", "["))  # rich: an escaped "[" alone
        position = end
        if escapes:
            backslashes, escaped = divmod(len(escapes), 2)
            parts.append("\\" * backslashes)
            if escaped:
                parts.append(full[len(escapes):])
    parts.append(markup[position:].replace("\\[", "["))
    return "".join(parts)


class PlainConsole:
    """The part of ``rich.console.Console`` the report renderers use, for plain output.

    Off a terminal and without colour the renderers print through this: the same lines
    (markup dropped by :func:`plain_text`, wrapping between words at :attr:`width`)
    without importing rich, which is most of the start-up time of a ``check`` in a pipe.
    """

    def __init__(self, out: TextIO, width: int) -> None:
        self.file = out
        self.width = width

    def print(self, *objects: object, soft_wrap: bool = False) -> None:
        """Write the objects' plain text (markup dropped) and a newline; never wraps."""
        self.file.write(" ".join(plain_text(str(o)) for o in objects).rstrip() + "\n")


Out = Union["Console", PlainConsole]
"""Where the renderers print: rich on a terminal or with colour, else :class:`PlainConsole`."""


def _console(out: TextIO, color: bool) -> Out:
    if not color and not is_terminal(out):
        return PlainConsole(out, pipe_width())
    return _rich_console(out, color)


def _rich_console(out: TextIO, color: bool) -> Console:
    from rich.console import Console

    return Console(
        file=out,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        width=None if is_terminal(out) else pipe_width(),
    )


def _print_table(console: Console, table: Table, out: TextIO, color: bool) -> None:
    """Print a table; off a terminal every cell whole on one line, as wide as it needs.

    The width is rich's own measurement of the table (each column as wide as its widest
    cell) or ``COLUMNS``, whichever is larger; trailing padding is stripped.
    """
    if is_terminal(out):
        console.print(table)
        return
    import io

    from rich.console import Console
    from rich.measure import Measurement

    for column in table.columns:
        column.no_wrap = True
        column.overflow = "ignore"
    need = Measurement.get(console, console.options.update_width(1 << 20), table).maximum
    buf = io.StringIO()
    wide = Console(file=buf, force_terminal=color, no_color=not color,
                   color_system="standard" if color else None, highlight=False, emoji=False,
                   width=max(console.width, need))
    wide.print(table)
    for line in buf.getvalue().splitlines():
        out.write(line.rstrip() + "\n")


def keras_backend_shown(env: Environment) -> Optional[str]:
    """The Keras backend to show for ``env``, or None when no Keras is installed there.

    Keras 2 (``keras`` 2.x, ``tf-keras``, the Keras inside TensorFlow < 2.6) only runs on
    TensorFlow; Keras 3 runs on ``env.keras_backend`` (``KERAS_BACKEND``, keras.json, else
    the default); see :func:`envdoctor.checks.runtime.effective_keras`.
    """
    from envdoctor.checks.runtime import effective_keras

    runtime = effective_keras(env)
    if runtime.provided_by is None and not env.version_of("tf-keras"):
        return None
    return runtime.backend or env.keras_backend


def _e(text: object) -> str:
    """Escape ``text`` for rich markup exactly as ``rich.markup.escape`` does."""

    def double(match: re.Match[str]) -> str:
        backslashes, tag = match.groups()
        return f"{backslashes}{backslashes}\\{tag}"

    markup = _RICH_ESCAPE.sub(double, str(text))
    if markup.endswith("\\") and not markup.endswith("\\\\"):
        return markup + "\\"
    return markup


def describe_env(env: Environment) -> str:
    """One line naming an environment's Python and ML stack, e.g. ``Python 3.11.7 (venv) ...``."""
    parts = []
    tf = next(
        (env.version_of(n) for n in ("tensorflow", "tensorflow-cpu", "tensorflow-gpu",
                                     "tensorflow-intel", "tensorflow-macos", "tf-nightly")
         if env.version_of(n)),
        None,
    )
    if tf:
        parts.append(f"tensorflow {tf}")
    for name in STACK[1:]:
        version = env.version_of(name)
        if version:
            parts.append(f"{name} {version}")
    stack = ", ".join(parts) if parts else "no TensorFlow/Keras installed"
    version = env.python_version or "?"
    backend = keras_backend_shown(env)
    tail = f"; Keras backend {backend}" if backend else ""
    return f"Python {version} ({env.kind}) — {stack}{tail}"


def _model_lines(info: ModelInfo) -> list[tuple[int, str]]:
    lines = [(0, f"[bold]{_e(info.path)}[/bold]"), (2, _e(info.summary))]
    facts: list[tuple[str, str]] = []
    if info.keras_version:
        facts.append(("saved by Keras", info.keras_version))
    if info.tensorflow_version:
        facts.append(("saved by TensorFlow", info.tensorflow_version))
    if info.backend:
        facts.append(("backend", info.backend))
    if info.date_saved:
        facts.append(("date saved", info.date_saved))
    if info.dialect.value != "unknown":
        facts.append(("config dialect", info.dialect.value))
    if info.model_class:
        mod = f" ({info.model_module})" if info.model_module else ""
        facts.append(("model class", info.model_class + mod))
    if info.layers:
        facts.append(("layers", layer_count_text(info)))
    for spec in info.inputs:
        dims = ["None" if d is None else str(d) for d in spec.shape]
        shape = "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
        facts.append((f"input {spec.name or '?'}", f"{shape} {spec.dtype or '?'}"))
    if info.dtype_policy:
        facts.append(("dtype policy", info.dtype_policy))
    for obj in info.custom_objects:
        reg = f" registered as {obj.registered_name}" if obj.registered_name else ""
        facts.append((f"custom {obj.kind}", f"{obj.class_name} (module {obj.module}){reg}"))
    for lam in info.lambdas:
        kind = "Python bytecode" if lam.has_bytecode else f"function {lam.function_name or '?'}"
        facts.append(("Lambda", f"{lam.layer}: {kind}"))
    for sec in info.security:
        facts.append(("runs/reads on load", f"{sec.kind} at {sec.where}: {sec.detail}"))
    if info.weights_member:
        size = f" ({info.weights_bytes:,} bytes)" if info.weights_bytes is not None else ""
        facts.append(("weights", info.weights_member + size))
    if info.savedmodel:
        sm = info.savedmodel
        for mg in sm.meta_graphs:
            sigs = ", ".join(s.key for s in mg.signatures) or "none"
            facts.append((
                "meta graph",
                f"tags {','.join(mg.tags) or '-'}; TF {mg.tensorflow_version or '?'}; "
                f"{len(mg.ops)} ops; producer {mg.producer}; signatures {sigs}",
            ))
        facts.append(("keras_metadata.pb", "yes" if sm.has_keras_metadata else "no"))
        facts.append(("fingerprint.pb", "yes" if sm.has_fingerprint else "no"))
    if info.sidecar:
        py = info.sidecar.python_version or "not stated"
        facts.append(("files beside it", f"{', '.join(info.sidecar.files)} (Python {py})"))
    if info.needs:
        facts.append(("to load it", info.needs))
    lines.extend((2, f"[dim]{_e(k)}:[/dim] {_e(v)}") for k, v in facts)
    lines.extend((2, f"[dim]note:[/dim] {_e(n)}") for n in info.notes)
    return lines


def render_inspect(info: ModelInfo, out: TextIO, *, color: bool) -> None:
    """Print what a model is and records (``envdoctor inspect``)."""
    console = _console(out, color)
    for indent, line in _model_lines(info):
        _print(console, indent, line)


def _finding_lines(f: Finding) -> list[tuple[int, str]]:
    sev = f.severity.value
    lines = [(0, f"[{STYLE[sev]}]{MARK[sev]} {f.code}[/{STYLE[sev]}] [bold]{_e(f.title)}[/bold]")]
    if f.detail:
        lines.append((4, _e(f.detail)))
    for label, value in f.evidence:
        lines.append((4, f"[dim]{_e(label)}:[/dim] {_e(value)}"))
    for fix in f.fixes:
        label = {"command": "run", "env": "set", "python": "python", "r": "R", "note": "note"}.get(
            fix.kind, fix.kind
        )
        desc = f" [dim]— {_e(fix.description)}[/dim]" if fix.description else ""
        if fix.kind == "note":
            lines.append((4, f"[bold]fix[/bold]: {_e(fix.text)}{desc}"))
        else:
            lines.append((4, f"[bold]fix[/bold] ({label}){desc}:"))
            lines.append((-6, _e(fix.text)))  # negative indent: never split (copy-paste)
    if f.source:
        lines.append((4, f"[dim]source: {_e(f.source)}[/dim]"))
    return lines


def _print(console: Out, indent: int, markup: str) -> None:
    """Print markup indented; wrapped lines keep the indent; negative indent = no wrapping.

    Lines break only between words (a path longer than the line stays whole on its own).
    """
    if indent < 0:
        console.print(" " * -indent + markup, soft_wrap=True)
        return
    if isinstance(console, PlainConsole):
        import textwrap

        width = max(20, console.width - indent)
        pad = " " * indent
        for part in plain_text(markup).split("\n"):
            wrapped = textwrap.wrap(part, width, break_long_words=False, break_on_hyphens=False)
            for piece in wrapped or [""]:
                console.file.write((pad + piece).rstrip() + "\n")
        return
    from rich.text import Text

    text = Text.from_markup(markup)
    width = max(20, console.width - indent)
    for line in _wrap_whole_words(console, text, width):
        line.rstrip()
        console.print(Text(" " * indent) + line, soft_wrap=True)


def _header(console: Out, python: str) -> None:
    """``Python environment PATH`` on one line, never wrapped (``grep`` finds the path)."""
    console.print(f"[bold]Python environment[/bold] {_e(home_path(python))}", soft_wrap=True)


def _wrap_whole_words(console: Console, text: Text, width: int) -> list[Text]:
    """Split ``text`` into lines of at most ``width`` cells, only between words.

    A word longer than ``width`` (a path, a URL) stays whole on a line of its own; rich's
    own line divider does the work (``Text.wrap`` folds such words in two).
    """
    try:
        from rich._wrap import divide_line
    except ImportError:  # pragma: no cover - a rich without its divider: widen instead
        longest = max((len(w) for w in text.plain.split()), default=0)
        return list(text.wrap(console, max(width, longest), overflow="fold"))
    lines: list[Text] = []
    for part in text.split(allow_blank=True):
        for piece in part.divide(divide_line(part.plain, width, fold=False)):
            piece.rstrip_end(width)
            lines.append(piece)
    return lines


def render_check(report: Report, out: TextIO, *, color: bool,
                 plans: Sequence[Plan] = ()) -> None:
    """Print the doctor report of ``envdoctor check``.

    Layout: the environment, each model, one ✓/!/✗ line per section, then every finding
    with its evidence, fixes and source, then one verdict line per model.
    """
    console = _console(out, color)
    if report.candidates:
        _render_all(report, console)
        return
    for env in report.environments:
        _header(console, env.python)
        _print(console, 2, _e(describe_env(env)))
        for note in env.notes:
            _print(console, 2, f"[dim]note:[/dim] {_e(note)}")
    for info in report.models:
        console.print()
        for indent, line in _model_lines(info):
            _print(console, indent, line)
    console.print()
    for item in report.checked:
        style = STYLE[item.status]
        mark = f"[{style}]\\[{MARK[item.status]}][/{style}]"
        _print(console, 0, f"{mark} {_e(item.name)}: {_e(item.summary)}")
    shown = list(report.findings)
    if shown:
        console.print()
    for f in shown:
        for indent, line in _finding_lines(f):
            _print(console, indent, line)
        console.print()
    errors = sum(1 for f in report.findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in report.findings if f.severity is Severity.WARNING)
    for v in report.verdicts:
        what = v.model or "this environment"
        if v.status == "error":
            text = f"[red]✗ {_e(what)} will NOT load or run here[/red] ({', '.join(v.codes)})"
        elif v.status == "warning":
            codes = ", ".join(v.codes)
            text = f"[yellow]! {_e(what)} should load, with warnings[/yellow] ({codes})"
        else:
            text = f"[green]✓ {_e(what)} should load and run here[/green]"
        _print(console, 0, text)
    _print(console, 0, f"[dim]{errors} error(s), {warnings} warning(s).[/dim]")
    _render_plans(report, plans, console)
    shown_ignored = {(i.finding.code, i.finding.model, i.reason): None for i in report.ignored}
    for code, model, reason in shown_ignored:
        where = f" ({_e(model)})" if model else ""
        _print(console, 0, f"[dim]ignored {code}{where}: {_e(reason)}[/dim]")


def plan_text_lines(report: Report, plans: Sequence[Plan]) -> list[str]:
    """Return the report's closing plan as plain lines, one plan per environment.

    ``plans`` come from :func:`envdoctor.fix.report_plans` (built by the caller); each is
    printed as its :meth:`envdoctor.fix.Plan.items`:
    the same steps ``envdoctor fix`` shows for that environment, numbered in the order to
    run them.  Commands and code lines stand alone on a line indented by 6 (never wrapped,
    to paste whole); the other lines are prose.  Empty when no environment has an error.
    """
    from envdoctor.installer import display
    from envdoctor.snapshot import self_command

    lines: list[str] = []
    for plan in plans:
        items = plan.items()
        if not items:
            continue
        env = plan.env
        lines.append("")
        covers = "errors and warnings" if plan.severity.value == "warning" else "errors"
        lines.append(f"Plan for {env.prefix}: run once, in order (fixes the {covers})")
        for number, item in enumerate(items, 1):
            lines += item_lines(number, item)
        for warning in plan.warnings:
            lines.append(f"  warning: {warning}")
        if plan.steps:
            models = [m.path for m in report.models]
            lines.append("  The resolver's dry run of this plan (add --yes to apply it):")
            more = ["--severity", "warning"] if plan.severity.value == "warning" else []
            lines.append(f"      {self_command()} fix "
                         f"{display([*models, '--python', env.python, *more])}")
    return lines


def _render_plans(report: Report, plans: Sequence[Plan], console: Out) -> None:
    for line in plan_text_lines(report, plans) if plans else ():
        if not line:
            console.print()
        elif line.startswith("      "):
            console.print(_e(line), soft_wrap=True)  # a command: whole, to paste
        else:
            body = line.lstrip(" ")
            _print(console, len(line) - len(body), _e(body))


def render_envs(report: Report, out: TextIO, *, color: bool) -> None:
    """Print one row per environment found (``envdoctor envs``).

    Columns: kind, location, Python, TensorFlow, Keras, tf-keras, NumPy, backend, health.
    """
    from rich.table import Table

    console = _rich_console(out, color)
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    columns: tuple[str, ...] = ("kind", "location", "Python", "TF", "Keras", "tf-keras")
    columns += ("NumPy", "backend", "health")
    for col in columns:
        table.add_column(col, overflow="fold", no_wrap=col not in ("location", "health"))
    envs = {e.python: e for e in report.environments}
    for cand in report.candidates:
        env = envs.get(cand.python)
        health = cand.health if cand.health != "broken" else f"broken: {cand.reason}"
        style = STYLE.get(cand.health, "red")
        where = _e(home_path(cand.python or cand.prefix) or "-")
        if env is None:
            table.add_row(cand.kind or "-", where, "-", "-", "-", "-", "-", "-",
                          f"[{style}]{_e(health)}[/{style}]")
            continue
        tf = next((env.version_of(n) for n in ("tensorflow", "tensorflow-cpu", "tensorflow-gpu",
                                                "tensorflow-intel", "tensorflow-macos",
                                                "tf-nightly") if env.version_of(n)), None)
        table.add_row(
            cand.kind or "-",
            where,
            env.python_version or "?",
            tf or "-",
            env.version_of("keras") or "-",
            env.version_of("tf-keras") or "-",
            env.version_of("numpy") or "-",
            keras_backend_shown(env) or "-",
            f"[{style}]{_e(health)}[/{style}]",
        )
    _print_table(console, table, out, color)
    broken = sum(1 for c in report.candidates if c.health == "broken")
    _print(console, 0, f"[dim]{len(report.candidates)} environment(s), {broken} broken.[/dim]")


def _render_all(report: Report, console: Out) -> None:
    """``check --all``: each environment's verdict, best first, with the reason for each."""
    for info in report.models:
        for indent, line in _model_lines(info)[:2]:
            _print(console, indent, line)
    console.print()
    by_python: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_python.setdefault(f.python, []).append(f)
    for cand in report.candidates:
        label = f"{cand.kind} {cand.name}".strip()
        if cand.health == "broken":
            where = home_path(cand.python or cand.prefix)
            _print(console, 0, f"[red]✗ {_e(where)}[/red] ({_e(label)})")
            _print(console, 4, f"broken: {_e(cand.reason)}")
            continue
        verdicts = [v for v in report.verdicts if v.python == cand.python]
        worst = worst_status(v.status for v in verdicts)
        style = STYLE[worst]
        where = home_path(cand.python)
        _print(console, 0, f"[{style}]{MARK[worst]} {_e(where)}[/{style}] ({_e(label)})")
        mine = [f for f in by_python.get(cand.python, []) if f.severity is not Severity.INFO]
        if not mine:
            _print(console, 4, "should load and run here")
        for f in sorted(mine, key=lambda f: -f.severity.rank)[:4]:
            _print(console, 4, f"{f.code} {_e(f.title)}")
        if len(mine) > 4:
            more = len(mine) - 4
            _print(console, 4, f"[dim]... and {more} more (envdoctor check --python ...)[/dim]")
    ok = sum(1 for c in report.candidates if c.health != "broken" and all(
        v.status != "error" for v in report.verdicts if v.python == c.python))
    console.print()
    _print(console, 0, f"[dim]{ok} of {len(report.candidates)} environment(s) can load it.[/dim]")


# ---------------------------------------------------------------- verify and explain


def _render_findings_and_checked(report: Report, console: Out) -> None:
    """The ✓/!/✗ section lines, then every finding (as ``check`` prints them)."""
    console.print()
    for item in report.checked:
        style = STYLE[item.status]
        mark = f"[{style}]\\[{MARK[item.status]}][/{style}]"
        _print(console, 0, f"{mark} {_e(item.name)}: {_e(item.summary)}")
    if report.findings:
        console.print()
    for f in report.findings:
        for indent, line in _finding_lines(f):
            _print(console, indent, line)
        console.print()


def _step_line(step: Step) -> str:
    name = step.name.replace("_", " ")
    if step.input:
        name += f" [{step.input}]"
    if step.ok:
        tail = f" [dim]— {_e(step.detail)}[/dim]" if step.detail else ""
        return f"[green]✓[/green] {_e(name)} [dim]{step.seconds:.2f} s[/dim]{tail}"
    from envdoctor.checks.observed import key_line

    first = key_line(step.error or "")
    if len(first) > 160:
        first = first[:159] + "…"
    extra = f" ({_e(step.detail)})" if step.detail else ""
    etype = step.error_type or "failed"
    return (f"[red]✗[/red] {_e(name)} [dim]{step.seconds:.2f} s[/dim] — "
            f"{_e(etype)}: {_e(first)}{extra}")


def _render_run(run: HarnessRun, env: Environment | None, console: Out) -> None:
    _header(console, run.python)
    if env is not None:
        _print(console, 2, _e(describe_env(env)))
    if run.problem:
        _print(console, 2, f"[red]verify failed:[/red] {_e(run.problem)}")
    limit = f"{run.memory_limit / 1024**3:g} GiB" if run.memory_limit else "no memory limit"
    imported = f"import {run.import_step.seconds:.1f} s; " if run.import_step else ""
    unsafe = "tried (--unsafe)" if run.unsafe else "never tried"
    _print(console, 2, f"[dim]loader {_e(run.loader or '?')}; {imported}limits "
                       f"{run.timeout:g} s per model, {limit}; safe_mode=False {unsafe}[/dim]")
    for model in run.models:
        console.print()
        _print(console, 0, f"[bold]{_e(model.path)}[/bold]")
        for step in model.steps:
            _print(console, 2, _step_line(step))
        for attempt in model.attempts:
            mark = ("[green]✓ verified fix[/green]" if attempt.ok
                    else "[yellow]✗ fix attempt[/yellow]")
            _print(console, 2, f"{mark} {_e(attempt.name)}")
            for step in attempt.steps:
                if not attempt.ok and not step.ok:
                    _print(console, 4, _step_line(step))


def render_verify(report: Report, runs: Sequence[HarnessRun], out: TextIO, *,
                  color: bool) -> None:
    """Print the report of ``envdoctor verify``.

    Per environment: its stack, the loader and limits; per model: every timed step and fix
    attempt; then the report lines, every finding and one verified verdict per model.
    """
    console = _console(out, color)
    envs = {e.python: e for e in report.environments}
    for info in report.models:
        if info.security:
            kinds = ", ".join(sorted({s.kind for s in info.security}))
            _print(console, 0, f"[yellow]note:[/yellow] {_e(info.path)} holds objects whose "
                               f"loading runs code or reads files ({_e(kinds)}); verify loaded "
                               "it as load_model does. Its limits are not a security sandbox.")
    for run in runs:
        _render_run(run, envs.get(run.python), console)
    _render_findings_and_checked(report, console)
    outcomes = {(r.python, m.path): m for r in runs for m in r.models}
    for v in report.verdicts:
        model = outcomes.get((v.python, v.model))
        outcome = model.outcome if model else "?"
        codes = f" ({', '.join(v.codes)})" if v.codes else ""
        where = f" in {_e(v.python)}" if len(runs) > 1 else ""
        if outcome == "ok":
            text = f"[green]✓ {_e(v.model)} loads and runs here{where} (verified)[/green]{codes}"
        else:
            fixed = [a.name for a in model.verified_fixes] if model else []
            extra = f"; verified fix: {_e(fixed[0])}" if fixed else ""
            text = (f"[red]✗ {_e(v.model)} does NOT load and run here{where} "
                    f"(verified: fails at {_e(outcome)}{extra})[/red]{codes}")
        _print(console, 0, text)
    errors = sum(1 for f in report.findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in report.findings if f.severity is Severity.WARNING)
    _print(console, 0, f"[dim]{errors} error(s), {warnings} warning(s).[/dim]")


def render_code_doc(doc: Mapping[str, object], out: TextIO, *, color: bool) -> None:
    """Print the documentation of a finding code or an error cause (``envdoctor explain CODE``)."""
    console = _console(out, color)
    name = str(doc.get("code") or doc.get("id") or "")
    _print(console, 0, f"[bold]{_e(name)}[/bold] {_e(doc.get('title', ''))}")
    for label in ("severity", "cause", "evidence", "fixes", "codes", "errors", "signatures",
                  "source"):
        value = doc.get(label)
        if value in (None, "", []):
            continue
        if isinstance(value, (list, tuple)):
            _print(console, 2, f"[dim]{_e(label)}:[/dim]")
            for item in value:
                _print(console, 4, f"• {_e(item)}")
        else:
            _print(console, 2, f"[dim]{_e(label)}:[/dim] {_e(value)}")


def render_explain(report: Report, out: TextIO, *, color: bool) -> None:
    """Print the result of ``envdoctor explain --error``: the environment, then the finding."""
    console = _console(out, color)
    for env in report.environments:
        _header(console, env.python)
        _print(console, 2, _e(describe_env(env)))
        console.print()
    for info in report.models:
        for indent, line in _model_lines(info)[:2]:
            _print(console, indent, line)
        console.print()
    for f in report.findings:
        for indent, line in _finding_lines(f):
            _print(console, indent, line)
