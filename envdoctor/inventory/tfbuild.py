"""TensorFlow's build and the Keras backend, read without importing either.

``tensorflow/python/platform/build_info.py`` (generated at build time) parsed with
:mod:`ast`, never executed; the distributions that install the ``tensorflow`` package;
the Keras 3 backend from ``KERAS_BACKEND`` and ``keras.json`` (Keras 3
``keras/src/backend/config.py``); the values of ``TF_USE_LEGACY_KERAS`` that TF 2.15+
honours (``tensorflow/python/util/lazy_loader.py``).  May import
:mod:`envdoctor.inventory.layout` and :mod:`envdoctor.inventory.distributions`.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Mapping, Sequence

from envdoctor.inventory.distributions import Dists
from envdoctor.inventory.layout import (
    MAX_SMALL_FILE_BYTES,
    expand_user,
    home_dir,
    is_dir,
    read_small,
    real_key,
)

TF_DISTRIBUTIONS = (
    "tensorflow",
    "tensorflow-cpu",
    "tensorflow-gpu",
    "tensorflow-intel",
    "tensorflow-macos",
    "tf-nightly",
    "tf-nightly-cpu",
    "tensorflow-aarch64",
    "tensorflow-cpu-aws",
)
"""Distributions that install the ``tensorflow`` import package (normalized names)."""

LEGACY_KERAS_TRUE_VALUES = frozenset({"true", "True", "1"})
"""Values of ``TF_USE_LEGACY_KERAS`` that make TF 2.15+ route ``tf.keras`` to tf_keras
(``tensorflow/python/util/lazy_loader.py``; compat-facts §1.5).  Other values are ignored."""


def _build_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(_build_value(v) for v in value)
    return str(value)


def _is_dict_ctor(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("dict", "OrderedDict")
    return isinstance(func, ast.Attribute) and func.attr == "OrderedDict"


_OLD_BUILD_NAMES = {
    "cuda_version_number": "cuda_version",
    "cudnn_version_number": "cudnn_version",
}


def parse_build_info(text: str) -> dict[str, str]:
    """Extract TensorFlow's ``build_info`` values from the text of ``build_info.py``.

    Handles ``build_info = {...}``, ``build_info = collections.OrderedDict([...])`` (TF 2.x
    wheels) and the older module-level assignments (``is_cuda_build = True``,
    ``cuda_version_number = '10.1'``, renamed to ``cuda_version``/``cudnn_version``).  Only
    literals are evaluated, with :func:`ast.literal_eval`; nothing is executed.

    Values become strings: ``str()`` of scalars (so booleans are ``"True"``/``"False"``),
    lists joined with ``","``, None as ``""``.

    Args:
        text: the source of ``tensorflow/python/platform/build_info.py``.

    Returns:
        ``{key: value}``; empty when nothing literal is found or the text does not parse.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    result: dict[str, str] = {}
    fallback: dict[str, str] = {}
    for node in tree.body:
        targets: list[ast.expr]
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if not names:
            continue
        try:
            if "build_info" in names:
                items: object
                if isinstance(value, ast.Dict):
                    items = ast.literal_eval(value)
                elif (
                    isinstance(value, ast.Call)
                    and _is_dict_ctor(value.func)
                    and len(value.args) <= 1
                ):
                    items = dict(ast.literal_eval(value.args[0])) if value.args else {}
                    assert isinstance(items, dict)
                    for kw in value.keywords:
                        if kw.arg:
                            items[kw.arg] = ast.literal_eval(kw.value)
                else:
                    continue
                if isinstance(items, dict):
                    result.update({str(k): _build_value(v) for k, v in items.items()})
            else:
                lit = ast.literal_eval(value)
                for n in names:
                    if not n.startswith("_"):
                        fallback[_OLD_BUILD_NAMES.get(n, n)] = _build_value(lit)
        except (ValueError, TypeError, SyntaxError, AssertionError, RecursionError, MemoryError):
            continue
    return result or fallback


