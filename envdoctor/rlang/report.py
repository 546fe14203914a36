"""The R side in the CLI: ``envs --reticulate`` and ``which --for-r``.

:func:`reticulate_report` says which R is installed, which R packages it has, and which
Python reticulate would bind in a directory and why; :func:`envdoctor.render.r.render_reticulate`
prints it for people and :func:`envdoctor.render.r.reticulate_json` for the JSON envelope
(key ``"reticulate"``).  :func:`which_for_r` is ``envdoctor which --for-r``: the best
environment that R can bind and that loads the models, with the reasons for every
environment R cannot bind on stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, TextIO

from envdoctor.rlang import context
from envdoctor.rlang.r_packages import RInstall, read_r_install
from envdoctor.rlang.reticulate import Binding, resolve

R_ONLY_CODES = ("ED901", "ED903")
"""Error codes that make an environment unusable from R only (Python could load the model)."""


@dataclass(frozen=True)
class ReticulateReport:
    """The R side of this machine, as ``envs --reticulate`` shows it.

    Attributes:
        r: the R installation and its R packages.
        binding: which Python reticulate binds in ``cwd`` for ``import("keras")``.
        cwd: the directory the binding was computed for.
    """

    r: RInstall
    binding: Binding
    cwd: str


def reticulate_report(
    environ: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
    *,
    reticulate_version: Optional[str] = None,
    required_module: str = "keras",
) -> ReticulateReport:
    """Read R and its packages, and resolve reticulate's order of discovery in ``cwd``.

    Args:
        environ: the environment variables (default ``os.environ``; under R they are R's).
        cwd: the R session's working directory (default the process's).
        reticulate_version: the reticulate in use (default: ``ENVDOCTOR_RETICULATE_VERSION``,
            else the installed one).
        required_module: the module of the first ``import()``.

    Returns:
        The report; never raises for unreadable files.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    where = os.path.abspath(cwd or os.getcwd())
    install = read_r_install(env, cwd=where)
    version = (
        reticulate_version
        or env.get(context.RETICULATE_VERSION_VAR, "").strip()
        or install.version_of("reticulate")
        or ""
    )
    r_env = dict(env)
    if "R_HOME" not in env:  # R's own environment files apply (RETICULATE_PYTHON in .Renviron)
        r_env.update(install.environ)
    binding = resolve(r_env, where, required_module=required_module, reticulate_version=version)
    return ReticulateReport(r=install, binding=binding, cwd=where)


def _real(path: str) -> str:
    try:
        return os.path.realpath(path)
    except OSError:
        return path


R_SETS = ("RETICULATE_PYTHON_FALLBACK", "RETICULATE_PYTHON", "none")
"""What ``envdoctor_use()`` sets with the answer of ``which --for-r`` (``--r-sets``): the
fallback variable (reticulate < 1.41, or ``mode = "fallback"``), ``RETICULATE_PYTHON``
(reticulate >= 1.41, or ``mode = "force"``), or nothing (the user's own
``RETICULATE_PYTHON`` is kept)."""


