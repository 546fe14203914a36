"""Which R is installed and which R packages it has, read from files (R is never run).

R computes its library paths at startup (``R_HOME/library/base/R/Rprofile``, R 4.2.2):

1. the environment files set variables, each line overriding what is already set:
   ``R_HOME/etc/Renviron`` (Debian: ``R_LIBS_USER=${R_LIBS_USER:-'%U'}``,
   ``R_LIBS_SITE=${R_LIBS_SITE:-'/usr/local/lib/R/site-library:%S'}``), then the site file
   (``R_ENVIRON``, else ``R_HOME/etc/Renviron.site``), then the user file
   (``R_ENVIRON_USER``, else ``.Renviron`` in the working directory, else ``~/.Renviron``)
   (R's ``?Startup``);
2. ``%V``/``%v``/``%p``/``%U``/``%S`` are expanded in ``R_LIBS_USER`` and ``R_LIBS_SITE``
   (``.expand_R_libs_env_var``: ``%U`` is ``~/R/<platform>-library/<x.y>``, ``%S`` is
   ``R_HOME/site-library``);
3. ``.libPaths()`` is ``R_LIBS``, then ``R_LIBS_USER``, then ``R_LIBS_SITE`` (the site
   entries that exist), then ``R_HOME/library``; entries that do not exist are dropped.

A package is taken from the first library path that holds ``<lib>/<pkg>/DESCRIPTION``, as
``library()`` does.  When envdoctor runs under R (``R_HOME`` is set: R exports it to every
child), the variables are already R's and the environment files are not read again.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

from envdoctor.knowledge.versions import parse

WATCHED = ("reticulate", "keras", "keras3", "tensorflow", "jsonlite")
"""The R packages envdoctor reads."""

R_HOME_GUESSES = (
    "/usr/lib/R",
    "/usr/lib64/R",
    "/usr/local/lib/R",
    "/usr/local/lib64/R",
    "/opt/R/current/lib/R",
    "/Library/Frameworks/R.framework/Resources",
)
"""Where R_HOME is when ``R`` is not on PATH (Debian/Ubuntu, Fedora, source builds, Posit's
``/opt/R/<version>``, the macOS framework)."""

MAX_DESCRIPTION_BYTES = 256 * 1024

_R_HOME_DIR_RE = re.compile(r"""^\s*R_HOME_DIR=["']?([^"'\s$]+)["']?\s*$""", re.MULTILINE)
_REQ_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9.]*)\s*(?:\(\s*([<>=!]+)\s*([^)\s]+)\s*\))?\s*$")


@dataclass(frozen=True)
class RPackage:
    """One installed R package, from its ``DESCRIPTION``.

    Attributes:
        name: ``Package:``.
        version: ``Version:``.
        library: the library directory it was found in.
        requires: ``(package, "op version")`` pairs of its ``Depends`` and ``Imports``
            (``("reticulate", ">= 1.42.0")``; the constraint is "" when there is none).
        built: ``Built:`` (the R version and platform it was built with).
    """

    name: str
    version: str
    library: str
    requires: tuple[tuple[str, str], ...] = ()
    built: str = ""


@dataclass(frozen=True)
class RLibPath:
    """One entry of R's library search path.

    Attributes:
        path: the directory.
        origin: ``R_LIBS``, ``R_LIBS_USER``, ``R_LIBS_SITE`` or ``.Library``.
        exists: False for entries R would drop (they are kept here to say so).
    """

    path: str
    origin: str
    exists: bool


@dataclass(frozen=True)
class RInstall:
    """The R installation as envdoctor reads it.

    Attributes:
        r_home: ``R_HOME``, or "" when no R was found.
        r_version: e.g. ``"4.2.2"`` (the base package's version), "" when unknown.
        platform: e.g. ``"x86_64-pc-linux-gnu"``.
        lib_paths: the library paths in search order, missing ones included.
        packages: the :data:`WATCHED` packages found, by name.
        environ: the variables R starts with after its environment files (only the
            ``R_*``, ``RETICULATE_*``, ``KERAS_*``, ``TENSORFLOW_*``, ``TF_*`` and
            ``WORKON_HOME`` ones).
        notes: what could not be read, in plain words.
    """

    r_home: str
    r_version: str
    platform: str
    lib_paths: tuple[RLibPath, ...] = ()
    packages: dict[str, RPackage] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def version_of(self, name: str) -> Optional[str]:
        """Return the installed version of R package ``name``, or None."""
        pkg = self.packages.get(name)
        return pkg.version if pkg else None


def _read(path: str, limit: int = MAX_DESCRIPTION_BYTES) -> Optional[str]:
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit)
    except OSError:
        return None
    return data.decode("utf-8", "replace")


def parse_dcf(text: str) -> dict[str, str]:
    """Parse the first record of a Debian-control-style file (R's ``DESCRIPTION``).

    Args:
        text: the file's text.

    Returns:
        Field name -> value; continuation lines (starting with blanks) are joined with a
        space.
    """
    out: dict[str, str] = {}
    last: Optional[str] = None
    for line in text.splitlines():
        if not line.strip():
            if out:
                break
            continue
        if line[0] in " \t" and last is not None:
            out[last] = (out[last] + " " + line.strip()).strip()
            continue
        name, sep, value = line.partition(":")
        if sep:
            last = name.strip()
            out[last] = value.strip()
    return out


def parse_requirements(value: str) -> tuple[tuple[str, str], ...]:
    """Parse a ``Depends``/``Imports`` field: ``"reticulate (>= 1.42.0), R6"``.

    Returns:
        ``(("reticulate", ">= 1.42.0"), ("R6", ""))``; ``R`` itself is left out.
    """
    out: list[tuple[str, str]] = []
    for part in value.split(","):
        m = _REQ_RE.match(part)
        if not m or m.group(1) == "R":
            continue
        spec = f"{m.group(2)} {m.group(3)}" if m.group(2) else ""
        out.append((m.group(1), spec))
    return tuple(out)


def r_version_satisfies(version: Optional[str], spec: str) -> Optional[bool]:
    """Return whether R package ``version`` meets ``spec`` (``">= 1.42.0"``); None if unknown.

    R versions (``1.28``, ``2.16.0``, ``1.5.1.9000``) compare as dotted numbers, which is
    what :mod:`packaging` does for them.
    """
    if not spec:
        return True
    op, _, wanted = spec.partition(" ")
    have, want = parse(version), parse(wanted)
    if have is None or want is None:
        return None
    table = {
        ">=": have >= want,
        ">": have > want,
        "<=": have <= want,
        "<": have < want,
        "==": have == want,
        "!=": have != want,
    }
    return table.get(op)


def read_package(library: str, name: str) -> Optional[RPackage]:
    """Read ``<library>/<name>/DESCRIPTION``; None when absent or not that package."""
    text = _read(os.path.join(library, name, "DESCRIPTION"))
    if text is None:
        return None
    dcf = parse_dcf(text)
    if dcf.get("Package") != name or not dcf.get("Version"):
        return None
    reqs = parse_requirements(dcf.get("Depends", "")) + parse_requirements(dcf.get("Imports", ""))
    return RPackage(
        name=name,
        version=dcf["Version"],
        library=library,
        requires=reqs,
        built=dcf.get("Built", ""),
    )


def find_r_home(environ: Mapping[str, str]) -> str:
    """Return ``R_HOME``: the variable, else what the ``R`` script on PATH says, else a guess.

    The ``R`` front end is a shell script with an ``R_HOME_DIR=...`` line (``/usr/bin/R`` on
    Debian), read as text.

    Returns:
        The directory, or "" when no R installation is found.
    """
    home = environ.get("R_HOME", "").strip()
    if home and os.path.isdir(home):
        return home
    script = shutil.which("R", path=environ.get("PATH", os.defpath))
    if script:
        text = _read(script, 64 * 1024) or ""
        for m in _R_HOME_DIR_RE.finditer(text):
            if os.path.isdir(os.path.join(m.group(1), "library", "base")):
                return m.group(1)
        real = os.path.realpath(script)
        guess = os.path.dirname(os.path.dirname(real))
        if os.path.isdir(os.path.join(guess, "library", "base")):
            return guess
    for guess in R_HOME_GUESSES:
        if os.path.isdir(os.path.join(guess, "library", "base")):
            return guess
    return ""


_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)(?:(:?-)([^}]*))?\}")


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _expand_renviron(value: str, env: Mapping[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name, op, default = m.group(1), m.group(2), m.group(3)
        current = env.get(name)
        if op == ":-" and current:
            return current
        if op == "-" and current is not None:
            return current
        if op:
            return _unquote(_expand_renviron(default or "", env))
        return current or ""

    return _VAR_RE.sub(sub, value)


def apply_renviron(text: str, env: dict[str, str]) -> None:
    """Apply one R environment file to ``env`` as R does: each ``name=value`` overrides.

    ``${VAR}``, ``${VAR-default}`` and ``${VAR:-default}`` are expanded; quotes around the
    value and around defaults are removed (R ``src/main/Renviron.c``, ``?Startup``).

    Args:
        text: the file's text.
        env: the variables, updated in place.
    """
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        name = name.strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
            continue
        env[name] = _unquote(_expand_renviron(_unquote(value), env))


def _renviron_files(r_home: str, environ: Mapping[str, str], cwd: str, home: str) -> list[str]:
    files = [os.path.join(r_home, "etc", "Renviron")] if r_home else []
    site = environ.get("R_ENVIRON") or (
        os.path.join(r_home, "etc", "Renviron.site") if r_home else ""
    )
    if site:
        files.append(site)
    user = environ.get("R_ENVIRON_USER")
    if user:
        files.append(os.path.expanduser(user))
    else:
        local = os.path.join(cwd, ".Renviron")
        files.append(local if os.path.isfile(local) else os.path.join(home, ".Renviron"))
    return files


def where_set(
    name: str,
    environ: Optional[Mapping[str, str]] = None,
    *,
    cwd: Optional[str] = None,
    home: Optional[str] = None,
) -> str:
    """Say where R gets the variable ``name`` from, for a "change this line" message.

    Reads R's environment files in R's order (``Renviron``, ``Renviron.site``, the user's
    ``.Renviron``: :func:`_renviron_files`); the last one with a ``name=`` line wins.

    Returns:
        ``"line N of FILE"``, or ``"the environment R was started from (shell profile,
        IDE or service settings)"`` when no environment file sets it, or "" when it is
        set nowhere.
    """
    env_in: Mapping[str, str] = os.environ if environ is None else environ
    home = home or env_in.get("HOME") or os.path.expanduser("~")
    cwd = cwd or os.getcwd()
    r_home = env_in.get("R_HOME", "").strip() or find_r_home(env_in)
    found = ""
    for path in _renviron_files(r_home, env_in, cwd, home) if r_home else []:
        text = _read(path)
        if text is None:
            continue
        for number, raw in enumerate(text.splitlines(), 1):
            left, sep, _value = raw.strip().partition("=")
            if sep and left.strip() == name:
                found = f"line {number} of {path}"
    if found:
        return found
    if name in env_in:
        return "the environment R was started from (shell profile, IDE or service settings)"
    return ""


def _r_version(r_home: str) -> str:
    text = _read(os.path.join(r_home, "library", "base", "DESCRIPTION")) if r_home else None
    return parse_dcf(text).get("Version", "") if text else ""


def _platform(env: Mapping[str, str], r_home: str) -> str:
    if env.get("R_PLATFORM"):
        return env["R_PLATFORM"]
    for name in ("stats", "utils", "methods"):
        text = _read(os.path.join(r_home, "library", name, "DESCRIPTION")) if r_home else None
        built = parse_dcf(text).get("Built", "") if text else ""
        parts = [p.strip() for p in built.split(";")]
        if len(parts) > 1 and parts[1]:
            return parts[1]
    system = platform.system().lower()
    if system == "darwin":
        return f"{platform.machine()}-apple-darwin"
    return f"{platform.machine()}-pc-linux-gnu"


def _expand_libs(value: str, *, version: str, plat: str, home: str, r_home: str) -> str:
    """R's ``.expand_R_libs_env_var``: ``%V``, ``%v``, ``%p``, ``%U``, ``%S``, ``%%``."""
    xy = ".".join(version.split(".")[:2]) if version else ""
    if platform.system() == "Darwin":
        user_default = os.path.join(home, "Library", "R", platform.machine(), xy, "library")
    else:
        user_default = os.path.join(home, "R", f"{plat}-library", xy)
    specs = {
        "V": version,
        "v": xy,
        "p": plat,
        "a": platform.machine(),
        "o": "linux-gnu" if platform.system() == "Linux" else platform.system().lower(),
        "U": user_default,
        "S": os.path.join(r_home, "site-library"),
    }
    return re.sub(
        r"%([%VvpaoUS])", lambda m: "%" if m.group(1) == "%" else specs[m.group(1)], value
    )


def _split(value: str) -> list[str]:
    if value.strip() == "NULL":
        return []
    return [p for p in value.split(":") if p.strip()]


def library_paths(
    env: Mapping[str, str], *, r_home: str, version: str, plat: str, home: str
) -> list[RLibPath]:
    """Return R's library search path for the variables ``env`` (after the Renviron files).

    Args:
        env: the variables R starts with.
        r_home: ``R_HOME``.
        version: the R version (for ``%v``).
        plat: the R platform (for ``%p``).
        home: the user's home (for ``~`` and ``%U``).

    Returns:
        ``R_LIBS``, ``R_LIBS_USER``, ``R_LIBS_SITE`` entries, then ``R_HOME/library``, each
        once (by real path), with ``exists`` saying whether R keeps it.
    """

    def expand(value: str) -> str:
        return _expand_libs(value, version=version, plat=plat, home=home, r_home=r_home)

    out: list[RLibPath] = []
    seen: set[str] = set()
    sources: list[tuple[str, Sequence[str]]] = [
        ("R_LIBS", _split(env.get("R_LIBS", ""))),
        ("R_LIBS_USER", _split(expand(env.get("R_LIBS_USER", "%U")))),
        (
            "R_LIBS_SITE",
            _split(expand(env.get("R_LIBS_SITE", "%S"))),
        ),
        (".Library", [os.path.join(r_home, "library")] if r_home else []),
    ]
    for origin, entries in sources:
        for entry in entries:
            path = entry.strip()
            if path == "~" or path.startswith("~/"):
                path = home + path[1:]
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            out.append(RLibPath(path=path, origin=origin, exists=os.path.isdir(path)))
    return out


_KEPT_VARS = re.compile(
    r"^(R_[A-Z_]+|RETICULATE_[A-Z_]+|KERAS_[A-Z_]+|TENSORFLOW_[A-Z_]+|TF_[A-Z_]+|WORKON_HOME)$"
)


def read_r_install(
    environ: Optional[Mapping[str, str]] = None,
    *,
    cwd: Optional[str] = None,
    home: Optional[str] = None,
    names: Sequence[str] = WATCHED,
) -> RInstall:
    """Find R and read the ``DESCRIPTION`` of the watched R packages, without running R.

    Args:
        environ: the environment variables (default ``os.environ``).  When ``R_HOME`` is
            set, envdoctor is taken to run under R and the variables are R's already.
        cwd: the working directory (for a project ``.Renviron``; default the process's).
        home: the home directory (default ``HOME``).
        names: the packages to read.

    Returns:
        The installation; ``r_home`` is "" when no R is found (then nothing else is
        filled in).  Never raises for unreadable files: they become notes.
    """
    env_in: Mapping[str, str] = os.environ if environ is None else environ
    home = home or env_in.get("HOME") or os.path.expanduser("~")
    cwd = cwd or os.getcwd()
    r_home = find_r_home(env_in)
    if not r_home:
        return RInstall(r_home="", r_version="", platform="", notes=("no R installation found",))
    env = dict(env_in)
    notes: list[str] = []
    if "R_HOME" not in env_in:
        env["R_HOME"] = r_home
        for path in _renviron_files(r_home, env_in, cwd, home):
            text = _read(path)
            if text is not None:
                apply_renviron(text, env)
    version = _r_version(r_home)
    if not version:
        notes.append(f"R version unknown: {r_home}/library/base/DESCRIPTION unreadable")
    plat = _platform(env, r_home)
    paths = library_paths(env, r_home=r_home, version=version, plat=plat, home=home)
    packages: dict[str, RPackage] = {}
    for lib in paths:
        if not lib.exists:
            continue
        for name in names:
            if name not in packages:
                pkg = read_package(lib.path, name)
                if pkg is not None:
                    packages[name] = pkg
    kept = {k: v for k, v in env.items() if _KEPT_VARS.match(k)}
    return RInstall(
        r_home=r_home,
        r_version=version,
        platform=plat,
        lib_paths=tuple(paths),
        packages=packages,
        environ=kept,
        notes=tuple(notes),
    )
