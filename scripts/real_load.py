"""Real-load harness: try to load and run saved Keras models in THIS environment.

Run it with the Python of the environment under test::

    <env python> scripts/real_load.py [--timeout S] [--isolation fork|subprocess]
                                      [--preload MODULE ...] MODEL [MODEL ...]

It prints exactly ONE JSON object on stdout (everything else goes to stderr)::

    {"python": "3.11.7", "executable": ..., "platform": ..., "env": {...},
     "versions": {"tensorflow": ..., "keras": ..., ...},
     "loader": "tf.keras.models.load_model" | "keras.saving.load_model",
     "framework_error": null | "...", "isolation": "fork" | "subprocess",
     "preload": [module, ...],
     "results": [{"model": path, "loader": ..., "loaded": bool, "predicted": bool,
                  "stage": "import"|"load"|"predict"|"timeout"|"crash"|null,
                  "error_type": str|null, "error": str|null,
                  "error_head": str|null, "seconds": float,
                  "object_type": str|null, "predict_via": str|null,
                  "output_shapes": list|null, "isolation": str, "note": str|null,
                  "retry_compile_false": null | {"loaded": bool, "error_type": ...,
                                                 "error_head": ...}}, ...]}

Semantics, chosen to mirror what a user of the environment would do:

* The framework is imported once in the parent: if ``tensorflow`` is
  importable the loader is ``tf.keras.models.load_model`` (Keras 2 for
  TF <= 2.15 or with ``TF_USE_LEGACY_KERAS=1``, Keras 3 for TF >= 2.16),
  otherwise ``keras.saving.load_model``.  If that import fails, every result
  has ``stage == "import"``.
* Each model is loaded in a forked child (isolation, the parent stays clean);
  the child sends its result back through a pipe as JSON.  A child that runs
  longer than ``--timeout`` seconds is killed (``stage == "timeout"``).  If a
  forked child crashes or times out, the model is retried once in a fresh
  subprocess (``isolation`` says so), in case the crash was caused by fork.
  ``--isolation subprocess`` uses one fresh subprocess per model from the start.
* The child calls ``load_model(path)`` with defaults only (no
  ``custom_objects``, no ``safe_mode`` changes), then runs a forward pass on
  a float32 batch of 2 built from ``model.inputs`` (batch dim -> 2, other
  unknown dims -> 4) with ``model.predict(x, verbose=0)``.  A loaded object
  without ``predict`` is called (``__call__``) on a batch built from its
  ``serving_default`` input spec; one with neither fails with the real
  ``AttributeError`` a user's ``model.predict(x)`` gets.  This is envdoctor's
  one definition of "usable" (README, "What a verdict means").
* When a SavedModel directory fails, the child also tries
  ``tf.saved_model.load(path).signatures["serving_default"]`` on a float32 batch
  (then on the signature's own dtype) and reports it under ``retry_signature``
  (informational).
* When the default load fails, the child also tries
  ``load_model(path, compile=False)`` and reports the outcome under
  ``retry_compile_false`` (informational; ``loaded`` never depends on it).
* ``--preload MODULE`` imports extra modules after the framework (default:
  none), e.g. to check whether a custom-layer model loads once the user's
  module is imported.  A failing preload counts as ``stage == "import"``.
* ``stage`` is where it stopped: ``null`` means loaded and predicted.
  ``error`` holds the last ~2000 characters of the exception message and
  ``error_head`` its first ~500 (Keras likes to append whole configs).

Only the standard library is imported at module level; the file parses on
Python 3.9+.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import select
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any, Callable

VERSION_DISTS = (
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "tf-keras",
    "numpy",
    "jax",
    "jaxlib",
    "h5py",
    "protobuf",
    "ml-dtypes",
)
"""Distributions whose versions are reported under ``versions``."""

ERROR_TAIL = 2000
ERROR_HEAD = 500
DEFAULT_TIMEOUT = 120.0
TF_LOADER = "tf.keras.models.load_model"
KERAS_LOADER = "keras.saving.load_model"


def dist_versions() -> dict[str, str | None]:
    """Return ``{distribution: version or None}`` read with importlib.metadata."""
    versions: dict[str, str | None] = {}
    for name in VERSION_DISTS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def loader_name() -> str:
    """Return the loader a user of this environment would call."""
    return TF_LOADER if importlib.util.find_spec("tensorflow") is not None else KERAS_LOADER


def import_loader(name: str, preload: Sequence[str] = ()) -> Callable[..., Any]:
    """Import the framework and return the ``load_model`` function for ``name``.

    Modules named in ``preload`` (e.g. a module registering custom layers)
    are imported afterwards, as a user's own code would.
    """
    if name == TF_LOADER:
        import tensorflow as tf

        loader = tf.keras.models.load_model
    else:
        import keras

        loader = keras.saving.load_model
    for module in preload:
        importlib.import_module(module)
    return loader


def exception_fields(exc: BaseException) -> dict[str, str]:
    """Return ``error_type``, ``error`` (message tail) and ``error_head`` for ``exc``.

    Keras often appends a whole model config to its messages, so the tail
    alone can hide the explanation: ``error_head`` keeps the beginning.
    """
    message = str(exc).strip()
    if not message:
        message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return {
        "error_type": type(exc).__name__,
        "error": message[-ERROR_TAIL:],
        "error_head": message[:ERROR_HEAD],
    }


def new_result(model: str, loader: str | None, isolation: str) -> dict[str, Any]:
    """Return a result dict with every key present and nothing achieved yet."""
    return {
        "model": model,
        "loader": loader,
        "loaded": False,
        "predicted": False,
        "stage": None,
        "error_type": None,
        "error": None,
        "error_head": None,
        "seconds": 0.0,
        "object_type": None,
        "predict_via": None,
        "output_shapes": None,
        "isolation": isolation,
        "note": None,
        "retry_compile_false": None,
        "retry_signature": None,
    }


# ---------------------------------------------------------------- forward pass


def _dims(shape: Any) -> list[int | None]:
    """Return the dimensions of a TensorShape / tuple / list as ints or None."""
    if hasattr(shape, "as_list"):
        try:
            return list(shape.as_list())
        except ValueError:  # unknown rank
            return []
    dims: list[int | None] = []
    for dim in shape:
        value = getattr(dim, "value", dim)
        dims.append(None if value is None else int(value))
    return dims


def _batch_for(shape: Any, dtype: Any) -> Any:
    """Return a deterministic batch of 2 for one input of the given shape."""
    import numpy as np

    dims = _dims(shape)
    concrete = [2] + [4 if d is None else int(d) for d in dims[1:]]
    dtype_name = str(getattr(dtype, "name", dtype) or "float32")
    if "int" in dtype_name:
        return np.ones(concrete, dtype="int32")
    if "bool" in dtype_name:
        return np.ones(concrete, dtype="bool")
    rng = np.random.RandomState(0)
    return rng.rand(*concrete).astype("float32")


def _shapes_of(output: Any) -> list[list[int]]:
    """Return the shapes of a prediction (array, tensor, list or dict)."""
    if isinstance(output, dict):
        items = list(output.values())
    elif isinstance(output, (list, tuple)):
        items = list(output)
    else:
        items = [output]
    return [[int(d) for d in getattr(item, "shape", ())] for item in items]


def _serving_signature(model: Any) -> Any:
    """Return the object's ``serving_default`` (or only) signature, or None."""
    signatures = getattr(model, "signatures", None)
    if signatures is None:
        return None
    keys = list(signatures.keys())
    if not keys:
        return None
    return signatures["serving_default" if "serving_default" in keys else keys[0]]


