"""envdoctor.inventory.layout: the one copy of the prefix / pyvenv.cfg / "is this Python" rules.

Discovery (``envdoctor/discovery/_layout.py``) and ``read_environment`` both use it; the
two questions it answers (strict :func:`has_evidence`, loose :func:`shows_python`) are
pinned here on real directory layouts and on this machine's own environments.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from envdoctor.discovery import _layout as discovery_layout
from envdoctor.inventory import layout


def _touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_discovery_uses_the_inventory_rules() -> None:
    assert discovery_layout.has_evidence is layout.shows_python
    assert discovery_layout.prefix_of is layout.environment_prefix


@pytest.mark.parametrize("kind", ["pyvenv", "conda", "stdlib", "orig-prefix", "windows-lib",
                                  "debian-bare", "dll", "pypy-bare", "nothing"])
def test_strict_evidence_implies_loose_evidence(tmp_path: Path, kind: str) -> None:
    p = tmp_path / "env"
    p.mkdir()
    if kind == "pyvenv":
        _touch(p / "pyvenv.cfg", "home = /usr/bin\n")
    elif kind == "conda":
        (p / "conda-meta").mkdir()
    elif kind == "stdlib":
        _touch(p / "lib" / "python3.11" / "os.py")
    elif kind == "orig-prefix":
        _touch(p / "lib" / "python2.7" / "orig-prefix.txt", "/usr")
    elif kind == "windows-lib":
        _touch(p / "Lib" / "os.py")
    elif kind == "debian-bare":
        (p / "lib" / "python3.11" / "dist-packages").mkdir(parents=True)
    elif kind == "dll":
        _touch(p / "python311.dll")
    elif kind == "pypy-bare":
        (p / "lib" / "pypy3.10").mkdir(parents=True)
    strict, loose = layout.has_evidence(str(p)), layout.shows_python(str(p))
    assert not strict or loose
    assert strict == (kind in ("pyvenv", "conda", "stdlib", "orig-prefix", "windows-lib"))
    assert loose == (kind != "nothing")


def test_this_machines_environments_pass_both() -> None:
    for prefix in {sys.prefix, sys.base_prefix}:
        assert layout.has_evidence(prefix), prefix
        assert layout.shows_python(prefix), prefix


def test_environment_prefix_of_a_venv_and_a_merged_usr_interpreter(tmp_path: Path) -> None:
    venv = tmp_path / "v"
    _touch(venv / "pyvenv.cfg", "home = /usr/bin\n")
    python = _touch(venv / "bin" / "python")
    assert layout.environment_prefix(str(python)) == str(venv)
    # /bin/python3 -> /usr/bin/python3 on a merged-/usr system: the real path's prefix wins
    real = _touch(tmp_path / "usr" / "bin" / "python3")
    _touch(tmp_path / "usr" / "lib" / "python3.11" / "os.py")
    link_dir = tmp_path / "root" / "bin"
    link_dir.mkdir(parents=True)
    os.symlink(real, link_dir / "python3")
    assert layout.environment_prefix(str(link_dir / "python3")) == str(tmp_path / "usr")


def test_pyvenv_cfg_is_read_once_for_both(tmp_path: Path) -> None:
    cfg = _touch(tmp_path / "pyvenv.cfg",
                 "\ufeffHome = /opt/py/bin\n# include-system-site-packages = true\n"
                 "include-system-site-packages = false\nuv = 0.4.0\nno equals sign\n")
    parsed = layout.read_pyvenv_cfg(str(cfg))
    assert parsed == {"home": "/opt/py/bin", "include-system-site-packages": "false",
                      "uv": "0.4.0"}
    assert discovery_layout.read_pyvenv_cfg(str(tmp_path)) == parsed
    assert layout.read_pyvenv_cfg(str(tmp_path / "missing.cfg")) is None
    _touch(tmp_path / "big" / "pyvenv.cfg", "x = " + "y" * (64 * 1024))
    assert layout.read_pyvenv_cfg(str(tmp_path / "big" / "pyvenv.cfg")) is None
