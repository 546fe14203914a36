r"""Where a Python environment's files are: the one copy of the layout rules.

From an interpreter path, statically: the prefix it implies (``bin/`` / ``Scripts\`` /
the root on Windows), ``pyvenv.cfg`` (PEP 405), whether a directory is a Python
environment at all (two questions, both here: :func:`has_evidence`, "can it be read from
its files", and :func:`shows_python`, "is there any sign of an installation", which
discovery asks of every directory it lists), ``lib/pythonX.Y`` and the standard library,
the version (``patchlevel.h``), the CPU architecture (ELF / PE / Mach-O header), the
site-packages order (CPython's ``Lib/site.py``, Debian's ``dist-packages`` patch, the user
site), ``.pth`` files and the base prefix of a venv (``home`` / ``orig-prefix.txt``); and
the run of the target interpreter when the files do not say enough
(:func:`envdoctor.probe.probe_interpreter`).

Used by :func:`envdoctor.inventory.read_environment`, by the module search of
:mod:`envdoctor.inventory.imports` and by :mod:`envdoctor.discovery._layout`.  May import
only :mod:`envdoctor.errors`, :mod:`envdoctor.types` and (lazily) :mod:`envdoctor.probe`.

Sources: PEP 405 (``pyvenv.cfg``), CPython's ``Lib/site.py`` (site-packages order,
``.pth`` files, user site), Debian's ``site.py`` patch (``dist-packages``), the ELF, PE
and Mach-O header formats (``e_machine``, ``Machine``, ``cputype``).
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import site
import struct
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

from envdoctor import fsread
from envdoctor.errors import EnvironmentReadError
from envdoctor.types import Environment

MAX_SMALL_FILE_BYTES = 1024 * 1024
"""Largest pyvenv.cfg / keras.json / .pth / build_info.py / top_level.txt read (bytes)."""

MAX_PTH_FILES = 2000
"""Most ``.pth`` files read per site directory."""

_VERSION_RE = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?")
_LIBDIR_RE = re.compile(r"^(python|pypy)(\d+)\.(\d+)(t?)$")
_EXE_VERSION_RE = re.compile(r"^(?:python|pypy)(\d+)\.(\d+)t?(?:\.exe)?$")
_DLL_RE = re.compile(r"^python(\d)(\d+)t?\.(?:dll|zip)$", re.IGNORECASE)
_ROOT_DLL_RE = re.compile(r"^python\d+t?\.dll$", re.IGNORECASE)
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


# One copy of the bounded, never-raising file helpers: envdoctor.fsread (a leaf), whose
# observations the warm ``which --for-r`` path records and replays.
def read_small(path: str, limit: int = MAX_SMALL_FILE_BYTES) -> Optional[str]:
    """Return the text of ``path`` (UTF-8, BOM stripped), or None if missing/unreadable/too big."""
    return fsread.read_small(path, limit)
is_dir = fsread.isdir
"""``os.path.isdir`` that is False instead of raising."""
is_file = fsread.isfile
"""``os.path.isfile`` that is False instead of raising."""
list_dir = fsread.entries
"""The sorted entries of a directory; ``[]`` for a missing or unreadable one."""
real_key = fsread.norm
"""A key identifying a directory: its real path, case-normalized."""


def _dedupe_dirs(paths: Iterable[str]) -> list[str]:
    """Keep existing directories, first spelling of each real directory, in order."""
    out: list[str] = []
    seen: set[str] = set()
    for p in paths:
        if not p or not is_dir(p):
            continue
        key = real_key(p)
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


def major_minor(version: str) -> str:
    """``"3.11"`` from ``"3.11.7"`` (``""`` when there is no minor part)."""
    parts = version.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else ""


def home_dir(environ: Mapping[str, str]) -> str:
    """The home directory the target sees: ``HOME``, ``USERPROFILE``, else this user's."""
    home = environ.get("HOME") or environ.get("USERPROFILE")
    return home if home else os.path.expanduser("~")


