"""Render the merged fleet table of ``envdoctor report merge`` (text, Markdown, JSON).

* text: one row per line, columns aligned with spaces, every value whole (never wrapped or
  cut, whatever COLUMNS says), ``-`` where a value does not apply, control characters
  escaped, colour only on a terminal; then one line per model (on how many hosts it is
  usable) and a summary line.  ``grep node7`` or ``awk '$8 == "error"'`` work on it.
* markdown: the same table for a CI job summary, values escaped (a host named ``a|b`` does
  not break it).
* json: one object, keys sorted (described by
  ``envdoctor/schema/merge-v1.schema.json``).

Source of the rows: :class:`envdoctor.merge.Merger`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from envdoctor import __version__
from envdoctor.merge import Merger, Row
from envdoctor.types import worst_status

HEADERS = ("host", "environment", "kind", "Python", "TF", "Keras", "model", "verdict", "codes")
"""Text and Markdown columns; ``codes`` holds the reason for a ``broken`` environment."""

_ANSI = {"ok": "32", "warning": "33", "error": "31", "broken": "31"}
_CONTROL = {i: f"\\x{i:02x}" for i in range(32)} | {127: "\\x7f"}
_CONTROL.update({9: "\\t", 10: "\\n", 13: "\\r"})


def _whole(value: str) -> str:
    """One printable token: control characters escaped, ``-`` for nothing."""
    return value.translate(_CONTROL) if value else "-"


def _cells(row: Row) -> tuple[str, ...]:
    last = row.reason if row.status == "broken" else ",".join(row.codes)
    return tuple(_whole(v) for v in (
        row.host, row.python, row.kind, row.python_version, row.tensorflow, row.keras,
        row.model, row.status, last,
    ))


def status(merger: Merger) -> str:
    """The fleet's worst verdict: ``error``, ``warning`` or ``ok`` (``broken`` rows aside)."""
    counts = merger.counts()
    return worst_status(s for s in ("ok", "warning", "error") if counts[s])


def summary_line(merger: Merger) -> str:
    """E.g. ``3 hosts, 4 environments, 6 verdicts: 4 ok, 0 warning, 2 error, 0 broken; ...``."""
    c = merger.counts()
    bad = merger.bad_inputs
    line = (
        f"{merger.hosts()} host(s), {merger.environments()} environment(s), "
        f"{sum(c.values())} row(s): {c['ok']} ok, {c['warning']} warning, {c['error']} error, "
        f"{c['broken']} broken; {merger.reports} report(s) merged from {merger.inputs} "
        f"input(s)"
    )
    if merger.superseded:
        line += f", {merger.superseded} row(s) replaced by a later report"
    if bad:
        line += f"; {bad} bad input(s), {merger.problem_count} problem(s) (on stderr)"
    return line + "."


def _model_line(model: str, hosts: int, usable: int, unusable: Sequence[str],
                fmt: Any) -> str:
    line = f"{fmt(model)}: usable on {usable} of {hosts} host(s)"
    if unusable:
        shown = ", ".join(fmt(h) for h in unusable[:20])
        more = f" and {len(unusable) - 20} more" if len(unusable) > 20 else ""
        line += f"; not on {shown}{more}"
    return line


def render_text(merger: Merger, out: TextIO, *, color: bool) -> None:
    """Write the aligned table, one line per model, then the summary line."""
    rows = merger.rows()
    widths = [len(h) for h in HEADERS]
    for row in rows:  # two passes over the rows, so no second copy of the table is kept
        for i, cell in enumerate(_cells(row)):
            widths[i] = max(widths[i], len(cell))
    last = len(HEADERS) - 1

    def line(cells: Sequence[str], paint: str = "") -> str:
        parts = []
        for i, cell in enumerate(cells):
            text = cell if i == last else cell.ljust(widths[i])
            if paint and i == 7:
                text = f"\x1b[{paint}m{cell}\x1b[0m" + " " * (widths[i] - len(cell))
            parts.append(text)
        return "  ".join(parts).rstrip() + "\n"

    header = line(HEADERS)
    out.write(f"\x1b[1m{header.rstrip()}\x1b[0m\n" if color else header)
    for row in rows:
        cells = _cells(row)
        out.write(line(cells, _ANSI.get(cells[7], "") if color else ""))
    out.write("\n")
    for m in merger.models():
        out.write(_model_line(m.model, m.hosts, m.usable, m.unusable, _whole) + "\n")
    out.write(summary_line(merger) + "\n")


