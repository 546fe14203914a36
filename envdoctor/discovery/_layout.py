r"""Turn a found directory or interpreter path into a :class:`Candidate`, statically.

Nothing here runs a program.  An environment is *broken* when its interpreter is
missing, is a dangling symlink, sits in an unreadable directory, or is not a program
at all (empty, a directory, no ELF / Mach-O / PE header and no ``#!`` line); the reason
is recorded, never raised.

Layouts (PEP 405 ``pyvenv.cfg``; conda's ``conda-meta/``; CPython's ``lib/pythonX.Y``
and Windows ``Lib``; venvs' ``bin/`` or ``Scripts\``; conda and python.org installs'
``python.exe`` at the prefix root on Windows): ``shared/reference/compat-facts.md`` §5.3.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from typing import Optional

from envdoctor.discovery import _fs, _places
from envdoctor.discovery._base import Candidate, Context
from envdoctor.inventory import layout

INTERPRETER_NAMES = (
    os.path.join("bin", "python"),
    os.path.join("bin", "python3"),
    os.path.join("Scripts", "python.exe"),
    "python.exe",
)
"""Where an environment keeps its interpreter, in the order looked for."""

_PY3X_RE = re.compile(r"^python3\.\d+t?$")
_VERSION_DIR_RE = re.compile(r"^(?:cpython|pypy|graalpy)-(\d+\.\d+\.\d+\S*?)-")
_MAGIC = (
    b"\x7fELF",  # Linux and most POSIX systems
    b"\xcf\xfa\xed\xfe",  # Mach-O 64-bit
    b"\xce\xfa\xed\xfe",  # Mach-O 32-bit
    b"\xca\xfe\xba\xbe",  # Mach-O universal (fat)
    b"MZ",  # Windows PE
    b"#!",  # a script (pyenv shims, conda's wrappers, test doubles)
)


def interpreter_in(prefix: str) -> Optional[str]:
    """Return the interpreter path inside environment ``prefix`` (it may be dangling), or None.

    Args:
        prefix: an environment or installation directory.

    Returns:
        The first of :data:`INTERPRETER_NAMES` present (a dangling symlink counts), else a
        ``bin/python3.X``, else None.
    """
    for rel in INTERPRETER_NAMES:
        path = os.path.join(prefix, rel)
        if _fs.lexists(path):
            return path
    for name in _fs.entries(os.path.join(prefix, "bin")):
        if _PY3X_RE.match(name):
            return os.path.join(prefix, "bin", name)
    return None


def interpreter_problem(python: str) -> Optional[str]:
    """Return why ``python`` cannot be an interpreter, or None when it may be one.

    Args:
        python: the path to check (never run).

    Returns:
        ``"interpreter missing: ..."``, ``"dangling symlink: ..."``, ``"unreadable ..."``,
        ``"not executable: ..."`` or ``"not Python: ..."``; None when it is a readable
        executable file with a program header.
    """
    try:
        lst = _fs.stat(python, follow=False)
    except FileNotFoundError:
        return f"interpreter missing: {python} does not exist"
    except (OSError, ValueError) as exc:
        return f"unreadable directory: cannot reach {python}: {exc}"
    if stat.S_ISLNK(lst.st_mode):
        try:
            _fs.stat(python)
        except OSError as exc:
            try:
                target = _fs.readlink(python)
            except OSError:
                target = "?"
            why = "target missing" if isinstance(exc, FileNotFoundError) else _fs.describe(exc)
            return f"dangling symlink: {python} -> {target} ({why})"
    try:
        st = _fs.stat(python)
    except OSError as exc:
        return f"unreadable directory: cannot reach {python}: {_fs.describe(exc)}"
    if stat.S_ISDIR(st.st_mode):
        return f"not Python: {python} is a directory"
    if not stat.S_ISREG(st.st_mode):
        return f"not Python: {python} is not a regular file"
    if st.st_size == 0:
        return f"not Python: {python} is an empty file"
    windows_exe = python.lower().endswith(".exe")
    if os.name == "posix" and not windows_exe and not _fs.x_ok(python):
        return f"not executable: {python} has no execute permission"
    head = _fs.read_head(python, 4)
    if isinstance(head, OSError):
        return f"unreadable interpreter: {python}: {_fs.describe(head)}"
    if not head.startswith(_MAGIC):
        return f"not Python: {python} is not a program (no ELF, Mach-O or PE header, no #! line)"
    return None


# The layout rules are the inventory's (one copy): discovery asks the looser "any sign of
# Python here?" (shows_python) and resolves a found interpreter's prefix its own way
# (environment_prefix); read_environment uses the strict has_evidence.
prefix_of = layout.environment_prefix
has_evidence = layout.shows_python


def read_pyvenv_cfg(prefix: str) -> Optional[dict[str, str]]:
    """Return ``prefix/pyvenv.cfg`` as a dict (keys lower-cased), or None when absent."""
    return layout.read_pyvenv_cfg(os.path.join(prefix, "pyvenv.cfg"))


def classify(ctx: Context, prefix: str, *, look_inside: bool = True) -> str:
    """Return the kind of the environment at ``prefix`` from its files and location.

    Args:
        ctx: the discovery context (for tool-owned directories).
        prefix: the environment directory.
        look_inside: False to judge by location only (for an unreadable directory).

    Returns:
        One of :data:`~envdoctor.discovery._base.KINDS`.
    """
    if look_inside and _fs.isdir(os.path.join(prefix, "conda-meta")):
        return "conda"
    cfg = read_pyvenv_cfg(prefix) if look_inside else None
    table = _places.location_kinds(ctx)
    versions_dirs = {_fs.norm(d) for d in _places.pyenv_versions_dirs(ctx)}
    for parent in {
        _fs.norm(os.path.dirname(os.path.abspath(prefix))),
        os.path.dirname(_fs.norm(prefix)),
    }:
        if (
            os.path.basename(parent) == "envs"
            and os.path.dirname(parent)
            and (os.path.dirname(os.path.dirname(parent)) in versions_dirs)
        ):
            return "pyenv-virtualenv"
        kind = table.get(parent)
        if kind == "pyenv":
            return "pyenv-virtualenv" if cfg is not None else "pyenv"
        if kind:
            return kind
    if cfg is not None:
        return "uv" if "uv" in cfg else "virtualenv" if "virtualenv" in cfg else "venv"
    if look_inside and has_evidence(prefix):
        return "system"
    return "unknown"


def default_name(kind: str, prefix: str, python: str) -> str:
    """Return a short display name for an environment.

    Args:
        kind: its kind.
        prefix: its prefix.
        python: its interpreter path.

    Returns:
        ``"base"`` for a conda root, ``"cpython-3.12.1"`` for a uv Python, the interpreter's
        real file name for a POSIX system Python (``"python3.11"``), ``"<project>/.venv"``
        for an in-project venv, else the prefix's directory name.
    """
    base = os.path.basename(os.path.normpath(prefix)) or prefix
    if base in (".venv", "venv", ".virtualenv", "virtualenv", "env", ".env"):
        return f"{os.path.basename(os.path.dirname(os.path.normpath(prefix)))}/{base}"
    if kind == "conda" and any(
        _fs.lexists(os.path.join(prefix, p))
        for p in ("condabin", os.path.join("bin", "conda"), os.path.join("Scripts", "conda.exe"))
    ):
        return "base"
    if kind == "uv-python":
        m = _VERSION_DIR_RE.match(base)
        return base[: m.end() - 1] if m else base
    if kind == "system" and python and _fs.lexists(python):
        real = os.path.basename(_fs.realpath(python))
        return real if _PY3X_RE.match(real) else base
    return base


def _prefix_problem(prefix: str) -> Optional[str]:
    listing = _fs.listdir(prefix)
    if not isinstance(listing, OSError):
        return None
    if isinstance(listing, FileNotFoundError):
        if _fs.islink(prefix):
            return f"dangling symlink: {prefix} -> {_readlink(prefix)} (target missing)"
        return f"interpreter missing: directory {prefix} does not exist"
    if isinstance(listing, NotADirectoryError):
        return f"not Python: {prefix} is a file, not an environment directory"
    return f"unreadable directory: {prefix}: {_fs.describe(listing)}"


def _readlink(path: str) -> str:
    try:
        return _fs.readlink(path)
    except OSError:
        return "?"


def from_prefix(
    ctx: Context,
    prefix: str,
    *,
    kind: Optional[str] = None,
    name: Optional[str] = None,
    notes: Iterable[str] = (),
) -> Candidate:
    """Build the candidate for environment directory ``prefix`` (broken ones included).

    Args:
        ctx: the discovery context.
        prefix: the environment directory as found.
        kind: the kind when the finder knows better than the files (poetry, pipenv...).
        name: the display name (default :func:`default_name`).
        notes: how it was found.

    Returns:
        The candidate; ``broken`` says why it cannot be used, if so.
    """
    prefix = os.path.abspath(prefix)
    problem = _prefix_problem(prefix)
    unreadable = bool(problem and problem.startswith("unreadable"))
    python = "" if problem else (interpreter_in(prefix) or "")
    if not problem and not python:
        what = "no bin/python, bin/python3, Scripts\\python.exe or python.exe"
        extra = (
            " (a conda environment without the python package)"
            if _fs.isdir(os.path.join(prefix, "conda-meta"))
            else ""
        )
        problem = f"interpreter missing: {what} in {prefix}{extra}"
    elif python:
        problem = interpreter_problem(python)
    if not python:
        python = os.path.join(prefix, INTERPRETER_NAMES[0])
    real_kind = kind or classify(ctx, prefix, look_inside=not unreadable)
    return Candidate(
        python=python,
        prefix=prefix,
        kind=real_kind,
        name=name or default_name(real_kind, prefix, python),
        broken=problem,
        notes=tuple(notes),
    )


def from_python(
    ctx: Context,
    python: str,
    *,
    kind: Optional[str] = None,
    name: Optional[str] = None,
    notes: Iterable[str] = (),
) -> Candidate:
    """Build the candidate for interpreter path ``python`` (broken ones included).

    Args:
        ctx: the discovery context.
        python: the interpreter path as found (made absolute against ``ctx.cwd``).
        kind: the kind when the finder knows better than the files.
        name: the display name (default :func:`default_name`).
        notes: how it was found.

    Returns:
        The candidate; ``broken`` says why it cannot be used, if so.
    """
    python = os.path.normpath(os.path.join(ctx.cwd, python))
    if _fs.isdir(python):
        return from_prefix(ctx, python, kind=kind, name=name, notes=notes)
    prefix = prefix_of(python)
    problem = interpreter_problem(python)
    real_kind = kind or classify(ctx, prefix)
    return Candidate(
        python=python,
        prefix=prefix,
        kind=real_kind,
        name=name or default_name(real_kind, prefix, python),
        broken=problem,
        notes=tuple(notes),
    )


def _own_root(prefix: str) -> bool:
    """True when ``prefix`` is an environment of its own: ``pyvenv.cfg`` or ``conda-meta/``."""
    return _fs.isfile(os.path.join(prefix, "pyvenv.cfg")) or _fs.isdir(
        os.path.join(prefix, "conda-meta")
    )


def identity(cand: Candidate) -> str:
    """Return the key that makes two candidates the same environment.

    Keyed on the prefix when the prefix is an environment of its own (``pyvenv.cfg``: a
    venv, whose ``bin/python`` is a symlink to its base or, with ``--copies``, a copy of
    it; ``conda-meta/``: a conda prefix, whose ``bin/python`` may be a hard or symbolic
    link into another prefix or the package cache).  Two such prefixes are two
    environments even when their interpreters resolve to the same file: each has its own
    site-packages.  Any other interpreter is keyed on its real path, so ``python``,
    ``python3`` and ``python3.X`` of one installation, ``/bin/python3`` and
    ``/usr/bin/python3`` on a merged-/usr system, or a pyenv shim and the version it
    selects are one (a link outside any environment, ``~/.local/bin/python3``, is the
    interpreter it resolves to, as :func:`prefix_of` says).  Candidates without a usable
    interpreter are keyed on the real path of the prefix.

    Args:
        cand: the candidate.

    Returns:
        ``"python:<realpath>"`` or ``"prefix:<realpath>"``.
    """
    if not cand.python and not cand.prefix:
        return f"note:{cand.name}:{cand.broken}"
    if cand.prefix and _own_root(cand.prefix):
        return "prefix:" + _fs.norm(cand.prefix)
    if not cand.python or not _fs.lexists(cand.python) or cand.broken:
        return "prefix:" + _fs.norm(cand.prefix or cand.python)
    return "python:" + _fs.norm(cand.python)