def expand_user(path: str, environ: Mapping[str, str]) -> str:
    """Expand a leading ``~`` with :func:`home_dir` of ``environ``."""
    if path == "~" or path.startswith(("~/", "~" + os.sep)):
        return home_dir(environ) + path[1:]
    return path


# --------------------------------------------------------------------------------------------
# locating the interpreter and its prefix


def locate_interpreter(python: str) -> str:
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
    if is_dir(path):
        for rel in (*_POSIX_CANDIDATES, *_WINDOWS_CANDIDATES):
            cand = os.path.join(path, rel)
            if is_file(cand):
                path = cand
                break
        else:
            raise EnvironmentReadError(
                f"{python}: a directory without bin/python, bin/python3, Scripts/python.exe"
                " or python.exe; not a Python environment"
            )
    if not is_file(path):
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
        for name in sorted(list_dir(libdir)):
            m = _LIBDIR_RE.match(name)
            if not m:
                continue
            path = os.path.join(libdir, name)
            if not is_dir(path):
                continue
            xy = f"{m.group(2)}.{m.group(3)}" + m.group(4)
            key = f"{m.group(1)}{xy}"
            if key in seen:
                continue
            seen.add(key)
            found.append((path, xy, "pypy" if m.group(1) == "pypy" else "cpython"))
    return found


def _is_stdlib_dir(path: str) -> bool:
    return is_file(os.path.join(path, "os.py")) or is_file(os.path.join(path, "os.pyc"))


def _stdlib_lib_dirs(prefix: str) -> list[tuple[str, str, str]]:
    """The ``lib/pythonX.Y`` dirs that hold a standard library (``os.py``), or a zipped one."""
    found = [entry for entry in _lib_dirs(prefix) if _is_stdlib_dir(entry[0])]
    if not found:
        for name in list_dir(os.path.join(prefix, "lib")):
            m = _DLL_RE.match(name)
            if m and name.lower().endswith(".zip"):
                found.append(
                    (os.path.join(prefix, "lib", name), f"{m.group(1)}.{m.group(2)}", "cpython")
                )
    return found


def has_evidence(prefix: str) -> bool:
    """True when ``prefix`` is visibly a Python environment or installation.

    Evidence: ``pyvenv.cfg``, ``conda-meta/``, a ``lib/pythonX.Y`` holding the standard
    library (a bare ``/usr/local/lib/python3.11`` made by Debian for ``dist-packages`` is
    not enough), a legacy virtualenv's ``orig-prefix.txt``, or a Windows ``Lib/os.py``.
    """
    return (
        is_file(os.path.join(prefix, "pyvenv.cfg"))
        or is_dir(os.path.join(prefix, "conda-meta"))
        or bool(_stdlib_lib_dirs(prefix))
        or any(is_file(os.path.join(d, "orig-prefix.txt")) for d, _, _ in _lib_dirs(prefix))
        or is_file(os.path.join(prefix, "Lib", "os.py"))
    )


def shows_python(prefix: str) -> bool:
    """True when ``prefix`` shows any sign of a Python environment or installation.

    The looser of the two questions (:func:`has_evidence` is the strict one): discovery
    asks it of every directory it lists, to keep a candidate and to decide whether the
    interpreter must be run to learn more.  Evidence: ``pyvenv.cfg``, ``conda-meta/``, any
    ``lib/python*``, ``lib/pypy*`` (or ``lib64/``) entry (a bare Debian
    ``lib/python3.X`` counts here), ``Lib/os.py`` (Windows) or a ``pythonXY.dll`` at the
    root.  Every :func:`has_evidence` prefix passes.

    Args:
        prefix: a directory (it need not exist; unreadable parts count as absent).

    Returns:
        True when one piece of evidence is there; never raises.
    """
    if is_file(os.path.join(prefix, "pyvenv.cfg")) or is_dir(os.path.join(prefix, "conda-meta")):
        return True
    for libname in ("lib", "lib64"):
        if any(n.startswith(("python", "pypy")) for n in list_dir(os.path.join(prefix, libname))):
            return True
    if is_file(os.path.join(prefix, "Lib", "os.py")):
        return True
    return any(_ROOT_DLL_RE.match(n) for n in list_dir(prefix))


