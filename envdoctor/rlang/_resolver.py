"""The state and results of reticulate's discovery (leaf of :mod:`envdoctor.rlang`).

:class:`Binding` (what R binds and why), :class:`Step`, the probe model (:class:`Probe`,
:func:`probe_bug_applies`, :func:`numpy2_unconverted`, :func:`shared_libpython`) and
:class:`_Resolver`, the working state that the two orders of discovery
(:mod:`envdoctor.rlang._order128`, :mod:`envdoctor.rlang._order_documented`) and the places
they look in (:mod:`envdoctor.rlang._places`) share.  :mod:`envdoctor.rlang.reticulate`
runs an order (:func:`envdoctor.rlang.reticulate.resolve`) and re-exports these names, so
that this module imports none of its users (no import cycle).
"""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, Optional

from envdoctor.knowledge.versions import key, parse
from envdoctor.rlang import facts
from envdoctor.rlang.facts import DOCUMENTED_ORDER_SINCE
from envdoctor.types import Environment

Reader = Callable[[str], Optional[Environment]]
"""Reads the environment of an interpreter path (None when it cannot be read)."""

ORDER_146 = "1.46 (>= 1.41)"
"""The ``order`` label of the reticulate >= 1.41 order (``R/config.R`` of 1.46.0)."""

SYSTEM_LIB_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/lib/x86_64-linux-gnu",
    "/lib64",
)
"""Directories R's ``etc/ldpaths`` puts in ``LD_LIBRARY_PATH`` (Debian: ``R_HOME/lib`` and
``/usr/lib/<triplet>``), where a system ``libpython3.X`` shadows a pyenv one."""


@dataclass(frozen=True)
class Step:
    """One step of reticulate's order of discovery, as envdoctor evaluated it.

    Attributes:
        number: the step's number in the order implemented (``"3"``, ``"9.7"``).
        name: what the step looks at (``"RETICULATE_PYTHON"``, ``"python3 on PATH"``).
        outcome: ``chosen``, ``error`` (R stops here), ``candidate`` (listed for the scan),
            ``rejected`` (probed and passed over), ``not set``, ``skipped``,
            ``not found`` or ``not visible`` (only R code can say).
        detail: what envdoctor saw, in plain words.
        python: the interpreter concerned ("" when none).
    """

    number: str
    name: str
    outcome: str
    detail: str
    python: str = ""


@dataclass(frozen=True)
class Binding:
    """Which Python reticulate binds, why, and whether binding succeeds.

    Attributes:
        reticulate_version: the version the order was chosen for ("" = unknown: 1.28's).
        order: ``"1.28"`` or ``"1.46 (>= 1.41)"``.
        required_module: the module of the first ``import()`` (``keras``), "" for none.
        python: the interpreter reticulate picks ("" when it stops before picking one, or
            picks an environment envdoctor cannot predict); when ``error`` is set, binding
            it fails.
        forced_by: reticulate's own reason (``py_config()$forced``: ``RETICULATE_PYTHON``,
            ``RETICULATE_PYTHON_FALLBACK``, ``Poetry``, ...) or ``"scan"``.
        reason: one sentence saying why this Python.
        error: the error R stops with when binding fails ("" when it binds).
        python_version: that interpreter's version as read ("" unknown).
        numpy: the NumPy version there ("" none).
        has_module: whether ``required_module`` is importable there (None unknown).
        steps: every step considered, in order.
        notes: further facts (NumPy 2 conversion, pyenv shims, ...).
        ephemeral: reticulate >= 1.41 builds its own uv environment from ``py_require()``
            (then ``python`` is "": which packages it gets depends on R code).
    """

    reticulate_version: str
    order: str
    required_module: str
    python: str
    forced_by: str
    reason: str
    error: str = ""
    python_version: str = ""
    numpy: str = ""
    has_module: Optional[bool] = None
    steps: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()
    ephemeral: bool = False


@dataclass(frozen=True)
class Probe:
    """What reticulate's probe script would report for a candidate, read statically.

    Attributes:
        python: the candidate path as reticulate lists it.
        readable: False when envdoctor could not read the environment.
        version: the Python version the probe would report.
        numpy: the NumPy version the probe would find ("" none).
        has_module: the required module is importable (None unknown).
        fails: the R error the probe stops with ("" when it runs).
        libpython: a shared libpython exists for it (None unknown).
        note: a remark on how this was decided.
    """

    python: str
    readable: bool
    version: str = ""
    numpy: str = ""
    has_module: Optional[bool] = None
    fails: str = ""
    libpython: Optional[bool] = None
    note: str = ""


def probe_bug_applies(reticulate_version: str, python_version: str) -> bool:
    """True when reticulate's probe crashes on this Python (reticulate < 1.34, Python >= 3.12).

    Source: ``knowledge/r.json`` ``reticulate_python312`` (config.py imports ``imp`` on every
    Python whose ``sys.version`` string sorts below ``'3.4'``; fixed in 1.34.0).
    """
    fact = facts.fact("reticulate_python312")
    rv = reticulate_version or fact["verified_with"]
    pv = parse(python_version)
    if pv is None or parse(rv) is None:
        return False
    return key(rv) < key(fact["fixed_in"]) and (pv.major, pv.minor) >= (3, 12)


