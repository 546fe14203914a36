"""What discovery returns (:class:`Candidate`) and what every source is given (:class:`Context`)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Optional, Protocol, TypeVar

T = TypeVar("T")

KINDS = (
    "venv",
    "virtualenv",
    "uv",
    "conda",
    "pyenv",
    "pyenv-virtualenv",
    "system",
    "pipx",
    "uv-python",
    "poetry",
    "pipenv",
    "unknown",
)
"""Every value :attr:`Candidate.kind` can take."""


@dataclass(frozen=True)
class Candidate:
    """A Python interpreter or environment found on this machine, before it is read.

    Attributes:
        python: the interpreter path as found (for a pyenv shim: the interpreter it
            selects); "" only for the note of a discovery source that crashed.
        prefix: the environment or installation directory (``sys.prefix`` to be).
        kind: one of :data:`KINDS`.
        name: a short display name (``"r-keras"``, ``"3.11.7"``, a conda env name).
        found_by: the names of the sources that found it, first finder first.
        broken: why it cannot be used (``"interpreter missing: ..."``, ``"dangling
            symlink: ..."``, ``"unreadable directory: ..."``, ``"not Python: ..."``),
            or None when it looks usable.
        notes: facts about how it was found, e.g. which pyenv version file a shim obeys.
    """

    python: str
    prefix: str
    kind: str
    name: str
    found_by: tuple[str, ...] = ()
    broken: Optional[str] = None
    notes: tuple[str, ...] = ()


_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)|%([^%]+)%")


class Context:
    """The machine as the sources see it: environment variables, working dir and home.

    Nothing here reads ``os.environ`` or the real home when the caller passed its own,
    so tests run discovery against a temporary HOME with planted variables.

    Attributes:
        environ: the environment variables.
        cwd: the working directory (absolute).
        home: the user's home directory.
    """

    def __init__(
        self,
        environ: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        home: Optional[str] = None,
    ) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.home = home or self.get("HOME") or self.get("USERPROFILE") or os.path.expanduser("~")
        if cwd is None or not os.path.isabs(cwd):
            try:
                cwd = os.path.join(os.getcwd(), cwd or "")
            except OSError:  # the working directory was deleted
                cwd = os.path.join(self.home, cwd or "")
        self.cwd = os.path.normpath(cwd)
        self._memo: dict[str, object] = {}

    def memo(self, key: str, factory: Callable[[], T]) -> T:
        """Return ``factory()``, computed once per context and key (for location tables).

        Args:
            key: a name unique to the caller.
            factory: builds the value.

        Returns:
            The value built by the first call with this key.
        """
        if key not in self._memo:
            self._memo[key] = factory()
        return self._memo[key]  # type: ignore[return-value]

    def get(self, name: str) -> str:
        """Return environment variable ``name`` stripped of blanks ("" when unset)."""
        return self.environ.get(name, "").strip()

    def expand(self, path: str) -> str:
        """Expand ``~``, ``$VAR``, ``${VAR}`` and ``%VAR%`` using this context.

        Args:
            path: a path as written in a config file or variable.

        Returns:
            The expanded path, made absolute against :attr:`cwd` (unknown variables are
            left as written).
        """

        def var(m: re.Match[str]) -> str:
            name = m.group(1) or m.group(2) or m.group(3)
            return self.environ.get(name, m.group(0))

        path = _VAR_RE.sub(var, path.strip())
        if path == "~" or path.startswith(("~/", "~\\")):
            path = self.home + path[1:]
        return os.path.normpath(os.path.join(self.cwd, path)) if path else ""

    def path_list(self, name: str, *, commas: bool = False) -> list[str]:
        """Split environment variable ``name`` on ``os.pathsep`` (and ``,`` if asked).

        Args:
            name: the variable.
            commas: also split on commas (conda's list variables accept both).

        Returns:
            The expanded, non-empty entries in order.
        """
        raw = self.get(name)
        parts = re.split("[" + re.escape(os.pathsep) + (",]" if commas else "]"), raw)
        return [self.expand(p) for p in parts if p.strip()]

    @cached_property
    def homes(self) -> tuple[str, ...]:
        """The home directories to look in: :attr:`home`, then ``%USERPROFILE%`` when different."""
        found: list[str] = []
        for h in (self.home, self.get("USERPROFILE")):
            if h and os.path.normcase(os.path.abspath(h)) not in [
                os.path.normcase(os.path.abspath(f)) for f in found
            ]:
                found.append(h)
        return tuple(found)

    def in_homes(self, *parts: str) -> list[str]:
        """Return ``os.path.join(h, *parts)`` for each of :attr:`homes`."""
        return [os.path.join(h, *parts) for h in self.homes]


class Source(Protocol):
    """A discovery source: a module with a ``NAME`` and a ``find(ctx)`` generator."""

    NAME: str

    def find(self, ctx: Context) -> Iterator[Candidate]:
        """Yield the candidates this source knows of (sources may raise; discover() copes)."""
        ...
