"""In-target harness of ``envdoctor verify``: load saved models for real, here, and report.

This file is shipped as package data and run as a *file* by the interpreter of the
environment under test::

    <target python> -I -B verify_harness.py --spec SPEC.json [--only N]

envdoctor never imports it.  It uses the standard library only at module level and must
run on Python 3.7 and later (annotations are strings; no walrus, no ``list[...]`` outside
annotations).  TensorFlow, Keras and NumPy are imported only inside this process, by name.

What it does, for every model of the spec (``models``), in a forked child per model (the
framework is imported once in the parent, like ``scripts/real_load.py``):

1. ``load``: the format's standard loader with its defaults, exactly what a user would call:
   ``tf.keras.models.load_model(path)`` when TensorFlow is importable and the Keras backend
   is TensorFlow, else ``keras.saving.load_model(path)``.
2. ``predict_float32``: a forward pass on a float32 batch of 2 built from ``model.inputs``
   (batch dimension 2, other unknown dimensions 4; int inputs get int32 ones), through
   ``model.predict(x, verbose=0)``; an object without ``predict`` is called (``__call__``)
   on a batch built from its ``serving_default`` input spec, and one that has neither
   fails with the ``AttributeError`` the user's ``model.predict(x)`` raises.  This is the
   one definition of "usable" (README, "What a verdict means"); the fix attempts below
   may call a signature instead.
3. per input: ``predict_float64`` (that input as float64, the others float32) and
   ``predict_wrong_rank`` (that input as one sample without the batch dimension, the shape
   an R vector or matrix has when passed for a single example).
4. when load or the float32 pass failed, the fixes that need no change to the environment,
   each a load plus a float32 forward pass: ``compile=False``; for a SavedModel
   ``tf.saved_model.load`` + its signature and ``keras.layers.TFSMLayer`` (Keras 3,
   TensorFlow backend); importing the modules that define custom objects (searched in
   ``module_path``), with and without ``compile=False``; ``safe_mode=False`` only when the
   spec says ``unsafe`` (it runs code stored in the model).

Every step is timed (seconds, wall clock).  The child streams one JSON line per step to
the parent, so a timeout or a crash still reports the steps done.  A crashed or timed-out
child is retried once in a fresh interpreter (``--only N``), in case fork was the cause.

Output: exactly one JSON object on the real standard output (framework chatter is sent to
standard error): ``harness``, ``python``, ``executable``, ``versions``, ``env``,
``sandbox`` (working directory, address-space limit, ``-I``/``-B``, stdin), ``loader``,
``import`` (a step), ``models`` (``path``, ``isolation``, ``steps``, ``attempts``).
A step is ``{"name", "ok", "seconds", "error_type", "error", "detail", "input", "frames",
"chain"}`` (``chain``: the exceptions this one was raised from, first
raised first, as ``[type, message]``); an attempt is ``{"name", "kind", "kwargs",
"modules", "ok", "steps"}``.
"""

from __future__ import annotations

import os
import sys

# Run as a file, this script's directory is sys.path[0]; drop it before importing anything
# else so that nothing beside the script can shadow a module.
if sys.path and sys.path[0] and os.path.abspath(sys.path[0]) == os.path.dirname(
    os.path.abspath(__file__)
):
    del sys.path[0]

import argparse
import contextlib
import functools
import importlib
import json
import select
import signal
import subprocess
import time
import traceback
from typing import IO, Any, Callable, Optional

HARNESS_VERSION = 1
"""Bumped when the output changes shape."""

ERROR_HEAD = 1500
"""Characters kept from the start of an exception message (Keras puts the cause first)."""

ERROR_TAIL = 2500
"""Characters kept from the end of an exception message ("Exception encountered: ...")."""

MAX_FRAMES = 16
"""Traceback frames (file paths, innermost last) kept with an error."""

MAX_CHAIN = 4
"""Chained exceptions (``__cause__`` / ``__context__``) kept with an error."""

TF_LOADER = "tf.keras.models.load_model"
KERAS_LOADER = "keras.saving.load_model"

VERSION_DISTS = (
    "tensorflow",
    "tensorflow-cpu",
    "tensorflow-intel",
    "tensorflow-macos",
    "tf-nightly",
    "keras",
    "tf-keras",
    "numpy",
    "jax",
    "jaxlib",
    "torch",
    "h5py",
    "protobuf",
    "ml-dtypes",
)
"""Distributions whose versions are reported."""

