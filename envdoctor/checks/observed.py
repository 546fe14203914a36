"""Findings from observed errors: ``envdoctor verify`` runs and ``envdoctor explain`` (ED0xx).

These are not static checks (they are not in :data:`envdoctor.checks.CHECKS`): they turn
what really happened into findings of the same report.

* ED001 load failed, ED002 first forward pass failed, ED003 float64 input, ED004 wrong-rank
  input, ED005 verify disagrees with the static check, ED006 timeout / crash / memory limit,
  ED007 a fix that needs no change to the environment is verified: from a
  :class:`envdoctor.verify_results.ModelRun`.
* ED008 error recognized, ED009 error not recognized: from an
  :class:`envdoctor.explain.Explanation`.

Sources: the real load (``envdoctor/verify_harness.py``) and ``knowledge/errors.json``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Optional

from envdoctor.checks.runtime import finding
from envdoctor.explain import (
    Context,
    Explanation,
    Match,
    ParsedError,
    classify_parsed,
    describe,
    fix_texts,
    strip_configs,
)
from envdoctor.fixes import lit
from envdoctor.types import Environment, Finding, Fix, ModelInfo, Severity
from envdoctor.verify_results import Attempt, HarnessRun, ModelRun, Step, endpoint_of

MESSAGE_CHARS = 700
"""Characters of a real message shown in a finding's evidence (the JSON ``verify`` key has
the whole head and tail)."""


def _short(text: Optional[str], limit: int = MESSAGE_CHARS) -> str:
    cleaned = strip_configs((text or "").strip())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


_BORING_RE = re.compile(
    r"^\s*(in user code:|Graph execution error:|Detected at node|File \"|\[\[\{\{node|"
    r"Call arguments received|•|Arguments received|\[\.\.\.\]|"
    r"(\w+Error: )?Exception encountered when calling|$)"
)


def key_line(message: str, expl: Optional[Explanation] = None) -> str:
    """The line of a message that says what went wrong.

    The line where a signature of the recognized cause matched, else the first line that is
    not TensorFlow framing ("in user code:", "Graph execution error:", frame lines).
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if expl is not None and expl.best is not None:
        for pattern, _ in expl.best.matched:
            regex = re.compile(pattern, re.IGNORECASE)
            hit = next((line for line in lines if regex.search(line)), None)
            if hit is not None:
                return hit
    frame_indent: Optional[int] = None  # indentation of the last frame line seen
    for raw in message.splitlines():
        line = raw.strip()
        if not line:
            continue
        indent = len(raw) - len(raw.lstrip())
        if line.startswith('File "'):
            frame_indent = indent
            continue
        if frame_indent is not None and indent > frame_indent:
            continue  # that frame's source line
        frame_indent = None
        if not _BORING_RE.match(line):
            return line
    return lines[0] if lines else ""


def _headline(step: Step, expl: Optional[Explanation] = None) -> str:
    line = _short(key_line(step.error or "", expl), 240)
    return f"{step.error_type}: {line}" if step.error_type else line


def classify_step(
    step: Step, model: Optional[ModelInfo], env: Optional[Environment],
    static: Sequence[Finding],
) -> Explanation:
    """Classify a failed step's real exception with the model, environment and static findings.

    Returns:
        The :class:`envdoctor.explain.Explanation`.
    """
    message = step.error or ""
    chain = (*step.chain, (step.error_type or "", message))
    parsed = ParsedError(step.error_type or "", message, chain, step.frames, "verify")
    ctx = Context(model=model, env=env,
                  static=tuple(f for f in static if f.severity is not Severity.INFO))
    return classify_parsed(parsed, ctx)


def _cause_line(expl: Explanation) -> str:
    best = expl.best
    if best is None:
        closest = ", ".join(f"{cid} ({sim:.2f})" for cid, sim in expl.closest)
        return f"envdoctor does not recognize this error (closest known causes: {closest})."
    return f"Cause: {best.cause.title} ({best.confidence} confidence). {best.cause.cause}"


def _cause_evidence(expl: Explanation) -> list[tuple[str, str]]:
    best = expl.best
    if best is None:
        return [("cause", "not recognized")]
    items = [("cause", f"{best.cause.id} (score {best.score}, {best.confidence} confidence)")]
    if best.cause.codes:
        items.append(("related codes", ", ".join(best.cause.codes)))
    return items


