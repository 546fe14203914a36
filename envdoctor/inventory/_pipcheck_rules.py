"""The rules of ``pip check`` without pip (with :mod:`packaging`, ~30 ms to import).

Each installed distribution's ``Requires-Dist`` (markers evaluated for the target
environment, PEP 508) against the versions installed.  Imported by
:mod:`envdoctor.inventory.pipcheck` only when its cache has no answer.  May import
:mod:`envdoctor.types` and :mod:`envdoctor.inventory.layout`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Optional

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envdoctor.inventory.layout import major_minor
from envdoctor.types import Environment

# --------------------------------------------------------------------------------------------
# pip_check


@lru_cache(maxsize=8192)
def _requirement(line: str) -> Optional[Requirement]:
    try:
        return Requirement(line)
    except InvalidRequirement:
        return None


@lru_cache(maxsize=1024)
def _specifier(text: str) -> Optional[SpecifierSet]:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def _marker_env(env: Environment) -> dict[str, str]:
    from packaging.markers import default_environment  # noqa: PLC0415  (startup: packaging costs ~30 ms, only when a marker is evaluated)

    menv: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
    version = env.python_version
    if version:
        full = version if version.count(".") >= 2 else version + ".0"
        menv["python_version"] = major_minor(version)
        menv["python_full_version"] = full
        if env.implementation == "cpython":
            menv["implementation_version"] = full
    impl = env.implementation or "cpython"
    menv["implementation_name"] = impl
    menv["platform_python_implementation"] = {"cpython": "CPython", "pypy": "PyPy"}.get(impl, impl)
    if env.arch:
        menv["platform_machine"] = env.arch
    return menv


def _marker_applies(marker: Marker, menv: Mapping[str, str], extras: Iterable[str]) -> bool:
    for extra in ("", *extras):
        try:
            if marker.evaluate({**menv, "extra": extra}):
                return True
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName, InvalidVersion):
            return False
    return False


def _requested_extras(
    env: Environment, menv: Mapping[str, str], seed: Mapping[str, set[str]]
) -> dict[str, set[str]]:
    """Extras requested of each distribution by the requirements of installed ones (fixpoint)."""
    requested: dict[str, set[str]] = {k: set(v) for k, v in seed.items()}
    for _ in range(20):
        changed = False
        for pkg in env.packages.values():
            mine = requested.get(pkg.name, set())
            for line in pkg.requires:
                if "[" not in line.split(";", 1)[0]:
                    continue  # no extras requested: no need to parse it (most lines)
                req = _requirement(line)
                if req is None or not req.extras:
                    continue
                if req.marker is not None and not _marker_applies(req.marker, menv, mine):
                    continue
                key = canonicalize_name(req.name)
                have = requested.setdefault(key, set())
                new = {canonicalize_name(e) for e in req.extras} - have
                if new:
                    have |= new
                    changed = True
        if not changed:
            break
    return requested


def pip_check(env: Environment, names: Optional[Iterable[str]] = None) -> list[tuple[str, str]]:
    """Find broken requirements among installed distributions, like ``pip check``.

    For each installed distribution (or only those in ``names``), every ``Requires-Dist``
    whose marker applies (markers are evaluated for the environment's Python version,
    implementation and architecture, and for each extra that is requested of that
    distribution, by ``names`` such as ``"tensorflow[and-cuda]"`` or by the requirements
    of other installed distributions; requirements needed only by unrequested extras are
    ignored) that is missing, or whose installed version is outside the specifier
    (pre-releases allowed), and a ``Requires-Python`` the environment's Python does not
    satisfy.  Unparsable requirement lines are skipped.  Nothing is run.

    Args:
        env: the environment, from :func:`read_environment`.
        names: distribution names or requirement strings with extras; None for all.

    Returns:
        Sorted ``(distribution, message)`` pairs, e.g. ``("tensorflow", "tensorflow 2.15.1
        requires numpy<2.0.0,>=1.23.5, but 2.1.0 is installed")``.
    """
    menv = _marker_env(env)
    seed: dict[str, set[str]] = {}
    targets: list[str] = []
    problems: set[tuple[str, str]] = set()
    if names is None:
        targets = list(env.packages)
    else:
        for raw in names:
            req = _requirement(raw)
            key: str = canonicalize_name(req.name if req else raw)
            if req is not None and req.extras:
                seed.setdefault(key, set()).update(canonicalize_name(e) for e in req.extras)
            if key not in env.packages:
                problems.add((key, f"{req.name if req else raw} is not installed"))
                continue
            targets.append(key)
    requested = _requested_extras(env, menv, seed)
    for key in dict.fromkeys(targets):
        pkg = env.packages[key]
        extras = requested.get(key, set())
        for line in pkg.requires:
            req = _requirement(line)
            if req is None:
                continue
            if req.marker is not None and not _marker_applies(req.marker, menv, extras):
                continue
            extras_text = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
            spec_text = f"{req.name}{extras_text}{req.specifier}"
            dep = env.packages.get(canonicalize_name(req.name))
            if dep is None:
                problems.add(
                    (key, f"{pkg.name} {pkg.version} requires {spec_text}, which is not installed")
                )
                continue
            if not req.specifier:
                continue
            try:
                ok = req.specifier.contains(Version(dep.version), prereleases=True)
            except InvalidVersion:
                problems.add(
                    (
                        key,
                        f"{pkg.name} {pkg.version} requires {spec_text}, but the installed"
                        f" {dep.name} version {dep.version!r} is not a valid version",
                    )
                )
                continue
            if not ok:
                problems.add(
                    (
                        key,
                        f"{pkg.name} {pkg.version} requires {spec_text},"
                        f" but {dep.version} is installed",
                    )
                )
        if pkg.requires_python and env.python_version:
            spec = _specifier(pkg.requires_python)
            pyver = menv["python_full_version"]
            if spec is not None:
                try:
                    ok = spec.contains(Version(pyver), prereleases=True)
                except InvalidVersion:
                    ok = True
                if not ok:
                    problems.add(
                        (
                            key,
                            f"{pkg.name} {pkg.version} requires Python {pkg.requires_python},"
                            f" but the environment has Python {env.python_version}",
                        )
                    )
    return sorted(problems)
