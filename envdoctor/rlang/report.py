"""The R side in the CLI: ``envs --reticulate`` and ``which --for-r``.

:func:`reticulate_report` says which R is installed, which R packages it has, and which
Python reticulate would bind in a directory and why; :func:`render_reticulate` prints it
for people and :func:`reticulate_json` for the JSON envelope (key ``"reticulate"``).
:func:`which_for_r` is ``envdoctor which --for-r``: the best environment that R can bind
and that loads the models, with the reasons for every environment R cannot bind on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, TextIO

from envdoctor.fixes import lit
from envdoctor.rlang import context
from envdoctor.rlang.r_packages import WATCHED, RInstall, read_r_install
from envdoctor.rlang.reticulate import Binding, iter_steps, resolve

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


def reticulate_json(report: ReticulateReport) -> dict[str, Any]:
    """The ``"reticulate"`` value of the JSON envelope (``envs --reticulate``)."""
    from envdoctor.render.json_out import to_jsonable

    data: dict[str, Any] = to_jsonable(report)
    data["r"].pop("environ", None)
    return data


def _wrap(out: TextIO, indent: int, text: str, width: Optional[int] = None) -> None:
    """Write ``text`` wrapped between words at ``width`` (default ``COLUMNS``, else 80).

    Words (paths) are never broken: a longer word makes a longer line.
    """
    if width is None:
        from envdoctor.render.console import pipe_width

        width = pipe_width()
    lines = textwrap.wrap(
        text,
        width=width,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + 2),
        break_long_words=False,
        break_on_hyphens=False,
    )
    for line in lines or [" " * indent]:
        out.write(line + "\n")


def render_reticulate(report: ReticulateReport, out: TextIO) -> None:
    """Print the R side for people: R, its packages, reticulate's choice and every step."""
    r, b = report.r, report.binding
    out.write("\nR and reticulate\n")
    if not r.r_home:
        _wrap(
            out, 2, "no R installation found (R_HOME unset, no R on PATH, none in the usual places)"
        )
    else:
        libs = ", ".join(p.path for p in r.lib_paths if p.exists)
        _wrap(out, 2, f"R {r.r_version or '?'} ({r.r_home}); library paths: {libs}")
        have = [f"{n} {r.packages[n].version}" for n in WATCHED if n in r.packages]
        missing = [n for n in WATCHED if n not in r.packages]
        text = "R packages: " + (", ".join(have) or "none of " + ", ".join(WATCHED))
        if have and missing:
            text += f" ({', '.join(missing)}: not installed)"
        _wrap(out, 2, text)
    version = b.reticulate_version or "1.28 assumed"
    module = f'import({lit(b.required_module)})' if b.required_module else "py_config()"
    _wrap(out, 2, f"in {report.cwd}, reticulate {version} with {module}:")
    if b.error:
        _wrap(out, 4, f"R stops: {b.error}")
    if b.python:
        state = "tries to bind" if b.error else "binds"
        _wrap(out, 4, f"{state} {b.python}")
    _wrap(out, 4, f"why: {b.reason}")
    if b.python and not b.error:
        module_state = {True: "importable", False: "not importable", None: "unknown"}[b.has_module]
        details = f"Python {b.python_version or '?'}, NumPy {b.numpy or 'none'}"
        if b.required_module:
            details += f", {b.required_module} {module_state}"
        _wrap(out, 4, details)
    _wrap(out, 2, f"order of discovery ({b.order}):")
    for line in iter_steps(b):
        _wrap(out, 4, line)
    for note in b.notes:
        _wrap(out, 2, f"note: {note}")
    for note in r.notes:
        _wrap(out, 2, f"note: {note}")


def run_envs_reticulate(args: argparse.Namespace, out: TextIO, color: bool) -> int:
    """``envdoctor envs --reticulate``: the usual listing, then the R side.

    JSON: the ``envs`` envelope with one more key, ``"reticulate"``.
    """
    import json

    from envdoctor import app

    report = app.run_all(())
    rr = reticulate_report(reticulate_version=getattr(args, "reticulate_version", None))
    if args.format == "json":
        from envdoctor.render.json_out import envelope

        data = envelope(report, "envs")
        data["reticulate"] = reticulate_json(rr)
        out.write(json.dumps(data, sort_keys=True, indent=2) + "\n")
        return 0
    from envdoctor.render.console import render_envs

    render_envs(report, out, color=color)
    render_reticulate(rr, out)
    return 0


def _real(path: str) -> str:
    try:
        return os.path.realpath(path)
    except OSError:
        return path


def which_for_r(
    models: Sequence[str],
    *,
    prefer: Optional[str] = None,
    reticulate_version: Optional[str] = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """``envdoctor which --for-r``: print the best interpreter R can bind that loads ``models``.

    Environments that would load the models but that reticulate cannot bind (ED901: Python
    >= 3.12 under reticulate < 1.34; ED903: no shared libpython) are skipped, each with
    its reason on stderr.  When ``RETICULATE_PYTHON``, ``RETICULATE_PYTHON_ENV`` or a
    Poetry/Pipenv project outranks ``RETICULATE_PYTHON_FALLBACK`` in this directory, stderr
    says which Python R will bind instead.

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
        )
        hit = which_cache.load(entry)
        if hit is not None:
            out.write(hit["stdout"])
            err.write(hit["stderr"])
            return int(hit["status"])
    buf_out, buf_err = io.StringIO(), io.StringIO()
    status = _which_for_r(models, prefer, ctx, buf_out, buf_err)
    out.write(buf_out.getvalue())
    err.write(buf_err.getvalue())
    if use_cache:
        which_cache.store(entry, status, buf_out.getvalue(), buf_err.getvalue())
    return status


def _which_for_r(
    models: Sequence[str],
    prefer: Optional[str],
    ctx: context.RContext,
    out: TextIO,
    err: TextIO,
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
    env = dict(os.environ)
    env["RETICULATE_PYTHON_FALLBACK"] = chosen
    binding = resolve(env, os.getcwd(), reticulate_version=ctx.reticulate_version)
    if binding.error:
        err.write(
            f"envdoctor: warning: even with RETICULATE_PYTHON_FALLBACK, R stops: {binding.error}\n"
        )
    elif binding.python and _real(binding.python) != _real(chosen):
        can = next((r for r in usable if _real(r.candidate.python) == _real(binding.python)), None)
        verdict = ""
        if can is not None and can.report is not None:
            bad = [f.code for f in can.report.findings if f.severity is Severity.ERROR]
            verdict = (
                f", which cannot load it ({', '.join(bad)})" if bad else ", which can load it too"
            )
        err.write(
            f"envdoctor: note: {binding.forced_by} outranks RETICULATE_PYTHON_FALLBACK here: "
            f'R will bind {binding.python}{verdict}; envdoctor_use(mode = "force") sets '
            "RETICULATE_PYTHON instead\n"
        )
    out.write(chosen + "\n")
    return 0