class NoForwardPass(Exception):
    """The loaded object offers no way to run a forward pass."""


class HarnessError(Exception):
    """The spec given to the harness is unusable."""


# ---------------------------------------------------------------- small helpers


def error_fields(exc: BaseException) -> dict[str, Any]:
    """Return ``error_type`` and ``error`` (head and tail of the message) for ``exc``.

    Keras appends whole model configs to its messages: the head keeps the explanation,
    the tail keeps the innermost "Exception encountered: ..." part.
    """
    message = str(exc).strip()
    if not message:
        message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    if len(message) > ERROR_HEAD + ERROR_TAIL:
        message = message[:ERROR_HEAD] + "\n[...]\n" + message[-ERROR_TAIL:]
    frames: list[str] = []
    chain: list[list[str]] = []
    with contextlib.suppress(Exception):
        frames = _frames(exc)
        seen = {id(exc)}
        inner = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        while inner is not None and id(inner) not in seen and len(chain) < MAX_CHAIN:
            seen.add(id(inner))
            chain.insert(0, [type(inner).__name__, str(inner).strip()[:ERROR_HEAD]])
            frames = _frames(inner)[-MAX_FRAMES // 2:] + frames
            inner = inner.__cause__ or (None if inner.__suppress_context__ else inner.__context__)
    return {"error_type": type(exc).__name__, "error": message, "frames": frames[-MAX_FRAMES:],
            "chain": chain}


def _frames(exc: BaseException) -> list[str]:
    return [f.filename for f in traceback.extract_tb(exc.__traceback__)][-MAX_FRAMES:]


def new_step(name: str, input_name: Optional[str] = None) -> dict[str, Any]:
    """Return a step record with every key present and nothing achieved yet."""
    return {
        "name": name,
        "ok": False,
        "seconds": 0.0,
        "error_type": None,
        "error": None,
        "detail": None,
        "input": input_name,
        "frames": [],
        "chain": [],
    }


def timed(name: str, fn: Callable[[], Any], input_name: Optional[str] = None) -> tuple[
    dict[str, Any], Any
]:
    """Run ``fn`` and return ``(step, value)``; the step records success or the exception."""
    step = new_step(name, input_name)
    started = time.monotonic()
    value = None
    try:
        value = fn()
    except Exception as exc:
        step.update(error_fields(exc))
    else:
        step["ok"] = True
    step["seconds"] = round(time.monotonic() - started, 4)
    return step, value


def dist_versions() -> dict[str, Optional[str]]:
    """Return ``{distribution: version or None}`` read with importlib.metadata."""
    try:
        from importlib import metadata  # noqa: PLC0415  (Python 3.7 has none)
    except ImportError:  # Python 3.7
        return {}
    versions: dict[str, Optional[str]] = {}
    for name in VERSION_DISTS:
        try:
            versions[name] = metadata.version(name)
        except Exception:
            versions[name] = None
    return versions


def _find_spec(name: str) -> bool:
    import importlib.util  # noqa: PLC0415  (harness: stdlib, only when a module is looked up)

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def loader_name() -> str:
    """Return the loader a user of this environment calls.

    ``tf.keras.models.load_model`` when TensorFlow is importable and ``KERAS_BACKEND`` is
    unset or ``tensorflow``; otherwise ``keras.saving.load_model``.
    """
    backend = os.environ.get("KERAS_BACKEND", "tensorflow") or "tensorflow"
    if backend == "tensorflow" and _find_spec("tensorflow"):
        return TF_LOADER
    return KERAS_LOADER


def import_loader(name: str) -> Callable[..., Any]:
    """Import the framework and return the ``load_model`` function called ``name``."""
    if name == TF_LOADER:
        tf = importlib.import_module("tensorflow")
        loader: Callable[..., Any] = tf.keras.models.load_model
        return loader
    keras = importlib.import_module("keras")
    saving = getattr(keras, "saving", None)
    if saving is not None and hasattr(saving, "load_model"):
        result: Callable[..., Any] = saving.load_model
        return result
    fallback: Callable[..., Any] = keras.models.load_model
    return fallback


# ---------------------------------------------------------------- inputs


def _dims(shape: Any) -> Optional[list[Optional[int]]]:
    """Return the dimensions of a TensorShape / tuple / list, or None for unknown rank."""
    if shape is None:
        return None
    if hasattr(shape, "as_list"):
        try:
            return list(shape.as_list())
        except ValueError:  # unknown rank
            return None
    dims: list[Optional[int]] = []
    for dim in shape:
        value = getattr(dim, "value", dim)
        dims.append(None if value is None else int(value))
    return dims


def _dtype_name(dtype: Any) -> str:
    name = getattr(dtype, "name", None) or str(dtype or "float32")
    return str(name).replace("tf.", "")


def make_batch(shape: Any, dtype: Any, float_dtype: str = "float32") -> Any:
    """Return a deterministic batch of 2 for one input (NumPy array).

    Args:
        shape: the input's shape including the batch dimension (None = any size).
        dtype: the input's dtype; float inputs get ``float_dtype``, int inputs int32/int64
            ones, bool inputs True.
        float_dtype: "float32" or "float64".

    Raises:
        NoForwardPass: unknown rank, or a dtype (string, ...) this harness cannot fake.
    """
    np = importlib.import_module("numpy")
    dims = _dims(shape)
    if dims is None:
        raise NoForwardPass("an input of unknown rank: cannot build a batch for it")
    concrete = [2] + [4 if d is None else int(d) for d in dims[1:]]
    name = _dtype_name(dtype)
    if "int" in name:
        return np.ones(concrete, dtype="int64" if name.endswith("64") else "int32")
    if "bool" in name:
        return np.ones(concrete, dtype="bool")
    if "string" in name or "str" in name:
        raise NoForwardPass("a string input: envdoctor does not fake text inputs")
    rng = np.random.RandomState(0)
    return rng.rand(*concrete).astype(float_dtype)


def _is_float(dtype: Any) -> bool:
    name = _dtype_name(dtype)
    return "float" in name or name in ("half", "bfloat16")


def _output_info(output: Any) -> str:
    """Return e.g. ``"output (2, 1) float32"`` for an array, tensor, list or dict."""
    if isinstance(output, dict):
        items = list(output.values())
    elif isinstance(output, (list, tuple)):
        items = list(output)
    else:
        items = [output]
    parts = []
    for item in items:
        shape = tuple(int(d) for d in getattr(item, "shape", ()))
        parts.append(f"{shape} {_dtype_name(getattr(item, 'dtype', '?'))}")
    return "output " + ", ".join(parts)


class Runner:
    """How to run a forward pass on one loaded object, with the batches it needs.

    Attributes:
        names: input names, in order.
        specs: ``(shape, dtype)`` per input.
        call: runs the object on a list of arrays (one per input) and returns its output.
        via: how it is called, e.g. ``"model.predict"``.
    """

    def __init__(
        self,
        names: list[str],
        specs: list[tuple[Any, Any]],
        call: Callable[[list[Any]], Any],
        via: str,
    ) -> None:
        self.names = names
        self.specs = specs
        self.call = call
        self.via = via

    def batches(self, float_dtype: str = "float32") -> list[Any]:
        """Return one batch of 2 per input."""
        return [make_batch(shape, dtype, float_dtype) for shape, dtype in self.specs]


class _LayerModel:
    """A ``TFSMLayer`` seen as a model: ``inputs`` from the SavedModel signature."""

    def __init__(self, layer: Any, signature_inputs: list[dict[str, Any]]) -> None:
        self.layer = layer
        self.signature_inputs = signature_inputs

    def runner(self) -> Runner:
        """Return the runner calling the layer on one positional input (or a list)."""
        specs = [(s.get("shape"), s.get("dtype") or "float32") for s in self.signature_inputs]
        if not specs:
            raise NoForwardPass("the SavedModel signature's inputs are unknown")
        names = [str(s.get("name") or f"input_{i}") for i, s in enumerate(self.signature_inputs)]

        def call(xs: list[Any]) -> Any:
            return self.layer(xs[0] if len(xs) == 1 else xs)

        return Runner(names, specs, call, "keras.layers.TFSMLayer")


def _signature(obj: Any, endpoint: Optional[str]) -> Any:
    signatures = getattr(obj, "signatures", None)
    if signatures is None:
        return None
    keys = list(signatures.keys())
    if not keys:
        return None
    key = endpoint if endpoint in keys else ("serving_default" if "serving_default" in keys
                                             else keys[0])
    return signatures[key]


def runner_for(obj: Any, endpoint: Optional[str] = None, user: bool = False) -> Runner:
    """Return the :class:`Runner` for a loaded model, revived SavedModel or signature owner.

    ``user=True`` is envdoctor's one definition of "usable" (README, "What a verdict
    means"): what the user's loader returned must run ``predict`` on a float32 batch
    built from its input spec, or, for an object without ``predict``, ``__call__``; a
    revived SavedModel object that has neither fails with the ``AttributeError`` the
    user's own ``model.predict(x)`` raises.  ``user=False`` (the fix attempts, e.g.
    ``tf.saved_model.load``) also calls a ``serving_default``-style signature.

    Raises:
        NoForwardPass: the object has neither ``inputs`` nor a signature.
        AttributeError: ``user=True`` and the object has no ``predict`` and no ``__call__``.
    """
    if isinstance(obj, _LayerModel):
        return obj.runner()
    inputs = getattr(obj, "inputs", None)
    if user and not hasattr(obj, "predict"):
        fn = _signature(obj, endpoint)
        if callable(obj) and fn is not None:
            _, kwargs_spec = fn.structured_input_signature
            keys = list(kwargs_spec.keys())
            sig_specs = [(kwargs_spec[k].shape, kwargs_spec[k].dtype) for k in keys]

            def call_object(xs: list[Any]) -> Any:
                return obj(xs[0] if len(xs) == 1 else xs)

            return Runner(keys, sig_specs, call_object, "__call__")
        obj.predict  # noqa: B018 - raises the AttributeError the user's predict() gets
    if inputs and hasattr(obj, "predict"):
        names = [str(getattr(t, "name", "") or f"input_{i}") for i, t in enumerate(inputs)]
        specs = [(t.shape, getattr(t, "dtype", None)) for t in inputs]

        def call_model(xs: list[Any]) -> Any:
            x = xs[0] if len(xs) == 1 else xs
            return obj.predict(x, verbose=0)

        return Runner(names, specs, call_model, "model.predict")
    fn = _signature(obj, endpoint)
    if fn is not None:
        _, kwargs_spec = fn.structured_input_signature
        keys = list(kwargs_spec.keys())
        sig_specs = [(kwargs_spec[k].shape, kwargs_spec[k].dtype) for k in keys]

        def call_signature(xs: list[Any]) -> Any:
            return fn(**dict(zip(keys, xs)))

        return Runner(keys, sig_specs, call_signature, "signatures['serving_default']")
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    raise NoForwardPass(
        f"the loaded object ({kind}) has no .inputs and no signature: no forward pass to run"
    )


def forward_steps(obj: Any, emit: Callable[[dict[str, Any]], None],
                  endpoint: Optional[str] = None, extra: bool = True,
                  user: bool = False) -> bool:
    """Run the float32 pass and, if ``extra``, the float64 and wrong-rank passes per input.

    ``user`` is passed to :func:`runner_for` (True for the user's own load).

    Returns:
        True when the float32 forward pass worked.
    """
    step, runner = timed("predict_float32", lambda: runner_for(obj, endpoint, user))
    if not step["ok"]:
        emit(step)
        return False
    assert isinstance(runner, Runner)
    step, output = timed("predict_float32", lambda: runner.call(runner.batches()))
    if step["ok"]:
        step["detail"] = f"via {runner.via}; {_output_info(output)}"
    emit(step)
    if not step["ok"] or not extra:
        return bool(step["ok"])
    for index, (name, (_shape, dtype)) in enumerate(zip(runner.names, runner.specs)):
        if _is_float(dtype):
            def run64(i: int = index) -> Any:
                xs = runner.batches()
                xs[i] = runner.batches("float64")[i]
                return runner.call(xs)

            s64, out64 = timed("predict_float64", run64, name)
            if s64["ok"]:
                s64["detail"] = f"accepted; {_output_info(out64)}"
            emit(s64)

        def run_rank(i: int = index) -> Any:
            xs = runner.batches()
            xs[i] = xs[i][0]  # one sample, no batch dimension
            return runner.call(xs)

        srank, outrank = timed("predict_wrong_rank", run_rank, name)
        sample = runner.batches()[index][0]
        shape = tuple(int(d) for d in sample.shape)
        srank["detail"] = f"fed shape {shape} (rank {len(shape)})"
        if srank["ok"]:
            srank["detail"] += f"; accepted; {_output_info(outrank)}"
        emit(srank)
    return True


# ---------------------------------------------------------------- one model


def _module_candidates(model: dict[str, Any]) -> list[str]:
    return [str(m) for m in model.get("custom_modules", []) if m]


def attempt(
    name: str,
    kind: str,
    emit: Callable[[dict[str, Any]], None],
    load: Callable[[], Any],
    *,
    endpoint: Optional[str] = None,
    kwargs: Optional[dict[str, Any]] = None,
    modules: Optional[list[str]] = None,
) -> bool:
    """Run one fix attempt (a load and a float32 forward pass) and emit its record.

    Returns:
        True when both steps worked (the fix is verified).
    """
    steps: list[dict[str, Any]] = []
    step, obj = timed("load", load)
    steps.append(step)
    ok = False
    if step["ok"]:
        ok = forward_steps(obj, steps.append, endpoint, extra=False)
    emit({
        "attempt": {
            "name": name,
            "kind": kind,
            "kwargs": kwargs or {},
            "modules": modules or [],
            "ok": ok,
            "steps": steps,
        }
    })
    return ok


def verify_model(
    loader: Callable[..., Any], model: dict[str, Any], spec: dict[str, Any],
    emit: Callable[[dict[str, Any]], None],
) -> None:
    """Run every step of one model, emitting each step and attempt as it completes."""
    path = model["path"]
    endpoint = model.get("endpoint") or "serving_default"
    load_step, obj = timed("load", lambda: loader(path))
    emit(load_step)
    loaded_ok = bool(load_step["ok"])
    forward_ok = False
    if loaded_ok:
        forward_ok = forward_steps(obj, emit, endpoint, user=True)
    if loaded_ok and forward_ok:
        return
    fmt = model.get("format", "")
    is_file_model = fmt in ("keras_archive", "keras_h5", "savedmodel")
    if not loaded_ok and is_file_model:
        attempt("compile=False", "compile_false", emit,
                lambda: loader(path, compile=False), endpoint=endpoint,
                kwargs={"compile": False})
    if fmt == "savedmodel":
        _savedmodel_attempts(model, path, endpoint, emit)
    if loaded_ok or not is_file_model:
        return
    imported = _import_attempts(loader, model, spec, emit)
    load_error = str(load_step.get("error") or "") if not loaded_ok else ""
    wants_unsafe = bool(model.get("has_unsafe_objects")) or "safe_mode" in load_error
    if spec.get("unsafe") and fmt != "savedmodel" and wants_unsafe:
        prefix = ("import " + ", ".join(imported) + " + ") if imported else ""
        if not attempt(prefix + "safe_mode=False", "unsafe", emit,
                       lambda: loader(path, safe_mode=False), endpoint=endpoint,
                       kwargs={"safe_mode": False}, modules=imported):
            attempt(prefix + "safe_mode=False + compile=False", "unsafe", emit,
                    lambda: loader(path, safe_mode=False, compile=False), endpoint=endpoint,
                    kwargs={"safe_mode": False, "compile": False}, modules=imported)


def _savedmodel_attempts(model: dict[str, Any], path: str, endpoint: str,
                         emit: Callable[[dict[str, Any]], None]) -> None:
    """``tf.saved_model.load`` + its signature, and ``keras.layers.TFSMLayer`` (Keras 3)."""
    if _find_spec("tensorflow"):
        def tf_load() -> Any:
            return importlib.import_module("tensorflow").saved_model.load(path)

        attempt("tf.saved_model.load", "tf_saved_model_load", emit, tf_load,
                endpoint=endpoint)
    keras = sys.modules.get("keras")
    backend = os.environ.get("KERAS_BACKEND", "tensorflow") or "tensorflow"
    version = str(getattr(keras, "__version__", "") or "")
    several = len(model.get("signature_inputs") or []) > 1
    # TFSMLayer passes its input positionally, and a signature with several inputs takes
    # them by name only: every such attempt in the live matrix failed with "Binding inputs
    # to tf.function failed due to `too many positional arguments`" (a list or a dict alike)
    if keras is not None and version.startswith("3.") and backend == "tensorflow" and not several:
        def tfsm() -> Any:
            layer = importlib.import_module("keras").layers.TFSMLayer(
                path, call_endpoint=endpoint)
            return _LayerModel(layer, model.get("signature_inputs") or [])

        attempt("keras.layers.TFSMLayer", "tfsm_layer", emit, tfsm, endpoint=endpoint,
                kwargs={"call_endpoint": endpoint})


def _import_attempts(loader: Callable[..., Any], model: dict[str, Any],
                     spec: dict[str, Any], emit: Callable[[dict[str, Any]], None]) -> list[str]:
    """Import the modules that define custom objects, then load again; return those imported."""
    path = model["path"]
    endpoint = model.get("endpoint") or "serving_default"
    modules = _module_candidates(model)
    imported: list[str] = []
    if not modules:
        return imported
    for entry in reversed(spec.get("module_path", [])):
        if entry and entry not in sys.path:
            sys.path.insert(0, entry)
    for module in modules:
        step, _ = timed("import " + module, functools.partial(importlib.import_module, module))
        if step["ok"]:
            imported.append(module)
        else:
            emit({"attempt": {"name": "import " + module, "kind": "import", "kwargs": {},
                              "modules": [module], "ok": False, "steps": [step]}})
    if imported:
        label = "import " + ", ".join(imported)
        if not attempt(label, "import", emit, lambda: loader(path), endpoint=endpoint,
                       modules=imported):
            attempt(label + " + compile=False", "import", emit,
                    lambda: loader(path, compile=False), endpoint=endpoint,
                    kwargs={"compile": False}, modules=imported)
    return imported


# ---------------------------------------------------------------- isolation


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _lines(data: bytes) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for raw in data.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            records.append(value)
    return records


def _collect(records: list[dict[str, Any]], result: dict[str, Any]) -> None:
    for rec in records:
        if "attempt" in rec:
            result["attempts"].append(rec["attempt"])
        elif "name" in rec:
            result["steps"].append(rec)


def _collect_one(result: dict[str, Any], record: dict[str, Any]) -> None:
    _collect([record], result)


def _read_until(fd: int, deadline: float) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"".join(chunks), True
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)


