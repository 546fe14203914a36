"""envdoctor tells whether a saved Keras/TensorFlow model loads in a Python environment.

Reads a saved model's own metadata and an environment's installed distributions without
importing TensorFlow, Keras, JAX or torch, and without executing anything in the model file.

The Python API (imported on first use, so ``import envdoctor`` stays cheap):

* :func:`check` — check models against an environment, returns a :class:`~envdoctor.types.Report`;
* :func:`preflight` — check one model before loading it, raises :class:`PreflightError`;
* :func:`inspect_model` — read what a model file records.
"""

from __future__ import annotations

__version__ = "0.1.0"

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs ~8 ms

if TYPE_CHECKING:
    from envdoctor.api import PreflightError, check, preflight
    from envdoctor.app import inspect_model

_LAZY = {
    "check": "envdoctor.api",
    "preflight": "envdoctor.api",
    "PreflightError": "envdoctor.api",
    "inspect_model": "envdoctor.app",
}

__all__ = ["PreflightError", "__version__", "check", "inspect_model", "preflight"]


def __getattr__(name: str) -> object:
    """Import the public API lazily (PEP 562).

    Raises:
        AttributeError: ``name`` is not part of the package.
    """
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'envdoctor' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
