"""Read a Python environment statically: layout, Python version, distributions, TF build.

The package (was ``inventory.py``): :mod:`~envdoctor.inventory.layout` (interpreter,
prefix, ``pyvenv.cfg``, "is this an environment", site directories; discovery uses it
too), :mod:`~envdoctor.inventory.distributions` (dist-info, egg-info, conda-meta),
:mod:`~envdoctor.inventory.tfbuild` (``build_info.py``, Keras backend),
:mod:`~envdoctor.inventory.imports` (:func:`module_importable`) and
:mod:`~envdoctor.inventory.pipcheck` (:func:`pip_check`); :func:`read_environment`, here,
puts them together.  The modules of this package may import :mod:`envdoctor.errors`,
:mod:`envdoctor.types`, :mod:`envdoctor.fsread` (the bounded file reads, shared with
discovery), each other (``layout`` first, it imports none of the others) and,
lazily, :mod:`envdoctor.probe`; never the checks, discovery, or a command.

The environment is read from files only: ``pyvenv.cfg``, ``conda-meta/``, pyenv's
``versions/`` layout, ``lib/pythonX.Y`` directory names, ``include/pythonX.Y/patchlevel.h``,
the interpreter's executable header (for the CPU architecture), the ``*.dist-info`` /
``*.egg-info`` metadata in the site-packages directories (via ``importlib_metadata``),
TensorFlow's ``tensorflow/python/platform/build_info.py`` (parsed with :mod:`ast`, never
executed) and ``keras.json``.  Nothing from the environment is imported in this process.

The target interpreter is run only when the static evidence is missing (no prefix
layout, no version, or several ``lib/pythonX.Y`` with nothing to choose between them),
at most once per call, through :func:`envdoctor.probe.probe_interpreter` (which caches
the answer on disk keyed on the interpreter file).

Sources: PEP 405 (``pyvenv.cfg``), PEP 503 (name normalisation), the core metadata
specification (``Requires-Dist``, ``Requires-Python``), PEP 376 (``INSTALLER``), CPython's
``Lib/site.py`` (site-packages order, ``.pth`` files, user site), Debian's ``site.py``
patch (``dist-packages``), conda's ``conda-meta/<name>-<version>-<build>.json`` records,
Keras 3 ``keras/src/backend/config.py`` (backend selection) and TensorFlow's generated
``build_info.py`` (see ``shared/reference/compat-facts.md`` §1, §1.5, §4.4, §5.3).
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping
from typing import Optional

from envdoctor.inventory.distributions import add_conda_packages, read_distributions
from envdoctor.inventory.imports import module_importable
from envdoctor.inventory.layout import (
    apply_probe,
    current_layout,
    dedupe_paths,
    has_evidence,
    locate_interpreter,
    pythonpath_dirs,
    scan_pth,
    static_layout,
)
from envdoctor.inventory.pipcheck import pip_check
from envdoctor.inventory.tfbuild import (
    LEGACY_KERAS_TRUE_VALUES,
    TF_DISTRIBUTIONS,
    parse_build_info,
    resolve_keras_backend,
    tf_build_info,
)
from envdoctor.types import Environment, Package

__all__ = [
    "ENV_VARS",
    "LEGACY_KERAS_TRUE_VALUES",
    "TF_DISTRIBUTIONS",
    "module_importable",
    "parse_build_info",
    "pip_check",
    "read_environment",
    "resolve_keras_backend",
]

ENV_VARS = (
    "TF_USE_LEGACY_KERAS",
    "KERAS_BACKEND",
    "KERAS_HOME",
    "PYTHONPATH",
    "CUDA_VISIBLE_DEVICES",
    "LD_LIBRARY_PATH",
    "TF_CPP_MIN_LOG_LEVEL",
)
"""Environment variables recorded in :attr:`Environment.env_vars` when set."""


# --------------------------------------------------------------------------------------------
# read_environment


def read_environment(
    python: Optional[str] = None,
    *,
    environ: Optional[Mapping[str, str]] = None,
    timeout: float = 20.0,
) -> Environment:
    """Read a Python environment, statically where possible.

    Args:
        python: path of an interpreter, or of an environment directory (``bin/python``,
            ``bin/python3``, ``Scripts/python.exe`` or ``python.exe`` is looked for in it);
            None for the interpreter running envdoctor (from ``sys``).
        environ: the environment variables the target will run with (default
            ``os.environ``): ``KERAS_BACKEND``, ``KERAS_HOME``, ``HOME``, ``PYTHONPATH``,
            ``PYTHONUSERBASE``, ``PYTHONNOUSERSITE``, ``PYENV_ROOT``...
        timeout: limit for running the interpreter when it must be run, in seconds.

    Returns:
        The :class:`~envdoctor.types.Environment`; ``probed`` is True when the interpreter
        was run (or its cached probe answer used) because the files did not tell enough.

    Raises:
        EnvironmentReadError: the path is missing, not executable, or a directory that
            holds no interpreter.
        ProbeError: the interpreter had to be run and failed (crash, bad output).
        ProbeTimeout: the interpreter had to be run and did not answer within ``timeout``.
    """
    env_map: Mapping[str, str] = os.environ if environ is None else environ
    if python is None:
        lay = current_layout(env_map)
        # The running process already has PYTHONPATH and .pth additions in sys.path.
        search = dedupe_paths(p for p in sys.path if p)
        pythonpath = pythonpath_dirs(env_map)
    else:
        path = locate_interpreter(python)
        lay = static_layout(path, env_map)
        if not (has_evidence(lay.prefix) and lay.version):
            from envdoctor.probe import probe_interpreter  # noqa: PLC0415  (startup: the probe runner loads only when a static read is not enough)

            apply_probe(lay, probe_interpreter(path, timeout), env_map)
        if not lay.arch:
            lay.arch = platform.machine()
        pythonpath = pythonpath_dirs(env_map)
        pth = scan_pth(lay.site_dirs)
        search = dedupe_paths([*pythonpath, *pth.dirs])
    notes = list(lay.notes)
    if not lay.site_dirs:
        notes.append(f"no site-packages directory found under {lay.prefix}")
    dists = read_distributions(search, pythonpath)
    notes += dists.notes
    if lay.conda:
        add_conda_packages(lay.prefix, dists, notes)
    tf_info = tf_build_info(search, dists, notes)
    backend, backend_source, backend_notes = resolve_keras_backend(env_map)
    notes += backend_notes
    env_vars = {k: env_map[k] for k in ENV_VARS if k in env_map}

    if lay.conda and lay.kind == "conda":
        manager = "conda"
    elif (lay.pyvenv is not None and "uv" in lay.pyvenv) or _mostly_uv(dists.packages):
        manager = "uv"
    else:
        manager = "pip"
    return Environment(
        python=lay.python,
        prefix=lay.prefix,
        kind=lay.kind,
        manager=manager,
        python_version=lay.version,
        implementation=lay.implementation,
        arch=lay.arch,
        site_packages=tuple(lay.site_dirs),
        packages=dict(sorted(dists.packages.items())),
        tf_build_info=tf_info,
        keras_backend=backend,
        keras_backend_source=backend_source,
        env_vars=env_vars,
        probed=lay.probed,
        notes=tuple(notes),
    )


def _mostly_uv(packages: Mapping[str, Package]) -> bool:
    uv = sum(1 for p in packages.values() if p.installer == "uv")
    pip = sum(1 for p in packages.values() if p.installer == "pip")
    return uv > pip