def forward(model: Any, result: dict[str, Any]) -> None:
    """Run one forward pass the way a user would; fill ``predict_via``/``output_shapes``.

    The one definition of "usable" (README, "What a verdict means"): the loaded
    object runs ``model.predict`` on a float32 batch built from its input spec
    (``model.inputs``); an object without ``predict`` is called (``__call__``) on a
    batch built from its ``serving_default`` input spec.  An object with neither
    fails with the ``AttributeError`` the user's own ``model.predict(x)`` raises
    (e.g. ``'_UserObject' object has no attribute 'predict'`` for a SavedModel
    without Keras metadata revived by Keras 2).

    Raises whatever the model raises; ``NoForwardPass`` when it has ``predict`` but
    no input spec to build a batch from.
    """
    inputs = getattr(model, "inputs", None)
    if hasattr(model, "predict"):
        if not inputs:
            raise NoForwardPass(
                f"loaded object of type {result['object_type']} has predict but no .inputs: "
                "no input spec to build a batch from"
            )
        batch = [_batch_for(t.shape, getattr(t, "dtype", None)) for t in inputs]
        x = batch[0] if len(batch) == 1 else batch
        result["predict_via"] = "model.predict"
        output = model.predict(x, verbose=0)
        result["output_shapes"] = _shapes_of(output)
        return
    fn = _serving_signature(model)
    if callable(model) and fn is not None:
        _, kwargs_spec = fn.structured_input_signature
        batch = [_batch_for(spec.shape, spec.dtype) for spec in kwargs_spec.values()]
        result["predict_via"] = "__call__"
        output = model(batch[0] if len(batch) == 1 else batch)
        result["output_shapes"] = _shapes_of(output)
        return
    model.predict  # noqa: B018 - raises the AttributeError the user's predict() gets


