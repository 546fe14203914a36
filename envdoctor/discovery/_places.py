r"""Where tools keep Python installations and environments, as pure functions of a Context.

Each function returns candidate directories (existing or not) in the order the tool
itself would use them; callers skip the missing ones.  Sources, all in
``shared/reference/compat-facts.md`` §4.1 and §5.3: pyenv (``PYENV_ROOT``, default
``~/.pyenv``), uv (``UV_PYTHON_INSTALL_DIR``, ``$XDG_DATA_HOME/uv/python``,
``%APPDATA%\uv\data\python``; ``UV_TOOL_DIR``), pipx (``PIPX_HOME``, defaults
``~/.local/share/pipx``, legacy ``~/.local/pipx``, ``~\pipx``,
``%LOCALAPPDATA%\pipx``; global ``/opt/pipx``), poetry (``POETRY_VIRTUALENVS_PATH``,
``POETRY_CACHE_DIR``, ``~/.cache/pypoetry``, ``~/Library/Caches/pypoetry``,
``%LOCALAPPDATA%\pypoetry\Cache``), pipenv (``WORKON_HOME``, default
``~/.local/share/virtualenvs``), reticulate's ``virtualenv_root()``
(``RETICULATE_VIRTUALENV_ROOT``, ``WORKON_HOME``, ``~/.virtualenvs``, where R's ``~`` on
Windows is the Documents folder, often redirected to OneDrive) and conda
(``~/.conda/environments.txt``, the usual installer roots, ``CONDA_EXE``,
``MAMBA_ROOT_PREFIX``, reticulate's ``r-miniconda``).
"""

from __future__ import annotations

import os

from envdoctor.discovery import _fs
from envdoctor.discovery._base import Context


