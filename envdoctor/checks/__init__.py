"""The checks: rules plus knowledge turn a (model, environment) pair into findings.

Every check is a function ``(model: ModelInfo | None, env: Environment) -> Iterable[Finding]``
in one module per concern.  :data:`CHECKS` lists them in order, each marked ``"model"`` (its
findings are about the model file in this environment) or ``"env"`` (about the environment
alone; the orchestrator reports those once).  Severity ``error`` means: loading with the
format's standard loader, or the first forward pass on a correct float32 input, will fail.

Here: the registry (:data:`CHECKS`, :func:`run_checks`, :func:`verdict`), one module per
concern, :mod:`~envdoctor.checks.runtime` (which Keras ``load_model`` really is, and
``finding()``), and :mod:`~envdoctor.checks.observed`, which is not a static check: it
turns what a real load (:mod:`envdoctor.verify_results`) or a pasted error
(:mod:`envdoctor.explain`) showed into ED0xx findings.

May import :mod:`envdoctor.types`, :mod:`envdoctor.knowledge`, :mod:`envdoctor.fixes`,
:mod:`envdoctor.inventory` (``module_importable``, ``pip_check``),
:mod:`envdoctor.modelfiles` (bounded raw reads, ``rawconfig``), :mod:`envdoctor.rlang`
(the R session, ED7xx) and, for ``observed`` only, :mod:`envdoctor.explain` and
:mod:`envdoctor.verify_results`.  Never the pipeline (:mod:`envdoctor.app`),
:mod:`envdoctor.verify`, :mod:`envdoctor.repair`, a command or a renderer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Callable, NamedTuple, Optional

from envdoctor.checks import (
    advisories,
    artifact,
    custom_objects,
    dependencies,
    environment,
    formats,
    inputs,
    known,
    lambdas,
    legacy_h5,
    r_session,
    savedmodel,
    security,
    sidecar,
    versions,
)
from envdoctor.checks.runtime import KerasRuntime, effective_keras
from envdoctor.types import (
    Environment,
    Finding,
    ModelInfo,
    Severity,
    Verdict,
    severity_status,
)

CheckFn = Callable[[Optional[ModelInfo], Environment], Iterable[Finding]]


class Check(NamedTuple):
    """One registered check: its name, function and scope (``"model"`` or ``"env"``)."""

    name: str
    run: CheckFn
    scope: str


CHECKS: tuple[Check, ...] = (
    Check("not a whole model", artifact.check_not_a_model, "model"),
    Check("Keras 3 file in Keras 2", formats.check_keras3_file_in_keras2, "model"),
    Check("Keras 2 .keras in Keras 3", formats.check_keras2_archive_in_keras3, "model"),
    Check("SavedModel in Keras 3", formats.check_savedmodel_in_keras3, "model"),
    Check(".keras in old Keras", formats.check_archive_in_old_keras, "model"),
    Check("legacy .h5 in Keras 3", legacy_h5.check_legacy_h5_in_keras3, "model"),
    Check("Keras 1 config in tf.keras", legacy_h5.check_keras1_in_tf_keras, "model"),
    Check("saver newer than loader", versions.check_saver_newer, "model"),
    Check("known regressions", versions.check_regressions, "model"),
    Check("model newer than the tables", known.check_model_newer_than_known, "model"),
    Check("legacy .h5 loss alias", legacy_h5.check_h5_loss_alias, "model"),
    Check("Lambda bytecode", lambdas.check_lambda_bytecode, "model"),
    Check("Lambda safe_mode", lambdas.check_lambda_safe_mode, "model"),
    Check("code run on load", security.check_code_on_load, "model"),
    Check("wrappers refused by safe_mode", security.check_wrappers_refused, "model"),
    Check("custom objects", custom_objects.check_custom_objects, "model"),
    Check("tf-keras pin", environment.check_tf_keras_pin, "env"),
    Check("TF_USE_LEGACY_KERAS", environment.check_legacy_without_tf_keras, "env"),
    Check("Keras 3 with old TensorFlow", environment.check_keras3_with_old_tf, "env"),
    Check("NumPy 2", dependencies.check_numpy2, "env"),
    Check("protobuf", dependencies.check_protobuf, "env"),
    Check("h5py", dependencies.check_h5py, "model"),
    Check("Keras backend", environment.check_backend_installed, "env"),
    Check("pip check", dependencies.check_pip_conflicts, "env"),
    Check("no Keras", environment.check_no_keras, "env"),
    Check("Python range", dependencies.check_python_range, "env"),
    Check("environment newer than the tables", known.check_env_newer_than_known, "env"),
    Check("add-on ops", savedmodel.check_addon_ops, "model"),
    Check("producer version", savedmodel.check_producer, "model"),
    Check("TF 1.x SavedModel", savedmodel.check_tf1, "model"),
    Check("SavedModel without Keras metadata", savedmodel.check_no_keras_metadata, "model"),
    Check("advisories", advisories.check_advisories, "env"),
    Check("inputs", inputs.check_inputs, "model"),
    Check("mixed precision", inputs.check_mixed_precision, "model"),
    Check("training pins", sidecar.check_sidecar_pins, "model"),
    Check("training Python", sidecar.check_sidecar_python, "model"),
    Check("R: reticulate binding", r_session.check_r_binding, "env"),
    Check("R: R packages", r_session.check_r_packages, "env"),
    Check("R: objects defined in R", r_session.check_r_custom_objects, "model"),
)
"""Every check, in the order it runs."""

UNVERIFIED_CODES = frozenset({known.CODE})
"""Info codes that keep a verdict from ``ok``: the rules ran on a release the tables do not
have (ED420), so the best honest answer is ``warning`` until ``envdoctor verify`` runs."""

__all__ = [
    "CHECKS",
    "UNVERIFIED_CODES",
    "Check",
    "KerasRuntime",
    "effective_keras",
    "run_checks",
    "status_of",
    "verdict",
]


def run_checks(model: Optional[ModelInfo], env: Environment) -> list[Finding]:
    """Run every check of :data:`CHECKS` on one (model, environment) pair.

    Args:
        model: the model, or None for environment checks only (model checks then find
            nothing).
        env: the environment.

    Returns:
        The findings, errors first, then warnings, then info, each group sorted by code;
        ``python`` is the environment's interpreter, ``model`` the model path for
        model-scoped checks and "" for environment-scoped ones.

    Raises:
        KeyError: a check emitted an undocumented code (a bug caught by the tests).
    """
    found: list[Finding] = []
    model_path = model.path if model is not None else ""
    for check in CHECKS:
        for f in check.run(model, env):
            where = model_path if check.scope == "model" else ""
            found.append(dataclasses.replace(f, model=where, python=env.python))
    found.sort(key=lambda f: (-f.severity.rank, f.code))
    return found


def verdict(model_path: str, python: str, findings: Iterable[Finding]) -> Verdict:
    """Summarize the findings of one pair.

    Args:
        model_path: the model path as given ("" for the environment alone).
        python: the interpreter path.
        findings: the findings of that pair (from :func:`run_checks`).

    Returns:
        ``status`` from :func:`status_of` ("error" if any error, else "warning" if any
        warning or a release newer than the tables, else "ok"); ``codes`` the distinct codes
        at warning or error plus those of :data:`UNVERIFIED_CODES`, sorted.
    """
    items = list(findings)
    codes = sorted(
        {
            f.code
            for f in items
            if f.severity in (Severity.ERROR, Severity.WARNING) or f.code in UNVERIFIED_CODES
        }
    )
    return Verdict(model=model_path, python=python, status=status_of(items), codes=tuple(codes))


def status_of(findings: Iterable[Finding]) -> str:
    """Return the status of one pair's findings: ``"ok"``, ``"warning"`` or ``"error"``.

    ``"error"`` if any error, else ``"warning"`` if any warning or any
    :data:`UNVERIFIED_CODES` finding (a release newer than the tables: never a confident
    ``ok``), else ``"ok"``.
    """
    items = list(findings)
    status = severity_status(f.severity for f in items)
    if status == "ok" and any(f.code in UNVERIFIED_CODES for f in items):
        status = "warning"
    return status
