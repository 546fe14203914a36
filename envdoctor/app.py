"""The orchestrator: read the models, read the environment, check, decide.

It prints nothing; the CLI and the renderers do.  The Python API
(:func:`envdoctor.check`) is this same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from envdoctor.types import CheckItem, Environment, Finding, ModelInfo, Report, Severity, Verdict

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("ED1", "Model format and Keras version"),
    ("ED2", "Lambda layers and safe_mode"),
    ("ED3", "Custom objects"),
    ("ED4", "Python environment"),
    ("ED5", "SavedModel ops and producer"),
    ("ED6", "Security advisories"),
    ("ED7", "Inputs"),
    ("ED8", "Training environment (files beside the model)"),
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
    from envdoctor.checks import run_checks, verdict

    models = tuple(inspect_model(p) for p in options.models)
    env = read_env(options.python)
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
        models=models,
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