def try_signature(model_path: str) -> dict[str, Any]:
    """Try ``tf.saved_model.load(path).signatures["serving_default"]`` on a float32 batch.

    Informational (the main result never depends on it): it tells whether the
    loading-call change envdoctor proposes for a SavedModel works here.
    """
    out: dict[str, Any] = {"ok": False, "error_type": None, "error_head": None}
    try:
        import tensorflow as tf

        fn = _serving_signature(tf.saved_model.load(model_path))
        if fn is None:
            raise NoForwardPass("the SavedModel has no signatures")
        _, kwargs_spec = fn.structured_input_signature
        feed = {key: _batch_for(spec.shape, spec.dtype) for key, spec in kwargs_spec.items()}
        try:
            fn(**feed)
        except Exception:
            # a float16 export needs a float16 input: the dtype its signature gives
            feed = {
                key: tf.cast(value, spec.dtype) if spec.dtype.is_floating else value
                for (key, value), spec in zip(feed.items(), kwargs_spec.values())
            }
            fn(**feed)
            out["note"] = "needs inputs of the signature's dtype"
    except Exception as exc:
        fields = exception_fields(exc)
        out.update(error_type=fields["error_type"], error_head=fields["error_head"])
        return out
    out["ok"] = True
    return out


class NoForwardPass(Exception):
    """The loaded object cannot be called like a model."""


def load_and_predict(loader: Callable[..., Any], model_path: str, result: dict[str, Any]) -> None:
    """Load ``model_path`` with default arguments and run a forward pass.

    Fills ``result`` in place: ``loaded``/``predicted``/``stage``/errors.
    """
    result["stage"] = "load"
    try:
        model = loader(model_path)
    except Exception as exc:
        result.update(exception_fields(exc))
        result["retry_compile_false"] = retry_compile_false(loader, model_path)
        if os.path.isdir(model_path) and importlib.util.find_spec("tensorflow") is not None:
            result["retry_signature"] = try_signature(model_path)
        return
    result["loaded"] = True
    cls = type(model)
    result["object_type"] = f"{cls.__module__}.{cls.__qualname__}"
    result["stage"] = "predict"
    try:
        forward(model, result)
    except Exception as exc:
        result.update(exception_fields(exc))
        if os.path.isdir(model_path):
            result["retry_signature"] = try_signature(model_path)
        return
    result["predicted"] = True
    result["stage"] = None


def retry_compile_false(loader: Callable[..., Any], model_path: str) -> dict[str, Any]:
    """Try ``load_model(path, compile=False)`` after a failed default load.

    Informational only (the main result always reflects the default call):
    it tells whether the failure was confined to restoring the training
    configuration (loss/metrics/optimizer), a common Keras 2 -> 3 issue.
    """
    try:
        loader(model_path, compile=False)
    except Exception as exc:
        fields = exception_fields(exc)
        return {
            "loaded": False,
            "error_type": fields["error_type"],
            "error_head": fields["error_head"],
        }
    return {"loaded": True, "error_type": None, "error_head": None}


# ---------------------------------------------------------------- isolation


