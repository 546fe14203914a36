"""Whether the caller is R, and what the R side looks like, for the R checks.

The R checks (:mod:`envdoctor.checks.r_session`) run only when the caller is R: after
:func:`activate` (``envdoctor which --for-r``) or when ``ENVDOCTOR_FOR_R`` is ``1``/``true``/
``yes`` in the environment (``scripts/envdoctor.R`` sets it for every command it runs).
A Python user who merely has R installed sees no R findings.

The context is computed once per process and cached; :func:`reset` forgets it (tests).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from envdoctor.rlang.r_packages import RInstall, read_r_install

FOR_R_VAR = "ENVDOCTOR_FOR_R"
"""Set to ``1`` by ``scripts/envdoctor.R``: the caller is R."""

RETICULATE_VERSION_VAR = "ENVDOCTOR_RETICULATE_VERSION"
"""The reticulate version the caller runs (``packageVersion("reticulate")`` in R)."""


@dataclass(frozen=True)
class RContext:
    """What the R checks know about the R side.

    Attributes:
        active: True when the caller is R (the R checks run).
        install: the R installation read from files (None when not active).
        reticulate_version: the reticulate in use: ``--reticulate-version`` /
            ``ENVDOCTOR_RETICULATE_VERSION``, else the installed one ("" when unknown).
        reticulate_source: where ``reticulate_version`` came from.
    """

    active: bool
    install: Optional[RInstall] = None
    reticulate_version: str = ""
    reticulate_source: str = ""


_STATE: dict[str, object] = {}


def _truthy(value: Optional[str]) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def activate(reticulate_version: Optional[str] = None) -> None:
    """Turn the R checks on for this process (``--for-r``).

    Args:
        reticulate_version: the reticulate version the caller runs, when known; else the
            installed one is read from its ``DESCRIPTION``.
    """
    _STATE.clear()
    _STATE["forced"] = True
    if reticulate_version:
        _STATE["reticulate_version"] = reticulate_version


def reset() -> None:
    """Forget the cached context and any :func:`activate` (for tests)."""
    _STATE.clear()


def set_current(ctx: RContext) -> None:
    """Use ``ctx`` as this process's context until :func:`reset` (for tests and embedders)."""
    _STATE.clear()
    _STATE["context"] = ctx


def build(
    environ: Optional[Mapping[str, str]] = None,
    *,
    active: Optional[bool] = None,
    reticulate_version: Optional[str] = None,
) -> RContext:
    """Compute an R context (not cached).

    Args:
        environ: the environment variables (default ``os.environ``).
        active: force the R checks on or off (default: ``ENVDOCTOR_FOR_R``).
        reticulate_version: the reticulate version in use (default:
            ``ENVDOCTOR_RETICULATE_VERSION``, else the installed one).

    Returns:
        The context; ``install`` is read only when active.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    on = _truthy(env.get(FOR_R_VAR)) if active is None else active
    if not on:
        return RContext(active=False)
    install = read_r_install(env)
    given = reticulate_version or env.get(RETICULATE_VERSION_VAR, "").strip()
    if given:
        return RContext(True, install, given, "given by the caller")
    pkg = install.packages.get("reticulate")
    if pkg is not None:
        return RContext(True, install, pkg.version, f"{pkg.library}/reticulate/DESCRIPTION")
    return RContext(True, install, "", "reticulate is not installed")


def current() -> RContext:
    """Return this process's R context (cached; see the module docstring)."""
    cached = _STATE.get("context")
    if isinstance(cached, RContext):
        return cached
    forced = bool(_STATE.get("forced"))
    version = _STATE.get("reticulate_version")
    ctx = build(
        active=True if forced else None,
        reticulate_version=version if isinstance(version, str) else None,
    )
    _STATE["context"] = ctx
    return ctx