def _failure_step(name: str, error_type: str, message: str) -> dict[str, Any]:
    step = new_step(name)
    step.update(error_type=error_type, error=message)
    return step


def run_forked(loader: Callable[..., Any], model: dict[str, Any], spec: dict[str, Any],
               timeout: float) -> dict[str, Any]:
    """Verify one model in a forked child; return ``{path, isolation, steps, attempts}``."""
    result: dict[str, Any] = {"path": model["path"], "isolation": "fork", "steps": [],
                              "attempts": [], "seconds": 0.0}
    started = time.monotonic()
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(read_fd)

            def emit(record: dict[str, Any]) -> None:
                _write_all(write_fd, (json.dumps(record) + "\n").encode("utf-8"))

            verify_model(loader, model, spec, emit)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    try:
        data, timed_out = _read_until(read_fd, started + timeout)
    finally:
        os.close(read_fd)
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    _collect(_lines(data), result)
    result["seconds"] = round(time.monotonic() - started, 3)
    if timed_out:
        result["steps"].append(_failure_step(
            "timeout", "Timeout", f"killed after {timeout:g} s (the per-model time limit)"))
    elif os.WIFSIGNALED(status) or os.WEXITSTATUS(status) != 0:
        how = (f"killed by signal {_signal_name(os.WTERMSIG(status))}"
               if os.WIFSIGNALED(status) else f"exit status {os.WEXITSTATUS(status)}")
        result["steps"].append(_failure_step("crash", "ChildCrashed",
                                             f"the process verifying the model died: {how}"))
    return result


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def run_subprocess(spec_path: str, index: int, timeout: float) -> dict[str, Any]:
    """Verify model ``index`` in a fresh interpreter (``--only``); return its result."""
    cmd = [sys.executable, "-I", "-B", os.path.abspath(__file__), "--spec", spec_path,
           "--only", str(index)]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, timeout=timeout,
                              check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"path": "", "isolation": "subprocess", "attempts": [], "seconds": timeout,
                "steps": [_failure_step("timeout", "Timeout",
                                        f"killed after {timeout:g} s (the per-model time limit)")]}
    try:
        data = json.loads(proc.stdout.decode("utf-8"))
        child: dict[str, Any] = data["models"][0]
    except (ValueError, KeyError, IndexError):
        rc = proc.returncode
        how = f"killed by signal {_signal_name(-rc)}" if rc < 0 else f"exit status {rc}"
        child = {"path": "", "isolation": "subprocess", "attempts": [],
                 "steps": [_failure_step("crash", "ChildCrashed",
                                         f"the process verifying the model died: {how}")]}
    child["seconds"] = round(time.monotonic() - started, 3)
    return child


