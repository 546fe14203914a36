"""Read a Python environment statically: layout, Python version, distributions, TF build.

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

import ast
import contextlib
import dataclasses
import json
import os
import platform
import re
import shutil
import site
import struct
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

import importlib_metadata
from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envdoctor.errors import EnvironmentReadError
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

LEGACY_KERAS_TRUE_VALUES = frozenset({"true", "True", "1"})
"""Values of ``TF_USE_LEGACY_KERAS`` that make TF 2.15+ route ``tf.keras`` to tf_keras
(``tensorflow/python/util/lazy_loader.py``; compat-facts §1.5).  Other values are ignored."""

MAX_SMALL_FILE_BYTES = 1024 * 1024
"""Largest pyvenv.cfg / keras.json / .pth / build_info.py / top_level.txt read (bytes)."""

MAX_METADATA_BYTES = 16 * 1024 * 1024
"""Largest METADATA / PKG-INFO accepted (bytes); bigger ones are treated as broken."""

MAX_PTH_FILES = 2000
"""Most ``.pth`` files read per site directory."""

_VERSION_RE = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?")
_LIBDIR_RE = re.compile(r"^(python|pypy)(\d+)\.(\d+)(t?)$")
_EXE_VERSION_RE = re.compile(r"^(?:python|pypy)(\d+)\.(\d+)t?(?:\.exe)?$")
_DLL_RE = re.compile(r"^python(\d)(\d+)t?\.(?:dll|zip)$", re.IGNORECASE)
_PATCHLEVEL_RE = re.compile(r'#define\s+PY_VERSION\s+"(\d+\.\d+(?:\.\d+)?)')
_WINDOWS_CANDIDATES = (os.path.join("Scripts", "python.exe"), "python.exe")
_POSIX_CANDIDATES = (os.path.join("bin", "python"), os.path.join("bin", "python3"))

_ELF_MACHINES = {
    0x03: "i686",
    0x08: "mips",
    0x14: "ppc",
    0x15: "ppc64",
    0x16: "s390x",
    0x28: "armv7l",
    0x3E: "x86_64",
    0xB7: "aarch64",
    0xF3: "riscv64",
    0x102: "loongarch64",
}
_PE_MACHINES = {0x14C: "x86", 0x8664: "AMD64", 0xAA64: "ARM64"}
_MACHO_CPUS = {0x01000007: "x86_64", 0x0100000C: "arm64", 7: "i386"}


@dataclass
class _Layout:
    """What is known about the environment while it is being read (internal, mutable)."""

    python: str
    prefix: str = ""
    kind: str = "unknown"
    version: str = ""
    implementation: str = "cpython"
    arch: str = ""
    windows: bool = False
    pyvenv: Optional[dict[str, str]] = None
    base_prefix: Optional[str] = None
    conda: bool = False
    site_dirs: list[str] = field(default_factory=list)
    probed: bool = False
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# small file helpers


def _read_small(path: str, limit: int = MAX_SMALL_FILE_BYTES) -> Optional[str]:
    """Return the text of ``path`` (UTF-8, BOM stripped), or None if missing/unreadable/too big."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError:
        return None
    if len(data) > limit:
        return None
    return data.decode("utf-8-sig", "replace")


def _isdir(path: str) -> bool:
    try:
        return os.path.isdir(path)
    except (OSError, ValueError):
        return False


def _isfile(path: str) -> bool:
    try:
        return os.path.isfile(path)
    except (OSError, ValueError):
        return False


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except (OSError, ValueError):
        return []


def _norm(path: str) -> str:
    """Return a key identifying a directory: its real path, case-normalized."""
    try:
        return os.path.normcase(os.path.realpath(path))
    except (OSError, ValueError):
        return os.path.normcase(os.path.abspath(path))


def _dedupe_dirs(paths: Iterable[str]) -> list[str]:
    """Keep existing directories, first spelling of each real directory, in order."""
    out: list[str] = []
    seen: set[str] = set()
    for p in paths:
        if not p or not _isdir(p):
            continue
        key = _norm(p)
        if key in seen:
            continue
        seen.add(key)
        out.append(os.path.abspath(p))
    return out


def _version_text(text: str) -> str:
    """Return ``"X.Y.Z"`` / ``"X.Y"`` from the start of ``text``, or ""."""
    m = _VERSION_RE.match(text)
    if not m:
        return ""
    return ".".join(g for g in m.groups() if g is not None)


def _xy(version: str) -> str:
    parts = version.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else ""


def _home(environ: Mapping[str, str]) -> str:
    home = environ.get("HOME") or environ.get("USERPROFILE")
    return home if home else os.path.expanduser("~")


def _expanduser(path: str, environ: Mapping[str, str]) -> str:
    if path == "~" or path.startswith(("~/", "~" + os.sep)):
        return _home(environ) + path[1:]
    return path


# --------------------------------------------------------------------------------------------
# locating the interpreter and its prefix


def _locate_interpreter(python: str) -> str:
    """Return the interpreter path for ``python`` (a file, or an environment directory).

    A bare name without a directory part (``python3.11``) that is not a file in the
    current directory is looked up on ``PATH``.

    Raises:
        EnvironmentReadError: missing, not executable, or a directory without an interpreter.
    """
    if not python:
        raise EnvironmentReadError("empty interpreter path")
    path = os.path.expanduser(python)
    if os.sep not in path and "/" not in path and not os.path.lexists(path):
        found = shutil.which(path)
        if found:
            path = found
    if not os.path.lexists(path):
        raise EnvironmentReadError(f"{python}: no such file or directory")
    if not os.path.exists(path):
        raise EnvironmentReadError(f"{python}: broken symbolic link")
    if _isdir(path):
        for rel in (*_POSIX_CANDIDATES, *_WINDOWS_CANDIDATES):
            cand = os.path.join(path, rel)
            if _isfile(cand):
                path = cand
                break
        else:
            raise EnvironmentReadError(
                f"{python}: a directory without bin/python, bin/python3, Scripts/python.exe"
                " or python.exe; not a Python environment"
            )
    if not _isfile(path):
        raise EnvironmentReadError(f"{python}: not a regular file")
    if os.name == "posix" and not path.lower().endswith(".exe") and not os.access(path, os.X_OK):
        raise EnvironmentReadError(f"{python}: not executable (no execute permission)")
    return path