def render_markdown(merger: Merger, out: TextIO) -> None:
    """Write a Markdown heading, the table, one bullet per model and the summary line."""
    from envdoctor.render.markdown import ICON, code, text

    worst = status(merger)
    out.write(f"### {ICON[worst]} envdoctor report merge: {merger.hosts()} host(s)\n\n")
    out.write("| " + " | ".join(HEADERS) + " |\n")
    out.write("|" + "---|" * len(HEADERS) + "\n")
    for row in merger.rows():
        last = text(row.reason) if row.status == "broken" else ", ".join(row.codes)
        cells = (
            code(row.host), code(row.python), text(row.kind or "-"),
            text(row.python_version or "-"), text(row.tensorflow or "-"),
            text(row.keras or "-"), code(row.model) if row.model else "-",
            f"{ICON[row.status]} {row.status}", last or "-",
        )
        out.write("| " + " | ".join(cells) + " |\n")
    out.write("\n")
    for m in merger.models():
        out.write("- " + _model_line(m.model, m.hosts, m.usable, m.unusable, code) + "\n")
    out.write("\n" + text(summary_line(merger), line_start=True) + "\n")


def _row_jsonable(r: Row) -> dict[str, Any]:
    return {"host": r.host, "python": r.python, "kind": r.kind,
            "python_version": r.python_version, "tensorflow": r.tensorflow, "keras": r.keras,
            "model": r.model, "status": r.status, "codes": list(r.codes), "reason": r.reason}


def jsonable(merger: Merger) -> dict[str, Any]:
    """The JSON output (see ``envdoctor/schema/merge-v1.schema.json``).

    Returns:
        ``schema_version``, ``envdoctor_version``, ``command`` (``"report merge"``),
        ``rows`` (host, python, kind, python_version, tensorflow, keras, model, status,
        codes, reason), ``models`` (model, hosts, usable, unusable), ``problems`` (source,
        line, message; at most :data:`envdoctor.merge.MAX_STORED_PROBLEMS`) and ``summary``
        (status, counts per status, hosts, environments, rows, reports, inputs,
        bad_inputs, problems, superseded).
    """
    return {**_head(merger), "rows": [_row_jsonable(r) for r in merger.rows()]}


def _head(merger: Merger) -> dict[str, Any]:
    """:func:`jsonable` without ``rows``."""
    counts = merger.counts()
    return {
        "schema_version": "1",
        "envdoctor_version": __version__,
        "command": "report merge",
        "models": [
            {"model": m.model, "hosts": m.hosts, "usable": m.usable,
             "unusable": list(m.unusable)}
            for m in merger.models()
        ],
        "problems": [
            {"source": p.source, "line": p.line, "message": p.message}
            for p in merger.problems
        ],
        "summary": {
            "status": status(merger),
            "counts": counts,
            "hosts": merger.hosts(),
            "environments": merger.environments(),
            "rows": sum(counts.values()),
            "reports": merger.reports,
            "inputs": merger.inputs,
            "bad_inputs": merger.bad_inputs,
            "problems": merger.problem_count,
            "superseded": merger.superseded,
        },
    }


def render_json(merger: Merger, out: TextIO) -> None:
    """Write :func:`jsonable` with sorted keys, indented by 2, and a trailing newline.

    The text is exactly ``json.dumps(jsonable(merger), sort_keys=True, indent=2)``, but the
    rows are written one at a time, so the whole output is never held in memory.
    """

    def dumps(value: Any, indent: str) -> str:
        return json.dumps(value, sort_keys=True, indent=2).replace("\n", "\n" + indent)

    data: dict[str, Any] = {**_head(merger), "rows": None}
    out.write("{")
    for n, key in enumerate(sorted(data)):
        out.write(("," if n else "") + f"\n  {json.dumps(key)}: ")
        if key != "rows":
            out.write(dumps(data[key], "  "))
            continue
        rows = merger.rows()
        if not rows:
            out.write("[]")
            continue
        out.write("[")
        for i, row in enumerate(rows):
            out.write(("," if i else "") + "\n    " + dumps(_row_jsonable(row), "    "))
        out.write("\n  ]")
    out.write("\n}\n")
