"""Verify: load each model for real in the target interpreter, in a sandboxed subprocess.

``envdoctor verify`` does what a user would do, in the environment under test, and reports
what really happened.  The work is done by ``verify_harness.py`` (shipped with envdoctor,
standard library only, never imported here) run as a file by the target interpreter:

* ``python -I -B`` (isolated mode: no user site, no ``PYTHON*`` variables; no ``.pyc``),
  stdin closed, in its own session, from a fresh temporary working directory holding only a
  copy of the harness and its JSON spec;
* the environment of envdoctor's process, cleaned by
  :func:`envdoctor.probe.runner.clean_child_env` (R's ``LD_LIBRARY_PATH`` entries removed);
  ``KERAS_BACKEND``, ``TF_USE_LEGACY_KERAS``, ``KERAS_HOME``... stay as the user has them.
  ``-I`` ignores ``PYTHONPATH``, so its entries are passed in the spec and put first on
  ``sys.path`` by the harness, as Python would; the directories searched for modules that
  define custom objects (``--module-path``, ``PYTHONPATH``, the working directory, the
  model's directory) are added only for the "import the module" fix attempt;
* an address-space limit (``RLIMIT_AS``, :data:`DEFAULT_MEMORY` bytes unless told
  otherwise) that the harness sets on itself before importing anything heavy;
* a time limit per model (:data:`DEFAULT_TIMEOUT` seconds) enforced by the harness on each
  forked child, and an overall limit enforced here; output capped at
  :data:`MAX_STDOUT_BYTES`.

The harness answers with one JSON object; :func:`run_harness` turns it into
:class:`HarnessRun`.  :mod:`envdoctor.checks.observed` turns the results into findings.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

from envdoctor import app
from envdoctor.checks.observed import verify_findings
from envdoctor.errors import EnvironmentReadError, UsageError
from envdoctor.knowledge.versions import key as version_key
from envdoctor.probe.runner import clean_child_env, kill_tree
from envdoctor.types import (
    CandidateInfo,
    CheckItem,
    Environment,
    Finding,
    ModelFormat,
    ModelInfo,
    Report,
    Severity,
    Verdict,
    severity_status,
)
from envdoctor.verify_results import (
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUT,
    Attempt,
    HarnessRun,
    ModelRun,
    Options,
    Step,
    endpoint_of,
    to_jsonable,
)

__all__ = [  # with the result types of the leaf envdoctor.verify_results, re-exported
    "DEFAULT_MEMORY",
    "DEFAULT_TIMEOUT",
    "FORWARD_STEPS",
    "HARNESS_PATH",
    "MAX_STDERR_BYTES",
    "MAX_STDOUT_BYTES",
    "MIN_PYTHON",
    "VERIFY_SECTION",
    "Attempt",
    "HarnessRun",
    "ModelRun",
    "Options",
    "Step",
    "Verified",
    "child_environment",
    "custom_module_candidates",
    "endpoint_of",
    "find_defining_modules",
    "model_spec",
    "module_dirs",
    "parse_memory",
    "run_harness",
    "stderr_lines",
    "summarize_verify",
    "to_jsonable",
    "unsupported_run",
    "verify_env",
    "verify_models",
]

HARNESS_PATH = Path(__file__).resolve().with_name("verify_harness.py")
"""The script run inside the target interpreter."""

MAX_STDOUT_BYTES = 16 * 1024 * 1024
"""Most bytes the harness may print on stdout (bytes)."""

MAX_STDERR_BYTES = 64 * 1024
"""Bytes of the harness's stderr kept, the tail (bytes)."""

FORWARD_STEPS = ("predict_float32", "predict_float64", "predict_wrong_rank")
"""Step names of forward passes."""

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_memory(text: str) -> Optional[int]:
    """Parse a memory size such as ``8G``, ``512M``, ``16GiB`` or ``0`` (no limit).

    A bare number is GiB.

    Returns:
        Bytes, or None for ``0``/``none``/``off`` (no limit).

    Raises:
        UsageError: not a size.
    """
    if text.strip().lower() in ("0", "none", "off", "unlimited"):
        return None
    match = _SIZE_RE.match(text)
    if not match:
        raise UsageError(f"--memory: not a size: {text!r} (use e.g. 8G, 512M, 0 for no limit)")
    number = float(match.group(1))
    unit = match.group(2).lower() or "g"
    return int(number * 1024 ** {"k": 1, "m": 2, "g": 3, "t": 4}[unit])


# ---------------------------------------------------------------- the spec


def _pythonpath(environ: Mapping[str, str]) -> list[str]:
    value = environ.get("PYTHONPATH", "")
    return [os.path.abspath(p) for p in value.split(os.pathsep) if p]


