"""Would ``import NAME`` find a module in an environment?  A static emulation.

:func:`module_importable` follows the import system over the environment's ``sys.path``
(standard library, site directories, ``.pth`` entries, editable-install finders,
namespace packages, zip entries) from files only.  May import
:mod:`envdoctor.inventory.layout` and :mod:`envdoctor.types`.

Sources: the import system reference (``importlib`` finders and namespace packages,
PEP 420), CPython's ``Lib/site.py``, setuptools' and hatchling's editable finders.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import sys
import zipfile
from collections.abc import Sequence
from typing import Optional

from envdoctor.inventory.layout import (
    base_prefix,
    dedupe_paths,
    is_dir,
    is_file,
    list_dir,
    major_minor,
    read_small,
    scan_pth,
)
from envdoctor.types import Environment

# --------------------------------------------------------------------------------------------
# module_importable


def _stdlib_dirs(env: Environment) -> list[str]:
    xy = major_minor(env.python_version)
    if not xy:
        return []
    base = base_prefix(env)
    if is_dir(os.path.join(base, "Lib")) and not is_dir(os.path.join(base, "lib")):
        return dedupe_paths([os.path.join(base, "Lib"), os.path.join(base, "DLLs")])
    cands = []
    for impl in ("python", "pypy"):
        lib = os.path.join(base, "lib", f"{impl}{xy}")
        cands += [
            os.path.join(base, "lib", f"{impl}{xy.replace('.', '')}.zip"),
            lib,
            os.path.join(lib, "lib-dynload"),
            os.path.join(base, "lib64", f"{impl}{xy}", "lib-dynload"),
        ]
    return dedupe_paths(cands)


_EXT_SUFFIXES = (".so", ".pyd")


def _entry_kind(directory: str, name: str, py2: bool) -> str:
    """How ``name`` exists in ``directory``: "package", "module", "namespace" or ""."""
    base = os.path.join(directory, name)
    if is_dir(base):
        for init in ("__init__.py", "__init__.pyc"):
            if is_file(os.path.join(base, init)):
                return "package"
        return "" if py2 else "namespace"
    for suffix in (".py", ".pyc", ".pyw"):
        if is_file(base + suffix):
            return "module"
    prefix = name + "."
    for fname in list_dir(directory):
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
    return read_small(os.path.join(package_dir, "__init__.py")) or ""


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
            if lit not in (".", "..") and is_dir(cand):
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
        for fname in list_dir(d):
            if not (fname.startswith("__editable__") and fname.endswith("_finder.py")):
                continue
            text = read_small(os.path.join(d, fname))
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
        for fname in list_dir(d):
            if fname.endswith((".dist-info", ".egg-info")):
                text = read_small(os.path.join(d, fname, "top_level.txt"))
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
    pth = scan_pth(env.site_packages)
    search = dedupe_paths([*pythonpath, *_stdlib_dirs(env), *pth.dirs])
    portions: list[str] = []
    unknown = False
    for entry in search:
        if is_file(entry):
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
        if is_dir(target):
            return _resolve_sub(
                [target], parts[1:], py2, is_file(os.path.join(target, "__init__.py"))
            )
        if is_file(target):
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
