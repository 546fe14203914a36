"""The orchestrator: read the models, read the environment, check, decide.

It prints nothing; the CLI and the renderers do.  The Python API
(:func:`envdoctor.check`) is this same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Optional

from envdoctor.types import (
    CandidateInfo,
    CheckItem,
    Environment,
    Finding,
    ModelInfo,
    Report,
    Severity,
    Verdict,
)

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("ED0", "Real load (envdoctor verify)"),
    ("ED1", "Model format and Keras version"),
    ("ED2", "Lambda layers and safe_mode"),
    ("ED3", "Custom objects"),
    ("ED4", "Python environment"),
    ("ED5", "SavedModel ops and producer"),
    ("ED6", "Security advisories"),
    ("ED7", "Inputs"),
    ("ED8", "Training environment (files beside the model)"),
    ("ED9", "R and reticulate"),
)
"""Report sections, keyed by finding-code prefix, in the order they are printed."""


@dataclass(frozen=True)
class Options:
    """What to check.

    Attributes:
        models: model paths as given by the user (may be empty: environment checks only).
        python: the target interpreter path, or None for the interpreter running envdoctor.
    """

    models: tuple[str, ...] = ()
    python: Optional[str] = None
    all_envs: bool = False
    prefer: Optional[str] = None


def inspect_model(path: str) -> ModelInfo:
    """Read a saved model's metadata without importing TensorFlow or executing anything.

    Args:
        path: a `.keras` archive, HDF5 file, SavedModel directory, or any other path.

    Returns:
        What the path is and what it records (see :class:`envdoctor.types.ModelInfo`).

    Raises:
        ModelFileError: the path is missing, unreadable, truncated, corrupt or over a bound.
    """
    from envdoctor.modelfiles import read_model

    return read_model(path)


def read_env(python: Optional[str]) -> Environment:
    """Read the target environment statically (running its interpreter at most once).

    Raises:
        EnvironmentReadError: the interpreter is missing, not executable or does not answer.
    """
    from envdoctor.inventory import read_environment

    return read_environment(python)


def run(options: Options) -> Report:
    """Run the pipeline: read models, read the environment, run the checks.

    Args:
        options: what to check.

    Returns:
        A :class:`Report` with one verdict per (model, environment) pair; with no model,
        one verdict for the environment alone (``model`` is "").

    Raises:
        ModelFileError: a model path is missing or unreadable (exit code 2 in the CLI).
        EnvironmentReadError: the target interpreter cannot be read (exit code 2).
    """
    models = tuple(inspect_model(p) for p in options.models)
    if options.all_envs:
        return run_all(models, prefer=options.prefer)
    return _check_one(models, read_env(options.python))


def _check_one(models: Sequence[ModelInfo], env: Environment) -> Report:
    from envdoctor.checks import run_checks, verdict

    findings: list[Finding] = []
    verdicts: list[Verdict] = []
    targets: Sequence[Optional[ModelInfo]] = models if models else (None,)
    seen_env_codes: set[tuple[str, str]] = set()
    for model in targets:
        found = run_checks(model, env)
        verdicts.append(verdict(model.path if model else "", env.python, found))
        for f in found:
            # Environment-only findings repeat for every model; report them once.
            key = (f.code, f.title)
            if not f.model and key in seen_env_codes:
                continue
            if not f.model:
                seen_env_codes.add(key)
            findings.append(f)
    return Report(
        models=tuple(models),
        environments=(env,),
        findings=tuple(findings),
        verdicts=tuple(verdicts),
        checked=summarize(findings),
    )


def summarize(findings: Sequence[Finding]) -> tuple[CheckItem, ...]:
    """One :class:`CheckItem` per report section: ``ok``, ``warning`` or ``error``.

    Args:
        findings: all findings of a run.

    Returns:
        The sections of :data:`CATEGORIES`, in order, each with its worst status and a
        short summary ("2 errors, 1 warning", "no problem found").
    """
    items = []
    for prefix, name in CATEGORIES:
        mine = [f for f in findings if f.code.startswith(prefix)]
        if prefix in ("ED0", "ED9") and not mine:
            continue  # shown only when verify ran / when the caller is R
        errors = sum(1 for f in mine if f.severity is Severity.ERROR)
        warnings = sum(1 for f in mine if f.severity is Severity.WARNING)
        infos = len(mine) - errors - warnings
        status = "error" if errors else "warning" if warnings else "ok"
        parts = []
        if errors:
            parts.append(f"{errors} error{'s' if errors > 1 else ''}")
        if warnings:
            parts.append(f"{warnings} warning{'s' if warnings > 1 else ''}")
        if infos and not parts:
            parts.append(f"{infos} note{'s' if infos > 1 else ''}")
        summary = ", ".join(parts) or "no problem found"
        items.append(CheckItem(name=name, status=status, summary=summary))
    return tuple(items)


_STATUS_RANK = {"ok": 0, "warning": 1, "error": 2, "broken": 3}


def _score(report: Report, cand: CandidateInfo, prefer: Optional[str]) -> tuple[int, ...]:
    """Sort key, best first: worst verdict, then errors, warnings, preference, order."""
    worst = max((_STATUS_RANK[v.status] for v in report.verdicts), default=0)
    errors = sum(1 for f in report.findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in report.findings if f.severity is Severity.WARNING)
    preferred = 0 if prefer and (prefer in cand.name or prefer in cand.python) else 1
    # An environment without any Keras/TensorFlow (ED409) is farther from working than one
    # with a stack that fails for a reason a setting or one install fixes.
    no_stack = 1 if any(f.code == "ED409" for f in report.findings) else 0
    return (worst, preferred, no_stack, errors, warnings)


@dataclass(frozen=True)
class Ranked:
    """One discovered environment with its own report (``which``, ``check --all``)."""

    candidate: CandidateInfo
    report: Optional[Report]


def rank_environments(
    models: Sequence[ModelInfo], *, prefer: Optional[str] = None
) -> list[Ranked]:
    """Discover every environment, check the models against each, best first.

    Args:
        models: models already read (may be empty: environment checks only).
        prefer: a name or path fragment (``r-keras``) preferred among equally good ones.

    Returns:
        One :class:`Ranked` per environment found, broken ones last (``report`` None).
        Order: fewest failing models, then ``prefer``, then environments that have a
        Keras/TensorFlow stack, then fewest errors and warnings, then discovery order
        (active environment, project, PATH, pyenv, conda, ...).
    """
    from envdoctor.checks import run_checks
    from envdoctor.discovery import discover, read_candidates

    ranked: list[tuple[tuple[int, ...], int, Ranked]] = []
    for order, (cand, env, error) in enumerate(read_candidates(discover())):
        info = CandidateInfo(
            python=cand.python,
            prefix=cand.prefix,
            kind=cand.kind,
            name=cand.name,
            found_by=tuple(cand.found_by),
            health="broken",
            reason=error or cand.broken or "",
            notes=tuple(cand.notes),
        )
        if env is None:
            ranked.append(((9,), order, Ranked(info, None)))
            continue
        report = _check_one(models, env)
        env_findings = run_checks(None, env)
        health = "ok"
        if any(f.severity is Severity.ERROR for f in env_findings):
            health = "error"
        elif any(f.severity is Severity.WARNING for f in env_findings):
            health = "warning"
        info = replace(info, health=health)
        ranked.append((_score(report, info, prefer), order, Ranked(info, report)))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [r for _, _, r in ranked]


def run_all(models: Sequence[ModelInfo], *, prefer: Optional[str] = None) -> Report:
    """Check the models against every environment discovery finds (``check --all``).

    Returns:
        One report: environments, findings and verdicts of every readable environment,
        best first, and ``candidates`` listing every environment found (broken included).
    """
    ranked = rank_environments(models, prefer=prefer)
    envs: list[Environment] = []
    findings: list[Finding] = []
    verdicts: list[Verdict] = []
    for r in ranked:
        if r.report is None:
            continue
        envs.extend(r.report.environments)
        findings.extend(r.report.findings)
        verdicts.extend(r.report.verdicts)
    return Report(
        models=tuple(models),
        environments=tuple(envs),
        findings=tuple(findings),
        verdicts=tuple(verdicts),
        checked=summarize(findings),
        candidates=tuple(r.candidate for r in ranked),
    )
