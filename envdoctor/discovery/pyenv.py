"""Source 4: pyenv's installed versions and pyenv-virtualenv envs; also pyenv shim resolution.

Layout (pyenv ``libexec/pyenv-version-name``, ``pyenv-version-file``,
``pyenv-version-file-read``; compat-facts §5.3): interpreters in
``$PYENV_ROOT/versions/<name>/bin``, pyenv-virtualenv envs in
``versions/<base>/envs/<env>`` with a symlink ``versions/<env>`` to them, shims in
``$PYENV_ROOT/shims``.  A shim runs the program of the first selected version that has
it; the selection is ``PYENV_VERSION`` (``:``-separated), else the first
``.python-version`` in the working directory or its parents, else
``$PYENV_ROOT/version``, else ``system``.  A name that is not installed is tried as a
prefix (``3.11`` → the newest installed ``3.11.x``), as ``pyenv latest`` does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Optional

from envdoctor.discovery import _fs, _layout, _places
from envdoctor.discovery._base import Candidate, Context

NAME = "pyenv"

_SHIM_ROOT_RE = re.compile(r"""export PYENV_ROOT=["']?([^"'\n]+)["']?""")
_RELEASE_RE = re.compile(r"^\d+(?:\.\d+)*$")


def shim_root(ctx: Context, path: str) -> Optional[str]:
    """Return the pyenv root a shim belongs to, or None when ``path`` is not a pyenv shim.

    Args:
        ctx: the discovery context.
        path: a file found on PATH.

    Returns:
        The root named in the shim's ``export PYENV_ROOT=...`` line, else the root whose
        ``shims`` directory holds it.
    """
    text = _fs.read_small(path, 4096)
    if text is None or not text.startswith("#!") or "pyenv" not in text:
        return None
    m = _SHIM_ROOT_RE.search(text)
    if m:
        return m.group(1).strip()
    shims = _fs.norm(os.path.dirname(path))
    for root in _places.pyenv_roots(ctx):
        if _fs.norm(os.path.join(root, "shims")) == shims:
            return root
    return None


def _version_file_names(path: str) -> list[str]:
    text = _fs.read_small(path, 64 * 1024) or ""
    names = []
    for line in text.splitlines():
        word = line.strip().split(maxsplit=1)[0] if line.strip() else ""
        if word and not word.startswith("#") and ".." not in word.split("/"):
            names.append(word)
    return names


def selected_versions(ctx: Context, root: str) -> tuple[list[str], str]:
    """Return the version names pyenv selects, and what selected them.

    Args:
        ctx: the discovery context (``PYENV_VERSION``, ``PYENV_DIR``, ``cwd``).
        root: the pyenv root.

    Returns:
        ``(names, origin)``: e.g. ``(["3.11.7"], "/root/.pyenv/version")``; ``(["system"],
        "default")`` when nothing selects a version.
    """
    env = ctx.get("PYENV_VERSION")
    if env:
        return [v for v in env.split(":") if v], "PYENV_VERSION"
    starts = [ctx.expand(ctx.get("PYENV_DIR"))] if ctx.get("PYENV_DIR") else []
    for start in [*starts, ctx.cwd]:
        d = start
        while True:
            candidate = os.path.join(d, ".python-version")
            if _fs.isfile(candidate):
                return (_version_file_names(candidate) or ["system"]), candidate
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
    global_file = os.path.join(root, "version")
    if _fs.isfile(global_file):
        return (_version_file_names(global_file) or ["system"]), global_file
    return ["system"], "default"


def _release_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split("."))


def installed_name(root: str, name: str) -> Optional[str]:
    """Return the installed version directory name pyenv uses for ``name``, or None.

    Args:
        root: the pyenv root.
        name: a selected version name (``3.11.7``, ``python-3.11``, ``3.11``, an env name).

    Returns:
        ``name`` itself, without a ``python-`` prefix, or the newest installed release
        that ``name`` is a prefix of; None when nothing matches.
    """
    versions = os.path.join(root, "versions")
    bare = name.removeprefix("python-")
    for cand in (name, bare):
        if cand and _fs.isdir(os.path.join(versions, cand)):
            return cand
    matches = [
        v for v in _fs.entries(versions) if v.startswith(bare + ".") and _RELEASE_RE.match(v)
    ]
    return max(matches, key=_release_key) if matches else None


def resolve_shim(ctx: Context, shim: str, root: str) -> Optional[Candidate]:
    """Return the candidate a pyenv shim runs, a broken one, or None.

    Args:
        ctx: the discovery context.
        shim: the shim's path (its file name is the program, e.g. ``python3``).
        root: its pyenv root (:func:`shim_root`).

    Returns:
        The selected interpreter (with a note naming the shim and what selected the
        version); a broken candidate when the selected version is not installed; None
        when the selection is ``system`` or lacks this program (``pyenv`` would fail
        with "command not found"), since PATH's other entries already cover ``system``.
    """
    program = os.path.basename(shim)
    names, origin = selected_versions(ctx, root)
    set_by = "PYENV_VERSION" if origin == "PYENV_VERSION" else origin
    for name in names:
        if name == "system":
            continue
        found = installed_name(root, name)
        if found is None:
            return Candidate(
                python=shim,
                prefix=os.path.join(root, "versions", name),
                kind="pyenv",
                name=name,
                broken=(
                    f"interpreter missing: pyenv shim {shim} selects version {name!r}"
                    f" (set by {set_by}), which is not installed"
                ),
            )
        python = os.path.join(root, "versions", found, "bin", program)
        if _fs.lexists(python):
            note = f"pyenv shim {shim} resolves to {found} (set by {set_by})"
            return _layout.from_python(ctx, python, name=found, notes=(note,))
    return None


def find(ctx: Context) -> Iterator[Candidate]:
    """Yield every ``versions/*`` and ``versions/*/envs/*`` of the pyenv root.

    Real directories come before symlinks, so that a symlinked name (pyenv-virtualenv's
    ``versions/<env>``, a ``3.12`` alias) dedupes onto its target's name.

    Args:
        ctx: the discovery context.

    Yields:
        Candidates (kinds ``pyenv``, ``pyenv-virtualenv``, or ``conda`` for a miniconda
        installed by pyenv and its envs).
    """
    for versions in _places.pyenv_versions_dirs(ctx):
        names = _fs.entries(versions)
        ordered = [n for n in names if not _fs.islink(os.path.join(versions, n))]
        ordered += [n for n in names if _fs.islink(os.path.join(versions, n))]
        for name in ordered:
            path = os.path.join(versions, name)
            if name.startswith(".") or not (_fs.isdir(path) or _fs.islink(path)):
                continue
            yield _layout.from_prefix(ctx, path)
            envs = os.path.join(path, "envs")
            if _fs.islink(path):
                continue
            for env in _fs.entries(envs):
                if not env.startswith("."):
                    yield _layout.from_prefix(ctx, os.path.join(envs, env))
