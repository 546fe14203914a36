"""Where reticulate looks: R's view of paths, virtualenv and conda env directories, Miniconda.

Helpers of :mod:`envdoctor.rlang._order128` and :mod:`envdoctor.rlang._order_documented`,
each mirroring one reticulate function (``normalize_python_path``, ``is_virtualenv``,
``python_environments``, ``python_conda_versions``, ``find_conda``, ``miniconda_path``,
``poetry_config``/``pipenv_config``) or ``here::here()``.
"""

from __future__ import annotations

import os
import re

from envdoctor.rlang._resolver import _Resolver

CONDA_ENV_DIRS = (
    "~/anaconda/envs",
    "~/anaconda2/envs",
    "~/anaconda3/envs",
    "~/anaconda4/envs",
    "~/miniconda/envs",
    "~/miniconda2/envs",
    "~/miniconda3/envs",
    "~/miniconda4/envs",
    "/anaconda/envs",
    "/anaconda2/envs",
    "/anaconda3/envs",
    "/anaconda4/envs",
    "/miniconda/envs",
    "/miniconda2/envs",
    "/miniconda3/envs",
    "/miniconda4/envs",
    "~/opt/anaconda/envs",
    "~/opt/anaconda2/envs",
    "~/opt/anaconda3/envs",
    "~/opt/anaconda4/envs",
    "~",
)
"""reticulate 1.28 ``python_conda_versions()``: every ``<dir>/*/bin/python`` is a conda env
(``~`` itself too, so ``~/<anything>/bin/python`` counts)."""

FALLBACK_PREFIXES = ("/opt/local/python", "/opt/python", "/usr/local", "/usr")
"""reticulate 1.28 ``py_discover_config_fallbacks()`` without conda: each with
``bin/python3``, then each with ``bin/python``."""

HERE_ROOT_MARKERS = (".here", "remake.yml", ".projectile")
"""Files that make a directory the ``here::here()`` project root (with ``*.Rproj``,
``DESCRIPTION`` of a package, ``.git`` and ``.svn``; here 1.0.1 / rprojroot)."""


def normalize_python_path(r: _Resolver, value: str) -> tuple[str, bool]:
    """Reticulate ``normalize_python_path``: strip slashes, expand ``~``, dir -> ``dir/python``."""
    path = r.expand(value.rstrip("/\\") or value)
    if os.path.isdir(path):
        return os.path.join(path, "python"), True
    return path, os.path.isfile(path)


def is_virtualenv(d: str) -> bool:
    return any(
        os.path.exists(os.path.join(d, rel))
        for rel in ("bin/activate_this.py", "bin/pyvenv.cfg", "pyvenv.cfg")
    )


def here_root(cwd: str) -> str:
    """``here::here()``: the nearest directory up from ``cwd`` meeting a root criterion."""
    d = cwd
    while True:
        try:
            names = set(os.listdir(d))
        except OSError:
            names = set()
        if names & set(HERE_ROOT_MARKERS) or ".git" in names or ".svn" in names:
            return d
        for n in names:
            if n.endswith(".Rproj") and first_line(os.path.join(d, n)).startswith("Version: "):
                return d
        if "DESCRIPTION" in names and re.search(
            r"^Package: ", head(os.path.join(d, "DESCRIPTION")), re.MULTILINE
        ):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return cwd
        d = parent


def head(path: str, size: int = 64 * 1024) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(size)
    except OSError:
        return ""


def first_line(path: str) -> str:
    return head(path, 256).split("\n", 1)[0]


def virtualenvs(r: _Resolver, root: str) -> list[tuple[str, str]]:
    """``(name, python)`` of every ``<root>/*/bin/python`` that exists, sorted like R."""
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    out = []
    for name in names:
        python = os.path.join(root, name, "bin", "python")
        if os.path.isdir(os.path.join(root, name)) and os.path.exists(python):
            out.append((name, python))
    return out


def conda_envs(r: _Resolver) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for d in CONDA_ENV_DIRS:
        out.extend(virtualenvs(r, r.expand(d)))
    return out


def find_conda(r: _Resolver) -> str:
    """Reticulate 1.28 ``find_conda()`` (without the R option ``reticulate.conda_binary``)."""
    if r.env.get("RETICULATE_CONDA"):
        return r.expand(r.env["RETICULATE_CONDA"])
    mini = miniconda_conda(r)
    if os.path.exists(mini):
        return mini
    on_path = r.which("conda")
    if on_path:
        return on_path
    for prefix in ("~/opt/", "~/", "/opt/", "/"):
        for name in ("anaconda", "miniconda", "miniforge"):
            for ver in ("", "2", "3", "4"):
                path = r.expand(f"{prefix}{name}{ver}/bin/conda")
                if os.path.exists(path):
                    return path
    return ""


def miniconda_path(r: _Resolver) -> str:
    if r.env.get("RETICULATE_MINICONDA_PATH"):
        return r.expand(r.env["RETICULATE_MINICONDA_PATH"])
    data = r.env.get("XDG_DATA_HOME") or os.path.join(r.home, ".local", "share")
    return os.path.join(r.expand(data), "r-miniconda")


def miniconda_conda(r: _Resolver) -> str:
    return os.path.join(miniconda_path(r), "bin", "conda")


def project_env(r: _Resolver, kind: str, root: str) -> list[str]:
    """The env discovery finds for a Poetry/Pipenv project (envdoctor does not run the tool)."""
    from envdoctor.discovery import project
    from envdoctor.discovery._base import Context

    ctx = Context(r.env, root, r.home)
    finder = project._poetry if kind == "poetry" else project._pipenv
    found = []
    for cand in finder(ctx):
        if cand.python and not cand.broken:
            found.append(cand.python)
    in_project = os.path.join(root, ".venv", "bin", "python")
    if os.path.exists(in_project):
        found.insert(0, in_project)
    return found


def poetry_project(root: str) -> bool:
    text = head(os.path.join(root, "pyproject.toml"))
    return bool(re.search(r"^\s*\[\s*tool\.poetry\s*[\].]", text, re.MULTILINE))
