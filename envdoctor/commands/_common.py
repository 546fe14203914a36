"""What several subcommands share: exit codes, colour, the spinner, serializers, plans.

Leaf of :mod:`envdoctor.commands`: imports nothing of envdoctor at module level (the
helpers import what they need when called), so that every command module may import it
and ``envdoctor.cli`` may re-export :data:`EXIT_OK`... without a cycle.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from envdoctor.fix import Plan
    from envdoctor.types import Report

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3

FORMATS = ("text", "json", "markdown", "github")
"""``--format`` choices: text (terminal report), json (the versioned envelope), markdown
(a CI step summary), github (GitHub Actions workflow annotations)."""


def _color(args: argparse.Namespace, stream: TextIO) -> bool:
    if getattr(args, "no_color", False) or os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


def _exit_for(report: Report, fail_on: str) -> int:
    from envdoctor.types import Severity

    threshold = Severity(fail_on).rank
    if any(f.severity.rank >= threshold for f in report.findings):
        return EXIT_FINDINGS
    return EXIT_OK


def _plans(report: Report) -> tuple[Plan, ...]:
    """The closing plan of ``check``: one per environment with errors (none without errors).

    It covers the warnings too (a pinned requirements file beside the model, an advisory),
    so that the one merged install command is the only one the user runs; it is what
    ``envdoctor fix --severity warning`` plans.  Built here, at the top, from the report
    (:func:`envdoctor.fix.report_plans`), and handed to the renderers, which import no
    planning code.
    """
    if report.candidates or not any(f.severity.value == "error" for f in report.findings):
        return ()
    from envdoctor.fix import report_plans
    from envdoctor.types import Severity

    return report_plans(report, Severity.WARNING)


def _serialize(report: Report, command: str, fmt: str,
               plans: Sequence[Plan] = ()) -> str:
    """Render a report as ``json``, ``markdown`` or ``github`` text (no colour)."""
    if fmt == "markdown":
        from envdoctor.render import markdown

        return markdown.render(report, command, plans)
    if fmt == "github":
        from envdoctor.render import github

        return github.render(report, command)
    from envdoctor.render.json_out import dumps

    return dumps(report, command, plans)


class _NullContext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _spinner(text: str) -> _NullContext | Any:
    """A rich spinner on stderr, only when stderr is a terminal (never in pipes or CI)."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return _NullContext()
    from rich.console import Console

    return Console(stderr=True).status(text + "…")
