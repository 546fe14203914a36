"""The output of the R side: ``envs --reticulate``, ``r check`` and ``r explain``.

:func:`render_reticulate` prints a :class:`envdoctor.rlang.report.ReticulateReport` (R,
its packages, which Python reticulate binds here and every step of its order of
discovery) wrapped between words at ``COLUMNS``; :func:`reticulate_json` is its value in
the JSON envelope (key ``"reticulate"``); :func:`render_r_explain` prints the findings of
``r explain``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional, TextIO

from envdoctor.fixes import lit
from envdoctor.rlang.r_packages import WATCHED
from envdoctor.rlang.reticulate import iter_steps

if TYPE_CHECKING:
    from envdoctor.rlang.report import ReticulateReport
    from envdoctor.types import Finding


def reticulate_json(report: ReticulateReport) -> dict[str, Any]:
    """The ``"reticulate"`` value of the JSON envelope (``envs --reticulate``)."""
    from envdoctor.render.json_out import to_jsonable

    data: dict[str, Any] = to_jsonable(report)
    data["r"].pop("environ", None)
    return data


def _wrap(out: TextIO, indent: int, text: str, width: Optional[int] = None) -> None:
    """Write ``text`` wrapped between words at ``width`` (default ``COLUMNS``, else 80).

    Words (paths) are never broken: a longer word makes a longer line.
    """
    if width is None:
        from envdoctor.render.console import pipe_width

        width = pipe_width()
    lines = textwrap.wrap(
        text,
        width=width,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + 2),
        break_long_words=False,
        break_on_hyphens=False,
    )
    for line in lines or [" " * indent]:
        out.write(line + "\n")


def render_reticulate(report: ReticulateReport, out: TextIO) -> None:
    """Print the R side for people: R, its packages, reticulate's choice and every step."""
    r, b = report.r, report.binding
    out.write("\nR and reticulate\n")
    if not r.r_home:
        _wrap(
            out, 2, "no R installation found (R_HOME unset, no R on PATH, none in the usual places)"
        )
    else:
        libs = ", ".join(p.path for p in r.lib_paths if p.exists)
        _wrap(out, 2, f"R {r.r_version or '?'} ({r.r_home}); library paths: {libs}")
        have = [f"{n} {r.packages[n].version}" for n in WATCHED if n in r.packages]
        missing = [n for n in WATCHED if n not in r.packages]
        text = "R packages: " + (", ".join(have) or "none of " + ", ".join(WATCHED))
        if have and missing:
            text += f" ({', '.join(missing)}: not installed)"
        _wrap(out, 2, text)
    version = b.reticulate_version or "1.28 assumed"
    module = f'import({lit(b.required_module)})' if b.required_module else "py_config()"
    _wrap(out, 2, f"in {report.cwd}, reticulate {version} with {module}:")
    if b.error:
        _wrap(out, 4, f"R stops: {b.error}")
    if b.python:
        state = "tries to bind" if b.error else "binds"
        _wrap(out, 4, f"{state} {b.python}")
    _wrap(out, 4, f"why: {b.reason}")
    if b.python and not b.error:
        module_state = {True: "importable", False: "not importable", None: "unknown"}[b.has_module]
        details = f"Python {b.python_version or '?'}, NumPy {b.numpy or 'none'}"
        if b.required_module:
            details += f", {b.required_module} {module_state}"
        _wrap(out, 4, details)
    _wrap(out, 2, f"order of discovery ({b.order}):")
    for line in iter_steps(b):
        _wrap(out, 4, line)
    for note in b.notes:
        _wrap(out, 2, f"note: {note}")
    for note in r.notes:
        _wrap(out, 2, f"note: {note}")


def render_r_explain(found: Sequence[Finding], out: TextIO) -> None:
    """Write the findings of ``r explain`` (none: that the error is not recognised)."""
    if not found:
        out.write(
            "envdoctor does not recognise this error. With the model, "
            "envdoctor_check(model) says what fails where.\n"
        )
        return
    from envdoctor.render import console

    con = console._console(out, False)
    for f in found:
        for indent, line in console._finding_lines(f):
            console._print(con, indent, line)
        con.print()
