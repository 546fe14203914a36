# -*- coding: utf-8 -*-
"""Probe run inside a target interpreter: print ONE JSON object describing it.

Standard library only.  This file must parse and run unchanged on Python 2.7 and
on Python 3.6 and later: no f-strings, no annotations, no walrus operator, no
keyword-only arguments.  It is run as ``python -E -s -B _script.py`` with stdin
closed, and it imports nothing beyond ``sys``, ``os``, ``json``, ``platform``
and ``site``; it never imports any third-party package.

Output keys: executable, prefix, base_prefix, version, version_info,
implementation, arch, platform, site_packages (site directories, in sys.path
order), user_site (the user site-packages directory, or null).
"""

import sys

# The script's own directory is sys.path[0] when run as a file; drop it so that
# nothing next to this file can shadow the standard library modules below.
if sys.path and sys.path[0] and not sys.path[0].endswith(".zip"):
    del sys.path[0]

import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import site  # noqa: E402

if False:  # type checking only; never true at run time (no typing module on 2.7)
    from typing import Any, List, Set  # noqa: F401


def _text(value):
    # type: (object) -> Any
    """Return value as a text string (unicode on Python 2), or None."""
    if value is None:
        return None
    if sys.version_info[0] < 3 and isinstance(value, bytes):
        try:
            return value.decode(sys.getfilesystemencoding() or "utf-8")
        except Exception:
            return value.decode("utf-8", "replace")
    return value


def _site_packages():
    # type: () -> List[Any]
    """Site directories in sys.path order, then any other site.getsitepackages() entry."""
    known = []  # type: List[str]
    getter = getattr(site, "getsitepackages", None)
    if getter is not None:
        try:
            known = list(getter())
        except Exception:
            known = []
    known_norm = set(os.path.normcase(os.path.abspath(p)) for p in known)
    result = []  # type: List[str]
    seen = set()  # type: Set[str]
    for entry in sys.path:
        if not entry:
            continue
        norm = os.path.normcase(os.path.abspath(entry))
        base = os.path.basename(norm.rstrip("/\\"))
        if norm in known_norm or base in ("site-packages", "dist-packages"):
            if norm not in seen:
                seen.add(norm)
                result.append(entry)
    for entry in known:
        norm = os.path.normcase(os.path.abspath(entry))
        if norm not in seen:
            seen.add(norm)
            result.append(entry)
    return [_text(p) for p in result]


def _user_site():
    # type: () -> Any
    getter = getattr(site, "getusersitepackages", None)
    if getter is None:
        return _text(getattr(site, "USER_SITE", None))
    try:
        return _text(getter())
    except Exception:
        return None


def _implementation():
    # type: () -> Any
    impl = getattr(sys, "implementation", None)
    if impl is not None:
        return _text(impl.name)
    return _text(platform.python_implementation().lower())


def main():
    # type: () -> None
    info = {
        "executable": _text(sys.executable),
        "prefix": _text(sys.prefix),
        "base_prefix": _text(getattr(sys, "base_prefix", getattr(sys, "real_prefix", sys.prefix))),
        "version": _text(platform.python_version()),
        "version_info": [
            sys.version_info[0],
            sys.version_info[1],
            sys.version_info[2],
            _text(sys.version_info[3]),
            sys.version_info[4],
        ],
        "implementation": _implementation(),
        "arch": _text(platform.machine()),
        "platform": _text(sys.platform),
        "site_packages": _site_packages(),
        "user_site": _user_site(),
    }
    sys.stdout.write(json.dumps(info, sort_keys=True))
    sys.stdout.write("\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
