"""SavedModel graph facts: ED501, ED502, ED503, ED504.

Add-on ops (ED501), producer version (ED502), TF 1.x SavedModels (ED503), no Keras metadata
(ED504).

Sources: compat-facts §1.5 (``Op type not registered``; GraphDef producer versions 1645 in
TF 2.15.0, 1766 in TF 2.16.2), ``knowledge/addon_ops.json``, ``knowledge/keras.json``
``keras2_savedmodel_without_metadata``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

from envdoctor import fixes
from envdoctor.checks.runtime import effective_keras, finding, tensorflow_version
from envdoctor.fixes import lit
from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import key, major, minor
from envdoctor.types import (
    Environment,
    Finding,
    Fix,
    ModelFormat,
    ModelInfo,
    Severity,
    TensorSpec,
)


def _ops(model: ModelInfo) -> list[str]:
    if model.savedmodel is None:
        return []
    return sorted({op for mg in model.savedmodel.meta_graphs for op in mg.ops})


def check_addon_ops(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED501: the graph uses ops of an add-on library that is missing or built for another TF.

    Error when the distribution is missing, or (tensorflow-text) its minor differs from
    TensorFlow's; info when it is installed and matches (import it before loading).

    Yields:
        ED501 finding(s) for this pair, if any.
    """
    if model is None or model.format is not ModelFormat.SAVEDMODEL:
        return
    by_dist: dict[str, list[str]] = {}
    sources: dict[str, str] = {}
    for op in _ops(model):
        hit = tables.addon_for_op(op)
        if hit:
            by_dist.setdefault(hit[0], []).append(op)
            sources[hit[0]] = hit[1]
    tf = tensorflow_version(env)
    for dist, ops in sorted(by_dist.items()):
        info = tables.addon_distribution(dist)
        installed = env.version_of(dist)
        pinned = info["pin"] == "tf_minor" and tf
        if installed and (not pinned or minor(installed) == minor(tf)):
            yield finding(
                "ED501",
                Severity.INFO,
                f"The graph uses {dist} ops ({', '.join(ops[:8])}); {dist} {installed} is "
                f"installed: `import {info['module']}` before tf.saved_model.load.",
                evidence=(("ops", ", ".join(ops)), (dist, installed)),
                fixes=(fixes.python_fix(f"import {info['module']}", "registers the ops"),),
                source=sources[dist],
            )
            continue
        req = f"{dist}=={minor(tf)}.*" if pinned else dist
        fix_list: list[Fix] = [fixes.install_command(env, req)]
        if not pinned:
            fix_list.append(
                fixes.note(
                    f"pick the {dist} release built for TensorFlow {tf or '(none installed)'}"
                )
            )
        fix_list.append(
            fixes.python_fix(f"import {info['module']}", "before loading the SavedModel")
        )
        state = (
            f"{dist} {installed} is built for another TensorFlow"
            if installed
            else f"{dist} is not installed"
        )
        yield finding(
            "ED501",
            Severity.ERROR,
            f"The graph uses ops that TensorFlow does not register ({', '.join(ops[:8])}"
            f"{'...' if len(ops) > 8 else ''}) and {state}: loading or serving fails with "
            f"\"Op type not registered '{ops[0]}' in binary\".",
            evidence=(("ops", ", ".join(ops)), ("tensorflow", tf or "not installed")),
            fixes=fix_list,
            source=sources[dist],
        )


