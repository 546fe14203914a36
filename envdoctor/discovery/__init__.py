"""Find the Python interpreters and environments on this machine, statically.

:func:`discover` asks each source of :data:`SOURCES` in order, merges what they find by
prefix or real path (the first finder's view wins; every finder is recorded in ``found_by``) and
never raises: a source that crashes becomes a broken candidate naming the crash.
Nothing is run, except the ``py`` launcher on Windows.  :func:`read_candidates` then
reads each usable candidate with :func:`envdoctor.inventory.read_environment`, running
the interpreters that must be run a few at a time.

Sources (one module each; the layouts they read are listed in
``shared/reference/compat-facts.md`` §4.1 and §5.3): the active environment, the
project's environments, ``PATH`` (pyenv shims resolved), pyenv, conda, venv homes
(reticulate, virtualenvwrapper, pipenv, poetry), uv, pipx, reticulate's variables and
Windows (PEP 514, ``py``).

Here: the sources, :mod:`~envdoctor.discovery._layout` (a found path to a
:class:`Candidate`; its prefix / ``pyvenv.cfg`` / "is this Python" rules are
:mod:`envdoctor.inventory.layout`'s), ``_places`` (well-known directories) and ``_fs``
(the never-raising file-system helpers of the leaf :mod:`envdoctor.fsread`, which also
records a walk for the warm ``which --for-r`` path).  May import :mod:`envdoctor.errors`,
:mod:`envdoctor.types`, :mod:`envdoctor.fsread` and :mod:`envdoctor.inventory`; never the
checks, the pipeline or a command.
"""

from __future__ import annotations

import dataclasses
import os
import traceback
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from envdoctor.discovery import (
    _layout,
    active,
    conda,
    path,
    pipx,
    project,
    pyenv,
    reticulate,
    uv,
    venv_homes,
    windows,
)
from envdoctor.discovery._base import KINDS, Candidate, Context, Source
from envdoctor.errors import EnvironmentReadError
from envdoctor.inventory import read_environment
from envdoctor.types import Environment

__all__ = [
    "KINDS",
    "SOURCES",
    "Candidate",
    "Context",
    "discover",
    "read_candidates",
]

SOURCES: tuple[Source, ...] = (
    active,
    project,
    path,
    pyenv,
    conda,
    venv_homes,
    uv,
    pipx,
    reticulate,
    windows,
)
"""The discovery sources, in the order they are asked (earlier finders name a candidate)."""

READ_WORKERS = 32
"""Most interpreters :func:`read_candidates` runs at once: all of them, in practice, so
that hanging interpreters cost one :data:`PROBE_BUDGET` together, not one each (the
threads only wait on child processes)."""

PROBE_BUDGET = 2.0
"""Wall-clock limit for all the interpreters one discovery run must run (seconds).

An interpreter that has not answered by then (a broken shim, a python on a dead network
mount) is killed with its process group, reported as "did not answer in 2 s", and its
failure is cached on its path, mtime and size, so later runs skip it until it changes."""


def _crash_note(source: Source, exc: BaseException) -> Candidate:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {os.path.basename(frame.filename)}:{frame.lineno}" if frame else ""
    return Candidate(
        python="",
        prefix="",
        kind="unknown",
        name=f"source {source.NAME}",
        broken=f"discovery source {source.NAME!r} crashed{where}: {type(exc).__name__}: {exc}",
    )


def _run(source: Source, ctx: Context) -> Iterator[Candidate]:
    """Yield what ``source`` finds; after a crash, yield a note saying so and stop."""
    try:
        yield from source.find(ctx)
    except Exception as exc:
        yield _crash_note(source, exc)


def _identity(cand: Candidate) -> str:
    try:
        return _layout.identity(cand)
    except Exception:
        return f"as-found:{cand.prefix}|{cand.python}"


