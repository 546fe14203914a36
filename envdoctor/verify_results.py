"""What a verify run found: the harness's results as frozen values (a leaf module).

:mod:`envdoctor.verify` runs the harness and builds these; :mod:`envdoctor.checks.observed`
turns them into ED0xx findings; renderers print them.  Kept apart from
:mod:`envdoctor.verify` so that a module reading results never imports the runner (and the
runner's imports of the checks never close a cycle).  May import only
:mod:`envdoctor.types` and :mod:`envdoctor.jsonable`.  Every name here is re-exported by
:mod:`envdoctor.verify`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from envdoctor.jsonable import to_jsonable as plain_jsonable
from envdoctor.types import ModelInfo

__all__ = [
    "DEFAULT_MEMORY",
    "DEFAULT_TIMEOUT",
    "Attempt",
    "HarnessRun",
    "ModelRun",
    "Options",
    "Step",
    "endpoint_of",
    "to_jsonable",
]

DEFAULT_TIMEOUT = 300.0
"""Seconds allowed to verify one model (load, forward passes and fix attempts)."""

DEFAULT_MEMORY = 8 * 1024**3
"""Address-space limit of the verifying process, bytes (8 GiB)."""


@dataclass(frozen=True)
class Step:
    """One timed step of a verify run.

    Attributes:
        name: ``import``, ``load``, ``predict_float32``, ``predict_float64``,
            ``predict_wrong_rank``, ``timeout`` or ``crash``.
        ok: True when it worked.
        seconds: wall-clock duration, seconds.
        error_type: the exception type when it failed (``Timeout``/``ChildCrashed`` for
            envdoctor's own limits).
        error: the exception message (head and tail kept), paths as the user gave them.
        detail: e.g. ``"via model.predict; output (2, 1) float32"``.
        input: the input's name, for per-input steps.
        frames: file paths of the exception's traceback frames, innermost last.
        chain: the exceptions it was raised from (``__cause__``/``__context__``), first
            raised first, as ``(type, message)``.
    """

    name: str
    ok: bool
    seconds: float
    error_type: Optional[str] = None
    error: Optional[str] = None
    detail: Optional[str] = None
    input: Optional[str] = None
    frames: tuple[str, ...] = ()
    chain: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Attempt:
    """A fix tried without changing the environment (load plus a float32 forward pass).

    Attributes:
        name: e.g. ``"compile=False"``, ``"import my_layers"``, ``"keras.layers.TFSMLayer"``.
        kind: ``compile_false``, ``tf_saved_model_load``, ``tfsm_layer``, ``import`` or
            ``unsafe``.
        kwargs: the keyword arguments given to the loader.
        modules: modules imported before loading.
        ok: True when both the load and the forward pass worked (the fix is verified).
        steps: its steps.
    """

    name: str
    kind: str
    kwargs: dict[str, Any]
    modules: tuple[str, ...]
    ok: bool
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class ModelRun:
    """Everything verify did with one model in one environment.

    Attributes:
        path: the model path as the user gave it.
        steps: load and forward-pass steps, in order.
        attempts: fix attempts, in order.
        isolation: ``fork``, ``subprocess`` (``(after fork: ...)`` when retried), ``none``.
        seconds: wall-clock time for the model, seconds.
    """

    path: str
    steps: tuple[Step, ...]
    attempts: tuple[Attempt, ...] = ()
    isolation: str = "fork"
    seconds: float = 0.0

    def step(self, name: str) -> Optional[Step]:
        """Return the first step called ``name``, or None."""
        return next((s for s in self.steps if s.name == name), None)

    @property
    def loaded(self) -> bool:
        """True when the standard loader with its defaults worked."""
        step = self.step("load")
        return bool(step and step.ok)

    @property
    def predicted(self) -> bool:
        """True when the float32 forward pass worked."""
        step = self.step("predict_float32")
        return bool(step and step.ok)

    @property
    def outcome(self) -> str:
        """``ok``, ``load``, ``predict``, ``timeout`` or ``crash`` (where it stopped)."""
        if self.loaded and self.predicted:
            return "ok"
        last = self.steps[-1].name if self.steps else "crash"
        if last in ("timeout", "crash"):
            return last
        return "predict" if self.loaded else "load"

    @property
    def failure(self) -> Optional[Step]:
        """The step that failed first (load, forward pass, timeout or crash), or None."""
        if self.outcome == "ok":
            return None
        return next((s for s in self.steps if not s.ok and s.name in (
            "load", "predict_float32", "timeout", "crash")), None)

    @property
    def verified_fixes(self) -> tuple[Attempt, ...]:
        """The fix attempts that loaded and ran."""
        return tuple(a for a in self.attempts if a.ok)


@dataclass(frozen=True)
class HarnessRun:
    """One run of the harness in one environment.

    Attributes:
        python: the interpreter path as given.
        python_version: e.g. ``"3.11.7"`` ("" when the harness did not answer).
        loader: ``tf.keras.models.load_model`` or ``keras.saving.load_model``.
        versions: installed versions of the ML stack as the target sees them.
        env: the Keras-related variables as the target saw them.
        import_step: importing the framework, timed.
        models: one result per model, in the order given.
        seconds: wall-clock time of the whole run, seconds.
        problem: why the harness produced no usable answer ("" when it did).
        memory_limit: the address-space limit, bytes (None: no limit).
        timeout: the per-model time limit, seconds.
        unsafe: whether ``safe_mode=False`` was tried.
        stderr_tail: the last lines the verifying process printed on stderr (native stack
            addresses left out), to explain a crash.
        sandbox: what the verifying process reported of its sandbox (``cwd``, ``rlimit_as``
            in bytes, ``isolated``, ``dont_write_bytecode``, ``stdin_is_devnull``).
    """

    python: str
    python_version: str
    loader: str
    versions: dict[str, Optional[str]]
    env: dict[str, Optional[str]]
    import_step: Optional[Step]
    models: tuple[ModelRun, ...]
    seconds: float
    problem: str = ""
    memory_limit: Optional[int] = DEFAULT_MEMORY
    timeout: float = DEFAULT_TIMEOUT
    unsafe: bool = False
    stderr_tail: tuple[str, ...] = ()
    sandbox: dict[str, Any] = field(default_factory=dict)

    def run_for(self, path: str) -> Optional[ModelRun]:
        """Return the result for the model path as given, or None."""
        return next((m for m in self.models if m.path == path), None)


@dataclass(frozen=True)
class Options:
    """How to verify.

    Attributes:
        timeout: seconds per model (load, forward passes, fix attempts).
        memory: address-space limit in bytes, None for none.
        unsafe: also try ``safe_mode=False`` (runs code stored in the model).
        module_path: directories searched for modules that define custom objects.
        imports: modules to import as a fix attempt, beyond those the model names.
        extra_env: variables set for the verifying process on top of the caller's
            environment (``KERAS_BACKEND`` for one run, tests).
    """

    timeout: float = DEFAULT_TIMEOUT
    memory: Optional[int] = DEFAULT_MEMORY
    unsafe: bool = False
    module_path: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    extra_env: dict[str, str] = field(default_factory=dict)


def endpoint_of(model: ModelInfo) -> tuple[str, list[dict[str, Any]]]:
    """Return the serving endpoint and its input specs of a SavedModel."""
    if model.savedmodel is None:
        return "serving_default", []
    best = None
    for mg in model.savedmodel.meta_graphs:
        for sig in mg.signatures:
            if sig.key.startswith("__"):
                continue
            if best is None or sig.key == "serving_default":
                best = sig
    if best is None:
        return "serving_default", []
    inputs = [
        {"name": t.name, "dtype": t.dtype, "shape": list(t.shape) if t.shape is not None else None}
        for t in best.inputs
    ]
    return best.key, inputs


def to_jsonable(run: HarnessRun) -> dict[str, Any]:
    """The ``verify`` key of the JSON envelope for one harness run (see the README)."""
    data: dict[str, Any] = plain_jsonable(run)
    for model, raw in zip(run.models, data["models"]):
        raw["outcome"] = model.outcome
        raw["loaded"] = model.loaded
        raw["predicted"] = model.predicted
        raw["verified_fixes"] = [a.name for a in model.verified_fixes]
    return data