def check_producer(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED502: the SavedModel comes from a newer TensorFlow than the installed one.

    Yields:
        ED502 finding(s) for this pair, if any.
    """
    if model is None or model.format is not ModelFormat.SAVEDMODEL or model.savedmodel is None:
        return
    tf = tensorflow_version(env)
    if not tf:
        return
    rel = tables.tf_release(tf)
    saved_tf = model.tensorflow_version
    producers = [mg.producer for mg in model.savedmodel.meta_graphs if mg.producer is not None]
    reasons = []
    if rel and rel.graph_def_version and producers and max(producers) > rel.graph_def_version:
        reasons.append(
            f"GraphDef producer {max(producers)} > {rel.graph_def_version} (TF {rel.minor})"
        )
    if saved_tf and key(saved_tf)[:2] > key(tf)[:2]:
        reasons.append(f"written by TensorFlow {saved_tf}, newer than {tf}")
    if not reasons:
        return
    target = minor(saved_tf) if saved_tf else None
    yield finding(
        "ED502",
        Severity.WARNING,
        "This SavedModel comes from a newer TensorFlow: " + "; ".join(reasons) + ". Ops added "
        "since may be missing ('Op type not registered'); verify with `envdoctor verify`.",
        evidence=(("saved with", saved_tf or "unknown"), ("tensorflow here", tf)),
        fixes=[fixes.install_command(env, f"{fixes.tensorflow_dist(env)}=={target}.*")]
        if target
        else [],
        source=rel.source if rel else tables.code_doc("ED502")["source"],
    )


def check_tf1(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED503: a TensorFlow 1.x SavedModel (no Keras object graph).

    Error under Keras 2, whose ``load_model`` raises ``IndexError`` on it (keras.json
    ``tf1_savedmodel_in_keras2_load_model``); a warning otherwise (Keras 3: ED103 covers it).

    Yields:
        ED503 finding(s) for this pair, if any.
    """
    if model is None or model.format is not ModelFormat.SAVEDMODEL:
        return
    if major(model.tensorflow_version) != 1:
        return
    fact = tables.keras_fact("tf1_savedmodel_in_keras2_load_model")
    keras2 = effective_keras(env).generation == 2
    sig = _first_signature(model)
    yield finding(
        "ED503",
        Severity.ERROR if keras2 else Severity.WARNING,
        f"Written by TensorFlow {model.tensorflow_version}: no Keras model inside"
        + (f", so tf.keras.models.load_model fails ({fact['text']})" if keras2 else "")
        + "; load it with TensorFlow and call its signatures (TF 2 runs TF 1 graphs).",
        evidence=(("saved with", model.tensorflow_version or ""), ("signature", sig)),
        fixes=(
            fixes.python_fix(f'fn = tf.saved_model.load({lit(model.path)}).signatures[{lit(sig)}]'),
            fixes.python_fix(
                f'tf.compat.v1.saved_model.load(sess, ["serve"], {lit(model.path)})',
                "TF 1 style, inside a tf.compat.v1.Session (use the SavedModel's own tags)",
            ),
        ),
        source=fact["source"],
    )


def _first_signature(model: ModelInfo) -> str:
    keys = [
        s.key
        for mg in (model.savedmodel.meta_graphs if model.savedmodel else ())
        for s in mg.signatures
        if not s.key.startswith("__")
    ]
    return "serving_default" if not keys or "serving_default" in keys else keys[0]


def check_no_keras_metadata(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED504: Keras 2 revives a SavedModel without keras_metadata.pb as a plain TF object.

    Error: ``tf.keras.models.load_model`` (tf.keras <= 2.15, tf-keras) returns a
    ``_UserObject`` without ``predict``, so the user's ``model.predict(x)`` raises
    ``AttributeError`` (keras.json ``keras2_savedmodel_without_metadata``).  The fix changes
    the loading call only: ``tf.saved_model.load(path).signatures[...]``, fed the
    signature's own dtype (a float16 export needs float16 inputs), in Python and in R.

    Yields:
        ED504 finding(s) for this pair, if any.
    """
    if model is None or model.format is not ModelFormat.SAVEDMODEL or model.savedmodel is None:
        return
    if model.savedmodel.has_keras_metadata or effective_keras(env).generation != 2:
        return
    if major(model.tensorflow_version) == 1:
        return
    if model.tensorflow_version and key(model.tensorflow_version) < key("2.5"):
        # Before TF 2.5 Keras kept its metadata inside saved_model.pb (SavedUserObject
        # metadata), so no keras_metadata.pb is expected: pm-031 (TF 2.2) loads and predicts
        # under tf.keras 2.15 (tests/test_checks_real_models.py REAL_LOADS).
        return
    fact = tables.keras_fact("keras2_savedmodel_without_metadata")
    sig = _first_signature(model)
    specs = signature_inputs(model, sig)
    dtypes = sorted({t.dtype for t in specs if t.dtype})
    cast = ""
    if any(d != "float32" for d in dtypes):
        cast = f" (inputs of dtype {', '.join(dtypes)}: cast, e.g. tf.cast(x, {lit(dtypes[0])}))"
    yield finding(
        "ED504",
        Severity.ERROR,
        f"No keras_metadata.pb (not saved by Keras 2's model.save: a Keras 3 export() or "
        f"tf.saved_model.save): {fact['text']}, so model.predict(x) raises AttributeError. "
        f"Load it with TensorFlow and call the '{sig}' signature instead{cast}.",
        evidence=(
            ("keras_metadata.pb", "absent"),
            ("signature", sig),
            ("signature inputs", ", ".join(f"{t.name}:{t.dtype}" for t in specs) or "unknown"),
        ),
        fixes=signature_call_fixes(model, sig),
        source=fact["source"],
    )


def signature_call_fixes(model: ModelInfo, sig: str) -> tuple[Fix, Fix]:
    """Return the Python and R lines that call SavedModel signature ``sig`` with its inputs.

    Signature functions take keyword arguments only, one per signature input (named as in
    the MetaGraphDef's SignatureDef), so several inputs are passed by name; this is also
    the way for a multi-input SavedModel that ``keras.layers.TFSMLayer`` cannot bind
    ("Binding inputs to tf.function failed due to `too many positional arguments`", the
    live verify matrix of tf.saved_model.save multi-input models under Keras 3.3-3.15).

    Returns:
        (Python fix, R fix); ``x_0``, ``x_1`` ... stand for the user's arrays.
    """
    specs = signature_inputs(model, sig)
    feed_py = ", ".join(
        f"{t.name}=x_{i}" if t.name.isidentifier() else f"**{{{lit(t.name)}: x_{i}}}"
        for i, t in enumerate(specs)
    ) or "x"
    feed_r = ", ".join(
        f"{t.name} = x_{i}" if t.name.isidentifier() else f"`{t.name}` = x_{i}"
        for i, t in enumerate(specs)
    ) or "x"
    return (
        fixes.python_fix(
            f"fn = tf.saved_model.load({lit(model.path)}).signatures[{lit(sig)}]; "
            f"y = fn({feed_py})",
            "change of the loading call only; no change to the environment",
        ),
        fixes.r_fix(
            f"fn <- tensorflow::tf$saved_model$load({lit(model.path)})"
            f"$signatures[[{lit(sig)}]]; y <- fn({feed_r})",
            "from R (reticulate); arrays as tensors of the signature's dtype",
        ),
    )


def signature_inputs(model: ModelInfo, key_name: str) -> tuple[TensorSpec, ...]:
    """Return the inputs of SignatureDef ``key_name`` (empty when it is not in the file)."""
    for mg in model.savedmodel.meta_graphs if model.savedmodel else ():
        for s in mg.signatures:
            if s.key == key_name:
                return s.inputs
    return ()
