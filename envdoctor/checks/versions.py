"""Saver newer than loader (ED106) and known point-release regressions (ED107).

Sources: ``knowledge/keras.json`` facts ``dtype_policy_dicts_since``,
``tf_keras_optional_input_key``, ``tf_keras_archive_in_keras2_package``,
``keras2_minor_forward_compat`` and the ``regressions`` rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

from envdoctor import fixes
from envdoctor.checks.runtime import (
    CONFIG_FORMATS,
    KerasRuntime,
    effective_keras,
    finding,
    runtime_evidence,
    saved_by_tf_keras,
    saver_generation,
)
from envdoctor.fixes import lit
from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import key, satisfies
from envdoctor.types import Environment, Finding, Fix, ModelFormat, ModelInfo, Severity


def _evidence(model: ModelInfo, rt: KerasRuntime) -> tuple[tuple[str, str], ...]:
    return (("saved by", f"Keras {model.keras_version}"), *runtime_evidence(rt))


def check_saver_newer(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED106: the saving Keras is newer than the loading Keras (same generation).

    Keras 3: a newer minor is an error when the saver is >= 3.4 and the loader < 3.4
    (DTypePolicy dicts), else a warning; a newer patch is info.  Keras 2: tf-keras >= 2.21
    files (InputLayer ``optional``) and tf-keras ``.keras`` files in the keras 2.x package are
    errors; other newer minors warnings.

    Yields:
        ED106 finding(s) for this pair, if any.
    """
    if model is None or model.format not in CONFIG_FORMATS or not model.keras_version:
        return
    rt = effective_keras(env)
    gen = saver_generation(model)
    if rt.generation is None or gen != rt.generation or not rt.version:
        return
    saved, loaded = key(model.keras_version), key(rt.version)
    if saved <= loaded:
        return
    newer_minor = saved[:2] > loaded[:2]
    upgrade: list[Fix] = []
    if gen == 3:
        upgrade = fixes.keras3_install(env, model.keras_version)
    elif rt.tensorflow:
        rel = tables.tf_release(model.keras_version)
        if rel is not None:
            reqs = [f"{fixes.tensorflow_dist(env)}=={rel.minor}.*"]
            if rt.provided_by == "tf-keras":
                reqs.append(f"tf-keras=={rel.minor}.*")
            upgrade = [fixes.install_command(env, *reqs)]
    severity, why, source = _newer_verdict(model, rt, gen, newer_minor)
    if severity is None:
        return
    yield finding(
        "ED106",
        severity,
        f"{model.path} was saved by Keras {model.keras_version}, newer than {rt.label()}. {why}",
        evidence=_evidence(model, rt),
        fixes=upgrade,
        source=source,
    )


def _newer_verdict(
    model: ModelInfo, rt: KerasRuntime, gen: int, newer_minor: bool
) -> tuple[Optional[Severity], str, str]:
    saved, loaded = key(model.keras_version), key(rt.version)
    if gen == 3:
        fact = tables.keras_fact("dtype_policy_dicts_since")
        if saved >= key(fact["value"]) > loaded:
            return (
                Severity.ERROR,
                f"Keras >= {fact['value']} writes layer dtypes as DTypePolicy dicts, which "
                f"Keras {rt.version} cannot deserialize ('Error when deserializing class "
                "'Dense'... could not be deserialized properly').",
                fact["source"],
            )
        if newer_minor:
            return (
                Severity.WARNING,
                "A newer Keras 3 minor may write config keys an older one rejects "
                "('Unrecognized keyword arguments passed to ...'); verify with "
                "`envdoctor verify`.",
                tables.keras_fact("keras2_minor_forward_compat")["source"],
            )
        return (Severity.INFO, "Only the patch level differs.", tables.code_doc("ED106")["source"])
    if (
        model.format is ModelFormat.KERAS_ARCHIVE
        and saved_by_tf_keras(model)
        and rt.provided_by == "keras"
    ):
        fact = tables.keras_fact("tf_keras_archive_in_keras2_package")
        return Severity.ERROR, f"The file names tf-keras modules: {fact['text']}.", fact["source"]
    opt = tables.keras_fact("tf_keras_optional_input_key")
    if saved >= key(opt["value"]) > loaded:
        return (
            Severity.ERROR,
            f"tf-keras >= {opt['value']} writes an InputLayer 'optional' key that older Keras 2 "
            f"rejects: {opt['text']}.",
            opt["source"],
        )
    if newer_minor:
        fact = tables.keras_fact("keras2_minor_forward_compat")
        return (
            Severity.WARNING,
            f"{fact['text'].capitalize()}; verify with `envdoctor verify`.",
            fact["source"],
        )
    return Severity.INFO, "Only the patch level differs.", tables.code_doc("ED106")["source"]


def check_regressions(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED107: a known point-release regression matches this saver/loader pair.

    Source: the ``regressions`` rows of ``knowledge/keras.json`` (each with its issue links).

    Yields:
        ED107 finding(s) for this pair, if any.
    """
    if model is None or not model.keras_version:
        return
    rt = effective_keras(env)
    if rt.generation is None or not rt.version:
        return
    custom_fns = any(
        c.kind in ("function", "loss", "metric", "activation") for c in model.custom_objects
    )
    for row in tables.keras_regressions():
        if row["generation"] != rt.generation or model.format.value not in row["formats"]:
            continue
        if not satisfies(model.keras_version, row["saver"]) or not satisfies(
            rt.version, row["loader"]
        ):
            continue
        if row.get("model_class") and model.model_class != row["model_class"]:
            continue
        if row.get("custom_functions") and not custom_fns:
            continue
        yield finding(
            "ED107",
            Severity(row["severity"]),
            f"{row['id']}: Keras {model.keras_version} files loaded by {rt.label()} fail with "
            f'{lit(row["text"])}. Remedy: {row["fix"]}.',
            evidence=_evidence(model, rt),
            fixes=_regression_fixes(env, row),
            source=row["source"],
        )


def _regression_fixes(env: Environment, row: dict[str, object]) -> list[Fix]:
    fix_text = str(row["fix"])
    if fix_text.startswith("keras>="):
        return fixes.keras3_install(env, fix_text.removeprefix("keras>="))
    return [fixes.note(fix_text)]
