"""Version arithmetic shared by the knowledge tables, the checks and the fixes.

Versions are compared with :mod:`packaging` (never as strings: "2.10" > "2.9").
Every helper tolerates junk input and answers ``None`` rather than raising.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

MAX_VERSION_CHARS = 100
"""Longer version strings (e.g. a 100,000-digit ``tensorflow_version`` in a hostile
SavedModel) are junk: :func:`parse` answers None without trying them."""


def parse(text: Optional[str]) -> Optional[Version]:
    """Return ``text`` as a :class:`Version`, or None when absent or unparsable.

    Local and vendor suffixes are tolerated: ``"2.0.2-tf"`` reads as ``2.0.2``.
    """
    if not text or len(text) > MAX_VERSION_CHARS:
        return None
    try:
        return Version(text)
    except ValueError:  # InvalidVersion, or an int too long to convert (a hostile file)
        head = text.strip().split("-")[0].split("+")[0]
        try:
            return Version(head)
        except ValueError:
            return None


def minor(text: Optional[str]) -> Optional[str]:
    """Return ``"X.Y"`` of a version string (``"2.15.1"`` -> ``"2.15"``), or None."""
    v = parse(text)
    return f"{v.major}.{v.minor}" if v else None


def major(text: Optional[str]) -> Optional[int]:
    """Return the major number of a version string, or None."""
    v = parse(text)
    return v.major if v else None


def key(text: Optional[str]) -> tuple[int, int, int]:
    """Return ``(major, minor, micro)`` for ordering; ``(0, 0, 0)`` for junk."""
    v = parse(text)
    return (v.major, v.minor, v.micro) if v else (0, 0, 0)


def satisfies(version: Optional[str], spec: Optional[str]) -> Optional[bool]:
    """Return whether ``version`` is in the PEP 440 ``spec``; None when either is unusable.

    Pre-releases count as in range (an installed ``2.16.0rc0`` is what it is).
    """
    v = parse(version)
    if v is None or spec is None:
        return None
    try:
        return SpecifierSet(spec).contains(v, prereleases=True)
    except InvalidSpecifier:
        return None


def satisfies_any(version: Optional[str], specs: Iterable[str]) -> bool:
    """Return True when ``version`` satisfies at least one of ``specs``."""
    return any(satisfies(version, s) for s in specs)


def python_minor(text: Optional[str]) -> Optional[tuple[int, int]]:
    """Return ``(3, 11)`` for ``"3.11.7"`` (or ``"3.11"``), None when unknown."""
    v = parse(text)
    return (v.major, v.minor) if v else None
