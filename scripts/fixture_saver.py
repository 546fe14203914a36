"""Save the envdoctor test fixture models from *inside* one test environment.

This script is run by ``scripts/make_fixtures.py save`` with the Python of a
test environment (e.g. one with ``tensorflow-cpu==2.15.1``), never with the
project's own interpreter.  It uses only the standard library at import time
and imports the ML framework inside :func:`main`, so it parses on Python 3.9+.

Usage::

    <env python> scripts/fixture_saver.py OUTDIR --env-name NAME

It writes tiny deterministic models into ``OUTDIR`` in every format the
environment's Keras can write, and ``OUTDIR/SAVED_WITH.json`` describing the
saving environment and the outcome of every save.  A save that fails is
recorded (with its error text) instead of aborting the run.

The Keras used is the one a user of the environment gets: ``tf.keras`` when
TensorFlow is importable (Keras 2 for TF <= 2.15 or with
``TF_USE_LEGACY_KERAS=1``, Keras 3 otherwise), else standalone ``keras``.
The custom layer ``Scale`` is imported from ``envdoctor_fixture_layers``,
which must be on ``PYTHONPATH`` (``tests/fixtures/custom_layers``).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

MODEL_NAMES = ("mlp", "lstm", "lambda", "custom", "mixed", "multi", "half")
"""Fixture models, in the order they are built and saved."""

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
"""Distributions whose versions are recorded in ``SAVED_WITH.json``."""

SEED = 1234
ERROR_TAIL = 2000


def dist_versions(names: tuple[str, ...] = VERSION_DISTS) -> dict[str, str | None]:
    """Return ``{distribution: version or None}`` via importlib.metadata."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def all_installed() -> dict[str, str]:
    """Return every installed distribution as ``{name: version}``, sorted."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found[name.lower()] = dist.version
    return dict(sorted(found.items()))


def error_text(exc: BaseException) -> str:
    """Return ``Type: message`` for *exc*, cut to the last ERROR_TAIL chars."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[-ERROR_TAIL:]


def import_keras() -> tuple[Any, str]:
    """Import the Keras a user of this environment gets.

    Returns:
        ``(keras_module, api_name)`` where ``api_name`` is ``"tf.keras"`` or
        ``"keras"``.
    """
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend == "tensorflow":
        try:
            import tensorflow as tf
        except ImportError:
            pass
        else:
            return tf.keras, "tf.keras"
    import keras

    return keras, "keras"


def keras_major(keras: Any) -> int:
    """Return 3 for Keras 3 (has ``keras.ops``), else 2."""
    return 3 if hasattr(keras, "ops") else 2


def keras_api_version(keras: Any) -> str | None:
    """Return the version of the Keras behind *keras*, best effort."""
    version = getattr(keras, "__version__", None)
    if version:
        return str(version)
    candidates = ("keras",)
    if os.environ.get("TF_USE_LEGACY_KERAS") == "1":
        candidates = ("tf-keras", "keras")
    for dist in candidates:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def build_model(keras: Any, name: str) -> tuple[Any, list[tuple[int, ...]]]:
    """Build fixture model *name*; return ``(model, input_shapes)`` (one per input).

    Seeds are reset before each model so weights are deterministic.  ``multi``
    has two inputs (``a``: 6 features, ``b``: 3 features); ``half`` is built
    under the ``float16`` global dtype policy (its input spec is float16).
    """
    keras.utils.set_random_seed(SEED)
    layers = keras.layers
    if name == "multi":
        in_a = keras.Input(shape=(6,), name="a")
        in_b = keras.Input(shape=(3,), name="b")
        joined = layers.Concatenate()([layers.Dense(4)(in_a), layers.Dense(4)(in_b)])
        out = layers.Dense(1)(joined)
        return keras.Model([in_a, in_b], out, name=name), [(6,), (3,)]
    if name == "mlp":
        shape: tuple[int, ...] = (8,)
        inp = keras.Input(shape=shape)
        x = layers.Dense(16, activation="relu")(inp)
        out = layers.Dense(1)(x)
    elif name == "lstm":
        shape = (5, 3)
        inp = keras.Input(shape=shape)
        x = layers.LSTM(4)(inp)
        out = layers.Dense(1)(x)
    elif name == "lambda":
        shape = (8,)
        inp = keras.Input(shape=shape)
        x = layers.Dense(4)(inp)
        out = layers.Lambda(lambda t: t * 2.0)(x)
    elif name == "custom":
        from envdoctor_fixture_layers import Scale

        shape = (8,)
        inp = keras.Input(shape=shape)
        x = Scale()(inp)
        out = layers.Dense(1)(x)
    elif name == "mixed":
        shape = (8,)
        inp = keras.Input(shape=shape)
        x = layers.Dense(16)(inp)
        out = layers.Dense(1, dtype="float32")(x)
    elif name == "half":
        shape = (8,)
        inp = keras.Input(shape=shape)
        x = layers.Dense(16, activation="relu")(inp)
        out = layers.Dense(1)(x)
    else:
        raise ValueError(f"unknown fixture model {name!r}")
    return keras.Model(inp, out, name=name), [shape]


