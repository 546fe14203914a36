r"""Source 10: Windows installs: the PEP 514 registry, the ``py`` launcher, python.org dirs.

* PEP 514: ``HKCU`` / ``HKLM`` ``Software\Python\<Company>\<Tag>\InstallPath`` (default
  value = install dir; ``ExecutablePath`` when set), both registry views; HKCU overrides
  the same Company/Tag in HKLM; Company ``PyLauncher`` is not an interpreter
  (https://peps.python.org/pep-0514/; compat-facts §5.3).  Read with :mod:`winreg`, only on
  Windows.
* ``py --list-paths`` (``-0p``): new launcher lines `` -V:3.12 *        C:\...\python.exe``,
  old launcher lines `` -3.11-64        C:\...\python.exe *``, and an active venv as
  `` *               C:\...\Scripts\python.exe``.  Run only on Windows.
* python.org's default install directories, ``%LOCALAPPDATA%\Programs\Python\Python3*``
  (per user) and ``%ProgramFiles%\Python3*`` (all users), read statically wherever those
  variables are set.

The parsers are pure functions over recorded text and registry entries, so they are
tested on any system; on Linux and macOS this source yields nothing.
"""

from __future__ import annotations

import ntpath
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple, Optional

from envdoctor.discovery import _fs, _layout
from envdoctor.discovery._base import Candidate, Context

NAME = "windows"

PY_LAUNCHER_TIMEOUT = 5.0
"""Seconds ``py --list-paths`` may take."""


class LauncherEntry(NamedTuple):
    """One line of ``py --list-paths``.

    Attributes:
        tag: ``"3.12"``, ``"3.11-64"``, ``"ContinuumAnalytics/Anaconda39-64"``; ``""`` for
            the active venv.
        path: the interpreter path.
        default: True for the launcher's default (the line marked ``*``).
    """

    tag: str
    path: str
    default: bool


class RegistryEntry(NamedTuple):
    r"""One PEP 514 ``<Company>\<Tag>`` key: where it was, and its ``InstallPath`` values."""

    hive: str
    company: str
    tag: str
    install_path: str
    executable_path: str


_NEW_RE = re.compile(r"^\s*-V:(?P<tag>\S+)\s+(?P<star>\*\s+)?(?P<path>\S.*?)\s*$")
_OLD_RE = re.compile(
    r"^\s*-(?P<tag>\d+(?:\.\d+)*(?:-(?:32|64|arm64))?)\s+(?P<star>\*\s+)?(?P<path>\S.*?)\s*$"
)
_ACTIVE_RE = re.compile(r"^\s*\*\s+(?P<path>\S.*?)\s*$")


def _looks_like_path(text: str) -> bool:
    return bool(re.match(r"^(?:[A-Za-z]:[\\/]|\\\\|/)", text))


def parse_py_list_paths(text: str) -> list[LauncherEntry]:
    """Parse the output of ``py --list-paths`` (new and old launchers).

    Args:
        text: the launcher's stdout.

    Returns:
        The entries in the launcher's order; headers, "No Installed Pythons Found!" and
        ``Active venv`` placeholders (no path) are skipped.
    """
    found: list[LauncherEntry] = []
    for line in text.splitlines():
        m = _NEW_RE.match(line) or _OLD_RE.match(line)
        if m:
            path, default = m.group("path"), bool(m.group("star"))
            if path.endswith(" *"):
                path, default = path[:-2].rstrip(), True
            if _looks_like_path(path):
                found.append(LauncherEntry(m.group("tag"), path, default))
            continue
        a = _ACTIVE_RE.match(line)
        if a and _looks_like_path(a.group("path")):
            found.append(LauncherEntry("", a.group("path"), True))
    return found


def pep514_interpreters(entries: Iterable[RegistryEntry]) -> list[tuple[str, str]]:
    r"""Turn PEP 514 registry entries into interpreter paths.

    Args:
        entries: keys as read (HKCU ones first or not: HKCU wins either way).

    Returns:
        ``(python_exe, "<Company>/<Tag>")`` pairs in first-seen order, ``ExecutablePath``
        when set else ``InstallPath\python.exe``; ``PyLauncher`` and entries without a
        path are dropped.
    """
    chosen: dict[tuple[str, str], RegistryEntry] = {}
    for e in entries:
        if e.company.lower() == "pylauncher" or not (e.executable_path or e.install_path):
            continue
        key = (e.company.lower(), e.tag.lower())
        if key not in chosen or (e.hive == "HKCU" and chosen[key].hive != "HKCU"):
            chosen[key] = e
    out: list[tuple[str, str]] = []
    for e in chosen.values():
        exe = e.executable_path or ntpath.join(e.install_path, "python.exe")
        if exe not in [o[0] for o in out]:
            out.append((exe, f"{e.company}/{e.tag}"))
    return out


