"""Which Python R's reticulate binds in a directory, and why: its order of discovery.

Two orders are implemented, chosen by the reticulate version:

* reticulate < 1.41 follows ``py_discover_config()`` of reticulate **1.28** step by step
  (``R/config.R`` l.157-406 at tag v1.28, identical to Debian bookworm's r-cran-reticulate;
  ``shared/reference/reticulate-1.28.md``): ``RETICULATE_PYTHON``,
  ``RETICULATE_PYTHON_ENV``, a Poetry project, a Pipenv project, ``use_python()``,
  ``RETICULATE_PYTHON_FALLBACK``, then a scan of candidates (``r-reticulate`` and
  ``r-<module>`` virtualenvs and conda envs, reticulate's Miniconda, ``python3``/``python``
  on PATH, ``/usr/local`` and ``/usr``, every other env) probed in order: the first with
  NumPy and the required module wins, else the first with NumPy, else the first.
  Verified against 1.28 only; 1.29-1.40 are assumed to behave the same.
* reticulate >= 1.41 follows ``py_discover_config()`` of reticulate **1.46.0** step by step
  (``R/config.R`` l.169-433, ``shared/r-src``; the documented "Order of Discovery",
  https://rstudio.github.io/reticulate/articles/versions.html#order-of-discovery), which
  adds ``use_python(required = TRUE)``, ``RETICULATE_USE_MANAGED_VENV``, ``VIRTUAL_ENV``,
  in-project ``.venv`` directories, the delay-load environments of keras3/tensorflow
  (``r-keras``, ``r-tensorflow``) and the ``py_require()`` ephemeral uv environment.

Nothing is run: what reticulate learns by running each candidate on its probe script
(``config/config.py``) is read statically (:func:`envdoctor.inventory.read_environment`):
the Python version, NumPy, the required module, a shared ``libpython``.  Two observed
effects of running under R are modelled: reticulate < 1.34's probe fails on Python >= 3.12
(it imports ``imp``), which stops R with "Error 1 occurred running ..."; and a pyenv shim
probed under R's ``LD_LIBRARY_PATH`` reports the system libpython's version and no NumPy.
What only R code can say (``use_python()`` calls, ``delay_load`` environments) is listed as
a step envdoctor cannot see.

This module holds the results (:class:`Binding`, :class:`Step`), the probe model and
:func:`resolve`; the two orders live in :mod:`envdoctor.rlang._order128` and
:mod:`envdoctor.rlang._order_documented`, the places they look in
:mod:`envdoctor.rlang._places`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Optional

from envdoctor.knowledge.versions import key
from envdoctor.rlang import _order128, _order_documented
from envdoctor.rlang._resolver import (
    ORDER_146,
    SYSTEM_LIB_DIRS,
    Binding,
    Probe,
    Reader,
    Step,
    _documented,
    _Resolver,
    numpy2_unconverted,
    probe_bug_applies,
    shared_libpython,
)
from envdoctor.rlang.facts import DOCUMENTED_ORDER_SINCE
from envdoctor.types import Environment

__all__ = [
    "DOCUMENTED_ORDER_SINCE",
    "ORDER_146",
    "SYSTEM_LIB_DIRS",
    "Binding",
    "Probe",
    "Reader",
    "Step",
    "iter_steps",
    "numpy2_unconverted",
    "probe_bug_applies",
    "resolve",
    "shared_libpython",
]


# ---------------------------------------------------------------------------- public API


def _default_reader(environ: Mapping[str, str]) -> Reader:
    def read(python: str) -> Optional[Environment]:
        from envdoctor.inventory import read_environment

        try:
            return read_environment(python, environ=environ, timeout=15.0)
        except Exception:
            return None

    return read


def resolve(
    environ: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
    *,
    home: Optional[str] = None,
    required_module: str = "keras",
    reticulate_version: str = "",
    reader: Optional[Reader] = None,
    r_packages: Optional[Mapping[str, str]] = None,
) -> Binding:
    """Say which Python reticulate binds in ``cwd`` with these variables, and why.

    Args:
        environ: the variables R runs with (default ``os.environ``).
        cwd: the R session's working directory (default the process's).
        home: the home directory (default ``HOME``).
        required_module: the module of the first ``import()`` (``"keras"``; "" for a plain
            ``py_config()``).
        reticulate_version: the installed reticulate ("" = assume 1.28's behaviour).
        reader: reads an interpreter's environment (default: envdoctor's static reader).
        r_packages: the R packages installed, name -> version (default: read from R's
            libraries; keras3/tensorflow add their delay-load environments under >= 1.41).

    Returns:
        The :class:`Binding`; never raises.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    home = home or env.get("HOME") or os.path.expanduser("~")
    r = _Resolver(
        env,
        os.path.abspath(cwd or os.getcwd()),
        home,
        required_module=required_module,
        reticulate_version=reticulate_version,
        reader=reader or _default_reader(env),
        r_packages=r_packages,
    )
    if _documented(reticulate_version):
        if key(reticulate_version) != (1, 46, 0):
            r.notes.append(
                f"reticulate {reticulate_version}: assumed to discover like 1.46.0 "
                "(verified against 1.46.0)"
            )
        return _order_documented.discover(r)
    if reticulate_version and key(reticulate_version) != (1, 28, 0):
        r.notes.append(
            f"reticulate {reticulate_version}: assumed to discover like 1.28 (verified "
            "against 1.28 only)"
        )
    return _order128.discover(r)


def iter_steps(binding: Binding) -> Iterator[str]:
    """Yield one line per step, ``"3  RETICULATE_PYTHON: chosen: ..."`` (for text output)."""
    for s in binding.steps:
        where = f" [{s.python}]" if s.python else ""
        detail = f": {s.detail}" if s.detail else ""
        yield f"{s.number:<5} {s.name}: {s.outcome}{detail}{where}"