def train_one_step(model: Any, shapes: list[tuple[int, ...]]) -> None:
    """Compile with adam/mse and fit one step so optimizer state exists."""
    import numpy as np

    rng = np.random.RandomState(SEED)
    batches = [rng.rand(4, *shape).astype("float32") for shape in shapes]
    x = batches[0] if len(batches) == 1 else batches
    y = rng.rand(4, 1).astype("float32")
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)


def save_formats(
    keras: Any, model: Any, name: str, outdir: Path, savedmodel: str | None
) -> list[tuple[str, str, Callable[[], None]]]:
    """Return ``(filename, format, save_callable)`` for every format to write.

    Args:
        keras: The Keras module in use.
        model: The trained model.
        name: Fixture model name.
        outdir: Output directory.
        savedmodel: ``"save_format_tf"`` (Keras 2), ``"export"`` (Keras 3 on
            the TensorFlow backend) or ``None`` (no SavedModel).
    """
    jobs: list[tuple[str, str, Callable[[], None]]] = []
    keras_path = outdir / f"{name}.keras"
    h5_path = outdir / f"{name}.h5"
    jobs.append((keras_path.name, "keras", lambda: model.save(str(keras_path))))
    jobs.append((h5_path.name, "h5", lambda: model.save(str(h5_path))))
    if name == "mlp":
        weights_path = outdir / f"{name}.weights.h5"
        jobs.append(
            (weights_path.name, "weights_h5", lambda: model.save_weights(str(weights_path)))
        )
    sm_path = outdir / f"{name}_savedmodel"
    if savedmodel == "save_format_tf":
        jobs.append(
            (sm_path.name, "savedmodel", lambda: model.save(str(sm_path), save_format="tf"))
        )
    elif savedmodel == "export":
        jobs.append((sm_path.name, "savedmodel_export", lambda: model.export(str(sm_path))))
    if savedmodel is not None and name in ("mlp", "multi"):
        tf_path = outdir / f"{name}_tfsaved"

        def tf_save() -> None:
            import tensorflow as tf

            tf.saved_model.save(model, str(tf_path))

        jobs.append((tf_path.name, "tf_saved_model_save", tf_save))
    return jobs


def path_size(path: Path) -> int:
    """Return the size in bytes of a file or of all files under a directory."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def remove_path(path: Path) -> None:
    """Remove a partially written file or directory, if any."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def save_all(outdir: Path, env_name: str) -> dict[str, Any]:
    """Build, train and save every fixture model; return the record dict."""
    keras, api = import_keras()
    major = keras_major(keras)
    backend = "tensorflow"
    if major == 3:
        backend = keras.backend.backend()
    if major == 2:
        savedmodel: str | None = "save_format_tf"
    elif backend == "tensorflow":
        savedmodel = "export"
    else:
        savedmodel = None

    files: list[dict[str, Any]] = []
    model_errors: dict[str, str] = {}
    for name in MODEL_NAMES:
        try:
            policy = {"mixed": "mixed_float16", "half": "float16"}.get(name)
            if policy:
                keras.mixed_precision.set_global_policy(policy)
            try:
                model, shapes = build_model(keras, name)
                train_one_step(model, shapes)
            finally:
                if policy:
                    keras.mixed_precision.set_global_policy("float32")
        except Exception as exc:
            model_errors[name] = error_text(exc)
            print(f"[{env_name}] build {name}: FAILED {error_text(exc)}", file=sys.stderr)
            continue
        for filename, fmt, job in save_formats(keras, model, name, outdir, savedmodel):
            target = outdir / filename
            entry: dict[str, Any] = {"file": filename, "model": name, "format": fmt}
            try:
                job()
            except Exception as exc:
                remove_path(target)
                entry.update(saved=False, error=error_text(exc), bytes=0)
            else:
                entry.update(saved=True, error=None, bytes=path_size(target))
            status = "ok" if entry["saved"] else f"FAILED {entry['error'].splitlines()[-1]}"
            print(f"[{env_name}] {filename}: {status}", file=sys.stderr)
            files.append(entry)
        if name == "mlp":
            config_path = outdir / "mlp_config.json"
            config_path.write_text(model.to_json() + "\n", encoding="utf-8")
            files.append(
                {
                    "file": config_path.name,
                    "model": name,
                    "format": "config_json",
                    "saved": True,
                    "error": None,
                    "bytes": path_size(config_path),
                }
            )

    return {
        "env_name": env_name,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "KERAS_BACKEND": os.environ.get("KERAS_BACKEND"),
        "TF_USE_LEGACY_KERAS": os.environ.get("TF_USE_LEGACY_KERAS"),
        "keras_api": api,
        "keras_api_version": keras_api_version(keras),
        "keras_major": major,
        "keras_backend": backend,
        "versions": dist_versions(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model_errors": model_errors,
        "files": files,
        "installed": all_installed(),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="directory to write fixtures into")
    parser.add_argument("--env-name", required=True, help="name of the saving environment")
    args = parser.parse_args(argv)
    outdir: Path = args.outdir
    outdir.mkdir(parents=True, exist_ok=True)
    record = save_all(outdir, args.env_name)
    (outdir / "SAVED_WITH.json").write_text(
        json.dumps(record, indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
