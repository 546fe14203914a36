"""reticulate >= 1.41's ephemeral uv environments: where they are, and ``py_require()`` lines.

reticulate builds the environment with ``uv tool run --isolated --python V --with numpy
--with PKG ...`` (``R/py_require.R`` l.700-851 of reticulate 1.46.0; ``knowledge/r.json``
``reticulate_py_require``).  uv keeps it in its cache as ``archive-v0/<hash>/``, a venv with
``pyvenv.cfg`` (observed with uv 0.13.10); a reticulate-managed uv uses
``tools::R_user_dir("reticulate", "cache")/uv/cache`` instead.  :func:`cached_envs` lists
them (read statically like any other environment); :func:`py_require_for` picks, with
envdoctor's own checks (:func:`envdoctor.envcreate.rank`), the packages and Python version
that load a model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

from envdoctor.rlang.uv_cache import CACHE_SUBDIRS, cached_envs, uv_cache_dirs

__all__ = ["CACHE_SUBDIRS", "PyRequire", "cached_envs", "for_r_users", "py_require_for",
           "render_for_r", "to_json", "uv_cache_dirs"]


@dataclass(frozen=True)
class PyRequire:
    """What to declare with ``py_require()`` so reticulate's uv environment loads a model.

    Attributes:
        packages: requirement strings (``"tensorflow==2.20.0"``, ``"keras==3.11.3"``).
        python_version: a Python version constraint (``"3.11"``).
        env_vars: variables the environment needs (``TF_USE_LEGACY_KERAS=1``).
        label: the stack in words.
        errors: the codes envdoctor still predicts for it (empty: it loads).
    """

    packages: tuple[str, ...]
    python_version: str
    env_vars: tuple[tuple[str, str], ...]
    label: str
    errors: tuple[str, ...] = ()

    def r_lines(self) -> list[str]:
        """The R lines, for ``.Rprofile`` or the top of a script (before Python starts)."""
        pkgs = ", ".join(f'"{p}"' for p in self.packages)
        lines = [f'Sys.setenv({k} = "{v}")' for k, v in self.env_vars]
        lines.append('Sys.setenv(RETICULATE_PYTHON = "managed")  # the ephemeral uv environment')
        lines.append(f'reticulate::py_require(c({pkgs}), python_version = "{self.python_version}")')
        return lines


def py_require_for(models: Sequence[str], environ: Mapping[str, str]) -> PyRequire:
    """The ``py_require()`` declaration that loads all ``models`` (the first model decides).

    Uses :func:`envdoctor.envcreate.rank` with the interpreters present, so the Python
    version is one uv can find here without downloading.

    Raises:
        envdoctor.errors.UsageError: a model cannot be read (exit 2).
    """
    from envdoctor import app, envcreate

    infos = [app.inspect_model(p) for p in models]
    interpreters = [
        i for i in envcreate.find_interpreters(environ) if i.source in ("pyenv", "uv-python")
    ] or envcreate.find_interpreters(environ)
    ranked = envcreate.rank(infos[0], interpreters, target="/nonexistent/ephemeral",
                            environ=environ)
    present = [c for c in ranked if c.interpreter is not None]
    best = (present or ranked)[0]
    reqs = tuple(r for r in best.stack.requirements if not r.startswith("numpy"))
    numpy = tuple(r for r in best.stack.requirements if r.startswith("numpy"))
    return PyRequire(
        packages=(*reqs, *numpy),
        python_version=best.python_version,
        env_vars=tuple(sorted(best.stack.env_vars.items())),
        label=best.stack.label,
        errors=tuple(f.code for f in best.errors),
    )


def for_r_users(models: Sequence[str], environ: Mapping[str, str]) -> Optional[PyRequire]:
    """The ``py_require()`` declaration to show R users next to a failing check or fix plan.

    Only when the caller is R (``--for-r`` or ``ENVDOCTOR_FOR_R=1``:
    :mod:`envdoctor.rlang.context`) and its reticulate has ``py_require()`` (>= 1.41); and
    only when envdoctor predicts no error for the declared environment.

    Returns:
        The declaration, or None.  Never raises (an unreadable model gives None).
    """
    from envdoctor.knowledge.versions import key
    from envdoctor.rlang import context
    from envdoctor.rlang.facts import DOCUMENTED_ORDER_SINCE

    ctx = context.current()
    if not ctx.active or not models:
        return None
    if not ctx.reticulate_version or key(ctx.reticulate_version) < key(DOCUMENTED_ORDER_SINCE):
        return None
    try:
        req = py_require_for(models, environ)
    except Exception:
        return None
    return None if req.errors else req


def render_for_r(req: PyRequire, reticulate_version: str) -> list[str]:
    """Text lines: the declaration, for the end of ``check``/``fix`` output."""
    return [
        "",
        f"For R (reticulate {reticulate_version}): reticulate's own uv environment loads it "
        f"({req.label}); before anything starts Python:",
        *(f"  {line}" for line in req.r_lines()),
        "  (envdoctor_use(MODEL) in .Rprofile declares it when no environment here can load "
        "the model; without downloadable Pythons also Sys.setenv(UV_PYTHON_PREFERENCE = "
        '"only-system"))',
    ]


def to_json(req: PyRequire) -> dict[str, object]:
    """The JSON form (key ``r_py_require`` of ``check``/``fix``; as ``envdoctor r require``)."""
    return {
        "packages": list(req.packages),
        "python_version": req.python_version,
        "env_vars": dict(req.env_vars),
        "label": req.label,
        "r_lines": req.r_lines(),
    }
