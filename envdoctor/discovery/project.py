"""Source 2: the project's environments: in-project venvs, its poetry env, its pipenv env.

* In-project directories ``.venv``, ``venv``, ``.virtualenv``, ``virtualenv`` in the working
  directory and its parents (uv, poetry ``virtualenvs.in-project``, ``PIPENV_VENV_IN_PROJECT``,
  reticulate's step 8; compat-facts §4.1).
* poetry: ``{virtualenvs.path}/<name>-<hash>-py<X.Y>`` where ``name`` is the canonical
  project name and ``hash`` the first 8 characters of the URL-safe base64 SHA-256 of the
  project directory's real path (poetry ``EnvManager.generate_env_name``).
* pipenv: ``{WORKON_HOME or ~/.local/share/virtualenvs}/<dirname>-<hash>`` where ``hash`` is
  the URL-safe base64 of the first 6 bytes of the SHA-256 of the Pipfile's real path
  (pipenv ``Project._get_virtualenv_hash``).

When no directory carries the exact hash (the project moved), directories named
``<name>-`` + hash are still reported, with a note saying the match is by name only.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterator
from typing import Optional

from envdoctor.discovery import _fs, _layout, _places
from envdoctor.discovery._base import Candidate, Context
from envdoctor.types import canonical_name

NAME = "project"

IN_PROJECT_DIRS = (".venv", "venv", ".virtualenv", "virtualenv")
"""Directory names of in-project environments, looked for in this order."""

_TABLE_RE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\s*(?:#.*)?$")
_NAME_RE = re.compile(r"""^\s*name\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _parents(path: str) -> Iterator[str]:
    while True:
        yield path
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def _nearest(start: str, filename: str) -> Optional[str]:
    for d in _parents(start):
        if _fs.isfile(os.path.join(d, filename)):
            return d
    return None


def _looks_like_env(path: str) -> bool:
    listing = _fs.listdir(path)
    if isinstance(listing, PermissionError):
        return True
    names = set(listing) if isinstance(listing, list) else set()
    return bool(names & {"pyvenv.cfg", "conda-meta", "bin", "Scripts", "python.exe"})


def project_name(pyproject_text: str) -> Optional[str]:
    """Return ``[project] name`` (else ``[tool.poetry] name``) of a ``pyproject.toml``.

    A line reader, not a TOML parser: it understands ``[table]`` headers and a basic or
    literal string on a ``name = ...`` line, which is how every generator writes it.

    Args:
        pyproject_text: the file's text.

    Returns:
        The name as written, or None.
    """
    found: dict[str, str] = {}
    table = ""
    for line in pyproject_text.splitlines():
        m = _TABLE_RE.match(line)
        if m:
            table = m.group(1).replace('"', "").replace("'", "").replace(" ", "")
            continue
        if table in ("project", "tool.poetry") and table not in found:
            n = _NAME_RE.match(line)
            if n:
                found[table] = n.group(1) if n.group(1) is not None else n.group(2)
    return found.get("project") or found.get("tool.poetry")


def poetry_env_prefix(name: str, project_dir: str) -> str:
    """Return poetry's venv name before ``-py<X.Y>`` for a project: ``<name>-<hash8>``.

    Args:
        name: the project name from ``pyproject.toml``.
        project_dir: the directory holding ``pyproject.toml``.

    Returns:
        E.g. ``"my-project-Xy3_AbCd"``.
    """
    sanitized = re.sub(r'[ $`!*@"\\\r\n\t]', "_", canonical_name(name))[:42]
    cwd = os.path.normcase(_fs.realpath(project_dir))
    digest = hashlib.sha256(cwd.encode("utf-8", "surrogateescape")).digest()
    return f"{sanitized}-{base64.urlsafe_b64encode(digest).decode()[:8]}"


def pipenv_env_name(project_dir: str) -> str:
    """Return pipenv's venv directory name for the project whose Pipfile is in ``project_dir``.

    Args:
        project_dir: the directory holding ``Pipfile``.

    Returns:
        E.g. ``"my_project-wyUfYPqE"``.
    """
    sanitized = re.sub(r'[ &$`!*@"()\[\]\\\r\n\t]', "_", os.path.basename(project_dir))[:42]
    pipfile = _fs.realpath(os.path.join(project_dir, "Pipfile"))
    digest = hashlib.sha256(pipfile.encode("utf-8", "surrogateescape")).digest()[:6]
    return f"{sanitized}-{base64.urlsafe_b64encode(digest).decode()[:8]}"


def _matching(roots: list[str], exact: str, loose: re.Pattern[str]) -> tuple[list[str], bool]:
    """Directories under ``roots`` named ``exact*``; else those matching ``loose``."""
    hits: list[str] = []
    near: list[str] = []
    for root in roots:
        for entry in _fs.entries(root):
            if entry.startswith(exact):
                hits.append(os.path.join(root, entry))
            elif loose.match(entry):
                near.append(os.path.join(root, entry))
    return (hits, True) if hits else (near, False)


def _poetry(ctx: Context) -> Iterator[Candidate]:
    project_dir = _nearest(ctx.cwd, "pyproject.toml")
    if project_dir is None:
        return
    text = _fs.read_small(os.path.join(project_dir, "pyproject.toml"))
    name = project_name(text) if text else None
    if not name:
        return
    exact = poetry_env_prefix(name, project_dir) + "-py"
    short = re.sub(r'[ $`!*@"\\\r\n\t]', "_", canonical_name(name))[:42]
    loose = re.compile(re.escape(short) + r"-[A-Za-z0-9_\-]{8}-py\d")
    found, is_exact = _matching(_places.poetry_venv_dirs(ctx), exact, loose)
    for path in found:
        note = f"poetry environment of {project_dir}"
        if not is_exact:
            note += " (matched by project name only: the hash differs, was the project moved?)"
        yield _layout.from_prefix(ctx, path, kind="poetry", notes=(note,))


def _pipenv(ctx: Context) -> Iterator[Candidate]:
    project_dir = _nearest(ctx.cwd, "Pipfile")
    if project_dir is None:
        return
    exact = pipenv_env_name(project_dir)
    short = exact[: -len("-XXXXXXXX")]
    loose = re.compile(re.escape(short) + r"-[A-Za-z0-9_\-]{8}$")
    found, is_exact = _matching(_places.pipenv_venv_dirs(ctx), exact, loose)
    for path in found:
        note = f"pipenv environment of {project_dir}"
        if not is_exact:
            note += " (matched by directory name only: the hash differs, was the project moved?)"
        yield _layout.from_prefix(ctx, path, kind="pipenv", notes=(note,))


def find(ctx: Context) -> Iterator[Candidate]:
    """Yield in-project environments (nearest first), then the poetry and pipenv envs.

    Args:
        ctx: the discovery context (``cwd`` is the project, or inside it).

    Yields:
        Candidates; an in-project directory that is not an environment is skipped.
    """
    for d in _parents(ctx.cwd):
        for sub in IN_PROJECT_DIRS:
            path = os.path.join(d, sub)
            if (_fs.isdir(path) and _looks_like_env(path)) or (
                _fs.islink(path) and not _fs.lexists(_fs.realpath(path))
            ):
                label = f"{os.path.basename(d) or d}/{sub}"
                note = f"in-project environment of {d}"
                yield _layout.from_prefix(ctx, path, name=label, notes=(note,))
    yield from _poetry(ctx)
    yield from _pipenv(ctx)
