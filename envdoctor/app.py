"""The pipeline: read the models, read the environment, check, decide.

This module is the only caller of the checks (:func:`envdoctor.checks.run_checks` through
:func:`check_pair`, :func:`envdoctor.checks.verdict` through :func:`judge`) and the only
builder of a check :class:`~envdoctor.types.Report` (:func:`build_report`), with a project's
ignored codes applied once, here (:func:`apply_ignores`).  ``check``, ``verify``, ``fix``,
``env create``, ``explain``, ``r check``/``r explain`` and ``which`` (``--for-r`` too) all
get their verdicts from it; the Python API (:func:`envdoctor.check`) is a thin wrapper over
:func:`run` after the configuration is merged (once, :func:`envdoctor.config.merge_config`).

It prints nothing; the CLI and the renderers do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Optional

from envdoctor.types import (
    CandidateInfo,
    CheckItem,
    Environment,
    Finding,
    IgnoredFinding,
    ModelInfo,
    Report,
    Severity,
    Verdict,
    severity_status,
    status_rank,
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
        environments: several target interpreters/prefixes, checked one after the other
            into one report (instead of ``python``; one entry is the same as ``python``).
        all_envs: check against every environment discovery finds, best first.
        prefer: with ``all_envs``, a name or path fragment preferred among equals.
        ignore: finding code -> reason; those findings move to ``Report.ignored``.
    """

    models: tuple[str, ...] = ()
    python: Optional[str] = None
    all_envs: bool = False
    prefer: Optional[str] = None
    environments: tuple[str, ...] = ()
    ignore: Optional[Mapping[str, str]] = None


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
        one verdict for the environment alone (``model`` is ""); ``options.ignore``'s codes
        moved to ``ignored`` (:func:`apply_ignores`).

    Raises:
        ModelFileError: a model path is missing or unreadable (exit code 2 in the CLI).
        EnvironmentReadError: the target interpreter cannot be read (exit code 2).
    """
    models = tuple(inspect_model(p) for p in options.models)
    if len(options.environments) > 1:
        report = merge_reports([assess(models, read_env(t)) for t in options.environments])
    elif options.all_envs:
        report = run_all(models, prefer=options.prefer)
    else:
        target = options.environments[0] if options.environments else options.python
        report = assess(models, read_env(target))
    return apply_ignores(report, options.ignore or {})


def check_pair(model: Optional[ModelInfo], env: Environment) -> list[Finding]:
    """Every static check on one (model, environment) pair: the one door to the checks.

    Args:
        model: the model, or None for the environment alone.
        env: the environment (read, or predicted as by ``env create``/``fix``).

    Returns:
        :func:`envdoctor.checks.run_checks`'s findings (errors first, then by code).
    """
    from envdoctor.checks import run_checks

    return run_checks(model, env)


def judge(model_path: str, python: str, findings: Iterable[Finding]) -> Verdict:
    """The verdict of one pair from its findings (:func:`envdoctor.checks.verdict`)."""
    from envdoctor.checks import verdict

    return verdict(model_path, python, findings)


def build_report(
    models: Sequence[ModelInfo],
    environments: Sequence[Environment],
    findings: Sequence[Finding],
    verdicts: Sequence[Verdict],
    *,
    checked: Optional[Sequence[CheckItem]] = None,
    candidates: Sequence[CandidateInfo] = (),
    ignored: Sequence[IgnoredFinding] = (),
) -> Report:
    """The one constructor of a check :class:`Report` (``check``, ``verify``, ``r check``).

    Args:
        models: the models as read.
        environments: the environments checked, in order.
        findings: every finding kept.
        verdicts: one per (model, environment) pair.
        checked: the report lines; None for :func:`summarize` of ``findings``.
        candidates: the environments discovery found (``--all``).
        ignored: findings already moved out by :func:`apply_ignores`.
    """
    return Report(
        models=tuple(models),
        environments=tuple(environments),
        findings=tuple(findings),
        verdicts=tuple(verdicts),
        checked=summarize(findings) if checked is None else tuple(checked),
        candidates=tuple(candidates),
        ignored=tuple(ignored),
    )


def assess(models: Sequence[ModelInfo], env: Environment) -> Report:
    """Check every model (or, with none, the environment alone) in one environment.

    Returns:
        One verdict per model (one with ``model`` "" when there is none); findings in
        model order, environment-only ones once.
    """
    findings: list[Finding] = []
    verdicts: list[Verdict] = []
    targets: Sequence[Optional[ModelInfo]] = models if models else (None,)
    seen_env_codes: set[tuple[str, str]] = set()
    for model in targets:
        found = check_pair(model, env)
        verdicts.append(judge(model.path if model else "", env.python, found))
        for f in found:
            # Environment-only findings repeat for every model; report them once.
            key = (f.code, f.title)
            if not f.model and key in seen_env_codes:
                continue
            if not f.model:
                seen_env_codes.add(key)
            findings.append(f)
    return build_report(models, (env,), findings, verdicts)


def _pair_status(
    verdict: Verdict, findings: Iterable[Finding], ignore: Mapping[str, str]
) -> Verdict:
    """Recompute one verdict without the ignored codes."""
    codes = tuple(c for c in verdict.codes if c not in ignore)
    if codes == verdict.codes:
        return verdict
    from envdoctor.checks import status_of

    mine = [
        f
        for f in findings
        if f.code in codes and f.model in (verdict.model, "") and f.python in (verdict.python, "")
    ]
    return Verdict(model=verdict.model, python=verdict.python, status=status_of(mine), codes=codes)


def apply_ignores(report: Report, ignore: Mapping[str, str]) -> Report:
    """Move the findings whose code a project ignores out of a report.

    Args:
        report: the pipeline's result.
        ignore: finding code (``"ED802"``) -> the reason it is ignored.

    Returns:
        A report whose ``findings``, ``verdicts`` (codes and status) and ``checked`` no
        longer count the ignored codes; the removed findings are in ``ignored``, each with
        its reason.  The same report when nothing is ignored.
    """
    if not ignore:
        return report
    kept = tuple(f for f in report.findings if f.code not in ignore)
    gone = tuple(IgnoredFinding(f, ignore[f.code]) for f in report.findings if f.code in ignore)
    verdicts = tuple(_pair_status(v, report.findings, ignore) for v in report.verdicts)
    return replace(
        report,
        findings=kept,
        verdicts=verdicts,
        checked=summarize(kept),
        ignored=report.ignored + gone,
    )


def merge_reports(reports: Sequence[Report]) -> Report:
    """One report for the same models checked against several environments, in order."""
    findings = tuple(f for r in reports for f in r.findings)
    return build_report(
        reports[0].models,
        tuple(e for r in reports for e in r.environments),
        findings,
        tuple(v for r in reports for v in r.verdicts),
        ignored=tuple(i for r in reports for i in r.ignored),
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
        status = severity_status(f.severity for f in mine)
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


def _score(report: Report, cand: CandidateInfo, prefer: Optional[str]) -> tuple[int, ...]:
    """Sort key, best first: worst verdict, then errors, warnings, preference, order."""
    worst = max((status_rank(v.status) for v in report.verdicts), default=0)
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
        report = assess(models, env)
        health = severity_status(f.severity for f in check_pair(None, env))
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
    return build_report(
        models, envs, findings, verdicts, candidates=tuple(r.candidate for r in ranked)
    )