def numpy2_unconverted(reticulate_version: str, numpy_version: str) -> bool:
    """True when reticulate cannot convert arrays of this NumPy (NumPy >= 2, reticulate < 1.38).

    Source: ``knowledge/r.json`` ``reticulate_numpy2``.
    """
    fact = facts.fact("reticulate_numpy2")
    rv = reticulate_version or fact["verified_with"]
    nv = parse(numpy_version)
    return bool(nv and nv.major >= 2 and key(rv) < key(fact["fixed_in"]))


class _Resolver:
    """One evaluation of the order of discovery (holds the inputs and a read cache)."""

    def __init__(
        self,
        environ: Mapping[str, str],
        cwd: str,
        home: str,
        *,
        required_module: str,
        reticulate_version: str,
        reader: Reader,
        r_packages: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.env = environ
        self._r_packages = r_packages
        self.cwd = cwd
        self.home = home
        self.module = required_module
        self.version = reticulate_version
        self.reader = reader
        self.steps: list[Step] = []
        self.notes: list[str] = []
        self._reads: dict[str, Optional[Environment]] = {}

    # ------------------------------------------------------------------ helpers

    def expand(self, path: str) -> str:
        path = path.strip()
        if path == "~" or path.startswith("~/"):
            path = self.home + path[1:]
        return os.path.normpath(os.path.join(self.cwd, path)) if path else ""

    @property
    def r_packages(self) -> Mapping[str, str]:
        """The R packages installed (name -> version), read from R's libraries when not given."""
        if self._r_packages is None:
            from envdoctor.rlang.r_packages import read_r_install

            try:
                inst = read_r_install(self.env, cwd=self.cwd, home=self.home)
                self._r_packages = {n: p.version for n, p in inst.packages.items()}
            except Exception:
                self._r_packages = {}
        return self._r_packages

    def step(self, number: str, name: str, outcome: str, detail: str, python: str = "") -> None:
        self.steps.append(Step(number, name, outcome, detail, python))

    def which(self, program: str) -> str:
        found = shutil.which(program, path=self.env.get("PATH", os.defpath))
        return found or ""

    def read(self, python: str) -> Optional[Environment]:
        if python not in self._reads:
            try:
                self._reads[python] = self.reader(python)
            except Exception:
                self._reads[python] = None
        return self._reads[python]

    def probe(self, python: str) -> Probe:
        """What the probe script reports for ``python`` (see :class:`Probe`)."""
        target, note = python, ""
        shim = _shim_target(self, python)
        if shim is not None:
            target, note = shim
        env = self.read(target)
        if env is None:
            return Probe(python, readable=False, note=note or "could not be read")
        version, numpy = env.python_version, env.version_of("numpy") or ""
        if shim is not None and _system_libpython(env.python_version):
            sys_version = _system_libpython(env.python_version)
            note += (
                f"; under R's LD_LIBRARY_PATH it runs on the system libpython "
                f"{sys_version} and reports no NumPy (observed with reticulate 1.28)"
            )
            numpy = ""
        has_module = _module(env, self.module) if self.module else None
        fails = ""
        if probe_bug_applies(self.version, version):
            fails = (
                f"Error 1 occurred running {python}: reticulate {self.version or '1.28'}'s "
                f"probe script imports 'imp', which Python {version} no longer has "
                "(fixed in reticulate 1.34)"
            )
        return Probe(
            python,
            readable=True,
            version=version,
            numpy=numpy,
            has_module=has_module,
            fails=fails,
            libpython=shared_libpython(env),
            note=note,
        )

    def binding(self, python: str, forced_by: str, reason: str, error: str = "") -> Binding:
        """Finish with ``python`` chosen: apply what initializing it needs."""
        probe = self.probe(python) if python and not error else None
        notes = list(self.notes)
        if probe is not None:
            if probe.fails:
                error = f"Error in python_config_impl(python): {probe.fails}"
            elif probe.libpython is False:
                error = (
                    "Python shared library not found, Python bindings not loaded. "
                    f"({python} was not built with --enable-shared)"
                )
            if probe.note:
                notes.append(f"{python}: {probe.note}")
            if not probe.fails and not probe.numpy and probe.readable:
                notes.append(
                    f"{python} has no NumPy: reticulate binds it anyway; R arrays reach "
                    "Python as lists"
                )
            if probe.numpy and numpy2_unconverted(self.version, probe.numpy):
                fact = facts.fact("reticulate_numpy2")
                notes.append(
                    f"NumPy {probe.numpy} with reticulate {self.version or '1.28'}: {fact['text']}"
                )
        return Binding(
            reticulate_version=self.version,
            order="1.28" if not _documented(self.version) else ORDER_146,
            required_module=self.module,
            python=python,
            forced_by=forced_by,
            reason=reason,
            error=error,
            python_version=probe.version if probe else "",
            numpy=probe.numpy if probe else "",
            has_module=probe.has_module if probe else None,
            steps=tuple(self.steps),
            notes=tuple(notes),
        )

    def ephemeral(self, why: str) -> Binding:
        """Finish with reticulate's ephemeral uv environment (``py_require()``) chosen."""
        fact = facts.fact("reticulate_py_require")
        notes = [
            *self.notes,
            f"the ephemeral environment: {fact['text']}",
        ]
        try:
            from envdoctor.rlang import uv_cache as eph

            cached = eph.cached_envs(self.env, self.home)
        except Exception:
            cached = []
        if cached:
            notes.append(
                "ephemeral environments in uv's cache (read like any other with 'envdoctor "
                "envs'): " + ", ".join(cached[:5]) + (" ..." if len(cached) > 5 else "")
            )
        return Binding(
            reticulate_version=self.version,
            order=ORDER_146,
            required_module=self.module,
            python="",
            forced_by="py_require()",
            reason=(
                f"{why}: reticulate builds an ephemeral uv environment from the py_require() "
                "declarations (numpy plus what R code declares; envdoctor_use() can declare "
                "what the model needs)"
            ),
            steps=tuple(self.steps),
            notes=tuple(notes),
            ephemeral=True,
        )

    def failure(self, error: str, reason: str) -> Binding:
        return Binding(
            reticulate_version=self.version,
            order="1.28" if not _documented(self.version) else ORDER_146,
            required_module=self.module,
            python="",
            forced_by="",
            reason=reason,
            error=error,
            steps=tuple(self.steps),
            notes=tuple(self.notes),
        )


def _documented(version: str) -> bool:
    return bool(version) and key(version) >= key(DOCUMENTED_ORDER_SINCE)


def _module(env: Environment, module: str) -> Optional[bool]:
    try:
        from envdoctor.inventory import module_importable
    except ImportError:
        return None
    try:
        return module_importable(env, module)
    except Exception:
        return None


def _base_prefix(env: Environment) -> str:
    cfg_path = os.path.join(env.prefix, "pyvenv.cfg")
    try:
        with open(cfg_path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(64 * 1024)
    except OSError:
        return env.prefix
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip().lower() == "home":
            home = value.strip()
            return os.path.dirname(home) if os.path.basename(home) in ("bin", "Scripts") else home
    return env.prefix


def shared_libpython(env: Environment) -> Optional[bool]:
    """Whether the environment's Python has a shared ``libpythonX.Y`` reticulate can load.

    reticulate looks for ``libpython<X.Y>[d][m].so`` in the probe's ``LIBPL``, ``LIBDIR``
    and prefixes (``python_config()``).  Statically: ``<base prefix>/lib`` and its
    ``pythonX.Y/config-*`` directories.  pyenv builds without ``--enable-shared`` have
    only ``libpythonX.Y.a`` there.

    Returns:
        True when found; False when the base prefix is a self-contained build
        (``lib/pythonX.Y`` exists) without one; None when envdoctor cannot tell (system
        layouts keep the library elsewhere).
    """
    v = parse(env.python_version)
    if v is None:
        return None
    xy = f"{v.major}.{v.minor}"
    base = _base_prefix(env)
    lib = os.path.join(base, "lib")
    patterns = [
        os.path.join(lib, f"libpython{xy}*.so*"),
        os.path.join(lib, f"libpython{xy}*.dylib"),
    ]
    patterns.append(os.path.join(lib, f"python{xy}", "config-*", f"libpython{xy}*.so*"))
    if any(glob.glob(p) for p in patterns):
        return True
    if base in ("/usr", "/usr/local") or not os.path.isdir(os.path.join(lib, f"python{xy}")):
        return None
    if os.path.isdir(os.path.join(base, "conda-meta")):
        return None
    return False


def _system_libpython(python_version: str) -> str:
    """The version of a system ``libpythonX.Y`` R's library path would load instead, or ""."""
    v = parse(python_version)
    if v is None:
        return ""
    xy = f"{v.major}.{v.minor}"
    for d in SYSTEM_LIB_DIRS:
        if glob.glob(os.path.join(d, f"libpython{xy}.so.1*")):
            return f"{xy} ({d})"
    return ""


def _shim_target(r: _Resolver, python: str) -> Optional[tuple[str, str]]:
    """For a pyenv shim: ``(the interpreter it runs, a note)``; None otherwise."""
    from envdoctor.discovery import pyenv
    from envdoctor.discovery._base import Context

    ctx = Context(r.env, r.cwd, r.home)
    root = pyenv.shim_root(ctx, python)
    if root is None:
        return None
    cand = pyenv.resolve_shim(ctx, python, root)
    if cand is None or cand.broken:
        return python, f"pyenv shim ({cand.broken if cand else 'selects the system Python'})"
    return cand.python, f"pyenv shim running {cand.python}"


