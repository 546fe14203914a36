"""``pip check`` without pip: broken requirements between installed distributions.

:func:`pip_check` is the rules of :mod:`envdoctor.inventory._pipcheck_rules` behind a cache:
the answer is a pure function of what the environment's files say (each distribution's
name, version, ``Requires-Dist`` and ``Requires-Python``; the environment's Python version,
implementation and architecture), of the names asked about and of the platform markers
are evaluated on, so it is stored under ``platformdirs.user_cache_dir("envdoctor")/pipcheck/``
keyed by the SHA-256 of exactly those inputs.  A warm ``check`` then imports no
:mod:`packaging` at all (issue 14: ``check`` at most 1/50 of ``import tensorflow``).  A
corrupt or unwritable cache is ignored.  May import :mod:`envdoctor.types` and
:mod:`envdoctor.inventory.layout` (and, on a miss, the rules).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Optional

from envdoctor.types import Environment

CACHE_FORMAT = 1
"""Version of the entry layout (and of the rules: bump when they change)."""


def cache_dir() -> Path:
    """``platformdirs.user_cache_dir("envdoctor")/pipcheck``."""
    import platformdirs  # noqa: PLC0415  (startup: only when the check runs)

    return Path(platformdirs.user_cache_dir("envdoctor")) / "pipcheck"


def _key(env: Environment, names: Optional[list[str]]) -> str:
    rules = Path(__file__).with_name("_pipcheck_rules.py")
    try:
        rules_stamp = [rules.stat().st_mtime_ns, rules.stat().st_size]
    except OSError:
        rules_stamp = []
    material = {
        "format": CACHE_FORMAT,
        "rules": rules_stamp,
        "python": [env.python_version, env.implementation, env.arch],
        "platform": [sys.platform, os.name, platform.system(), platform.release(),
                     platform.machine()],
        "names": names,
        "packages": [[p.name, p.version, list(p.requires), p.requires_python]
                     for p in sorted(env.packages.values(), key=lambda p: p.name)],
    }
    blob = json.dumps(material, sort_keys=True).encode("utf-8", "surrogateescape")
    return hashlib.sha256(blob).hexdigest()


def pip_check(env: Environment, names: Optional[Iterable[str]] = None) -> list[tuple[str, str]]:
    """Find broken requirements among installed distributions, like ``pip check``.

    See :func:`envdoctor.inventory._pipcheck_rules.pip_check` for the rules (markers,
    extras, specifiers, ``Requires-Python``); this answers from the cache when the same
    inputs were checked before.

    Args:
        env: the environment, from :func:`envdoctor.inventory.read_environment`.
        names: distribution names or requirement strings with extras; None for all.

    Returns:
        Sorted ``(distribution, message)`` pairs, e.g. ``("tensorflow", "tensorflow 2.15.1
        requires numpy<2.0.0,>=1.23.5, but 2.1.0 is installed")``.
    """
    wanted = None if names is None else list(names)
    key = _key(env, wanted)
    path = cache_dir() / f"{key}.json"
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(cached, list) and all(
            isinstance(x, list) and len(x) == 2 and all(isinstance(y, str) for y in x)
            for x in cached
        ):
            return [(d, m) for d, m in cached]
    except (OSError, ValueError):
        pass
    from envdoctor.inventory import _pipcheck_rules  # noqa: PLC0415  (startup: packaging, on a miss only)

    answer = _pipcheck_rules.pip_check(env, wanted)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump([list(x) for x in answer], fh)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(tmp)
    return answer