def _verified_fix(attempt: Attempt, loader: str, path: str, endpoint: str) -> Fix:
    seconds = sum(s.seconds for s in attempt.steps)
    desc = f"verified: loads and predicts ({seconds:.2f} s here)"
    call = loader or "keras.saving.load_model"
    if attempt.kind == "tf_saved_model_load":
        text = f'fn = tf.saved_model.load({lit(path)}).signatures[{lit(endpoint)}]'
    elif attempt.kind == "tfsm_layer":
        text = f'layer = keras.layers.TFSMLayer({lit(path)}, call_endpoint={lit(endpoint)})'
    else:
        args = "".join(f", {k}={v!r}" for k, v in attempt.kwargs.items())
        text = f'model = {call}({lit(path)}{args})'
        if attempt.modules:
            text = f"import {', '.join(attempt.modules)}\n{text}"
    if attempt.kind == "unsafe":
        desc += "; safe_mode=False runs code stored in the model: only for files you trust"
    return Fix("python", text, desc)


def _attempt_line(attempt: Attempt) -> tuple[str, str]:
    if attempt.ok:
        return (f"tried {attempt.name}", "loads and predicts")
    failed = next((s for s in attempt.steps if not s.ok), None)
    what = _headline(failed) if failed else "failed"
    where = f" ({failed.name})" if failed and failed.name != "load" else ""
    return (f"tried {attempt.name}", f"fails{where}: {what}")


def _timings(run: ModelRun) -> str:
    parts = [f"{s.name}{'[' + s.input + ']' if s.input else ''} {s.seconds:.2f} s"
             for s in run.steps]
    return ", ".join(parts)


def verify_findings(
    model: ModelInfo,
    env: Environment,
    harness: HarnessRun,
    run: ModelRun,
    static: Sequence[Finding],
) -> list[Finding]:
    """Turn one model's verify result into findings (ED001-ED007).

    Args:
        model: the model, read statically.
        env: the environment, read statically.
        harness: the harness run (loader, limits).
        run: this model's result.
        static: the findings of ``envdoctor check`` for this pair.

    Returns:
        Findings with ``model``/``python`` set, errors first.
    """
    out: list[Finding] = []
    endpoint = endpoint_of(model)[0]
    loader = harness.loader or "load_model"
    failure = run.failure
    static_error = sorted({f.code for f in static if f.severity is Severity.ERROR})
    expl: Optional[Explanation] = None
    if failure is not None:
        expl = classify_step(failure, model, env, static)
        out.extend(_failure_findings(model, harness, run, failure, expl))
    verified = [_verified_fix(a, loader, model.path, endpoint) for a in run.verified_fixes]
    if failure is not None and failure.name in ("load", "predict_float32"):
        assert expl is not None
        fixes: list[Fix] = list(verified)
        if expl.best is not None:
            shown = {f.text for f in fixes}
            fixes.extend(f for f in fix_texts(expl.best, model.path) if f.text not in shown)
        code = "ED001" if failure.name == "load" else "ED002"
        call = f'{loader}({lit(model.path)})' if code == "ED001" else "a float32 forward pass"
        import_failed = harness.import_step is not None and not harness.import_step.ok
        what = "importing the framework" if import_failed else call
        detail = (f"Verify ran {what} in {env.python}: {_headline(failure, expl)}. "
                  + _cause_line(expl))
        if verified:
            detail += (" A fix that needs no change to this environment works here: "
                       + "; ".join(a.name for a in run.verified_fixes) + ".")
        evidence: list[tuple[str, str]] = [
            ("loader", loader),
            ("exception", failure.error_type or "?"),
            ("message", _short(failure.error)),
            *_cause_evidence(expl),
            ("steps", _timings(run)),
        ]
        evidence.extend(_attempt_line(a) for a in run.attempts)
        source = expl.best.cause.source if expl.best else ""
        out.append(finding(code, Severity.ERROR, detail, evidence=tuple(evidence),
                           fixes=tuple(fixes), source=source or None))
    for attempt, fix in zip(run.verified_fixes, verified):
        out.append(finding(
            "ED007", Severity.INFO,
            f"The default load fails, but {attempt.name} loads the model and runs a float32 "
            f"forward pass in {env.python}, without changing the environment.",
            title=f"Verified fix: {attempt.name}",
            evidence=(("call", fix.text), ("steps", ", ".join(
                f"{s.name} {s.seconds:.2f} s" for s in attempt.steps))),
            fixes=(fix,),
        ))
    if run.outcome == "ok":
        out.extend(_input_findings(model, env, run, static))
    out.extend(_agreement(run, static_error, expl))
    out.sort(key=lambda f: -f.severity.rank)
    return out