def which_for_r(
    models: Sequence[str],
    *,
    prefer: Optional[str] = None,
    reticulate_version: Optional[str] = None,
    r_sets: str = "RETICULATE_PYTHON_FALLBACK",
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """``envdoctor which --for-r``: print the best interpreter R can bind that loads ``models``.

    Environments that would load the models but that reticulate cannot bind (ED901: Python
    >= 3.12 under reticulate < 1.34; ED903: no shared libpython) are skipped, each with
    its reason on stderr.  ``r_sets`` (:data:`R_SETS`) is what the caller will set to the
    answer; envdoctor runs reticulate's order with it set and says on stderr which Python R
    will bind when something outranks it: for the fallback variable, ``RETICULATE_PYTHON``,
    ``RETICULATE_PYTHON_ENV``, a project or (>= 1.41) an ``r-keras`` environment; for
    ``RETICULATE_PYTHON`` (nothing in reticulate 1.46's ``py_discover_config()`` outranks
    it), a ``KERAS_PYTHON``/``TENSORFLOW_PYTHON`` that keras3/tensorflow copy over it when
    they load; for ``none``, the user's own ``RETICULATE_PYTHON``.  Those lines start with
    ``envdoctor: cannot win:`` and name the line to change and the file it is in.

    Returns:
        0 with the interpreter on stdout; 1 when none can (the closest and its fixes on
        stderr).
    """
    import io

    from envdoctor.rlang import which_cache

    context.activate(reticulate_version)
    ctx = context.current()
    # A missing model is a usage error (exit 2 from inspect_model), never a cached answer.
    use_cache = which_cache.enabled(os.environ) and all(os.path.exists(p) for p in models)
    entry = ""
    if use_cache:
        entry = which_cache.key(
            models,
            prefer=prefer,
            reticulate_version=ctx.reticulate_version,
            environ=os.environ,
            cwd=os.getcwd(),
            r_sets=r_sets,
        )
        hit = which_cache.load(entry)
        if hit is not None:
            out.write(hit["stdout"])
            err.write(hit["stderr"])
            return int(hit["status"])
    buf_out, buf_err = io.StringIO(), io.StringIO()
    status = _which_for_r(models, prefer, ctx, buf_out, buf_err, r_sets)
    out.write(buf_out.getvalue())
    err.write(buf_err.getvalue())
    if use_cache:
        which_cache.store(entry, status, buf_out.getvalue(), buf_err.getvalue())
    return status


def _which_for_r(  # noqa: PLR0917
    models: Sequence[str],
    prefer: Optional[str],
    ctx: context.RContext,
    out: TextIO,
    err: TextIO,
    r_sets: str = "RETICULATE_PYTHON_FALLBACK",
) -> int:
    from envdoctor import app
    from envdoctor.types import Severity

    infos = tuple(app.inspect_model(p) for p in models)
    ranked = app.rank_environments(infos, prefer=prefer)
    usable = [r for r in ranked if r.report is not None]
    names = ", ".join(models)
    rv = ctx.reticulate_version or "unknown, 1.28 assumed"
    chosen = ""
    for r in usable:
        assert r.report is not None
        errors = [f for f in r.report.findings if f.severity is Severity.ERROR]
        if not errors:
            chosen = r.candidate.python
            break
        if all(f.code in R_ONLY_CODES for f in errors):
            why = "; ".join(f"{f.code} {f.title}" for f in errors)
            err.write(
                f"envdoctor: skipped {r.candidate.python} (Python "
                f"{r.report.environments[0].python_version}): it can load {names}, but "
                f"reticulate {rv} cannot bind it: {why}\n"
            )
    if not chosen:
        if not usable:
            err.write(f"envdoctor: no readable Python environment found to load {names}\n")
            return 1
        best = usable[0]
        assert best.report is not None
        err.write(
            f"envdoctor: no environment on this machine that R can bind can load {names}.\n"
            f"closest: {best.candidate.python} ({best.candidate.kind} {best.candidate.name})\n"
        )
        for f in best.report.findings:
            if f.severity is Severity.ERROR:
                err.write(f"  {f.code} {f.title}\n")
                for fix in f.fixes[:2]:
                    err.write(f"    fix: {fix.text}\n")
        return 1
    for line in _binding_notes(models, chosen, usable, ctx, r_sets):
        err.write(line + "\n")
    out.write(chosen + "\n")
    return 0


def _verdict(python: str, usable: Sequence[Any]) -> str:
    """``", which cannot load it (ED101)"`` / ``", which can load it too"`` / ""."""
    from envdoctor.types import Severity

    can = next((r for r in usable if _real(r.candidate.python) == _real(python)), None)
    if can is None or can.report is None:
        return ""
    bad = [f.code for f in can.report.findings if f.severity is Severity.ERROR]
    return f", which cannot load it ({', '.join(bad)})" if bad else ", which can load it too"


def _binding_notes(
    models: Sequence[str],
    chosen: str,
    usable: Sequence[Any],
    ctx: context.RContext,
    r_sets: str,
) -> list[str]:
    """What R will bind once ``r_sets`` is set to ``chosen``, when that is not ``chosen``."""
    from envdoctor.rlang.r_packages import where_set

    env = dict(os.environ)
    if r_sets != "none":
        env[r_sets] = chosen
    cwd = os.getcwd()
    binding = resolve(env, cwd, reticulate_version=ctx.reticulate_version)
    rv = ctx.reticulate_version or "1.28 assumed"
    names = ", ".join(models)
    same = bool(binding.python) and _real(binding.python) == _real(chosen)
    if r_sets == "RETICULATE_PYTHON_FALLBACK":  # reticulate < 1.41 (or mode = "fallback")
        if binding.error:
            return [
                "envdoctor: warning: even with RETICULATE_PYTHON_FALLBACK, R stops: "
                f"{binding.error}"
            ]
        if binding.python and not same:
            return [
                f"envdoctor: note: {binding.forced_by} outranks RETICULATE_PYTHON_FALLBACK "
                f"here: R will bind {binding.python}{_verdict(binding.python, usable)}; "
                'envdoctor_use(mode = "force") sets RETICULATE_PYTHON instead'
            ]
        return []
    forwarded = next((s for s in binding.steps if s.outcome == "forwarded"), None)
    if same:
        if forwarded is not None or r_sets == "none":
            return []
        # Say what RETICULATE_PYTHON outranks here (what R would bind without it).
        base = resolve(dict(os.environ), cwd, reticulate_version=ctx.reticulate_version)
        if base.ephemeral:
            other = "reticulate's py_require() uv environment"
        elif base.python and _real(base.python) != _real(chosen):
            other = f"{base.python} ({base.forced_by or 'scan'})"
        else:
            return []
        return [
            f"envdoctor: note: RETICULATE_PYTHON outranks what R would bind without it here: "
            f"{other}{_verdict(base.python, usable) if base.python else ''}"
        ]
    bound = binding.python or (
        "reticulate's py_require() uv environment" if binding.ephemeral else "nothing"
    )
    verdict = _verdict(binding.python, usable) if binding.python else ""
    if binding.error:
        bound, verdict = "nothing", f" (R stops: {binding.error})"
    head = "envdoctor: cannot win:"
    if verdict == ", which can load it too":
        head = "envdoctor: note (nothing to change):"
    if forwarded is not None:
        variable = forwarded.name
        where = where_set(variable, os.environ, cwd=cwd) or "where it is set"
        from envdoctor.rlang._order_documented import FORWARDED

        package = {v: p for p, v in FORWARDED}.get(variable, "R")
        return [
            f"{head} the R package {package} copies {variable} into "
            f"RETICULATE_PYTHON when it loads, after envdoctor_use() ran (reticulate {rv}; "
            f"{package} R/package.R .onLoad): R will bind {bound}{verdict}. Change "
            f"{variable} ({where}) to {variable}={chosen}, or remove it, then restart R."
        ]
    if r_sets == "none" and "RETICULATE_PYTHON" in os.environ:
        value = os.environ["RETICULATE_PYTHON"]
        where = where_set("RETICULATE_PYTHON", os.environ, cwd=cwd) or "where it is set"
        return [
            f"{head} RETICULATE_PYTHON is already set to {value} ({where}); "
            f"it outranks anything envdoctor can set (reticulate {rv}, R/config.R "
            f"py_discover_config()), so envdoctor set nothing: R will bind {bound}{verdict}. "
            f"Change that line to RETICULATE_PYTHON={chosen} (or remove it), or call "
            f'envdoctor_use("{models[0]}", mode = "force"), then restart R.'
        ]
    return [
        f"envdoctor: cannot win: with RETICULATE_PYTHON={chosen}, R would still bind "
        f"{bound}{verdict} ({binding.reason}) for {names}."
    ]