# ---------------------------------------------------------------- main


def limit_memory(limit: Optional[int]) -> None:
    """Set this process's address-space limit (``RLIMIT_AS``, bytes; None: leave it).

    Forked children and retries inherit it.  A hard limit already lower is kept.
    """
    if not limit:
        return
    try:
        import resource  # noqa: PLC0415  (POSIX only)
    except ImportError:  # not POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    value = int(limit)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (value, hard))
    del soft


def sandbox_facts() -> dict[str, Any]:
    """What the process runs under: working directory, address-space limit, flags, stdin."""
    facts: dict[str, Any] = {
        "cwd": os.getcwd(),
        "isolated": bool(getattr(sys.flags, "isolated", 0)),
        "dont_write_bytecode": bool(sys.dont_write_bytecode),
        "stdin_is_devnull": False,
        "rlimit_as": None,
    }
    with contextlib.suppress(Exception):
        facts["stdin_is_devnull"] = os.path.samefile("/proc/self/fd/0", os.devnull)
    with contextlib.suppress(Exception):
        import resource  # noqa: PLC0415  (POSIX only)

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        facts["rlimit_as"] = None if soft == resource.RLIM_INFINITY else int(soft)
    return facts


def _import_step(name: str) -> tuple[dict[str, Any], Optional[Callable[..., Any]]]:
    step, loader = timed("import", lambda: import_loader(name))
    step["detail"] = name
    return step, loader