def _failure_findings(model: ModelInfo, harness: HarnessRun, run: ModelRun, failure: Step,
                      expl: Explanation) -> list[Finding]:
    """ED006 for timeouts, crashes and the memory limit."""
    memory = expl.best is not None and expl.best.cause.id == "resource_limit"
    if failure.name not in ("timeout", "crash") and not memory:
        return []
    limit = (f"{harness.memory_limit / 1024**3:g} GiB" if harness.memory_limit
             else "no limit")
    if failure.error_type == "Unsupported":
        severity, what = Severity.WARNING, "verify cannot run in this interpreter"
        fix = "use envdoctor check for this environment (it does not run the interpreter)"
    elif failure.name == "crash":
        severity, what = Severity.ERROR, "the process loading the model died"
        fix = "a crash inside TensorFlow often means a binary mismatch: run envdoctor check"
        if harness.memory_limit:
            fix += (f"; it can also be the address-space limit ({limit}): "
                    f'retry with envdoctor verify {lit(model.path)} --memory 0')
    elif failure.name == "timeout":
        severity = Severity.WARNING
        what = f"the per-model time limit ({harness.timeout:g} s) ran out"
        fix = f'envdoctor verify {lit(model.path)} --timeout {int(harness.timeout * 3)}'
    else:
        severity, what = Severity.WARNING, f"the address-space limit ({limit}) was reached"
        fix = f'envdoctor verify {lit(model.path)} --memory 16G'
    done = ", ".join(f"{s.name} {'ok' if s.ok else 'failed'}" for s in run.steps[:-1]) or "none"
    return [finding(
        "ED006", severity,
        f"Verify could not finish with {model.path}: {what} ({_headline(failure)}). "
        "Nothing is known about loading beyond that point.",
        evidence=(("limit", f"timeout {harness.timeout:g} s per model; memory {limit}"),
                  ("steps done", done), ("isolation", run.isolation or "?"),
                  *(("stderr", line) for line in harness.stderr_tail[-5:])),
        fixes=(Fix("command" if fix.startswith("envdoctor") else "note", fix),),
    )]


def _input_findings(model: ModelInfo, env: Environment, run: ModelRun,
                    static: Sequence[Finding]) -> list[Finding]:
    """ED003 (float64) and ED004 (wrong rank) from the per-input passes."""
    out: list[Finding] = []
    f64 = [s for s in run.steps if s.name == "predict_float64"]
    failed64 = [s for s in f64 if not s.ok]
    if failed64:
        expl = classify_step(failed64[0], model, env, static)
        out.append(finding(
            "ED003", Severity.WARNING,
            "A float64 batch (what R passes for numeric arrays) fails for input(s) "
            + ", ".join(repr(s.input) for s in failed64)
            + f": {_headline(failed64[0], expl)}. {_cause_line(expl)}",
            evidence=tuple((f"input {s.input}", "fails: " + _short(s.error, 300))
                           for s in failed64) + tuple(_cause_evidence(expl)),
            fixes=(Fix("python", 'x = np.asarray(x, dtype="float32")', "cast before calling"),
                   Fix("r", 'x <- np_array(x, dtype = "float32")',
                       "reticulate: R numbers are float64")),
        ))
    elif f64:
        cast = [s for s in f64 if s.detail and "float64" not in s.detail.split("output", 1)[-1]]
        how = "is cast to the model's dtype" if cast else "is accepted"
        out.append(finding(
            "ED003", Severity.INFO,
            f"A float64 batch (what R passes for numeric arrays) {how}: the forward pass works.",
            evidence=tuple((f"input {s.input}", s.detail or "accepted") for s in f64),
        ))
    for step in (s for s in run.steps if s.name == "predict_wrong_rank"):
        if step.ok:
            out.append(finding(
                "ED004", Severity.WARNING,
                f"Input {step.input!r} fed as one sample without the batch dimension "
                f"({step.detail}) is accepted: Keras took another axis as the batch, so the "
                "result is not one prediction for that sample.",
                evidence=((f"input {step.input}", step.detail or ""),),
                fixes=(Fix("r", "x <- array_reshape(x, c(1, dim(x)))",
                           "keep the batch dimension"),),
            ))
            continue
        expl = classify_step(step, model, env, static)
        out.append(finding(
            "ED004", Severity.INFO,
            f"Input {step.input!r} fed as one sample without the batch dimension "
            f"({step.detail}) fails with: {_headline(step, expl)}. This is the error an R vector "
            "or matrix passed for a single example meets; keep the batch dimension.",
            evidence=((f"input {step.input}", _short(key_line(step.error or "", expl), 400)),
                      *_cause_evidence(expl)),
            fixes=(Fix("python", "x = x.reshape((1,) + x.shape)", "add the batch dimension"),
                   Fix("r", "x <- array_reshape(x, c(1, dim(x)))  # a vector: matrix(x, nrow = 1)",
                       "add the batch dimension")),
        ))
    return out