def _bin_parent(absolute: str) -> str:
    bindir = os.path.dirname(absolute)
    if os.path.basename(bindir).lower() in ("bin", "scripts"):
        return os.path.dirname(bindir)
    return bindir


def environment_prefix(python: str) -> str:
    r"""Return the environment prefix a found interpreter path implies (discovery's rule).

    ``<p>/bin/python*`` and ``<p>\Scripts\python.exe`` (any case) give ``<p>``;
    ``<p>\python.exe`` (conda and python.org installs on Windows) gives ``<p>``.  When that
    directory shows no sign of Python (:func:`shows_python`; ``/bin/python3`` on a
    merged-/usr system), the interpreter's real path is used instead.  (:func:`_prefix_of`,
    the reader's rule, keeps the path unresolved and also says whether the layout is
    Windows'.)

    Args:
        python: the interpreter path (never run; it may be missing).

    Returns:
        The prefix (absolute).
    """
    prefix = _bin_parent(os.path.abspath(python))
    if not shows_python(prefix) and _lexists(python):
        real = _bin_parent(fsread.realpath(python))
        if shows_python(real):
            return real
    return prefix


_lexists = fsread.lexists


def read_pyvenv_cfg(path: str) -> Optional[dict[str, str]]:
    """Parse ``pyvenv.cfg`` (``key = value`` lines; keys lower-cased), or None when absent."""
    text = read_small(path, 64 * 1024)
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
    roots.append(os.path.join(home_dir(environ), ".pyenv"))
    return [real_key(os.path.join(r, "versions")) for r in roots]