def _unique(paths: list[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for p in paths:
        key = os.path.normcase(os.path.abspath(p)) if p else ""
        if p and key not in seen:
            seen.add(key)
            out.append(p)
    return out


def data_homes(ctx: Context) -> list[str]:
    """``$XDG_DATA_HOME`` (when set) else ``~/.local/share``, for each home."""
    xdg = ctx.get("XDG_DATA_HOME")
    return [ctx.expand(xdg)] if xdg else ctx.in_homes(".local", "share")


def cache_homes(ctx: Context) -> list[str]:
    """``$XDG_CACHE_HOME`` (when set) else ``~/.cache``, for each home."""
    xdg = ctx.get("XDG_CACHE_HOME")
    return [ctx.expand(xdg)] if xdg else ctx.in_homes(".cache")


def pyenv_roots(ctx: Context) -> list[str]:
    """``$PYENV_ROOT`` when set, else ``~/.pyenv`` (pyenv-win keeps ``pyenv-win/`` inside)."""
    roots = [ctx.expand(ctx.get("PYENV_ROOT"))] if ctx.get("PYENV_ROOT") else []
    if not roots:
        roots = ctx.in_homes(".pyenv")
    return _unique(roots + [os.path.join(r, "pyenv-win") for r in roots])


def pyenv_versions_dirs(ctx: Context) -> list[str]:
    """``<root>/versions`` for each of :func:`pyenv_roots`."""
    return [os.path.join(r, "versions") for r in pyenv_roots(ctx)]


def uv_python_dirs(ctx: Context) -> list[str]:
    """The directories of uv-managed Pythons: ``UV_PYTHON_INSTALL_DIR``, else the defaults."""
    if ctx.get("UV_PYTHON_INSTALL_DIR"):
        return [ctx.expand(ctx.get("UV_PYTHON_INSTALL_DIR"))]
    dirs = [os.path.join(d, "uv", "python") for d in data_homes(ctx)]
    if ctx.get("APPDATA"):
        appdata = ctx.expand(ctx.get("APPDATA"))
        dirs += [
            os.path.join(appdata, "uv", "data", "python"),
            os.path.join(appdata, "uv", "python"),
        ]
    return _unique(dirs)


def uv_tool_dirs(ctx: Context) -> list[str]:
    """The directories of uv tool environments: ``UV_TOOL_DIR``, else the defaults."""
    if ctx.get("UV_TOOL_DIR"):
        return [ctx.expand(ctx.get("UV_TOOL_DIR"))]
    dirs = [os.path.join(d, "uv", "tools") for d in data_homes(ctx)]
    if ctx.get("APPDATA"):
        appdata = ctx.expand(ctx.get("APPDATA"))
        dirs += [os.path.join(appdata, "uv", "data", "tools"), os.path.join(appdata, "uv", "tools")]
    return _unique(dirs)


def pipx_venv_dirs(ctx: Context) -> list[str]:
    """The pipx ``venvs`` directories: ``$PIPX_HOME``, the defaults, legacy and global ones."""
    homes = [ctx.expand(ctx.get("PIPX_HOME"))] if ctx.get("PIPX_HOME") else []
    homes += [os.path.join(d, "pipx") for d in data_homes(ctx)]
    homes += ctx.in_homes(".local", "pipx")
    homes += ctx.in_homes("pipx")  # Windows default ~\pipx
    homes += ctx.in_homes("Library", "Application Support", "pipx")
    if ctx.get("LOCALAPPDATA"):
        homes.append(os.path.join(ctx.expand(ctx.get("LOCALAPPDATA")), "pipx"))
    if ctx.get("PIPX_GLOBAL_HOME"):
        homes.append(ctx.expand(ctx.get("PIPX_GLOBAL_HOME")))
    homes.append(os.path.join(os.sep, "opt", "pipx"))
    return _unique([os.path.join(h, "venvs") for h in homes])


def poetry_venv_dirs(ctx: Context) -> list[str]:
    """The poetry ``virtualenvs.path``: ``POETRY_VIRTUALENVS_PATH``, else derived, else defaults."""
    if ctx.get("POETRY_VIRTUALENVS_PATH"):
        return [ctx.expand(ctx.get("POETRY_VIRTUALENVS_PATH"))]
    if ctx.get("POETRY_CACHE_DIR"):
        return [os.path.join(ctx.expand(ctx.get("POETRY_CACHE_DIR")), "virtualenvs")]
    caches = [os.path.join(c, "pypoetry") for c in cache_homes(ctx)]
    caches += ctx.in_homes("Library", "Caches", "pypoetry")
    if ctx.get("LOCALAPPDATA"):
        caches.append(os.path.join(ctx.expand(ctx.get("LOCALAPPDATA")), "pypoetry", "Cache"))
    return _unique([os.path.join(c, "virtualenvs") for c in caches])


def pipenv_default_dirs(ctx: Context) -> list[str]:
    """The default pipenv venv directory (``~/.local/share/virtualenvs``), not WORKON_HOME."""
    return _unique([os.path.join(d, "virtualenvs") for d in data_homes(ctx)])


def pipenv_venv_dirs(ctx: Context) -> list[str]:
    """Where pipenv puts venvs: ``WORKON_HOME`` when set, else its default directory."""
    if ctx.get("WORKON_HOME"):
        return [ctx.expand(ctx.get("WORKON_HOME"))]
    return pipenv_default_dirs(ctx)


def r_homes(ctx: Context) -> list[str]:
    """What R's ``~`` may be: the homes, ``R_USER``, and on Windows the (OneDrive) Documents."""
    homes = list(ctx.homes)
    if ctx.get("R_USER"):
        homes.append(ctx.expand(ctx.get("R_USER")))
    if ctx.get("USERPROFILE"):
        homes.append(os.path.join(ctx.expand(ctx.get("USERPROFILE")), "Documents"))
    for var in ("OneDrive", "OneDriveConsumer", "OneDriveCommercial"):
        if ctx.get(var):
            homes.append(os.path.join(ctx.expand(ctx.get(var)), "Documents"))
    return _unique(homes)


def reticulate_virtualenv_roots(ctx: Context) -> list[str]:
    """The directories reticulate's ``virtualenv_root()`` can be.

    Returns:
        ``[RETICULATE_VIRTUALENV_ROOT]``, else ``[WORKON_HOME]``, else ``~/.virtualenvs``
        for each of :func:`r_homes`.
    """
    for var in ("RETICULATE_VIRTUALENV_ROOT", "WORKON_HOME"):
        if ctx.get(var):
            return [ctx.expand(ctx.get(var))]
    return [os.path.join(h, ".virtualenvs") for h in r_homes(ctx)]


def venv_home_dirs(ctx: Context) -> list[str]:
    """Every directory that holds one venv per subdirectory.

    Returns:
        The reticulate / virtualenvwrapper, pipenv and poetry directories, in that order.
    """
    dirs = [
        ctx.expand(ctx.get(v)) for v in ("RETICULATE_VIRTUALENV_ROOT", "WORKON_HOME") if ctx.get(v)
    ]
    dirs += [os.path.join(h, ".virtualenvs") for h in r_homes(ctx)]
    dirs += pipenv_default_dirs(ctx)
    dirs += poetry_venv_dirs(ctx)
    return _unique(dirs)


_CONDA_DIR_NAMES = ("miniconda3", "anaconda3", "miniforge3", "mambaforge", "micromamba")


def conda_roots(ctx: Context) -> list[str]:
    """Conda / mamba installation roots (each may hold ``envs/``), in a stable order."""
    roots: list[str] = []
    for name in _CONDA_DIR_NAMES:
        roots += ctx.in_homes(name)
    for name in ("miniconda3", "anaconda3"):
        roots += ctx.in_homes("opt", name)  # macOS installer default
    roots.append(os.path.join(os.sep, "opt", "conda"))
    conda_exe = ctx.get("CONDA_EXE")
    if conda_exe:  # <root>/bin/conda or <root>\Scripts\conda.exe
        roots.append(os.path.dirname(os.path.dirname(ctx.expand(conda_exe))))
    for var in ("MAMBA_ROOT_PREFIX", "CONDA_ROOT", "RETICULATE_MINICONDA_PATH"):
        if ctx.get(var):
            roots.append(ctx.expand(ctx.get(var)))
    roots += [os.path.join(d, "r-miniconda") for d in data_homes(ctx)]  # reticulate's miniconda
    roots += ctx.in_homes("Library", "r-miniconda")
    roots += ctx.in_homes("Library", "r-miniconda-arm64")
    if ctx.get("LOCALAPPDATA"):
        local = ctx.expand(ctx.get("LOCALAPPDATA"))
        roots.append(os.path.join(local, "r-miniconda"))
        roots += [os.path.join(local, "Continuum", n) for n in ("anaconda3", "miniconda3")]
    if ctx.get("ProgramData"):
        data = ctx.expand(ctx.get("ProgramData"))
        roots += [os.path.join(data, n) for n in ("Anaconda3", "Miniconda3", "miniforge3")]
    return _unique(roots)


def location_kinds(ctx: Context) -> dict[str, str]:
    """Map the real path of each tool-owned parent directory to the kind of its children.

    Returns:
        ``{norm(dir): kind}`` for pyenv ``versions`` dirs (``"pyenv"``), uv Python dirs
        (``"uv-python"``), pipx ``venvs`` (``"pipx"``), poetry virtualenv dirs
        (``"poetry"``) and pipenv's default dir (``"pipenv"``); computed once per context.
    """

    def build() -> dict[str, str]:
        table: dict[str, str] = {}
        for kind, dirs in (
            ("pyenv", pyenv_versions_dirs(ctx)),
            ("uv-python", uv_python_dirs(ctx)),
            ("pipx", pipx_venv_dirs(ctx)),
            ("poetry", poetry_venv_dirs(ctx)),
            ("pipenv", pipenv_default_dirs(ctx)),
        ):
            for d in dirs:
                table.setdefault(_fs.norm(d), kind)
        return table

    return ctx.memo("location_kinds", build)
