"""``envdoctor report merge [FILE|DIR|-]... [--format text|markdown|json] [--fail-on]``.

Merges many hosts' ``envdoctor check --format json`` reports (also ``check --all``) into
one table of host × environment × model verdict (:mod:`envdoctor.merge`, rendered by
:mod:`envdoctor.render.merge`).  Inputs are read one at a time and streamed; no input, or
``-``, reads standard input.  See ``examples/fleet/`` for a GitHub Actions matrix, a Slurm
job array and a Kubernetes Job.

Bad input (not JSON, a truncated report, another ``schema_version``, a missing file) is one
line on stderr per problem (at most :data:`MAX_PROBLEM_LINES` per input, then a count),
and every good report is still merged.

Exit codes:

* 0 — every verdict is below ``--fail-on`` (default ``error``: ok or warning);
* 1 — a verdict at or above ``--fail-on`` (like ``check``);
* 2 — some input was bad (the table printed is incomplete; this wins over 1), or no report
  was read at all;
* 3 — internal error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

MAX_PROBLEM_LINES = 10
"""Lines printed on stderr per input; further problems of that input are counted."""


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``report`` subcommand and its ``merge`` action to the subparsers ``sub``."""
    p = sub.add_parser(
        "report",
        help="work with saved reports: merge many hosts' check --format json into one table",
        description="Commands on reports saved with --format json.",
    )
    actions = p.add_subparsers(dest="report_action", metavar="ACTION")
    m = actions.add_parser(
        "merge",
        help="one host x environment x model verdict table from many hosts' JSON reports",
        description="Read many hosts' `envdoctor check --format json` reports (files, "
        "directories of *.json/*.jsonl, or - for standard input; several reports per file, "
        "back to back or one per line, are fine) and print one table of host x environment "
        "x model verdict. Reports are streamed: memory grows with the table, not with the "
        "inputs. A report without 'host' is named after its file. Bad inputs are reported "
        "one line each on stderr; the others are still merged. Exit status: 0 no verdict at or "
        "above --fail-on, 1 one is, 2 an input was bad or there was no report (wins over 1).",
    )
    m.add_argument("files", nargs="*", metavar="FILE",
                   help="report files, directories of them, or - (standard input, the default)")
    m.add_argument(
        "--format", choices=("text", "markdown", "json"), default="text",
        help="text (default: one row per line, whole values), markdown (a CI job summary) "
        "or json",
    )
    m.add_argument(
        "--fail-on", choices=("error", "warning"), default="error",
        help="exit 1 when a verdict is at or above this status (default: error)",
    )
    m.add_argument("--no-color", action="store_true",
                   help="no colour (NO_COLOR is honoured too)")


def run(args: argparse.Namespace) -> int:
    """Run ``envdoctor report ACTION``; return the exit code (see the module docstring)."""
    from envdoctor.errors import UsageError

    if getattr(args, "report_action", None) != "merge":
        raise UsageError("report needs an action: envdoctor report merge FILE...")
    return _merge(args)


def _merge(args: argparse.Namespace) -> int:
    from envdoctor.commands._common import _color
    from envdoctor.errors import UsageError
    from envdoctor.merge import Problem, merge
    from envdoctor.render import merge as render

    if not args.files and sys.stdin.isatty():
        raise UsageError("report merge needs FILE... (or reports piped on standard input)")
    err = sys.stderr
    per_source: dict[str, int] = {}

    def on_problem(problem: Problem) -> None:
        count = per_source.get(problem.source, 0) + 1
        per_source[problem.source] = count
        if count <= MAX_PROBLEM_LINES:
            err.write(f"envdoctor: report merge: {problem.text()}\n")

    merger = merge(args.files, on_problem=on_problem)
    for source, count in per_source.items():
        if count > MAX_PROBLEM_LINES:
            name = "stdin" if source == "-" else source
            err.write(f"envdoctor: report merge: {name}: {count - MAX_PROBLEM_LINES} more "
                      "problem(s) not shown\n")
    out = sys.stdout
    if args.format == "json":
        render.render_json(merger, out)
    elif args.format == "markdown":
        render.render_markdown(merger, out)
    else:
        render.render_text(merger, out, color=_color(args, out))
    if merger.bad_inputs or not merger.reports:
        if not merger.reports and not merger.bad_inputs:
            err.write("envdoctor: report merge: no report read\n")
        return 2
    counts = merger.counts()
    if counts["error"] or (args.fail_on == "warning" and counts["warning"]):
        return 1
    return 0
