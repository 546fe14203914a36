"""The versioned JSON envelope (``--format json``).

One object on stdout, keys sorted, no colour, no progress text. ``schema_version``
changes only when a key is removed or changes meaning; keys may be added.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from envdoctor import __version__, jsonable
from envdoctor.types import Report, severity_status

if TYPE_CHECKING:
    from envdoctor.fix import Plan

SCHEMA_VERSION = "1"
"""Version of the JSON envelope; see README "JSON contract"."""


to_jsonable = jsonable.to_jsonable
"""Plain JSON values of envdoctor's results (the one converter, :mod:`envdoctor.jsonable`)."""


HOST_VARIABLE = "ENVDOCTOR_HOST"
"""Environment variable that overrides the envelope's ``host`` (e.g. a CI matrix cell name)."""


def host_name() -> str:
    """The envelope's ``host``: ``$ENVDOCTOR_HOST``, else ``socket.gethostname()``.

    A blank ``ENVDOCTOR_HOST`` counts as unset; ``""`` when the host name cannot be read.
    ``envdoctor report merge`` groups reports by it.
    """
    override = os.environ.get(HOST_VARIABLE, "").strip()
    if override:
        return override
    import socket

    try:
        return socket.gethostname()
    except OSError:
        return ""


def envelope(report: Report, command: str, plans: Sequence[Plan] = ()) -> dict[str, Any]:
    """Build the JSON envelope for a report.

    Args:
        report: the pipeline's result.
        command: the subcommand that produced it (``"check"``, ``"inspect"``).
        plans: for ``check``, the closing plans (:func:`envdoctor.fix.report_plans`, built
            by the caller).

    Returns:
        A dict with ``schema_version``, ``envdoctor_version``, ``command``, ``host``
        (:func:`host_name`), ``models``,
        ``environments``, ``findings``, ``verdicts``, ``checked``, ``candidates`` (environments
        found by discovery, for ``envs``/``check --all``/``which``) and ``summary``
        (counts of findings per severity, the overall ``status``, ``ignored``: the
        findings a project configuration ignores, each with its reason, and for ``check``
        ``plans``: :func:`plans_jsonable`).  The envelope is
        described by ``envdoctor/schema/envelope-v1.schema.json``.
    """
    counts = {"error": 0, "warning": 0, "info": 0}
    for finding in report.findings:
        counts[finding.severity.value] += 1
    status = severity_status(f.severity for f in report.findings)
    if status == "ok" and any(v.status == "warning" for v in report.verdicts):
        status = "warning"  # e.g. a release newer than the tables (ED420): not a confident ok
    return {
        "schema_version": SCHEMA_VERSION,
        "envdoctor_version": __version__,
        "command": command,
        "host": host_name(),
        "models": to_jsonable(report.models),
        "environments": to_jsonable(report.environments),
        "findings": to_jsonable(report.findings),
        "verdicts": to_jsonable(report.verdicts),
        "checked": to_jsonable(report.checked),
        "candidates": to_jsonable(report.candidates),
        "summary": {"status": status, "counts": counts, "ignored": ignored_jsonable(report),
                    **({"plans": plans_jsonable(plans)} if command == "check" else {})},
    }


def plans_jsonable(plans: Sequence[Plan]) -> list[dict[str, Any]]:
    """The closing plan of ``check``, one per environment with errors (``summary.plans``).

    Each: ``python``, ``prefix``, ``tool`` (the installer, or null), ``steps`` (in the order
    to run them: ``kind``, ``text``, ``codes``, ``r_text``; the same list ``envdoctor fix``
    shows) and ``warnings``.
    """
    return [
        {
            "python": plan.env.python,
            "prefix": plan.env.prefix,
            "tool": plan.tool.name if plan.tool else None,
            "steps": [
                {"kind": i.kind, "text": i.text, "codes": list(i.codes), "r_text": i.r_text}
                for i in plan.items()
            ],
            "warnings": list(plan.warnings),
        }
        for plan in plans
    ]


def ignored_jsonable(report: Report) -> list[dict[str, str]]:
    """The findings a project configuration ignored, for ``summary.ignored``.

    Args:
        report: the pipeline's result.

    Returns:
        One ``{"code", "severity", "title", "model", "python", "reason"}`` dict per ignored
        finding, in report order.
    """
    return [
        {
            "code": item.finding.code,
            "severity": item.finding.severity.value,
            "title": item.finding.title,
            "model": item.finding.model,
            "python": item.finding.python,
            "reason": item.reason,
        }
        for item in report.ignored
    ]


def dumps(report: Report, command: str, plans: Sequence[Plan] = ()) -> str:
    """Serialize :func:`envelope` with sorted keys and a trailing newline."""
    return json.dumps(envelope(report, command, plans), sort_keys=True, indent=2) + "\n"