def _agreement(run: ModelRun, static_error: list[str],
               expl: Optional[Explanation]) -> list[Finding]:
    """ED005: the real outcome against the static verdict (and the real cause's codes)."""
    real_ok = run.outcome == "ok"
    if run.outcome in ("timeout", "crash"):
        return []
    static_ok = not static_error
    codes = ", ".join(static_error) or "none"
    evidence = (("static verdict", "error " + codes if static_error else "loads and runs"),
                ("verified", "loads and runs" if real_ok else f"fails at {run.outcome}"))
    if static_ok and not real_ok:
        cause = expl.best.cause.id if expl and expl.best else "not recognized"
        return [finding(
            "ED005", Severity.WARNING,
            "envdoctor check predicted that this model loads and runs here, but the real "
            f"{'load' if run.outcome == 'load' else 'forward pass'} fails (cause: {cause}): "
            "a gap in the static check.",
            evidence=(*evidence, ("real cause", cause)),
        )]
    if real_ok and not static_ok:
        return [finding(
            "ED005", Severity.WARNING,
            f"envdoctor check predicted a failure ({codes}), but the model loads and runs here: "
            "the static rule does not hold for this environment.",
            evidence=evidence,
        )]
    best = expl.best if expl is not None else None
    if not real_ok and best is not None and best.cause.codes and not (
        set(best.cause.codes) & set(static_error)
    ):
        return [finding(
            "ED005", Severity.INFO,
            "Both say loading fails, but the real error's cause "
            f"({best.cause.id}: {', '.join(best.cause.codes)}) is not among the "
            f"static findings ({codes}).",
            evidence=(*evidence, ("real cause", best.cause.id)),
        )]
    return []


def explanation_finding(expl: Explanation, model_path: str = "",
                        python: str = "") -> Finding:
    """ED008 (recognized) or ED009 (not recognized) for ``envdoctor explain --error``.

    Args:
        expl: the explanation.
        model_path: the model path given with ``--model`` ("" when none).
        python: the interpreter given with ``--python`` ("" when none).

    Returns:
        The finding, with ``model``/``python`` set.
    """
    parsed = expl.parsed
    head = parsed.headline()
    evidence: list[tuple[str, str]] = [
        ("exception", parsed.error_type or "not named"),
        ("message", _short(parsed.message)),
        ("read as", parsed.origin),
    ]
    evidence.extend(("context", note) for note in expl.context.notes)
    best: Optional[Match] = expl.best
    if best is None:
        evidence.extend(("closest", f"{cid} (similarity {sim:.2f})") for cid, sim in expl.closest)
        evidence.extend(("weak match", f"{m.cause.id} (score {m.score})")
                        for m in expl.candidates[:3])
        f = finding(
            "ED009", Severity.WARNING,
            f"No known signature matches {head!r} well enough. Closest known causes: "
            + ", ".join(cid for cid, _ in expl.closest) + ".",
            evidence=tuple(evidence),
            fixes=(Fix("command", "envdoctor check MODEL --python PYTHON",
                       "what envdoctor predicts for that pair"),
                   Fix("command", "envdoctor verify MODEL --python PYTHON",
                       "load it for real and classify what happens")),
        )
    else:
        evidence.extend(_cause_evidence(expl))
        evidence.extend(("why", line) for line in describe(expl))
        evidence.extend(("also possible", f"{m.cause.id} (score {m.score})")
                        for m in expl.candidates[1:3])
        detail = f"{head}\n{best.cause.cause}"
        if best.related:
            detail += f"\nHere: {best.related[0].detail}"
        f = finding(
            "ED008", Severity.ERROR,
            detail,
            title=f"Error recognized: {best.cause.title}",
            evidence=tuple(evidence),
            fixes=fix_texts(best, model_path or None, expl.context.env),
            source=best.cause.source,
        )
    return replace(f, model=model_path, python=python)