def _query(winreg: Any, key: Any, name: str) -> str:
    try:
        value = winreg.QueryValueEx(key, name)[0]
    except OSError:
        return ""
    return value if isinstance(value, str) else ""


def _subkeys(winreg: Any, key: Any) -> list[str]:
    names: list[str] = []
    for i in range(10_000):
        try:
            names.append(winreg.EnumKey(key, i))
        except OSError:
            break
    return names


def read_registry(winreg: Any) -> list[RegistryEntry]:
    r"""Read every PEP 514 ``<Company>\<Tag>`` key with the given :mod:`winreg` module.

    Args:
        winreg: the :mod:`winreg` module (or an object with the same functions).

    Returns:
        The entries, HKCU first, 64-bit view then 32-bit view; unreadable keys are skipped.
    """
    out: list[RegistryEntry] = []
    hives = (("HKCU", winreg.HKEY_CURRENT_USER), ("HKLM", winreg.HKEY_LOCAL_MACHINE))
    views = (winreg.KEY_WOW64_64KEY, winreg.KEY_WOW64_32KEY)
    for hive_name, hive in hives:
        for view in views:
            try:
                root = winreg.OpenKey(hive, "Software\\Python", 0, winreg.KEY_READ | view)
            except OSError:
                continue
            for company in _subkeys(winreg, root):
                try:
                    ckey = winreg.OpenKey(root, company, 0, winreg.KEY_READ | view)
                except OSError:
                    continue
                for tag in _subkeys(winreg, ckey):
                    try:
                        ikey = winreg.OpenKey(
                            ckey, tag + "\\InstallPath", 0, winreg.KEY_READ | view
                        )
                    except OSError:
                        continue
                    out.append(
                        RegistryEntry(
                            hive_name,
                            company,
                            tag,
                            _query(winreg, ikey, ""),
                            _query(winreg, ikey, "ExecutablePath"),
                        )
                    )
    return out


def _launcher_output(ctx: Context) -> Optional[str]:
    py = shutil.which("py", path=ctx.get("PATH") or None)
    if not py:
        return None
    try:
        done = subprocess.run(
            [py, "--list-paths"],
            capture_output=True,
            text=True,
            timeout=PY_LAUNCHER_TIMEOUT,
            env=dict(ctx.environ),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def install_dirs(ctx: Context) -> list[str]:
    """python.org install directories present under ``%LOCALAPPDATA%`` / ``%ProgramFiles%``."""
    bases: list[str] = []
    if ctx.get("LOCALAPPDATA"):
        bases.append(os.path.join(ctx.expand(ctx.get("LOCALAPPDATA")), "Programs", "Python"))
    for var in ("ProgramFiles", "ProgramFiles(x86)", "ProgramW6432"):
        if ctx.get(var):
            bases.append(ctx.expand(ctx.get(var)))
    return [
        os.path.join(b, n)
        for b in bases
        for n in _fs.entries(b)
        if re.match(r"^Python\d+(?:-32|-arm64)?$", n, re.IGNORECASE)
    ]


def find(ctx: Context) -> Iterator[Candidate]:
    """Yield registry, ``py`` launcher (Windows only) and python.org-directory interpreters.

    Args:
        ctx: the discovery context.

    Yields:
        Candidates named ``"<Company>/<Tag>"``, ``"py -V:<tag>"`` or the directory name.
    """
    if sys.platform == "win32":
        import winreg  # noqa: PLC0415  (Windows only)

        for exe, label in pep514_interpreters(read_registry(winreg)):
            yield _layout.from_python(ctx, exe, name=label, notes=(f"PEP 514 registry: {label}",))
        text = _launcher_output(ctx)
        for entry in parse_py_list_paths(text or ""):
            label = f"py -V:{entry.tag}" if entry.tag else "py (active venv)"
            yield _layout.from_python(ctx, entry.path, notes=(f"listed by {label}",))
    for directory in install_dirs(ctx):
        yield _layout.from_prefix(ctx, directory, notes=("python.org install directory",))