def discover(
    *,
    environ: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
    home: Optional[str] = None,
) -> list[Candidate]:
    """Find the interpreters and environments on this machine.

    Args:
        environ: environment variables to read (``PATH``, ``VIRTUAL_ENV``, ``PYENV_ROOT``,
            ``WORKON_HOME``, ``RETICULATE_*``, ...; default ``os.environ``).
        cwd: the working directory (project envs, ``.python-version``; default the
            process's).
        home: the home directory (default ``environ["HOME"]``, else ``USERPROFILE``).

    Returns:
        One candidate per distinct environment, in source order.  A prefix that is an
        environment of its own (``pyvenv.cfg``, ``conda-meta/``) is one environment
        whatever its interpreter resolves to (a venv made with ``--copies`` and one with
        symlinks to the same base are two; so are two conda prefixes whose ``bin/python``
        links to one file); other interpreters are the same when they have the same real
        path (:func:`envdoctor.discovery._layout.identity`).  Broken
        environments are included with ``broken`` set; a crashed source adds one broken
        candidate with empty ``python`` naming the crash.  Never raises.
    """
    ctx = Context(environ, cwd, home)
    merged: dict[str, Candidate] = {}
    for source in SOURCES:
        for cand in _run(source, ctx):
            key = _identity(cand)
            first = merged.get(key)
            if first is None:
                merged[key] = dataclasses.replace(cand, found_by=(source.NAME,))
                continue
            found_by = (
                first.found_by if source.NAME in first.found_by else (*first.found_by, source.NAME)
            )
            notes = (*first.notes, *(n for n in cand.notes if n not in first.notes))
            merged[key] = dataclasses.replace(first, found_by=found_by, notes=notes)
    return list(merged.values())


def _may_run(cand: Candidate) -> bool:
    """True when reading ``cand`` may have to run its interpreter (no layout at its prefix)."""
    return cand.broken is None and bool(cand.python) and not _layout.has_evidence(cand.prefix)


def read_candidates(
    cands: Iterable[Candidate],
    *,
    environ: Optional[Mapping[str, str]] = None,
    timeout: float = PROBE_BUDGET,
) -> list[tuple[Candidate, Optional[Environment], Optional[str]]]:
    """Read each usable candidate's environment statically; run interpreters in parallel.

    Candidates whose prefix shows no Python layout (so reading them may run the
    interpreter) are read by a pool of up to :data:`READ_WORKERS` threads, all at once,
    while this thread reads the others one after another; ``timeout`` is one wall-clock
    budget for all of them (default :data:`PROBE_BUDGET`).
    Static reads are not spread over threads on purpose: they are CPU-bound Python, and
    threads fighting for the GIL made 31 static reads 2.7 times slower (0.08 s serial,
    0.22 s with 4 threads, ``benchmarks/bench_envs.py``).

    Args:
        cands: candidates from :func:`discover`.
        environ: the environment variables the targets run with (default ``os.environ``).
        timeout: the budget for all interpreters that must be run, in seconds.

    Returns:
        ``(candidate, environment, error)`` per candidate, in the given order: the
        environment when read, else None and why (a broken candidate's reason, or the
        :class:`~envdoctor.errors.EnvironmentReadError` text).  Never raises for one
        environment.
    """
    items = list(cands)

    def one(cand: Candidate) -> tuple[Candidate, Optional[Environment], Optional[str]]:
        if cand.broken is not None or not cand.python:
            return cand, None, cand.broken or "no interpreter"
        try:
            return cand, read_environment(cand.python, environ=environ, timeout=timeout), None
        except EnvironmentReadError as exc:
            return cand, None, str(exc)
        except Exception as exc:
            return cand, None, f"could not read {cand.python}: {type(exc).__name__}: {exc}"

    slow = [i for i, c in enumerate(items) if _may_run(c)]
    if not slow:
        return [one(c) for c in items]
    results: dict[int, tuple[Candidate, Optional[Environment], Optional[str]]] = {}
    workers = max(1, min(READ_WORKERS, len(slow)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="envdoctor-read") as pool:
        futures = {i: pool.submit(one, items[i]) for i in slow}
        for i, cand in enumerate(items):
            if i not in futures:
                results[i] = one(cand)
        for i, future in futures.items():
            results[i] = future.result()
    return [results[i] for i in range(len(items))]