_CLASS_RE = r"^\s*(?:class|def)\s+{name}\b"
_MAX_SCAN_BYTES = 1024 * 1024


def find_defining_modules(names: Sequence[str], dirs: Sequence[str]) -> list[str]:
    """Return module names of ``*.py`` files in ``dirs`` that define one of ``names``.

    Only the top level of each directory is read, files up to 1 MiB, as text (nothing is
    imported or executed here).

    Args:
        names: class or function names, e.g. ``["Scale"]``.
        dirs: directories to look in.

    Returns:
        Module names (file stems), in directory order, without duplicates.
    """
    found: list[str] = []
    patterns = [re.compile(_CLASS_RE.format(name=re.escape(n)), re.MULTILINE)
                for n in names if n and n.isidentifier()]
    if not patterns:
        return found
    for directory in dirs:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith(".py") or not entry.is_file():
                continue
            stem = entry.name[:-3]
            if not stem.isidentifier() or stem in found:
                continue
            try:
                if entry.stat().st_size > _MAX_SCAN_BYTES:
                    continue
                text = Path(entry.path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if any(p.search(text) for p in patterns):
                found.append(stem)
    return found


def custom_module_candidates(model: ModelInfo, dirs: Sequence[str],
                             imports: Sequence[str] = ()) -> list[str]:
    """Return the modules to import as a fix for the model's custom objects.

    The modules given with ``--import`` first, then the modules recorded in the config
    (``.keras`` from tf.keras 2.13+ and Keras 3), then modules found in ``dirs`` that define
    a class or function of that name (legacy ``.h5`` configs record no module).  Objects
    defined in R (``<r-globalenv>``) are skipped.
    """
    out: list[str] = list(dict.fromkeys(imports))
    for obj in model.custom_objects:
        module = obj.module
        if module and module != "<r-globalenv>" and not module.startswith(("keras", "tf_keras")):
            root = module
            if root not in out:
                out.append(root)
    names = [obj.class_name.split(">")[-1] for obj in model.custom_objects
             if obj.module != "<r-globalenv>"]
    for module in find_defining_modules(names, dirs):
        if module not in out:
            out.append(module)
    return out


def model_spec(model: ModelInfo, module_dirs: Sequence[str],
               imports: Sequence[str] = ()) -> dict[str, Any]:
    """Return the harness's spec entry for one model (absolute path, format, fix hints)."""
    endpoint, sig_inputs = endpoint_of(model)
    return {
        "path": os.path.abspath(model.path),
        "format": model.format.value,
        "endpoint": endpoint,
        "signature_inputs": sig_inputs,
        "custom_modules": custom_module_candidates(model, module_dirs, imports)
        if model.custom_objects or imports else [],
        "has_unsafe_objects": bool(model.lambdas or model.security),
    }


def module_dirs(models: Sequence[ModelInfo], options: Options,
                environ: Mapping[str, str]) -> list[str]:
    """Return the directories searched for custom-object modules.

    ``--module-path``, ``PYTHONPATH``, the working directory, then each model's directory
    (and a SavedModel's parent), absolute, without duplicates.
    """
    dirs = [os.path.abspath(d) for d in options.module_path]
    dirs += _pythonpath(environ)
    dirs.append(os.getcwd())
    for model in models:
        parent = os.path.dirname(os.path.abspath(model.path))
        dirs.append(parent)
        if model.format is ModelFormat.SAVEDMODEL:
            dirs.append(os.path.dirname(parent))
    return list(dict.fromkeys(dirs))


# ---------------------------------------------------------------- running


def _pump(stream: Any, sink: bytearray, cap: int, keep_tail: bool) -> None:
    try:
        while True:
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                return
            sink.extend(chunk)
            if len(sink) > cap:
                if keep_tail:
                    del sink[: len(sink) - cap]
                else:
                    return
    except (OSError, ValueError):
        return


def child_environment(environ: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of the harness: ``environ`` cleaned of R's library paths, plus ``extra``.

    ``TF_CPP_MIN_LOG_LEVEL`` defaults to 2 (TensorFlow's C++ info lines only go to the
    discarded stderr anyway); everything else is kept as the user has it.
    """
    env = clean_child_env(environ)
    env.update(extra)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def run_harness(
    python: str,
    models: Sequence[ModelInfo],
    options: Optional[Options] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> HarnessRun:
    """Verify ``models`` in the interpreter ``python``: one harness run for all of them.

    The framework is imported once; each model is verified in a forked child (a fresh
    subprocess when fork is not available or the child crashed).

    Args:
        python: the target interpreter.
        models: models already read statically (their paths as the user gave them).
        options: limits and fix options.
        environ: the environment to start from (default ``os.environ``).

    Returns:
        The :class:`HarnessRun`.  A harness that cannot answer (killed, crashed, printed no
        JSON) gives ``problem`` and one ``crash``/``timeout`` step per model instead of
        raising, so that the report still says what happened.

    Raises:
        EnvironmentReadError: the interpreter does not exist or cannot be started.
    """
    options = options or Options()
    environ = dict(os.environ if environ is None else environ)
    if not os.path.exists(python):
        raise EnvironmentReadError(f"{python}: no such file")
    dirs = module_dirs(models, options, environ)
    spec = {
        "models": [model_spec(m, dirs, options.imports) for m in models],
        "sys_path": _pythonpath(environ),
        "module_path": dirs,
        "unsafe": options.unsafe,
        "timeout": options.timeout,
        "memory_bytes": options.memory,
    }
    overall = options.timeout * (len(models) + 1) + 30.0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="envdoctor-verify-") as tmp:
        harness = Path(tmp, "verify_harness.py")
        shutil.copyfile(HARNESS_PATH, harness)
        spec_path = Path(tmp, "spec.json")
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        cmd = [os.path.abspath(python), "-I", "-B", str(harness), "--spec", str(spec_path)]
        out, err, rc, timed_out = _run(cmd, tmp, child_environment(environ, options.extra_env),
                                       overall)
    seconds = round(time.monotonic() - started, 3)
    return _parse(python, models, _Raw(out, err, rc, timed_out, seconds, overall), options)


def _run(cmd: list[str], cwd: str, env: dict[str, str],
         timeout: float) -> tuple[bytes, bytes, Optional[int], bool]:
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=(os.name == "posix"),
            close_fds=True,
        )
    except OSError as exc:
        raise EnvironmentReadError(f"{cmd[0]}: cannot be run: {exc.strerror or exc}") from None
    assert proc.stdout is not None
    assert proc.stderr is not None
    out = bytearray()
    err = bytearray()
    t_out = threading.Thread(target=_pump, args=(proc.stdout, out, MAX_STDOUT_BYTES, False),
                             daemon=True)
    t_err = threading.Thread(target=_pump, args=(proc.stderr, err, MAX_STDERR_BYTES, True),
                             daemon=True)
    t_out.start()
    t_err.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        if timed_out or proc.poll() is None:
            kill_tree(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        t_out.join(2.0)
        t_err.join(2.0)
        if t_out.is_alive() or t_err.is_alive():
            kill_tree(proc)  # a grandchild still holds the pipes
        for stream in (proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()
    return bytes(out), bytes(err), proc.returncode, timed_out


def _answer(out: bytes) -> Optional[dict[str, Any]]:
    for raw in reversed(out.decode("utf-8", "replace").splitlines()):
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "harness" in value:
            return value
    return None


def _step(raw: Mapping[str, Any], replace: Mapping[str, str]) -> Step:
    error = raw.get("error")
    if isinstance(error, str):
        for absolute, given in replace.items():
            error = error.replace(absolute, given)
    return Step(
        name=str(raw.get("name", "")),
        ok=bool(raw.get("ok")),
        seconds=float(raw.get("seconds") or 0.0),
        error_type=raw.get("error_type"),
        error=error,
        detail=raw.get("detail"),
        input=raw.get("input"),
        frames=tuple(str(f) for f in raw.get("frames") or ()),
        chain=tuple((str(c[0]), str(c[1])) for c in raw.get("chain") or () if len(c) == 2),
    )


def _signal_text(rc: Optional[int]) -> str:
    if rc is None:
        return "did not exit"
    if rc < 0:
        try:
            return f"was killed by signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"was killed by signal {-rc}"
    return f"exited with code {rc}"


@dataclass(frozen=True)
class _Raw:
    """What the harness process left: stdout, stderr tail, exit code, whether it was killed."""

    out: bytes
    err: bytes
    rc: Optional[int]
    timed_out: bool
    seconds: float
    overall: float


_STACK_LINE_RE = re.compile(r"^\s*@\s+0x[0-9a-f]+")


def stderr_lines(err: bytes, limit: int = 12) -> tuple[str, ...]:
    """The last ``limit`` meaningful stderr lines (no native stack addresses, no blanks)."""
    lines = [line.rstrip() for line in err.decode("utf-8", "replace").splitlines()]
    kept = [line for line in lines if line.strip() and not _STACK_LINE_RE.match(line)
            and not line.startswith("verify_harness: ")]
    return tuple(line[:300] for line in kept[-limit:])


def _parse(python: str, models: Sequence[ModelInfo], raw_run: _Raw,
           options: Options) -> HarnessRun:
    out, err, rc, timed_out = raw_run.out, raw_run.err, raw_run.rc, raw_run.timed_out
    seconds, overall = raw_run.seconds, raw_run.overall
    tail_lines = stderr_lines(err)
    answer = _answer(out)
    if answer is None:
        tail = err.decode("utf-8", "replace").strip().splitlines()
        last = tail[-1][:300] if tail else "(nothing on stderr)"
        if timed_out:
            problem = f"the verifying process did not finish within {overall:g} s; killed"
            kind, etype = "timeout", "Timeout"
        else:
            problem = f"the verifying process {_signal_text(rc)} without an answer: {last}"
            kind, etype = "crash", "ChildCrashed"
        runs = tuple(
            ModelRun(m.path, (Step(kind, False, 0.0, etype, problem),), (), "none", 0.0)
            for m in models
        )
        return HarnessRun(python, "", "", {}, {}, None, runs, seconds, problem=problem,
                          memory_limit=options.memory, timeout=options.timeout,
                          unsafe=options.unsafe, stderr_tail=tail_lines)
    replace = {os.path.abspath(m.path): m.path for m in models}
    runs_list: list[ModelRun] = []
    raw_models = answer.get("models") or []
    for model, raw in zip(models, raw_models):
        steps = tuple(_step(s, replace) for s in raw.get("steps", []))
        attempts = tuple(
            Attempt(
                name=str(a.get("name", "")),
                kind=str(a.get("kind", "")),
                kwargs=dict(a.get("kwargs") or {}),
                modules=tuple(a.get("modules") or ()),
                ok=bool(a.get("ok")),
                steps=tuple(_step(s, replace) for s in a.get("steps", [])),
            )
            for a in raw.get("attempts", [])
        )
        runs_list.append(ModelRun(model.path, steps, attempts, str(raw.get("isolation", "")),
                                  float(raw.get("seconds") or 0.0)))
    for model in models[len(runs_list):]:
        problem = "the verifying process stopped before this model"
        runs_list.append(ModelRun(model.path, (Step("crash", False, 0.0, "ChildCrashed",
                                                    problem),), (), "none", 0.0))
    import_raw = answer.get("import")
    return HarnessRun(
        python=python,
        python_version=str(answer.get("python", "")),
        loader=str(answer.get("loader", "")),
        versions=dict(answer.get("versions") or {}),
        env=dict(answer.get("env") or {}),
        import_step=_step(import_raw, replace) if isinstance(import_raw, dict) else None,
        models=tuple(runs_list),
        seconds=seconds,
        memory_limit=options.memory,
        timeout=options.timeout,
        unsafe=options.unsafe,
        stderr_tail=tail_lines,
        sandbox=dict(answer.get("sandbox") or {}),
    )


# ---------------------------------------------------------------- the report


VERIFY_SECTION = "Verified load and forward pass"
"""Name of the report line summarizing ED0xx findings when ``app.CATEGORIES`` has no ED0
section (it names the line otherwise)."""

_NOT_CONFIRMED = (
    " [verify: the model loaded and ran here, so this predicted failure did not happen; "
    "see ED005]"
)


def _contradicted(finding: Finding) -> Finding:
    """A static error that the real load contradicted, downgraded to a warning."""
    return replace(finding, severity=Severity.WARNING, detail=finding.detail + _NOT_CONFIRMED)


@dataclass(frozen=True)
class Verified:
    """The result of :func:`verify_models`: the report and the raw harness runs."""

    report: Report
    runs: tuple[HarnessRun, ...]


def verify_env(models: Sequence[ModelInfo], env: Environment,
               options: Optional[Options] = None) -> tuple[list[Finding], list[Verdict],
                                                           HarnessRun]:
    """Verify every model in one environment and build its findings and verdicts.

    Static findings (``envdoctor check``) come first, unchanged, except errors that the real
    load contradicted (downgraded to warnings, with ED005); then the ED0xx findings.

    Returns:
        ``(findings, verdicts, harness run)``; environment-only findings appear once.
    """
    harness = unsupported_run(env, models, options) or run_harness(env.python, models, options)
    findings: list[Finding] = []
    verdicts: list[Verdict] = []
    runs = [harness.run_for(m.path) for m in models]
    all_ok = bool(models) and all(r is not None and r.outcome == "ok" for r in runs)
    seen_env: set[tuple[str, str]] = set()
    for model, run in zip(models, runs):
        assert run is not None
        static = app.check_pair(model, env)
        observed = verify_findings(model, env, harness, run, static)
        pair: list[Finding] = []
        for f in static:
            contradicted = f.severity is Severity.ERROR and run.outcome == "ok"
            pair.append(_contradicted(f) if contradicted else f)
            shown = f
            if f.severity is Severity.ERROR and (all_ok if not f.model else contradicted):
                shown = _contradicted(f)
            key = (f.code, f.title)
            if not f.model:
                if key in seen_env:
                    continue
                seen_env.add(key)
            findings.append(shown)
        observed = [replace(f, model=model.path, python=env.python) for f in observed]
        findings.extend(observed)
        verdicts.append(app.judge(model.path, env.python, pair + observed))
    return findings, verdicts, harness


MIN_PYTHON = (3, 7)
"""The oldest target Python the harness runs on (``from __future__ import annotations``)."""


def unsupported_run(env: Environment, models: Sequence[ModelInfo],
                    options: Optional[Options] = None) -> Optional[HarnessRun]:
    """A :class:`HarnessRun` saying verify cannot run there, for a Python older than 3.7.

    Returns:
        None when the environment's Python is 3.7 or newer (or unknown).
    """
    if not env.python_version or version_key(env.python_version)[:2] >= MIN_PYTHON:
        return None
    options = options or Options()
    problem = (f"envdoctor verify runs in Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer; "
               f"{env.python} is Python {env.python_version}")
    runs = tuple(ModelRun(m.path, (Step("crash", False, 0.0, "Unsupported", problem),), (),
                          "none", 0.0) for m in models)
    return HarnessRun(env.python, env.python_version, "", {}, {}, None, runs, 0.0,
                      problem=problem, memory_limit=options.memory, timeout=options.timeout,
                      unsafe=options.unsafe)


def summarize_verify(findings: Sequence[Finding], runs: Sequence[HarnessRun]) -> CheckItem:
    """The report line for the real loads: how many models loaded and ran."""
    total = sum(len(r.models) for r in runs)
    ok = sum(1 for r in runs for m in r.models if m.outcome == "ok")
    fixed = sum(1 for r in runs for m in r.models if m.outcome != "ok" and m.verified_fixes)
    mine = [f for f in findings if f.code.startswith("ED0")]
    status = severity_status(f.severity for f in mine)
    summary = f"{ok} of {total} model load(s) and forward pass(es) worked"
    if fixed:
        summary += f"; a verified fix for {fixed} more"
    return CheckItem(name=VERIFY_SECTION, status=status, summary=summary)


def _with_verify_line(items: Sequence[CheckItem], line: CheckItem) -> tuple[CheckItem, ...]:
    """The report lines with the ED0 section replaced by :func:`summarize_verify`'s line."""
    name = dict(app.CATEGORIES).get("ED0")
    if name is None:
        return (*items, line)
    line = replace(line, name=name)
    return tuple(line if item.name == name else item for item in items)


def verify_models(
    paths: Sequence[str],
    *,
    python: Optional[str] = None,
    all_envs: bool = False,
    options: Optional[Options] = None,
) -> Verified:
    """Read the models, then verify them in one environment or in every one found.

    Args:
        paths: model paths as the user gave them.
        python: the target interpreter (default: the one running envdoctor).
        all_envs: verify in every environment discovery finds, best first.
        options: limits and fix options.

    Returns:
        The :class:`Verified` report (same envelope as ``check``) and harness runs.

    Raises:
        ModelFileError: a model path is missing or unreadable.
        EnvironmentReadError: the target interpreter cannot be read or run.
        UsageError: ``python`` and ``all_envs`` together.
    """
    if all_envs and python:
        raise UsageError("--all and --python exclude each other")
    models = [app.inspect_model(p) for p in paths]
    findings: list[Finding] = []
    verdicts: list[Verdict] = []
    envs: list[Environment] = []
    runs: list[HarnessRun] = []
    candidates: tuple[CandidateInfo, ...] = ()
    if all_envs:
        ranked = app.rank_environments(models)
        candidates = tuple(r.candidate for r in ranked)
        targets = [r.report.environments[0] for r in ranked
                   if r.report is not None and r.report.environments]
    else:
        targets = [app.read_env(python)]
    for env in targets:
        found, judged, harness = verify_env(models, env, options)
        findings.extend(found)
        verdicts.extend(judged)
        envs.append(env)
        runs.append(harness)
    checked = _with_verify_line(app.summarize(findings), summarize_verify(findings, runs))
    report = app.build_report(models, envs, findings, verdicts, checked=checked,
                              candidates=candidates)
    return Verified(report, tuple(runs))
