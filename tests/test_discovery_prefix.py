"""Discovery keyed on prefix: environments whose interpreters resolve to one file stay two.

Built from a real pyenv CPython: a venv made with ``--copies`` and one with symlinks from
the same base; conda-like prefixes (``conda-meta/``) whose ``bin/python`` is a symlink to
the pyenv interpreter or into another conda prefix, each with its own site-packages and
its own distribution in it.  The other side is asserted too: links that are not
environments of their own (``python``/``python3``/``python3.X``, a ``~/.local/bin``
symlink into a conda prefix, the pyenv version found by both PATH and pyenv) stay one.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from envdoctor.discovery import discover, read_candidates

PYENV = Path(os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))) / "versions"

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX symlinks")


def _base() -> Path:
    found = sorted(PYENV.glob("3.1[0-9].*/bin/python3.1[0-9]"))
    if not found:
        pytest.skip(f"no pyenv CPython 3.10+ under {PYENV}")
    return found[-1]


def _dist(site: Path, name: str, version: str) -> None:
    d = site / f"{name}-{version}.dist-info"
    d.mkdir(parents=True)
    (d / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def _conda_like(prefix: Path, python_target: Path, minor: str, dist: str) -> Path:
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "bin").mkdir()
    (prefix / "bin" / "python").symlink_to(python_target)
    (prefix / "bin" / "python3").symlink_to("python")
    site = prefix / "lib" / f"python{minor}" / "site-packages"
    site.mkdir(parents=True)
    _dist(site, dist, "1.0.0")
    return prefix


def test_prefixes_sharing_one_interpreter_file_are_two_environments(tmp_path: Path) -> None:
    base = _base()
    minor = base.name.removeprefix("python")
    home = tmp_path / "home"
    venvs = home / ".virtualenvs"
    venvs.mkdir(parents=True)
    copies, links = venvs / "copies", venvs / "links"
    subprocess.run([str(base), "-m", "venv", "--without-pip", "--copies", str(copies)], check=True)
    subprocess.run([str(base), "-m", "venv", "--without-pip", "--symlinks", str(links)],
                   check=True)
    assert not (copies / "bin" / "python").is_symlink()
    assert (links / "bin" / "python").resolve() == base.resolve()
    conda_a = _conda_like(tmp_path / "conda" / "envs" / "a", base, minor, "only-in-a")
    conda_b = _conda_like(tmp_path / "conda" / "envs" / "b", conda_a / "bin" / "python", minor,
                          "only-in-b")
    assert (conda_b / "bin" / "python").resolve() == (conda_a / "bin" / "python").resolve()
    (home / ".conda").mkdir()
    (home / ".conda" / "environments.txt").write_text(f"{conda_a}\n{conda_b}\n")
    local_bin = home / ".local" / "bin"
    local_bin.mkdir(parents=True)
    (local_bin / "python3").symlink_to(conda_a / "bin" / "python")
    environ = {
        "HOME": str(home),
        "PATH": os.pathsep.join([str(local_bin), str(conda_b / "bin"), str(base.parent)]),
        "PYENV_ROOT": str(PYENV.parent),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    cands = discover(environ=environ, cwd=str(tmp_path), home=str(home))
    by_prefix: dict[str, list[str]] = {}
    for c in cands:
        by_prefix.setdefault(os.path.realpath(c.prefix), []).append(c.python)
    for prefix in (copies, links, conda_a, conda_b, base.parent.parent):
        assert len(by_prefix.get(str(prefix.resolve()), [])) == 1, (prefix, by_prefix)
    # the ~/.local/bin link is no environment of its own: it is the interpreter it resolves
    # to, found once although PATH (twice) and pyenv name it
    assert sum(1 for c in cands if os.path.realpath(c.python) == str(base.resolve())
               and not (Path(c.prefix) / "pyvenv.cfg").exists()
               and not (Path(c.prefix) / "conda-meta").exists()) == 1

    # each prefix is read as itself: its own site-packages and distributions
    read = {os.path.realpath(c.prefix): env for c, env, _ in read_candidates(cands,
                                                                             environ=environ)}
    env_a, env_b = read[str(conda_a.resolve())], read[str(conda_b.resolve())]
    assert env_a is not None and env_b is not None
    assert env_a.version_of("only-in-a") == "1.0.0" and env_a.version_of("only-in-b") is None
    assert env_b.version_of("only-in-b") == "1.0.0" and env_b.version_of("only-in-a") is None
    env_c, env_l = read[str(copies.resolve())], read[str(links.resolve())]
    assert env_c is not None and env_l is not None
    assert env_c.prefix != env_l.prefix
