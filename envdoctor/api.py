"""The Python API: check models before loading them.

Two calls cover the usual needs::

    import envdoctor

    envdoctor.preflight("model.keras")          # raises PreflightError if it will not load
    model = keras.saving.load_model("model.keras")

    report = envdoctor.check(["a.keras", "b.h5"], python="/opt/venvs/serve/bin/python")
    for finding in report.findings:
        print(finding.code, finding.severity.value, finding.title)

Both run the same pipeline as ``envdoctor check`` (:func:`envdoctor.app.run`, after the
configuration is merged once by :func:`envdoctor.config.merge_config`): nothing is imported
from TensorFlow/Keras and nothing stored in the model file is executed.  They print nothing.
:func:`apply_ignores` is the pipeline's own (:func:`envdoctor.app.apply_ignores`), re-exported.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

from envdoctor.app import apply_ignores
from envdoctor.errors import EnvdoctorError, UsageError
from envdoctor.types import Finding, Report, Severity

if TYPE_CHECKING:
    from envdoctor.config import ProjectConfig

PathLike = Union[str, "os.PathLike[str]"]
"""A path given as ``str`` or :class:`pathlib.Path`."""

FAIL_ON_LEVELS = ("error", "warning", "info")
"""Accepted ``fail_on`` thresholds."""


class PreflightError(EnvdoctorError):
    """:func:`preflight` predicts that the model will not load (or run) in the environment.

    The message names the model, the interpreter and every blocking finding with its code.

    Attributes:
        report: the whole :class:`~envdoctor.types.Report` (every finding, the verdicts,
            the environment and the model as read).
        findings: the findings at or above ``fail_on``, most severe first.
        path: the model path as given.
        python: the interpreter path the model was checked against.
        fail_on: the threshold that was applied (``"error"``, ``"warning"`` or ``"info"``).
    """

    def __init__(self, report: Report, findings: Sequence[Finding], path: str, fail_on: str):
        self.report = report
        self.findings = tuple(findings)
        self.path = path
        self.python = report.environments[0].python if report.environments else ""
        self.fail_on = fail_on
        lines = [
            f"{path} should not be loaded in {self.python or 'this environment'}: "
            f"{len(self.findings)} finding(s) at or above {fail_on!r}"
        ]
        for f in self.findings:
            lines.append(f"  {f.code} [{f.severity.value}] {f.title}")
            if f.fixes:
                lines.append(f"    fix: {f.fixes[0].text}")
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.report, self.findings, self.path, self.fail_on))


def _threshold(fail_on: str) -> int:
    if fail_on not in FAIL_ON_LEVELS:
        raise UsageError(f"fail_on must be one of {', '.join(FAIL_ON_LEVELS)}, not {fail_on!r}")
    return Severity(fail_on).rank


def failing(report: Report, fail_on: str = "error") -> tuple[Finding, ...]:
    """Return the findings at or above a severity threshold, most severe first.

    Args:
        report: a report from :func:`check`.
        fail_on: ``"error"``, ``"warning"`` or ``"info"``.

    Returns:
        The findings whose severity ranks at or above ``fail_on`` (stable order within a
        severity).  Empty means ``envdoctor check --fail-on LEVEL`` would exit 0.

    Raises:
        UsageError: ``fail_on`` is not one of the three levels.
    """
    threshold = _threshold(fail_on)
    chosen = [f for f in report.findings if f.severity.rank >= threshold]
    return tuple(sorted(chosen, key=lambda f: -f.severity.rank))


def _paths(models: Union[PathLike, Iterable[PathLike], None]) -> tuple[str, ...]:
    if models is None:
        return ()
    if isinstance(models, (str, os.PathLike)):
        return (os.fspath(models),)
    return tuple(os.fspath(m) for m in models)


def check(
    models: Union[PathLike, Iterable[PathLike], None] = (),
    *,
    python: Optional[PathLike] = None,
    environments: Sequence[PathLike] = (),
    all_environments: bool = False,
    prefer: Optional[str] = None,
    ignore: Optional[Mapping[str, str]] = None,
    config: Union[PathLike, ProjectConfig, None] = None,
) -> Report:
    """Check models against a Python environment (the API form of ``envdoctor check``).

    Args:
        models: one model path or several (``.keras``, ``.h5``, SavedModel directory, ...);
            empty checks the environment alone.  When empty and ``config`` is given, the
            configuration's ``models`` are checked.
        python: the interpreter (or environment prefix) that will load the models; default
            the interpreter running this code.
        environments: several interpreters/prefixes to check against (one report).
        all_environments: check against every environment discovered on this machine,
            best first (``envdoctor check --all``).
        prefer: with ``all_environments``, a name or path fragment preferred among
            equally good environments.
        ignore: finding code -> reason; those findings move to ``Report.ignored``.
        config: a configuration file path (``pyproject.toml``/``envdoctor.toml``) or an
            :class:`envdoctor.config.ProjectConfig`; its ``models``, ``environments`` and
            ``ignore`` apply where the arguments do not say otherwise (``ignore`` entries
            merge, the argument winning).  No file is searched for when None.

    Returns:
        The :class:`~envdoctor.types.Report`: one verdict per (model, environment) pair
        (with no model, one per environment with ``model`` ""), every finding, and what
        was checked.

    Raises:
        UsageError: ``python`` together with ``environments`` or ``all_environments``.
        ConfigError: the configuration cannot be read or is invalid (a ``UsageError``).
        ModelFileError: a model is missing, unreadable, truncated, corrupt or over a bound.
        EnvironmentReadError: an interpreter cannot be read (``ProbeError``,
            ``ProbeTimeout`` when it must be run and fails or hangs).
    """
    from envdoctor import app
    from envdoctor.config import ProjectConfig, load_config, merge_config

    cfg: Optional[ProjectConfig] = None
    if config is not None:
        cfg = config if isinstance(config, ProjectConfig) else load_config(os.fspath(config))
    plan = merge_config(
        cfg,
        models=_paths(models),
        python=os.fspath(python) if python is not None else None,
        environments=tuple(os.fspath(e) for e in environments),
        all_environments=all_environments,
        ignore=ignore,
    )
    if plan.python is not None and (plan.environments or plan.all_environments):
        raise UsageError("give python, environments or all_environments, not several")
    if plan.all_environments and plan.environments:
        raise UsageError("give environments or all_environments, not both")
    return app.run(
        app.Options(
            models=plan.models,
            python=plan.python,
            environments=plan.environments,
            all_envs=plan.all_environments,
            prefer=prefer,
            ignore=plan.ignore,
        )
    )


def preflight(
    path: PathLike,
    *,
    python: Optional[PathLike] = None,
    fail_on: str = "error",
    ignore: Optional[Mapping[str, str]] = None,
) -> Report:
    """Check one model right before loading it; raise if it will not load.

    Call it just before ``load_model``: it predicts, without importing TensorFlow/Keras and
    without executing anything in the file, whether the load (and a first forward pass)
    works in this interpreter, or in ``python``.

    Args:
        path: the model (``.keras``, ``.h5``, SavedModel directory, ...).
        python: the interpreter that will load it; default the one running this code.
        fail_on: the lowest severity that blocks: ``"error"`` (default: will fail),
            ``"warning"`` (may fail, or unsafe such as Lambda bytecode) or ``"info"``.
        ignore: finding code -> reason for findings the caller accepts.

    Returns:
        The :class:`~envdoctor.types.Report` when nothing at or above ``fail_on`` was found
        (it may still hold findings below the threshold).

    Raises:
        PreflightError: a finding at or above ``fail_on``; ``.findings`` lists them (most
            severe first, each with its fixes) and ``.report`` is the whole report.
        ModelFileError: the model is missing, unreadable, truncated, corrupt or over a bound.
        EnvironmentReadError: the interpreter cannot be read.
        UsageError: ``fail_on`` is not ``"error"``, ``"warning"`` or ``"info"``.
    """
    _threshold(fail_on)
    report = check(path, python=python, ignore=ignore)
    blocking = failing(report, fail_on)
    if blocking:
        raise PreflightError(report, blocking, os.fspath(path), fail_on)
    return report


def envelope_schema() -> dict[str, Any]:
    """Return the JSON Schema of the ``--format json`` envelope (``schema_version`` "1").

    Returns:
        The parsed ``envdoctor/schema/envelope-v1.schema.json`` (JSON Schema 2020-12).

    Raises:
        OSError: the schema file is missing from the installation.
    """
    import json
    from importlib import resources

    text = resources.files("envdoctor").joinpath("schema/envelope-v1.schema.json").read_text(
        encoding="utf-8"
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


__all__ = [
    "PreflightError",
    "apply_ignores",
    "check",
    "envelope_schema",
    "failing",
    "preflight",
]
