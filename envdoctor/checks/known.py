"""Newer than the tables (ED420): a TensorFlow, Keras or tf-keras release not in them.

The knowledge tables have no row for such a release.

The rules still run, but for such a release they are extrapolated from the newest known
release of its line, so the report says which and points to ``envdoctor verify`` as the way
to be sure; :func:`envdoctor.checks.verdict` never calls such a pair ``ok`` (at best
``warning``).

Sources: the release rows of ``knowledge/tensorflow.json``, ``keras.json`` (``releases_3``)
and ``tf_keras.json``, checked against the index by ``scripts/update_knowledge.py``.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Optional

from envdoctor.checks.runtime import finding, saver_generation, tensorflow_version
from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import minor
from envdoctor.types import Environment, Finding, Fix, ModelInfo, Severity

CODE = "ED420"
"""The finding code of a release newer than the tables."""

LABEL = {"tensorflow": "TensorFlow", "keras": "Keras", "tf-keras": "tf-keras"}


def _unknown_facts(distribution: str, basis: tables.KnownBasis) -> str:
    """What the tables do not know about the new release, and what is carried over."""
    if distribution == "tensorflow":
        rel = tables.tf_release(basis.basis)
        carried = (
            f"tf.keras is Keras {rel.keras_generation} by default, "
            f"{'built for NumPy 2' if rel.numpy2 else 'built for NumPy 1'}, "
            f"Python {rel.python_min}-{rel.python_max} tested"
            if rel
            else "the version-ordered rules"
        )
        return (
            f"Extrapolated from TensorFlow {basis.basis}: {carried}. Not known: its own tested "
            "Python range, NumPy/protobuf/ml-dtypes pins, tf-keras pin and GraphDef version "
            "(the installed package's own Requires-Dist is still checked)."
        )
    if distribution == "keras":
        rp = tables.keras_requires_python(basis.version)
        return (
            f"Extrapolated from Keras {basis.basis}: the Keras 3 format rules, the advisories' "
            f"ranges and Requires-Python {rp or 'unknown'}. Not known: regressions, config "
            f"keys and loading changes after {basis.basis}."
        )
    return (
        f"Extrapolated from tf-keras {basis.basis}: the rule that tf-keras X.Y pins TensorFlow "
        "X.Y. Not known: its own TensorFlow pin and Requires-Python."
    )


def _verify_fix(model: Optional[str], env: Environment) -> Fix:
    target = shlex.quote(model) if model else "MODEL"
    return Fix(
        "command",
        f"envdoctor verify {target} --python {shlex.quote(env.python)}",
        "load the model for real in this environment: the only way to be sure",
    )


def _update_fix() -> Fix:
    return Fix(
        "note",
        "pip install -U envdoctor",
        "a newer envdoctor may know this release (maintainers: python scripts/"
        "update_knowledge.py generate, see README 'Release day')",
    )


def _finding(
    what: str, basis: tables.KnownBasis, model: Optional[str], env: Environment
) -> Finding:
    line = (
        f"minor {minor(basis.version)} known up to {basis.basis}"
        if basis.minor_known
        else f"newest known {basis.newest}"
    )
    return finding(
        CODE,
        Severity.INFO,
        title=f"{LABEL[basis.distribution]} {basis.version} is newer than envdoctor's tables",
        detail=f"{what} {LABEL[basis.distribution]} {basis.version}, newer than envdoctor's tables "
        f"({line}). {_unknown_facts(basis.distribution, basis)} The verdict cannot be a "
        "confident ok: run `envdoctor verify` to be sure.",
        evidence=(
            (basis.distribution, basis.version),
            ("extrapolated from", f"{LABEL[basis.distribution]} {basis.basis}"),
            ("newest known", basis.newest),
        ),
        fixes=[_verify_fix(model, env), _update_fix()],
        source=basis.source,
    )


def check_env_newer_than_known(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED420 (info): the environment has a TensorFlow, Keras 3 or tf-keras newer than known.

    Newer than every known release of its minor, or of a minor the tables do not have.

    Yields:
        One ED420 finding per such distribution (TensorFlow from any of its distributions).
    """
    installed = {
        "tensorflow": tensorflow_version(env),
        "keras": env.version_of("keras"),
        "tf-keras": env.version_of("tf-keras"),
    }
    for dist, version in installed.items():
        basis = tables.newer_than_known(dist, version)
        if basis is not None:
            yield _finding("This environment has", basis, None, env)


def check_model_newer_than_known(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED420 (info): the model was saved by a Keras, tf-keras or TensorFlow newer than known.

    The saver rules (ED106, the format rules) are then extrapolated.

    Keras 3 savers are compared with the Keras 3 releases; Keras 2 savers from 2.16 on
    with the tf-keras releases; the recorded TensorFlow version with the TensorFlow rows.

    Yields:
        ED420 finding(s) for this model, at most one per distribution.
    """
    if model is None:
        return
    seen: set[str] = set()
    if model.keras_version:
        gen = saver_generation(model)
        dist = "keras" if gen == 3 else "tf-keras" if gen == 2 else None
        basis = tables.newer_than_known(dist, model.keras_version) if dist else None
        if basis is not None:
            seen.add(basis.distribution)
            yield _finding(f"{model.path} was saved by", basis, model.path, env)
    basis = tables.newer_than_known("tensorflow", model.tensorflow_version)
    if basis is not None and "tensorflow" not in seen:
        yield _finding(f"{model.path} was saved with", basis, model.path, env)