def main(argv: Optional[list[str]] = None) -> int:
    """Command-line entry point; prints one JSON object on the real standard output."""
    parser = argparse.ArgumentParser(description="envdoctor verify harness")
    parser.add_argument("--spec", required=True, help="JSON spec written by envdoctor")
    parser.add_argument("--only", type=int, default=None, help="verify only model N, here")
    args = parser.parse_args(argv)

    sys.stdout.flush()
    real_stdout: IO[str] = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # framework chatter goes to stderr

    with open(args.spec, encoding="utf-8") as handle:
        spec = json.load(handle)
    limit_memory(spec.get("memory_bytes"))
    for entry in reversed(spec.get("sys_path", [])):
        if entry and entry not in sys.path:
            sys.path.insert(0, entry)
    models = spec.get("models", [])
    timeout = float(spec.get("timeout", 300.0))
    name = loader_name()
    report: dict[str, Any] = {
        "harness": HARNESS_VERSION,
        "python": ".".join(str(v) for v in sys.version_info[:3]),
        "executable": sys.executable,
        "versions": dist_versions(),
        "env": {k: os.environ.get(k) for k in ("KERAS_BACKEND", "TF_USE_LEGACY_KERAS",
                                               "KERAS_HOME", "CUDA_VISIBLE_DEVICES",
                                               "LD_LIBRARY_PATH")},
        "sandbox": sandbox_facts(),
        "loader": name,
        "import": None,
        "models": [],
    }
    import_step, loader = _import_step(name)
    report["import"] = import_step
    selected = list(enumerate(models))
    if args.only is not None:
        selected = [(args.only, models[args.only])]
    for index, model in selected:
        if loader is None:
            failed = dict(import_step)
            failed["name"] = "load"
            result = {"path": model["path"], "isolation": "none", "attempts": [],
                      "steps": [failed], "seconds": 0.0}
        elif args.only is not None:
            result = {"path": model["path"], "isolation": "subprocess", "steps": [],
                      "attempts": [], "seconds": 0.0}
            started = time.monotonic()
            verify_model(loader, model, spec, functools.partial(_collect_one, result))
            result["seconds"] = round(time.monotonic() - started, 3)
        elif hasattr(os, "fork"):
            result = run_forked(loader, model, spec, timeout)
            last = result["steps"][-1]["name"] if result["steps"] else ""
            if last in ("crash", "timeout"):
                first = result["steps"][-1]["error"]
                result = run_subprocess(args.spec, index, timeout)
                result["path"] = model["path"]
                result["isolation"] = f"subprocess (after fork: {first})"
        else:
            result = run_subprocess(args.spec, index, timeout)
            result["path"] = model["path"]
        report["models"].append(result)
        print(f"verify_harness: {model['path']} ({result.get('seconds')} s)", file=sys.stderr)
    real_stdout.write(json.dumps(report) + "\n")
    real_stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