def _prefix_of(python: str) -> tuple[str, bool]:
    """Return (prefix, windows_layout) implied by the interpreter's location, unresolved."""
    absolute = os.path.abspath(python)
    bindir = os.path.dirname(absolute)
    base = os.path.basename(bindir)
    if absolute.lower().endswith(".exe"):
        if base.lower() == "scripts":
            return os.path.dirname(bindir), True
        return bindir, True
    if base == "bin":
        return os.path.dirname(bindir), False
    return bindir, False


def _lib_dirs(prefix: str) -> list[tuple[str, str, str]]:
    """Return (path, "X.Y", implementation) for each ``lib*/pythonX.Y`` / ``lib/pypyX.Y`` dir."""
    found: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for libname in ("lib", "lib64"):
        libdir = os.path.join(prefix, libname)
        for name in sorted(_listdir(libdir)):
            m = _LIBDIR_RE.match(name)
            if not m:
                continue
            path = os.path.join(libdir, name)
            if not _isdir(path):
                continue
            xy = f"{m.group(2)}.{m.group(3)}" + m.group(4)
            key = f"{m.group(1)}{xy}"
            if key in seen:
                continue
            seen.add(key)
            found.append((path, xy, "pypy" if m.group(1) == "pypy" else "cpython"))
    return found


def _is_stdlib_dir(path: str) -> bool:
    return _isfile(os.path.join(path, "os.py")) or _isfile(os.path.join(path, "os.pyc"))


def _stdlib_lib_dirs(prefix: str) -> list[tuple[str, str, str]]:
    """The ``lib/pythonX.Y`` dirs that hold a standard library (``os.py``), or a zipped one."""
    found = [entry for entry in _lib_dirs(prefix) if _is_stdlib_dir(entry[0])]
    if not found:
        for name in _listdir(os.path.join(prefix, "lib")):
            m = _DLL_RE.match(name)
            if m and name.lower().endswith(".zip"):
                found.append(
                    (os.path.join(prefix, "lib", name), f"{m.group(1)}.{m.group(2)}", "cpython")
                )
    return found


def _has_evidence(prefix: str) -> bool:
    """True when ``prefix`` is visibly a Python environment or installation.

    Evidence: ``pyvenv.cfg``, ``conda-meta/``, a ``lib/pythonX.Y`` holding the standard
    library (a bare ``/usr/local/lib/python3.11`` made by Debian for ``dist-packages`` is
    not enough), a legacy virtualenv's ``orig-prefix.txt``, or a Windows ``Lib/os.py``.
    """
    return (
        _isfile(os.path.join(prefix, "pyvenv.cfg"))
        or _isdir(os.path.join(prefix, "conda-meta"))
        or bool(_stdlib_lib_dirs(prefix))
        or any(_isfile(os.path.join(d, "orig-prefix.txt")) for d, _, _ in _lib_dirs(prefix))
        or _isfile(os.path.join(prefix, "Lib", "os.py"))
    )


def _read_pyvenv_cfg(path: str) -> Optional[dict[str, str]]:
    """Parse ``pyvenv.cfg`` (``key = value`` lines; keys lower-cased), or None when absent."""
    text = _read_small(path, 64 * 1024)
    if text is None:
        return None
    cfg: dict[str, str] = {}
    for line in text.splitlines():
        if "=" not in line or line.lstrip().startswith("#"):
            continue
        key, _, value = line.partition("=")
        cfg[key.strip().lower()] = value.strip()
    return cfg


def _pyenv_versions_dirs(environ: Mapping[str, str]) -> list[str]:
    roots = []
    if environ.get("PYENV_ROOT"):
        roots.append(environ["PYENV_ROOT"])
    roots.append(os.path.join(_home(environ), ".pyenv"))
    return [_norm(os.path.join(r, "versions")) for r in roots]


def _conda_records(prefix: str, notes: list[str]) -> list[tuple[str, str]]:
    """Return (name, version) of each ``conda-meta/*.json`` record.

    The record file is named ``<name>-<version>-<build>.json`` by conda (neither version
    nor build may contain ``-``), which gives the record's ``name``/``version`` without
    parsing files that can be megabytes long (their ``files``/``paths_data`` lists).  The
    JSON body is read only when a file name does not follow that pattern.
    """
    meta = os.path.join(prefix, "conda-meta")
    records: list[tuple[str, str]] = []
    for fname in sorted(_listdir(meta)):
        if not fname.endswith(".json") or fname.startswith("."):
            continue
        parts = fname[: -len(".json")].rsplit("-", 2)
        if len(parts) == 3 and all(parts):
            records.append((parts[0], parts[1]))
            continue
        text = _read_small(os.path.join(meta, fname), MAX_METADATA_BYTES)
        try:
            rec = json.loads(text) if text is not None else None
        except ValueError:
            rec = None
        if isinstance(rec, dict) and isinstance(rec.get("name"), str):
            records.append((rec["name"], str(rec.get("version", ""))))
        else:
            notes.append(f"conda-meta/{fname} in {prefix} is not a readable conda record")
    return records


def _patchlevel_version(prefix: str, xy: str) -> str:
    for inc in (f"python{xy}", f"python{xy}t"):
        text = _read_small(os.path.join(prefix, "include", inc, "patchlevel.h"), 256 * 1024)
        if text:
            m = _PATCHLEVEL_RE.search(text)
            if m and _xy(m.group(1)) == xy.rstrip("t"):
                return m.group(1)
    return ""