def _read_until(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Read ``fd`` until EOF or ``deadline``; return ``(data, timed_out)``."""
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


def run_forked(
    loader: Callable[..., Any], name: str, model_path: str, timeout: float
) -> dict[str, Any]:
    """Load one model in a forked child; return its result dict."""
    result = new_result(model_path, name, "fork")
    started = time.monotonic()
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(read_fd)
            load_and_predict(loader, model_path, result)
            result["seconds"] = round(time.monotonic() - started, 3)
            payload = json.dumps(result).encode("utf-8")
            view = memoryview(payload)
            while view:
                written = os.write(write_fd, view)
                view = view[written:]
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
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    result["seconds"] = round(time.monotonic() - started, 3)
    if timed_out:
        msg = f"killed after {timeout:g}s"
        result.update(stage="timeout", error_type="Timeout", error=msg, error_head=msg)
        return result
    if data:
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError:
            pass
    how = (
        f"killed by signal {os.WTERMSIG(status)}"
        if os.WIFSIGNALED(status)
        else f"exit status {os.WEXITSTATUS(status)}"
    )
    msg = f"child process {how} without a result"
    result.update(stage="crash", error_type="ChildCrashed", error=msg, error_head=msg)
    return result


def run_subprocess(
    name: str | None, model_path: str, timeout: float, preload: Sequence[str] = ()
) -> dict[str, Any]:
    """Load one model in a fresh interpreter (``--child``); return its result."""
    result = new_result(model_path, name, "subprocess")
    started = time.monotonic()
    cmd = [sys.executable, os.path.abspath(__file__), "--child", model_path]
    for module in preload:
        cmd += ["--preload", module]
    try:
        proc = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=None, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        result.update(
            stage="timeout",
            error_type="Timeout",
            error=f"killed after {timeout:g}s",
            error_head=f"killed after {timeout:g}s",
            seconds=round(time.monotonic() - started, 3),
        )
        return result
    try:
        child = json.loads(proc.stdout.decode("utf-8"))
    except ValueError:
        result.update(
            stage="crash",
            error_type="ChildCrashed",
            error=f"child exited with {proc.returncode} without a result",
            error_head=f"child exited with {proc.returncode} without a result",
            seconds=round(time.monotonic() - started, 3),
        )
        return result
    child["seconds"] = round(time.monotonic() - started, 3)
    child["note"] = (child.get("note") or "") + " (includes framework import time)"
    child["note"] = child["note"].strip()
    return child


def child_main(model_path: str, out: Any, preload: Sequence[str] = ()) -> int:
    """``--child`` mode: import the framework, load one model, print its result."""
    name = loader_name()
    result = new_result(model_path, name, "subprocess")
    started = time.monotonic()
    try:
        loader = import_loader(name, preload)
    except Exception as exc:
        result.update(stage="import", **exception_fields(exc))
    else:
        load_and_predict(loader, model_path, result)
    result["seconds"] = round(time.monotonic() - started, 3)
    out.write(json.dumps(result))
    out.flush()
    return 0


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints one JSON object on the real stdout."""
    parser = argparse.ArgumentParser(description="Load and run saved Keras models here.")
    parser.add_argument("models", nargs="+", help="model files / SavedModel directories")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per model")
    parser.add_argument(
        "--isolation",
        choices=("fork", "subprocess"),
        default="fork" if hasattr(os, "fork") else "subprocess",
        help="fork a child per model (default) or start a fresh interpreter per model",
    )
    parser.add_argument(
        "--preload",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE after the framework (e.g. one registering custom layers)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    # Keep stdout for the JSON only: framework chatter goes to stderr.
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)

    if args.child:
        return child_main(args.models[0], out, args.preload)

    report: dict[str, Any] = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "env": {
            key: os.environ.get(key)
            for key in ("KERAS_BACKEND", "TF_USE_LEGACY_KERAS", "TF_CPP_MIN_LOG_LEVEL")
        },
        "versions": dist_versions(),
        "loader": None,
        "framework_error": None,
        "framework_import_seconds": None,
        "isolation": args.isolation,
        "preload": args.preload,
        "results": [],
    }
    name = loader_name()
    report["loader"] = name
    loader: Callable[..., Any] | None = None
    import_error: dict[str, str] | None = None
    if args.isolation == "fork":
        started = time.monotonic()
        try:
            loader = import_loader(name, args.preload)
        except Exception as exc:
            import_error = exception_fields(exc)
            report["framework_error"] = f"{import_error['error_type']}: {import_error['error']}"
        report["framework_import_seconds"] = round(time.monotonic() - started, 3)

    results: list[dict[str, Any]] = report["results"]
    for model_path in args.models:
        if import_error is not None:
            result = new_result(model_path, name, args.isolation)
            result.update(stage="import", **import_error)
        elif loader is not None:
            result = run_forked(loader, name, model_path, args.timeout)
            if result["stage"] in ("crash", "timeout"):
                first = f"{result['stage']}: {result['error']}"
                print(
                    f"real_load: fork {first} for {model_path}; retrying in a subprocess",
                    file=sys.stderr,
                )
                result = run_subprocess(name, model_path, args.timeout, args.preload)
                result["isolation"] = f"subprocess (fallback after fork {first})"
        else:
            result = run_subprocess(name, model_path, args.timeout, args.preload)
        results.append(result)
        status = (
            "predicted" if result["predicted"] else f"{result['stage']}: {result['error_type']}"
        )
        print(f"real_load: {model_path}: {status} ({result['seconds']}s)", file=sys.stderr)

    out.write(json.dumps(report, indent=1) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