def tf_build_info(search: Sequence[str], dists: Dists, notes: list[str]) -> dict[str, str]:
    """Read build_info.py of the first ``tensorflow`` package on the path; name its provider."""
    tf_dir = ""
    for d in search:
        if is_dir(os.path.join(d, "tensorflow")):
            tf_dir = os.path.join(d, "tensorflow")
            break
    installed = [n for n in TF_DISTRIBUTIONS if n in dists.packages]
    if not tf_dir:
        if installed:
            notes.append(
                f"{installed[0]} {dists.packages[installed[0]].version} is installed but no"
                " tensorflow/ package directory was found (a broken install)"
            )
        return {}
    info: dict[str, str] = {}
    bi_path = os.path.join(tf_dir, "python", "platform", "build_info.py")
    text = read_small(bi_path)
    if text is None:
        notes.append(f"{bi_path} is missing or unreadable; TensorFlow's build is unknown")
    else:
        info = parse_build_info(text)
        if not info:
            notes.append(f"{bi_path} holds no literal build_info; TensorFlow's build is unknown")
    location = real_key(os.path.dirname(tf_dir))
    providers: list[str] = []
    for name in installed:
        pkg = dists.packages[name]
        if real_key(pkg.location) != location:
            continue
        meta = dists.meta_dirs.get(name, "")
        top = read_small(os.path.join(meta, "top_level.txt")) if meta else None
        if top is None or "tensorflow" in top.split():
            providers.append(name)
    if len(providers) > 1:

        def mtime(n: str) -> float:
            try:
                return os.stat(dists.meta_dirs.get(n, "")).st_mtime
            except OSError:
                return 0.0

        providers.sort(key=mtime, reverse=True)
        versions = ", ".join(f"{p} {dists.packages[p].version}" for p in providers)
        notes.append(
            f"several distributions install the tensorflow package ({versions}); they overwrite"
            f" each other's files, the last installed ({providers[0]}) is assumed"
        )
    if providers:
        info["distribution"] = providers[0]
    else:
        notes.append(f"{tf_dir} belongs to no installed TensorFlow distribution")
    return info


# --------------------------------------------------------------------------------------------
# Keras backend


def resolve_keras_backend(environ: Mapping[str, str]) -> tuple[str, str, list[str]]:
    """Return the Keras 3 backend in force, where it came from, and notes.

    Order (Keras 3 ``keras/src/backend/config.py``; compat-facts §4.4): a non-empty
    ``KERAS_BACKEND``; else ``"backend"`` in ``$KERAS_HOME/keras.json`` (when ``KERAS_HOME``
    is set) or ``~/.keras/keras.json`` (``/tmp/.keras/keras.json`` when the home directory
    is not writable); else ``"tensorflow"``.  keras.json is read up to
    :data:`MAX_SMALL_FILE_BYTES`; invalid JSON is ignored, as Keras does, with a note.

    Args:
        environ: the environment the target process will see (``HOME`` is taken from it).

    Returns:
        ``(backend, source, notes)`` where source is ``"KERAS_BACKEND"``, the keras.json
        path, or ``"default"``.
    """
    notes: list[str] = []
    env_backend = environ.get("KERAS_BACKEND")
    if env_backend:
        return env_backend, "KERAS_BACKEND", notes
    if "KERAS_HOME" in environ:
        keras_dir = environ["KERAS_HOME"]
    else:
        base = home_dir(environ)
        if not os.access(base, os.W_OK):
            base = "/tmp"  # noqa: S108 - this is where Keras itself looks
        keras_dir = os.path.join(base, ".keras")
    path = os.path.abspath(expand_user(os.path.join(keras_dir, "keras.json"), environ))
    if not os.path.exists(path):
        return "tensorflow", "default", notes
    text = read_small(path)
    if text is None:
        notes.append(f"{path} is unreadable or over {MAX_SMALL_FILE_BYTES} bytes; ignored")
        return "tensorflow", "default", notes
    try:
        config = json.loads(text)
    except ValueError:
        notes.append(f"{path} is not valid JSON; Keras ignores it (backend tensorflow)")
        return "tensorflow", "default", notes
    if not isinstance(config, dict):
        notes.append(f"{path} is not a JSON object; Keras cannot use it")
        return "tensorflow", "default", notes
    backend = config.get("backend")
    if backend is None:
        return "tensorflow", "default", notes
    if not isinstance(backend, str) or not backend:
        notes.append(f"{path} has a non-string 'backend' value {backend!r}")
        return "tensorflow", "default", notes
    return backend, path, notes