def _exe_arch(python: str) -> str:
    """Return the CPU architecture from the executable's ELF / PE / Mach-O header, or ""."""
    try:
        with open(os.path.realpath(python), "rb") as fh:
            head = fh.read(64)
            if head[:4] == b"\x7fELF" and len(head) >= 20:
                endian = "<" if head[5] == 1 else ">"
                (machine,) = struct.unpack(endian + "H", head[18:20])
                arch = _ELF_MACHINES.get(machine, "")
                if arch == "ppc64" and endian == "<":
                    arch = "ppc64le"
                if arch == "i686" and head[4] == 2:
                    arch = "x86_64"
                return arch
            if head[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe") and len(head) >= 8:
                (cpu,) = struct.unpack("<I", head[4:8])
                return _MACHO_CPUS.get(cpu, "")
            if head[:2] == b"MZ" and len(head) >= 64:
                (offset,) = struct.unpack("<I", head[60:64])
                fh.seek(offset)
                pe = fh.read(6)
                if pe[:4] == b"PE\0\0" and len(pe) == 6:
                    (machine,) = struct.unpack("<H", pe[4:6])
                    return _PE_MACHINES.get(machine, "")
    except (OSError, struct.error, ValueError):
        return ""
    return ""


def _user_site(environ: Mapping[str, str], xy: str, windows: bool) -> Optional[str]:
    """Return the user site-packages directory the target would use, or None when disabled."""
    if environ.get("PYTHONNOUSERSITE") or not xy:
        return None
    base = environ.get("PYTHONUSERBASE")
    if windows:
        if not base:
            appdata = environ.get("APPDATA")
            if not appdata:
                return None
            base = os.path.join(appdata, "Python")
        return os.path.join(base, "Python" + xy.replace(".", ""), "site-packages")
    if not base:
        base = os.path.join(_home(environ), ".local")
    return os.path.join(base, "lib", f"python{xy}", "site-packages")


def _prefix_site_dirs(prefix: str, xy: str, windows: bool, impl: str = "cpython") -> list[str]:
    """Candidate site directories of an installation prefix, in ``sys.path`` order."""
    if windows:
        return [os.path.join(prefix, "Lib", "site-packages")]
    cands: list[str] = []
    libname = f"pypy{xy}" if impl == "pypy" else f"python{xy}"
    if os.path.normpath(prefix) in ("/usr", "/usr/local"):
        # Debian's site.py: /usr/local/lib/pythonX.Y/dist-packages, /usr/lib/python3/dist-packages,
        # /usr/lib/pythonX.Y/dist-packages.  Fedora: /usr/local/lib{64,}/... then /usr/lib{64,}/...
        major = xy.split(".", maxsplit=1)[0]
        cands += [
            f"/usr/local/lib/{libname}/dist-packages",
            f"/usr/local/lib64/{libname}/site-packages",
            f"/usr/local/lib/{libname}/site-packages",
            f"/usr/lib/python{major}/dist-packages",
            f"/usr/lib/{libname}/dist-packages",
            f"/usr/lib64/{libname}/site-packages",
            f"/usr/lib/{libname}/site-packages",
        ]
        if os.path.normpath(prefix) == "/usr/local":
            cands = [c for c in cands if c.startswith("/usr/local/")]
        return cands
    cands += [
        os.path.join(prefix, "lib", libname, "site-packages"),
        os.path.join(prefix, "lib64", libname, "site-packages"),
        # free-threaded builds (3.13t) use lib/python3.13t
        os.path.join(prefix, "lib", libname + "t", "site-packages"),
    ]
    return cands


# --------------------------------------------------------------------------------------------
# the layout: static first, the probe only when that fails


def _classify(lay: _Layout, environ: Mapping[str, str]) -> None:
    """Fill kind, pyvenv, conda, version and implementation from files under lay.prefix."""
    prefix = lay.prefix
    cfg = _read_pyvenv_cfg(os.path.join(prefix, "pyvenv.cfg"))
    if cfg is None:
        cfg = _read_pyvenv_cfg(
            os.path.join(os.path.dirname(os.path.abspath(lay.python)), "pyvenv.cfg")
        )
    if cfg is not None:
        lay.pyvenv = cfg
        lay.kind = "uv" if "uv" in cfg else "virtualenv" if "virtualenv" in cfg else "venv"
        lay.version = _version_text(cfg.get("version_info", "")) or _version_text(
            cfg.get("version", "")
        )
        if cfg.get("implementation"):
            lay.implementation = cfg["implementation"].strip().lower()
        home = cfg.get("home", "")
        if home:
            home = os.path.normpath(home)
            if os.path.basename(home).lower() in ("bin", "scripts"):
                lay.base_prefix = os.path.dirname(home)
            else:
                lay.base_prefix = home
    if _isdir(os.path.join(prefix, "conda-meta")):
        lay.conda = True
        if cfg is None:
            lay.kind = "conda"
        if not lay.version:
            for fname in sorted(_listdir(os.path.join(prefix, "conda-meta"))):
                if fname.startswith(("python-", "pypy-", "pypy3")) and fname.endswith(".json"):
                    parts = fname[: -len(".json")].rsplit("-", 2)
                    if len(parts) == 3 and parts[0] == "python":
                        lay.version = _version_text(parts[1])
                    elif len(parts) == 3 and parts[0].startswith("pypy"):
                        lay.implementation = "pypy"
    if lay.kind == "unknown":
        for libdir, _, _ in _lib_dirs(prefix):
            orig = _read_small(os.path.join(libdir, "orig-prefix.txt"), 64 * 1024)
            if orig is not None:
                # virtualenv < 20 (no pyvenv.cfg): orig-prefix.txt names the base prefix;
                # no-global-site-packages.txt means the base site-packages are not used.
                isolated = _isfile(os.path.join(libdir, "no-global-site-packages.txt"))
                lay.kind = "virtualenv"
                lay.base_prefix = orig.strip() or None
                lay.pyvenv = {
                    "virtualenv": "legacy",
                    "include-system-site-packages": "false" if isolated else "true",
                }
                break
    if lay.kind == "unknown":
        parent = _norm(os.path.dirname(os.path.abspath(prefix)))
        if parent in _pyenv_versions_dirs(environ) or (
            os.path.basename(parent) == "versions"
            and os.path.basename(os.path.dirname(parent)) == ".pyenv"
        ):
            lay.kind = "pyenv"
            name = os.path.basename(os.path.abspath(prefix))
            if name.startswith("pypy"):
                lay.implementation = "pypy"
            elif re.fullmatch(r"\d+\.\d+\.\d+", name):
                lay.version = name
        elif os.path.normpath(prefix) in ("/usr", "/usr/local", "/") or prefix.startswith(
            ("/System/Library/Frameworks/Python.framework", "/Library/Frameworks/Python.framework")
        ):
            lay.kind = "system"
    libs = _lib_dirs(prefix)
    if any(impl == "pypy" for _, _, impl in libs) and not any(i == "cpython" for _, _, i in libs):
        lay.implementation = "pypy"
    if lay.version:
        return
    # The interpreter's own name (python3.11, or what python3 links to) picks the lib dir.
    xy_from_name = ""
    for name in (os.path.basename(lay.python), os.path.basename(os.path.realpath(lay.python))):
        m = _EXE_VERSION_RE.match(name)
        if m:
            xy_from_name = f"{m.group(1)}.{m.group(2)}"
    xys = sorted({xy.rstrip("t") for _, xy, _ in (_stdlib_lib_dirs(prefix) or libs)})
    if lay.windows:
        for name in _listdir(prefix):
            m = _DLL_RE.match(name)
            if m:
                lay.version = f"{m.group(1)}.{m.group(2)}"
                return
    chosen = ""
    if xy_from_name and (xy_from_name in xys or not xys):
        chosen = xy_from_name
    elif len(xys) == 1:
        chosen = xys[0]
    if chosen:
        lay.version = (
            _patchlevel_version(prefix, chosen)
            or (_patchlevel_version(lay.base_prefix, chosen) if lay.base_prefix else "")
            or chosen
        )


def _site_dirs(lay: _Layout, environ: Mapping[str, str]) -> list[str]:
    """The site directories of the layout, in ``sys.path`` order, existing ones only."""
    xy = _xy(lay.version)
    cfg = lay.pyvenv
    dirs: list[str] = []
    venv_isolated = (
        cfg is not None and cfg.get("include-system-site-packages", "false").lower() != "true"
    )
    if not venv_isolated:
        user = _user_site(environ, xy, lay.windows)
        if user:
            dirs.append(user)
    dirs += _prefix_site_dirs(lay.prefix, xy, lay.windows, lay.implementation)
    if cfg is not None and not venv_isolated and lay.base_prefix:
        dirs += _prefix_site_dirs(lay.base_prefix, xy, lay.windows, lay.implementation)
    return _dedupe_dirs(dirs)


def _apply_probe(lay: _Layout, info: Mapping[str, object], environ: Mapping[str, str]) -> None:
    """Take prefix, version, implementation, arch and site directories from a probe answer."""
    lay.probed = True
    prefix = str(info["prefix"])
    if prefix and _norm(prefix) != _norm(lay.prefix):
        lay.prefix = prefix
        lay.kind = "unknown"
        lay.pyvenv = None
        lay.conda = False
        _classify(lay, environ)
        _take_real_interpreter(lay, str(info.get("executable") or ""))
    lay.version = str(info["version"])
    lay.implementation = str(info["implementation"]) or lay.implementation
    if not lay.arch:
        lay.arch = str(info["arch"])
    base = str(info["base_prefix"])
    if base and _norm(base) != _norm(lay.prefix):
        lay.base_prefix = base
    raw = info["site_packages"]
    probe_dirs = [str(p) for p in raw] if isinstance(raw, list) else []
    cfg = lay.pyvenv
    venv_isolated = (
        cfg is not None and cfg.get("include-system-site-packages", "false").lower() != "true"
    )
    user: list[str] = []
    if not venv_isolated:
        u = _user_site(environ, _xy(lay.version), lay.windows)
        if u is None and not environ.get("PYTHONNOUSERSITE") and isinstance(info["user_site"], str):
            u = info["user_site"]
        if u:
            user.append(u)
    lay.site_dirs = _dedupe_dirs(user + probe_dirs)


def _take_real_interpreter(lay: _Layout, executable: str) -> None:
    """Name the interpreter a wrapper outside the prefix ran (a pyenv shim, a launcher script).

    A pyenv shim selects its version anew on every run (``PYENV_VERSION``, ``.python-version``,
    the global version file), so a command written with the shim may install somewhere else
    tomorrow; every command envdoctor prints names ``sys.executable`` of the probed
    interpreter when it lies inside the prefix the probe reported.
    """
    if not executable or _norm(executable) == _norm(lay.python):
        return
    inside = _norm(os.path.dirname(os.path.dirname(os.path.abspath(executable))))
    inside_win = _norm(os.path.dirname(os.path.abspath(executable)))
    if _norm(lay.prefix) not in (inside, inside_win) or not _isfile(executable):
        return
    lay.notes.append(f"{lay.python} runs {executable}; commands name that interpreter")
    lay.python = executable
    lay.arch = lay.arch or _exe_arch(executable)


def _static_layout(python: str, environ: Mapping[str, str]) -> _Layout:
    prefix, windows = _prefix_of(python)
    lay = _Layout(python=python, prefix=prefix, windows=windows)
    if not _has_evidence(prefix):
        real_prefix, real_windows = _prefix_of(os.path.realpath(python))
        if _has_evidence(real_prefix):
            lay.prefix, lay.windows = real_prefix, real_windows
    _classify(lay, environ)
    if _has_evidence(lay.prefix) and lay.version:
        lay.site_dirs = _site_dirs(lay, environ)
    lay.arch = _exe_arch(python)
    return lay


def _current_layout(environ: Mapping[str, str]) -> _Layout:
    """The layout of the interpreter running envdoctor, from ``sys``."""
    python = sys.executable or "python"
    lay = _Layout(python=python, prefix=sys.prefix, windows=os.name == "nt")
    _classify(lay, environ)
    vi = sys.version_info
    lay.version = f"{vi[0]}.{vi[1]}.{vi[2]}"
    lay.implementation = sys.implementation.name
    lay.arch = platform.machine()
    if sys.base_prefix != sys.prefix:
        lay.base_prefix = sys.base_prefix
    known: set[str] = set()
    with contextlib.suppress(Exception):
        known.update(_norm(p) for p in site.getsitepackages())
    if site.ENABLE_USER_SITE:
        with contextlib.suppress(Exception):
            known.add(_norm(site.getusersitepackages()))
    dirs = [
        p
        for p in sys.path
        if p
        and (
            _norm(p) in known
            or os.path.basename(os.path.normpath(p)) in ("site-packages", "dist-packages")
        )
    ]
    lay.site_dirs = _dedupe_dirs(dirs)
    return lay


# --------------------------------------------------------------------------------------------
# .pth files and search paths


@dataclass
class _PthScan:
    dirs: list[str]
    """Site dirs with the directories their .pth files add, in sys.path order."""
    import_lines: list[tuple[str, str]]
    """(pth file, line) for each ``import`` line (executed by Python at startup; never here)."""


def _scan_pth(site_dirs: Sequence[str]) -> _PthScan:
    """Expand site dirs with the path lines of their ``.pth`` files (as ``site.addpackage``)."""
    out: list[str] = []
    imports: list[tuple[str, str]] = []
    for sd in site_dirs:
        out.append(sd)
        names = sorted(n for n in _listdir(sd) if n.endswith(".pth") and not n.startswith("."))
        for name in names[:MAX_PTH_FILES]:
            pth = os.path.join(sd, name)
            text = _read_small(pth)
            if text is None:
                continue
            for raw in text.splitlines():
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                if line.startswith(("import ", "import\t")):
                    imports.append((pth, line))
                    continue
                out.append(os.path.join(sd, raw.rstrip()))
    return _PthScan(_dedupe_paths(out), imports)


def _dedupe_paths(paths: Iterable[str]) -> list[str]:
    """Like :func:`_dedupe_dirs` but keeps existing zip/egg files too."""
    out: list[str] = []
    seen: set[str] = set()
    for p in paths:
        if not p or not (_isdir(p) or _isfile(p)):
            continue
        key = _norm(p)
        if key not in seen:
            seen.add(key)
            out.append(os.path.abspath(p))
    return out


def _pythonpath_dirs(environ: Mapping[str, str]) -> list[str]:
    value = environ.get("PYTHONPATH", "")
    return _dedupe_paths(
        os.path.abspath(_expanduser(p, environ)) for p in value.split(os.pathsep) if p
    )


# --------------------------------------------------------------------------------------------
# distributions


def _parse_headers(text: str) -> dict[str, list[str]]:
    """Parse the RFC 822 header block of METADATA / PKG-INFO (the body is skipped)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    end = text.find("\n\n")
    head = text if end < 0 else text[:end]
    headers: dict[str, list[str]] = {}
    last: Optional[list[str]] = None
    for line in head.split("\n"):
        if line[:1] in (" ", "\t"):
            if last:
                last[-1] += "\n" + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            last = None
            continue
        last = headers.setdefault(key.strip().lower(), [])
        last.append(value.strip())
    return headers


def _dist_path(dist: importlib_metadata.Distribution) -> str:
    raw: object = getattr(dist, "_path", None)
    if raw is None:
        return ""
    return str(raw)


@dataclass
class _DistRead:
    package: Optional[Package]
    meta_dir: str
    note: Optional[str] = None


def _read_dist(dist: importlib_metadata.Distribution) -> _DistRead:
    meta_dir = _dist_path(dist)
    location = os.path.dirname(meta_dir) if meta_dir else str(dist.locate_file(""))
    label = meta_dir or location
    try:
        text = dist.read_text("METADATA")
        legacy = False
        if text is None:
            text = dist.read_text("PKG-INFO")
            legacy = True
        if text is None and meta_dir and _isfile(meta_dir):
            text = dist.read_text("")
            legacy = True
    except (UnicodeDecodeError, OSError) as exc:
        return _DistRead(None, meta_dir, f"{label}: unreadable metadata ({exc}); ignored")
    if text is None:
        return _DistRead(None, meta_dir, f"{label}: no METADATA file (a broken install); ignored")
    if len(text) > MAX_METADATA_BYTES:
        return _DistRead(
            None, meta_dir, f"{label}: METADATA over {MAX_METADATA_BYTES} bytes; ignored"
        )
    headers = _parse_headers(text)
    name = (headers.get("name") or [""])[0]
    version = (headers.get("version") or [""])[0]
    if not name or not version:
        return _DistRead(
            None, meta_dir, f"{label}: METADATA without Name/Version (a broken install); ignored"
        )
    if legacy:
        try:
            requires = tuple(dist.requires or ())
        except Exception:
            requires = ()
    else:
        requires = tuple(headers.get("requires-dist", ()))
    installer: Optional[str] = None
    with contextlib.suppress(UnicodeDecodeError, OSError):
        raw = dist.read_text("INSTALLER")
        if raw is not None and raw.strip():
            installer = raw.strip().splitlines()[0][:100]
    rp = headers.get("requires-python")
    pkg = Package(
        name=canonicalize_name(name),
        version=version,
        requires=requires,
        requires_python=rp[0] if rp and rp[0] else None,
        location=location,
        installer=installer,
    )
    return _DistRead(pkg, meta_dir)


@dataclass
class _Dists:
    packages: dict[str, Package]
    meta_dirs: dict[str, str]
    notes: list[str]


def _read_distributions(search: Sequence[str], pythonpath: Sequence[str]) -> _Dists:
    """Read every distribution on ``search`` (sys.path order); the first of each name wins."""
    importlib_metadata.MetadataPathFinder.invalidate_caches()
    packages: dict[str, Package] = {}
    meta_dirs: dict[str, str] = {}
    notes: list[str] = []
    pp = {_norm(p) for p in pythonpath}
    for dist in importlib_metadata.distributions(path=list(search)):
        assert isinstance(dist, importlib_metadata.Distribution)
        rd = _read_dist(dist)
        if rd.package is None:
            if rd.note:
                notes.append(rd.note)
            continue
        pkg = rd.package
        prev = packages.get(pkg.name)
        if prev is None:
            packages[pkg.name] = pkg
            meta_dirs[pkg.name] = rd.meta_dir
            if _norm(pkg.location) in pp:
                notes.append(f"{pkg.name} {pkg.version} comes from PYTHONPATH ({pkg.location})")
            continue
        if prev.location == pkg.location:
            notes.append(
                f"{pkg.location} holds two metadata directories for {pkg.name}"
                f" ({prev.version} and {pkg.version}), a leftover of an interrupted install"
                f" or upgrade; {prev.version} is used here but Python may pick either"
            )
        elif prev.version != pkg.version:
            notes.append(
                f"{pkg.name} {prev.version} in {prev.location} shadows {pkg.name}"
                f" {pkg.version} in {pkg.location}"
            )
    return _Dists(packages, meta_dirs, notes)


def _add_conda_packages(prefix: str, dists: _Dists, notes: list[str]) -> None:
    """Add conda records missing from the dist-info set; mark conda-installed ones."""
    for name, version in _conda_records(prefix, notes):
        key = canonicalize_name(name)
        prev = dists.packages.get(key)
        if prev is None:
            dists.packages[key] = Package(
                name=key, version=version, location=prefix, installer="conda"
            )
        elif prev.installer is None and prev.version == version:
            dists.packages[key] = dataclasses.replace(prev, installer="conda")


# --------------------------------------------------------------------------------------------
# TensorFlow build info


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


def _tf_build_info(search: Sequence[str], dists: _Dists, notes: list[str]) -> dict[str, str]:
    """Read build_info.py of the first ``tensorflow`` package on the path; name its provider."""
    tf_dir = ""
    for d in search:
        if _isdir(os.path.join(d, "tensorflow")):
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
    text = _read_small(bi_path)
    if text is None:
        notes.append(f"{bi_path} is missing or unreadable; TensorFlow's build is unknown")
    else:
        info = parse_build_info(text)
        if not info:
            notes.append(f"{bi_path} holds no literal build_info; TensorFlow's build is unknown")
    location = _norm(os.path.dirname(tf_dir))
    providers: list[str] = []
    for name in installed:
        pkg = dists.packages[name]
        if _norm(pkg.location) != location:
            continue
        meta = dists.meta_dirs.get(name, "")
        top = _read_small(os.path.join(meta, "top_level.txt")) if meta else None
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
        base = _home(environ)
        if not os.access(base, os.W_OK):
            base = "/tmp"  # noqa: S108 - this is where Keras itself looks
        keras_dir = os.path.join(base, ".keras")
    path = os.path.abspath(_expanduser(os.path.join(keras_dir, "keras.json"), environ))
    if not os.path.exists(path):
        return "tensorflow", "default", notes
    text = _read_small(path)
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
        lay = _current_layout(env_map)
        # The running process already has PYTHONPATH and .pth additions in sys.path.
        search = _dedupe_paths(p for p in sys.path if p)
        pythonpath = _pythonpath_dirs(env_map)
    else:
        path = _locate_interpreter(python)
        lay = _static_layout(path, env_map)
        if not (_has_evidence(lay.prefix) and lay.version):
            from envdoctor.probe import probe_interpreter  # noqa: PLC0415  (startup: the probe runner loads only when a static read is not enough)

            _apply_probe(lay, probe_interpreter(path, timeout), env_map)
        if not lay.arch:
            lay.arch = platform.machine()
        pythonpath = _pythonpath_dirs(env_map)
        pth = _scan_pth(lay.site_dirs)
        search = _dedupe_paths([*pythonpath, *pth.dirs])
    notes = list(lay.notes)
    if not lay.site_dirs:
        notes.append(f"no site-packages directory found under {lay.prefix}")
    dists = _read_distributions(search, pythonpath)
    notes += dists.notes
    if lay.conda:
        _add_conda_packages(lay.prefix, dists, notes)
    tf_info = _tf_build_info(search, dists, notes)
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


# --------------------------------------------------------------------------------------------
# module_importable


def _base_prefix(env: Environment) -> str:
    """The prefix holding the standard library: pyvenv.cfg ``home``, orig-prefix.txt, or own."""
    cfg = _read_pyvenv_cfg(os.path.join(env.prefix, "pyvenv.cfg"))
    home = (cfg or {}).get("home", "")
    if home:
        home = os.path.normpath(home)
        if os.path.basename(home).lower() in ("bin", "scripts"):
            return os.path.dirname(home)
        return home
    for libdir, _, _ in _lib_dirs(env.prefix):
        orig = _read_small(os.path.join(libdir, "orig-prefix.txt"), 64 * 1024)
        if orig and orig.strip():
            return orig.strip()
    return env.prefix


def _stdlib_dirs(env: Environment) -> list[str]:
    xy = _xy(env.python_version)
    if not xy:
        return []
    base = _base_prefix(env)
    if _isdir(os.path.join(base, "Lib")) and not _isdir(os.path.join(base, "lib")):
        return _dedupe_paths([os.path.join(base, "Lib"), os.path.join(base, "DLLs")])
    cands = []
    for impl in ("python", "pypy"):
        lib = os.path.join(base, "lib", f"{impl}{xy}")
        cands += [
            os.path.join(base, "lib", f"{impl}{xy.replace('.', '')}.zip"),
            lib,
            os.path.join(lib, "lib-dynload"),
            os.path.join(base, "lib64", f"{impl}{xy}", "lib-dynload"),
        ]
    return _dedupe_paths(cands)


_EXT_SUFFIXES = (".so", ".pyd")


def _entry_kind(directory: str, name: str, py2: bool) -> str:
    """How ``name`` exists in ``directory``: "package", "module", "namespace" or ""."""
    base = os.path.join(directory, name)
    if _isdir(base):
        for init in ("__init__.py", "__init__.pyc"):
            if _isfile(os.path.join(base, init)):
                return "package"
        return "" if py2 else "namespace"
    for suffix in (".py", ".pyc", ".pyw"):
        if _isfile(base + suffix):
            return "module"
    prefix = name + "."
    for fname in _listdir(directory):
        if fname.startswith(prefix) and fname.endswith(_EXT_SUFFIXES):
            return "module"
    return ""


def _in_zip(path: str, parts: Sequence[str]) -> Optional[bool]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist()[:200_000])
    except (OSError, zipfile.BadZipFile, ValueError):
        return None
    stem = "/".join(parts)
    for cand in (f"{stem}.py", f"{stem}.pyc", f"{stem}/__init__.py", f"{stem}/__init__.pyc"):
        if cand in names:
            return True
    return False


_QUOTED_RE = re.compile(r"""["']([\w.\-/]+)["']""")


def _init_text(package_dir: str) -> str:
    return _read_small(os.path.join(package_dir, "__init__.py")) or ""


def _extra_package_paths(package_dir: str, init: str) -> list[str]:
    """Subdirectories a package's ``__init__.py`` adds to its ``__path__`` by a literal name.

    Keras 3 does ``__path__.append(os.path.join(os.path.dirname(__file__), "api"))``.
    """
    extra: list[str] = []
    for line in init.splitlines():
        if "__path__" not in line:
            continue
        for lit in _QUOTED_RE.findall(line):
            cand = os.path.join(package_dir, lit)
            if lit not in (".", "..") and _isdir(cand):
                extra.append(cand)
    return extra


def _resolve_sub(paths: list[str], rest: Sequence[str], py2: bool, regular: bool) -> Optional[bool]:
    """Resolve ``rest`` (submodule names) inside package directories ``paths``.

    ``regular`` is True when ``paths`` is the single directory of a package with an
    ``__init__.py``; its ``__init__.py`` may extend ``__path__`` or create the submodule.
    """
    if not rest:
        return True
    name = rest[0]
    init = _init_text(paths[0]) if regular else ""
    search = list(paths) + (_extra_package_paths(paths[0], init) if regular else [])
    portions: list[str] = []
    for p in search:
        kind = _entry_kind(p, name, py2)
        if kind == "package":
            return _resolve_sub([os.path.join(p, name)], rest[1:], py2, True)
        if kind == "module":
            return True if len(rest) == 1 else None
        if kind == "namespace":
            portions.append(os.path.join(p, name))
    if portions:
        return _resolve_sub(portions, rest[1:], py2, False)
    if regular and ("__path__" in init or re.search(rf"\b{re.escape(name)}\b", init)):
        return None  # the package may extend its path, or create/alias it at import time
    return False


def _editable_mappings(dirs: Sequence[str]) -> dict[str, str]:
    """``MAPPING`` of setuptools' ``__editable___*_finder.py`` modules (PEP 660 installs)."""
    mapping: dict[str, str] = {}
    for d in dirs:
        for fname in _listdir(d):
            if not (fname.startswith("__editable__") and fname.endswith("_finder.py")):
                continue
            text = _read_small(os.path.join(d, fname))
            if not text:
                continue
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            for node in tree.body:
                target: Optional[ast.expr] = None
                value: Optional[ast.expr] = None
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target, value = node.targets[0], node.value
                elif isinstance(node, ast.AnnAssign):
                    target, value = node.target, node.value
                if isinstance(target, ast.Name) and target.id == "MAPPING" and value is not None:
                    with contextlib.suppress(ValueError, TypeError, SyntaxError, RecursionError):
                        lit = ast.literal_eval(value)
                        if isinstance(lit, dict):
                            mapping.update({str(k): str(v) for k, v in lit.items()})
    return mapping


def _top_level_claims(dirs: Sequence[str], top: str) -> bool:
    for d in dirs:
        for fname in _listdir(d):
            if fname.endswith((".dist-info", ".egg-info")):
                text = _read_small(os.path.join(d, fname, "top_level.txt"))
                if text and top in text.split():
                    return True
    return False


def module_importable(env: Environment, module: str) -> Optional[bool]:
    """Decide statically whether ``import <module>`` can succeed in ``env``.

    Searched, in ``sys.path`` order: the ``PYTHONPATH`` entries of ``env.env_vars``, the
    standard library directories of the base interpreter, the site-packages directories
    and the directories (or zip files) their ``.pth`` files add.  A hit is
    ``<top>/__init__.py``, ``<top>.py``/``.pyc``, ``<top>.*.so``/``.pyd``, or a directory
    without ``__init__.py`` (a namespace package, Python 3 only); dotted names are
    followed inside the package directories.  Then setuptools' editable-install finder
    mappings, built-in module names, and ``top_level.txt`` of installed distributions.
    ``import`` lines of ``.pth`` files are never executed.  Nothing is imported.

    Args:
        env: the environment, from :func:`read_environment`.
        module: a module name, e.g. ``"envdoctor_fixture_layers"`` or ``"mypkg.layers"``.

    Returns:
        True when found; False when certainly absent; None when unknowable (a submodule of
        a plain module or extension, a distribution claiming the name without files, a
        ``.pth`` import hook naming it, or an unreadable zip on the path).
    """
    parts = module.strip().split(".")
    if not parts or not all(p.isidentifier() for p in parts):
        return False
    top = parts[0]
    py2 = env.python_version.startswith("2.")
    pythonpath = [
        os.path.abspath(p) for p in env.env_vars.get("PYTHONPATH", "").split(os.pathsep) if p
    ]
    pth = _scan_pth(env.site_packages)
    search = _dedupe_paths([*pythonpath, *_stdlib_dirs(env), *pth.dirs])
    portions: list[str] = []
    unknown = False
    for entry in search:
        if _isfile(entry):
            got = _in_zip(entry, parts)
            if got:
                return True
            unknown = unknown or got is None
            continue
        kind = _entry_kind(entry, top, py2)
        if kind == "package":
            return _resolve_sub([os.path.join(entry, top)], parts[1:], py2, True)
        if kind == "module":
            return True if len(parts) == 1 else None
        if kind == "namespace":
            portions.append(os.path.join(entry, top))
    if portions:
        got = _resolve_sub(portions, parts[1:], py2, False)
        if got is not False:
            return got
    mapping = _editable_mappings(env.site_packages)
    if top in mapping:
        target = mapping[top]
        if _isdir(target):
            return _resolve_sub(
                [target], parts[1:], py2, _isfile(os.path.join(target, "__init__.py"))
            )
        if _isfile(target):
            return True if len(parts) == 1 else None
    if top in sys.builtin_module_names:
        return True if len(parts) == 1 else None
    if not _stdlib_dirs(env) and top in getattr(sys, "stdlib_module_names", ()):
        return None
    if _top_level_claims(env.site_packages, top):
        return None
    for _, line in pth.import_lines:
        if re.search(rf"\b{re.escape(top)}\b", line):
            return None
    if unknown:
        return None
    return False


# --------------------------------------------------------------------------------------------
# pip_check


@lru_cache(maxsize=8192)
def _requirement(line: str) -> Optional[Requirement]:
    try:
        return Requirement(line)
    except InvalidRequirement:
        return None


@lru_cache(maxsize=1024)
def _specifier(text: str) -> Optional[SpecifierSet]:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def _marker_env(env: Environment) -> dict[str, str]:
    from packaging.markers import default_environment  # noqa: PLC0415  (startup: packaging costs ~30 ms, only when a marker is evaluated)

    menv: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
    version = env.python_version
    if version:
        full = version if version.count(".") >= 2 else version + ".0"
        menv["python_version"] = _xy(version)
        menv["python_full_version"] = full
        if env.implementation == "cpython":
            menv["implementation_version"] = full
    impl = env.implementation or "cpython"
    menv["implementation_name"] = impl
    menv["platform_python_implementation"] = {"cpython": "CPython", "pypy": "PyPy"}.get(impl, impl)
    if env.arch:
        menv["platform_machine"] = env.arch
    return menv


def _marker_applies(marker: Marker, menv: Mapping[str, str], extras: Iterable[str]) -> bool:
    for extra in ("", *extras):
        try:
            if marker.evaluate({**menv, "extra": extra}):
                return True
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName, InvalidVersion):
            return False
    return False


def _requested_extras(
    env: Environment, menv: Mapping[str, str], seed: Mapping[str, set[str]]
) -> dict[str, set[str]]:
    """Extras requested of each distribution by the requirements of installed ones (fixpoint)."""
    requested: dict[str, set[str]] = {k: set(v) for k, v in seed.items()}
    for _ in range(20):
        changed = False
        for pkg in env.packages.values():
            mine = requested.get(pkg.name, set())
            for line in pkg.requires:
                req = _requirement(line)
                if req is None or not req.extras:
                    continue
                if req.marker is not None and not _marker_applies(req.marker, menv, mine):
                    continue
                key = canonicalize_name(req.name)
                have = requested.setdefault(key, set())
                new = {canonicalize_name(e) for e in req.extras} - have
                if new:
                    have |= new
                    changed = True
        if not changed:
            break
    return requested


def pip_check(env: Environment, names: Optional[Iterable[str]] = None) -> list[tuple[str, str]]:
    """Find broken requirements among installed distributions, like ``pip check``.

    For each installed distribution (or only those in ``names``), every ``Requires-Dist``
    whose marker applies (markers are evaluated for the environment's Python version,
    implementation and architecture, and for each extra that is requested of that
    distribution, by ``names`` such as ``"tensorflow[and-cuda]"`` or by the requirements
    of other installed distributions; requirements needed only by unrequested extras are
    ignored) that is missing, or whose installed version is outside the specifier
    (pre-releases allowed), and a ``Requires-Python`` the environment's Python does not
    satisfy.  Unparsable requirement lines are skipped.  Nothing is run.

    Args:
        env: the environment, from :func:`read_environment`.
        names: distribution names or requirement strings with extras; None for all.

    Returns:
        Sorted ``(distribution, message)`` pairs, e.g. ``("tensorflow", "tensorflow 2.15.1
        requires numpy<2.0.0,>=1.23.5, but 2.1.0 is installed")``.
    """
    menv = _marker_env(env)
    seed: dict[str, set[str]] = {}
    targets: list[str] = []
    problems: set[tuple[str, str]] = set()
    if names is None:
        targets = list(env.packages)
    else:
        for raw in names:
            req = _requirement(raw)
            key: str = canonicalize_name(req.name if req else raw)
            if req is not None and req.extras:
                seed.setdefault(key, set()).update(canonicalize_name(e) for e in req.extras)
            if key not in env.packages:
                problems.add((key, f"{req.name if req else raw} is not installed"))
                continue
            targets.append(key)
    requested = _requested_extras(env, menv, seed)
    for key in dict.fromkeys(targets):
        pkg = env.packages[key]
        extras = requested.get(key, set())
        for line in pkg.requires:
            req = _requirement(line)
            if req is None:
                continue
            if req.marker is not None and not _marker_applies(req.marker, menv, extras):
                continue
            extras_text = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
            spec_text = f"{req.name}{extras_text}{req.specifier}"
            dep = env.packages.get(canonicalize_name(req.name))
            if dep is None:
                problems.add(
                    (key, f"{pkg.name} {pkg.version} requires {spec_text}, which is not installed")
                )
                continue
            if not req.specifier:
                continue
            try:
                ok = req.specifier.contains(Version(dep.version), prereleases=True)
            except InvalidVersion:
                problems.add(
                    (
                        key,
                        f"{pkg.name} {pkg.version} requires {spec_text}, but the installed"
                        f" {dep.name} version {dep.version!r} is not a valid version",
                    )
                )
                continue
            if not ok:
                problems.add(
                    (
                        key,
                        f"{pkg.name} {pkg.version} requires {spec_text},"
                        f" but {dep.version} is installed",
                    )
                )
        if pkg.requires_python and env.python_version:
            spec = _specifier(pkg.requires_python)
            pyver = menv["python_full_version"]
            if spec is not None:
                try:
                    ok = spec.contains(Version(pyver), prereleases=True)
                except InvalidVersion:
                    ok = True
                if not ok:
                    problems.add(
                        (
                            key,
                            f"{pkg.name} {pkg.version} requires Python {pkg.requires_python},"
                            f" but the environment has Python {env.python_version}",
                        )
                    )
    return sorted(problems)