def _patchlevel_version(prefix: str, xy: str) -> str:
    for inc in (f"python{xy}", f"python{xy}t"):
        text = read_small(os.path.join(prefix, "include", inc, "patchlevel.h"), 256 * 1024)
        if text:
            m = _PATCHLEVEL_RE.search(text)
            if m and major_minor(m.group(1)) == xy.rstrip("t"):
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
        base = os.path.join(home_dir(environ), ".local")
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
    cfg = read_pyvenv_cfg(os.path.join(prefix, "pyvenv.cfg"))
    if cfg is None:
        cfg = read_pyvenv_cfg(
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
    if is_dir(os.path.join(prefix, "conda-meta")):
        lay.conda = True
        if cfg is None:
            lay.kind = "conda"
        if not lay.version:
            for fname in sorted(list_dir(os.path.join(prefix, "conda-meta"))):
                if fname.startswith(("python-", "pypy-", "pypy3")) and fname.endswith(".json"):
                    parts = fname[: -len(".json")].rsplit("-", 2)
                    if len(parts) == 3 and parts[0] == "python":
                        lay.version = _version_text(parts[1])
                    elif len(parts) == 3 and parts[0].startswith("pypy"):
                        lay.implementation = "pypy"
    if lay.kind == "unknown":
        for libdir, _, _ in _lib_dirs(prefix):
            orig = read_small(os.path.join(libdir, "orig-prefix.txt"), 64 * 1024)
            if orig is not None:
                # virtualenv < 20 (no pyvenv.cfg): orig-prefix.txt names the base prefix;
                # no-global-site-packages.txt means the base site-packages are not used.
                isolated = is_file(os.path.join(libdir, "no-global-site-packages.txt"))
                lay.kind = "virtualenv"
                lay.base_prefix = orig.strip() or None
                lay.pyvenv = {
                    "virtualenv": "legacy",
                    "include-system-site-packages": "false" if isolated else "true",
                }
                break
    if lay.kind == "unknown":
        parent = real_key(os.path.dirname(os.path.abspath(prefix)))
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
        for name in list_dir(prefix):
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
    xy = major_minor(lay.version)
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


def apply_probe(lay: _Layout, info: Mapping[str, object], environ: Mapping[str, str]) -> None:
    """Take prefix, version, implementation, arch and site directories from a probe answer."""
    lay.probed = True
    prefix = str(info["prefix"])
    if prefix and real_key(prefix) != real_key(lay.prefix):
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
    if base and real_key(base) != real_key(lay.prefix):
        lay.base_prefix = base
    raw = info["site_packages"]
    probe_dirs = [str(p) for p in raw] if isinstance(raw, list) else []
    cfg = lay.pyvenv
    venv_isolated = (
        cfg is not None and cfg.get("include-system-site-packages", "false").lower() != "true"
    )
    user: list[str] = []
    if not venv_isolated:
        u = _user_site(environ, major_minor(lay.version), lay.windows)
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
    if not executable or real_key(executable) == real_key(lay.python):
        return
    inside = real_key(os.path.dirname(os.path.dirname(os.path.abspath(executable))))
    inside_win = real_key(os.path.dirname(os.path.abspath(executable)))
    if real_key(lay.prefix) not in (inside, inside_win) or not is_file(executable):
        return
    lay.notes.append(f"{lay.python} runs {executable}; commands name that interpreter")
    lay.python = executable
    lay.arch = lay.arch or _exe_arch(executable)


def static_layout(python: str, environ: Mapping[str, str]) -> _Layout:
    """The layout of the interpreter ``python`` read from files only (no program is run)."""
    prefix, windows = _prefix_of(python)
    lay = _Layout(python=python, prefix=prefix, windows=windows)
    if not has_evidence(prefix):
        real_prefix, real_windows = _prefix_of(os.path.realpath(python))
        if has_evidence(real_prefix):
            lay.prefix, lay.windows = real_prefix, real_windows
    _classify(lay, environ)
    if has_evidence(lay.prefix) and lay.version:
        lay.site_dirs = _site_dirs(lay, environ)
    lay.arch = _exe_arch(python)
    return lay


def current_layout(environ: Mapping[str, str]) -> _Layout:
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
        known.update(real_key(p) for p in site.getsitepackages())
    if site.ENABLE_USER_SITE:
        with contextlib.suppress(Exception):
            known.add(real_key(site.getusersitepackages()))
    dirs = [
        p
        for p in sys.path
        if p
        and (
            real_key(p) in known
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


def scan_pth(site_dirs: Sequence[str]) -> _PthScan:
    """Expand site dirs with the path lines of their ``.pth`` files (as ``site.addpackage``)."""
    out: list[str] = []
    imports: list[tuple[str, str]] = []
    for sd in site_dirs:
        out.append(sd)
        names = sorted(n for n in list_dir(sd) if n.endswith(".pth") and not n.startswith("."))
        for name in names[:MAX_PTH_FILES]:
            pth = os.path.join(sd, name)
            text = read_small(pth)
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
    return _PthScan(dedupe_paths(out), imports)


def dedupe_paths(paths: Iterable[str]) -> list[str]:
    """Like :func:`_dedupe_dirs` but keeps existing zip/egg files too."""
    out: list[str] = []
    seen: set[str] = set()
    for p in paths:
        if not p or not (is_dir(p) or is_file(p)):
            continue
        key = real_key(p)
        if key not in seen:
            seen.add(key)
            out.append(os.path.abspath(p))
    return out


def pythonpath_dirs(environ: Mapping[str, str]) -> list[str]:
    """The existing directories of ``PYTHONPATH`` in ``environ``, first spelling of each."""
    value = environ.get("PYTHONPATH", "")
    return dedupe_paths(
        os.path.abspath(expand_user(p, environ)) for p in value.split(os.pathsep) if p
    )


# --------------------------------------------------------------------------------------------
# TensorFlow build info




def base_prefix(env: Environment) -> str:
    """The prefix holding the standard library: pyvenv.cfg ``home``, orig-prefix.txt, or own."""
    cfg = read_pyvenv_cfg(os.path.join(env.prefix, "pyvenv.cfg"))
    home = (cfg or {}).get("home", "")
    if home:
        home = os.path.normpath(home)
        if os.path.basename(home).lower() in ("bin", "scripts"):
            return os.path.dirname(home)
        return home
    for libdir, _, _ in _lib_dirs(env.prefix):
        orig = read_small(os.path.join(libdir, "orig-prefix.txt"), 64 * 1024)
        if orig and orig.strip():
            return orig.strip()
    return env.prefix
