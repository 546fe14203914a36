"""Tests of envdoctor.discovery: every source, dedupe, broken environments, static reading.

One module-scoped temporary machine (HOME, project, PATH, conda, pyenv, uv, pipx, poetry,
pipenv, reticulate, Windows layouts) is built from the real pyenv interpreters, ``python -m
venv``, ``uv venv`` and, when it installs, ``virtualenv``; discovery must find exactly what
was planted, with the right kinds, names and versions, and without running any interpreter
whose files say enough (fake ``#!/bin/sh`` interpreters log every run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest

import envdoctor.discovery as discovery
from envdoctor.discovery import (
    SOURCES,
    Candidate,
    Context,
    conda,
    discover,
    project,
    pyenv,
    read_candidates,
    windows,
)
from envdoctor.discovery import (
    path as path_source,
)

PYENV = Path("/root/.pyenv/versions")
UV = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "uv"
REAL_SHIM = Path("/root/.pyenv/shims/python3")
SITE_SRC = Path(__file__).resolve().parents[1] / ".venv" / "lib" / "python3.11" / "site-packages"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


# --------------------------------------------------------------------------------------------
# builders


def write_exe(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def fake_python(path: Path, log: Path, answer: Optional[dict[str, object]] = None) -> Path:
    """A ``#!/bin/sh`` interpreter that logs each run and prints canned probe JSON."""
    canned = path.parent / f".{path.name}.answer.json"
    canned.parent.mkdir(parents=True, exist_ok=True)
    canned.write_text(json.dumps(answer or {}))
    return write_exe(path, f'echo "{path}" >> "{log}"\ncat "{canned}"')


def make_dist(site: Path, name: str, version: str, installer: str = "pip") -> None:
    d = site / f"{name.replace('-', '_')}-{version}.dist-info"
    d.mkdir(parents=True, exist_ok=True)
    (d / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (d / "INSTALLER").write_text(installer + "\n")


def conda_record(prefix: Path, name: str, version: str, build: str, files: list[str]) -> None:
    """A conda-meta PrefixRecord as conda writes it (trimmed to the usual keys)."""
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    record = {
        "build": build,
        "build_number": 0,
        "channel": "https://conda.anaconda.org/conda-forge/linux-64",
        "constrains": [],
        "depends": ["libgcc-ng >=12"] if name != "python" else ["libffi >=3.4", "openssl >=3.2"],
        "fn": f"{name}-{version}-{build}.conda",
        "files": files,
        "license": "BSD-3-Clause",
        "md5": "0" * 32,
        "name": name,
        "requested_spec": f"{name}={version}",
        "sha256": "0" * 64,
        "size": 12345,
        "subdir": "linux-64",
        "timestamp": 1700000000000,
        "url": f"https://conda.anaconda.org/conda-forge/linux-64/{name}-{version}-{build}.conda",
        "version": version,
    }
    (meta / f"{name}-{version}-{build}.json").write_text(json.dumps(record, indent=1))
    history = meta / "history"
    with history.open("a") as fh:
        fh.write(f"==> 2024-01-01 00:00:00 <==\n+conda-forge/linux-64::{name}-{version}-{build}\n")


def make_conda_env(
    prefix: Path, log: Path, py: Optional[str], windows_layout: bool = False
) -> Path:
    """A conda prefix: records for python/numpy, site-packages with dist-info, a fake python."""
    xy = ".".join(py.split(".")[:2]) if py else ""
    if py:
        conda_record(prefix, "python", py, "hab00c5b_1_cpython", [f"bin/python{xy}"])
        conda_record(prefix, "numpy", "1.26.4", "py311h64a7726_0", ["lib/site-packages/numpy"])
    else:
        conda_record(prefix, "r-base", "4.3.1", "h0_0", ["bin/R"])
    if windows_layout:
        site = prefix / "Lib" / "site-packages"
        exe = fake_python(prefix / "python.exe", log)
    elif py:
        site = prefix / "lib" / f"python{xy}" / "site-packages"
        exe = fake_python(prefix / "bin" / f"python{xy}", log)
        (prefix / "bin" / "python").symlink_to(f"python{xy}")
    else:
        return prefix
    make_dist(site, "numpy", "1.26.4", installer="conda")
    return exe


def fake_venv(
    prefix: Path, log: Path, version: str, *, cfg_extra: str = "", windows_layout: bool = False
) -> Path:
    """A venv made of files: pyvenv.cfg, a fake interpreter, site-packages with one dist."""
    xy = ".".join(version.split(".")[:2])
    prefix.mkdir(parents=True, exist_ok=True)
    home = "C:\\Python311" if windows_layout else f"/root/.pyenv/versions/{version}/bin"
    (prefix / "pyvenv.cfg").write_text(
        f"home = {home}\ninclude-system-site-packages = false\nversion = {version}\n{cfg_extra}"
    )
    if windows_layout:
        exe = fake_python(prefix / "Scripts" / "python.exe", log)
        site = prefix / "Lib" / "site-packages"
    else:
        exe = fake_python(prefix / "bin" / "python", log)
        site = prefix / "lib" / f"python{xy}" / "site-packages"
    make_dist(site, "keras", "3.6.0")
    return exe


def real_venv(python: Path, dest: Path) -> Path:
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(dest)], check=True)
    return dest


def try_virtualenv(python: Path, dest: Path, tools: Path) -> bool:
    """Install virtualenv from PyPI into a temp dir and make ``dest`` with it; False if not."""
    if not UV.exists():
        return False
    try:
        subprocess.run(
            [
                str(UV),
                "pip",
                "install",
                "--quiet",
                "--target",
                str(tools),
                "--python",
                str(python),
                "virtualenv",
            ],
            check=True,
            timeout=30,
            capture_output=True,
        )
        env = {
            **os.environ,
            "PYTHONPATH": str(tools),
            "VIRTUALENV_OVERRIDE_APP_DATA": str(tools / "app-data"),
        }
        subprocess.run(
            [str(python), "-m", "virtualenv", "--no-seed", "--no-periodic-update", str(dest)],
            check=True,
            timeout=120,
            capture_output=True,
            env=env,
        )
    except (subprocess.SubprocessError, OSError):
        return False
    return (dest / "pyvenv.cfg").exists()


@dataclass
class Expect:
    """What discovery must report about one planted environment."""

    kind: str
    name: str
    version: Optional[str] = None  # None: not read (broken)
    broken: Optional[str] = None  # prefix of the broken reason
    found_by: tuple[str, ...] = ()  # exact, when given


@dataclass
class Machine:
    root: Path
    home: Path
    cwd: Path
    environ: dict[str, str]
    log: Path
    sys_executable: str
    expected: dict[str, Expect] = field(default_factory=dict)  # realpath(prefix) -> Expect
    locked: str = ""

    def runs(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    for v in ("3.10.13", "3.11.7", "3.12.1"):
        need(PYENV / v / "bin" / "python3")
    need(UV)
    root = tmp_path_factory.mktemp("machine")
    home = root / "home"
    log = root / "runs.log"
    proj = root / "work" / "proj"
    cwd = proj / "src"
    cwd.mkdir(parents=True)
    expected: dict[str, Expect] = {}

    def expect(prefix: Path, e: Expect) -> None:
        expected[os.path.realpath(prefix)] = e

    # --- the project: uv venv, .python-version, pyproject (poetry), Pipfile (pipenv)
    subprocess.run(
        [
            str(UV),
            "venv",
            "--quiet",
            "--python",
            str(PYENV / "3.12.1" / "bin" / "python3"),
            str(proj / ".venv"),
        ],
        check=True,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        capture_output=True,
    )
    expect(
        proj / ".venv",
        Expect("uv", "proj/.venv", "3.12.1", found_by=("active", "project", "reticulate")),
    )
    (proj / ".python-version").write_text("# pinned by the team\n3.12\n")
    (proj / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["poetry-core"]\n\n'
        '[tool.poetry]\nname = "My_Proj"\nversion = "0.1.0"\n'
    )
    (proj / "Pipfile").write_text('[packages]\nkeras = "*"\n')
    # a directory named venv that is a package, not an environment: not listed
    (proj / "venv").mkdir()
    (proj / "venv" / "__init__.py").write_text("")

    poetry_dir = home / ".cache" / "pypoetry" / "virtualenvs"
    poetry_env = poetry_dir / (project.poetry_env_prefix("My_Proj", str(proj)) + "-py3.11")
    fake_venv(poetry_env, log, "3.11.7", cfg_extra="virtualenv = 20.25.0\n")
    expect(
        poetry_env, Expect("poetry", poetry_env.name, "3.11.7", found_by=("project", "venv_homes"))
    )
    other_poetry = poetry_dir / "other-AbCdEf12-py3.10"
    fake_venv(other_poetry, log, "3.10.13", cfg_extra="virtualenv = 20.25.0\n")
    expect(other_poetry, Expect("poetry", other_poetry.name, "3.10.13", found_by=("venv_homes",)))
    pipenv_env = home / ".local" / "share" / "virtualenvs" / project.pipenv_env_name(str(proj))
    fake_venv(pipenv_env, log, "3.11.7", cfg_extra="virtualenv = 20.25.0\n")
    expect(
        pipenv_env, Expect("pipenv", pipenv_env.name, "3.11.7", found_by=("project", "venv_homes"))
    )

    # --- ~/.virtualenvs: real venv r-keras, virtualenv r-reticulate, a Windows-layout venv,
    # broken ones
    venvs = home / ".virtualenvs"
    r_keras = real_venv(PYENV / "3.11.7" / "bin" / "python3", venvs / "r-keras")
    make_dist(r_keras / "lib" / "python3.11" / "site-packages", "keras", "3.6.0")
    make_dist(r_keras / "lib" / "python3.11" / "site-packages", "tensorflow", "2.18.0")
    expect(
        r_keras,
        Expect("venv", "r-keras", "3.11.7", found_by=("active", "venv_homes", "reticulate")),
    )
    if try_virtualenv(
        PYENV / "3.10.13" / "bin" / "python3", venvs / "r-reticulate", root / "vtools"
    ):
        expect(venvs / "r-reticulate", Expect("virtualenv", "r-reticulate", "3.10.13"))
    fake_venv(venvs / "winvenv", log, "3.11.9", windows_layout=True)
    expect(venvs / "winvenv", Expect("venv", "winvenv", "3.11.9"))
    gone = venvs / "gone-interp"
    (gone / "bin").mkdir(parents=True)
    (gone / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.2\n")
    expect(gone, Expect("venv", "gone-interp", broken="interpreter missing"))
    dangling = venvs / "dangling"
    (dangling / "bin").mkdir(parents=True)
    (dangling / "pyvenv.cfg").write_text(
        "home = /root/.pyenv/versions/3.9.0/bin\nversion = 3.9.0\n"
    )
    (dangling / "bin" / "python").symlink_to("/root/.pyenv/versions/3.9.0/bin/python3.9")
    expect(dangling, Expect("venv", "dangling", broken="dangling symlink"))
    locked = venvs / "locked"
    locked.mkdir()
    (locked / "pyvenv.cfg").write_text("version = 3.11.7\n")
    locked.chmod(0)
    expect(locked, Expect("unknown", "locked", broken="unreadable directory"))
    notpy = venvs / "notpython"
    (notpy / "pyvenv.cfg").parent.mkdir(parents=True)
    (notpy / "pyvenv.cfg").write_text("version = 3.11.7\n")
    (notpy / "bin").mkdir()
    (notpy / "bin" / "python").write_text("this is a note, not a program\n")
    (notpy / "bin" / "python").chmod(0o755)
    expect(notpy, Expect("venv", "notpython", broken="not Python"))
    (venvs / "postactivate").write_text("# virtualenvwrapper hook, a file: not listed\n")
    (venvs / "not-an-env").mkdir()  # no pyvenv.cfg, no interpreter: not listed

    # --- Windows user profile redirected to OneDrive, python.org install, Store stub on PATH
    winhome = root / "winhome"
    onedrive = winhome / "OneDrive"
    r_tf = onedrive / "Documents" / ".virtualenvs" / "r-tensorflow"
    fake_venv(r_tf, log, "3.10.11", windows_layout=True)
    expect(r_tf, Expect("venv", "r-tensorflow", "3.10.11"))
    local = winhome / "AppData" / "Local"
    py312 = local / "Programs" / "Python" / "Python312"
    fake_python(py312 / "python.exe", log)
    (py312 / "python312.dll").write_bytes(b"MZ")
    (py312 / "Lib").mkdir()
    (py312 / "Lib" / "os.py").write_text("")
    make_dist(py312 / "Lib" / "site-packages", "numpy", "2.1.3")
    expect(py312, Expect("system", "Python312", "3.12", found_by=("windows",)))
    store = local / "Microsoft" / "WindowsApps"
    store.mkdir(parents=True)
    (store / "python3").write_bytes(b"")
    (store / "python3").chmod(0o755)

    # --- a fake pyenv root: versions symlinked to the real ones, a fake-layout 3.11.7 with a
    # pyenv-virtualenv env, aliases, broken versions, shims
    pyroot = home / ".pyenv"
    versions = pyroot / "versions"
    versions.mkdir(parents=True)
    (versions / "3.12.1").symlink_to(PYENV / "3.12.1")
    (versions / "py312").symlink_to("3.12.1")  # an alias: deduped onto 3.12.1
    expect(versions / "3.12.1", Expect("pyenv", "3.12.1", "3.12.1", found_by=("path", "pyenv")))
    v311 = versions / "3.11.7"
    (v311 / "bin").mkdir(parents=True)
    (v311 / "bin" / "python3.11").symlink_to(PYENV / "3.11.7" / "bin" / "python3.11")
    (v311 / "bin" / "python3").symlink_to("python3.11")
    (v311 / "bin" / "python").symlink_to("python3.11")
    (v311 / "lib").mkdir()
    (v311 / "lib" / "python3.11").symlink_to(PYENV / "3.11.7" / "lib" / "python3.11")
    expect(v311, Expect("pyenv", "3.11.7", "3.11.7", found_by=("pyenv",)))
    foo = real_venv(PYENV / "3.11.7" / "bin" / "python3", v311 / "envs" / "foo")
    (versions / "foo").symlink_to(foo)
    expect(foo, Expect("pyenv-virtualenv", "foo", "3.11.7", found_by=("pyenv",)))
    (versions / "3.9.99").mkdir()
    expect(versions / "3.9.99", Expect("pyenv", "3.9.99", broken="interpreter missing"))
    (versions / "3.8.0").symlink_to(root / "uninstalled-3.8.0")
    expected[str(versions / "3.8.0")] = Expect("pyenv", "3.8.0", broken="dangling symlink")
    (pyroot / "version").write_text("3.11.7\n")
    shim_text = (
        REAL_SHIM.read_text().replace("/root/.pyenv", str(pyroot))
        if REAL_SHIM.exists()
        else f'#!/usr/bin/env bash\nexport PYENV_ROOT="{pyroot}"\n'
        f'exec "{pyroot}/libexec/pyenv" exec "${{0##*/}}" "$@"\n'
    )
    for name in ("python", "python3", "python3.10"):  # python3.10: not in 3.12.1, skipped
        shim = pyroot / "shims" / name
        shim.parent.mkdir(exist_ok=True)
        shim.write_text(shim_text)
        shim.chmod(0o755)

    # --- conda: a root with envs, environments.txt, CONDA_ENVS_PATH, .condarc envs_dirs
    mini = home / "miniconda3"
    make_conda_env(mini, log, "3.11.7")
    (mini / "condabin").mkdir()
    write_exe(mini / "bin" / "conda", "exit 1")
    expect(mini, Expect("conda", "base", "3.11.7", found_by=("conda",)))
    make_conda_env(mini / "envs" / "tf", log, "3.10.14")
    make_dist(mini / "envs" / "tf" / "lib" / "python3.10" / "site-packages", "tensorflow", "2.15.1")
    expect(mini / "envs" / "tf", Expect("conda", "tf", "3.10.14", found_by=("active", "conda")))
    make_conda_env(mini / "envs" / "r-only", log, None)
    expect(mini / "envs" / "r-only", Expect("conda", "r-only", broken="interpreter missing"))
    (mini / "envs" / "halfgone" / "lib").mkdir(parents=True)
    expect(mini / "envs" / "halfgone", Expect("conda", "halfgone", broken="not Python"))
    (mini / "envs" / ".conda_envs_dir_test").write_text("")
    shared = root / "elsewhere" / "shared-env"
    make_conda_env(shared, log, "3.9.18")
    expect(shared, Expect("conda", "shared-env", "3.9.18", found_by=("conda",)))
    stale = root / "elsewhere" / "deleted-env"
    expected[str(stale)] = Expect("conda", "deleted-env", broken="interpreter missing")
    (home / ".conda").mkdir()
    (home / ".conda" / "environments.txt").write_text(
        f"{mini}\n{mini / 'envs' / 'tf'}\n{shared}\n{stale}\n"
    )
    via_path = root / "condaenvs" / "via-envs-path"
    make_conda_env(via_path, log, "3.12.1")
    expect(via_path, Expect("conda", "via-envs-path", "3.12.1"))
    winconda = root / "rc-envs" / "winconda"
    make_conda_env(winconda, log, "3.10.11", windows_layout=True)
    expect(winconda, Expect("conda", "winconda", "3.10.11"))
    (home / ".condarc").write_text(
        "channels:\n  - conda-forge\nenvs_dirs:\n  - "
        + str(root / "rc-envs")
        + "  # team envs\n  - ~/no-such-dir\n"
        "pkgs_dirs:\n  - /tmp/pkgs\n"
    )

    # --- pipx, uv pythons and tools
    black = home / ".local" / "share" / "pipx" / "venvs" / "black"
    fake_venv(black, log, "3.12.1")
    expect(black, Expect("pipx", "black", "3.12.1", found_by=("pipx",)))
    uvpy = home / ".local" / "share" / "uv" / "python" / "cpython-3.12.1-linux-x86_64-gnu"
    fake_python(uvpy / "bin" / "python3.12", log)
    (uvpy / "bin" / "python3").symlink_to("python3.12")
    (uvpy / "bin" / "python").symlink_to("python3.12")
    (uvpy / "lib" / "python3.12" / "site-packages").mkdir(parents=True)
    (uvpy / "lib" / "python3.12" / "os.py").write_text("")
    (uvpy / "include" / "python3.12").mkdir(parents=True)
    (uvpy / "include" / "python3.12" / "patchlevel.h").write_text('#define PY_VERSION "3.12.1"\n')
    (uvpy.parent / "cpython-3.12-linux-x86_64-gnu").symlink_to(uvpy.name)
    (uvpy.parent / ".lock").write_text("")
    expect(uvpy, Expect("uv-python", "cpython-3.12.1", "3.12.1", found_by=("uv",)))
    ruff_tool = home / ".local" / "share" / "uv" / "tools" / "ruff"
    fake_venv(ruff_tool, log, "3.12.1", cfg_extra="uv = 0.13.9\n")
    expect(ruff_tool, Expect("uv", "ruff", "3.12.1", found_by=("uv",)))

    # --- PATH extras: an interpreter with no layout (must be probed), a dangling symlink,
    # the system Python through a symlink
    odd = root / "odd"
    fake_python(
        odd / "python",
        log,
        {
            "executable": str(odd / "python"),
            "prefix": str(odd),
            "base_prefix": str(odd),
            "version": "3.9.7",
            "version_info": [3, 9, 7, "final", 0],
            "implementation": "cpython",
            "arch": "x86_64",
            "platform": "linux",
            "site_packages": [str(odd / "site")],
            "user_site": None,
        },
    )
    make_dist(odd / "site", "keras", "2.15.0")
    expect(odd, Expect("unknown", "odd", "3.9.7", found_by=("path",)))
    dead = root / "deadbin"
    dead.mkdir()
    (dead / "python3").symlink_to(root / "removed" / "python3")
    expected[str(dead)] = Expect(
        "unknown", "deadbin", broken="dangling symlink", found_by=("path",)
    )
    sysbin = root / "sysbin"
    sysbin.mkdir()
    if Path("/usr/bin/python3").exists():
        (sysbin / "python3").symlink_to("/usr/bin/python3")
        expected[os.path.realpath("/usr")] = Expect(
            "system",
            os.path.basename(os.path.realpath("/usr/bin/python3")),
            "3",
            found_by=("path",),
        )

    fallback = root / "missing" / "python"
    expected[str(fallback.parent)] = Expect(
        "unknown", "RETICULATE_PYTHON_FALLBACK", broken="interpreter missing"
    )

    environ = {
        "HOME": str(home),
        "PATH": os.pathsep.join(str(p) for p in (store, pyroot / "shims", odd, dead, sysbin)),
        "VIRTUAL_ENV": str(proj / ".venv"),
        "CONDA_PREFIX": str(mini / "envs" / "tf"),
        "CONDA_DEFAULT_ENV": "tf",
        "CONDA_ENVS_PATH": str(root / "condaenvs"),
        "RETICULATE_PYTHON": str(proj / ".venv" / "bin" / "python"),
        "RETICULATE_PYTHON_ENV": "r-keras",
        "RETICULATE_PYTHON_FALLBACK": str(fallback),
        "USERPROFILE": str(winhome),
        "OneDrive": str(onedrive),
        "LOCALAPPDATA": str(local),
    }
    m = Machine(
        root, home, cwd, environ, log, str(r_keras / "bin" / "python"), expected, str(locked)
    )
    yield m
    locked.chmod(0o755)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def on_machine(machine: Machine, monkeypatch: pytest.MonkeyPatch) -> Machine:
    """The machine, with envdoctor "running" from r-keras and ``locked`` unreadable even as root."""
    monkeypatch.setattr(sys, "executable", machine.sys_executable)
    from envdoctor import fsread

    real = fsread._listdir

    def listdir(path: Any) -> list[str]:
        if os.path.realpath(path) == os.path.realpath(machine.locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(fsread, "_listdir", listdir)
    return machine


def run_discover(m: Machine, **overrides: str) -> list[Candidate]:
    return discover(environ={**m.environ, **overrides}, cwd=str(m.cwd), home=str(m.home))


def key_of(c: Candidate) -> str:
    """The planted key: the real prefix, except for dangling or missing prefixes (as given)."""
    if os.path.islink(c.prefix) and not os.path.exists(c.prefix):
        return c.prefix
    if not os.path.lexists(c.prefix):
        return c.prefix
    return os.path.realpath(c.prefix)


def system_wide(c: Candidate) -> bool:
    """Environments in machine-wide places no HOME or variable controls (/opt/conda, /opt/pipx)."""
    return c.prefix.startswith(("/opt/conda", "/opt/pipx/"))


# --------------------------------------------------------------------------------------------
# the whole machine


def test_discovers_exactly_the_planted_set(on_machine: Machine) -> None:
    m = on_machine
    t0 = time.perf_counter()
    cands = run_discover(m)
    elapsed = time.perf_counter() - t0
    cands = [c for c in cands if not system_wide(c)]
    found = {key_of(c): c for c in cands}
    assert len(found) == len(cands), "two candidates share a prefix: dedupe failed"
    assert sorted(found) == sorted(m.expected)
    for key, e in m.expected.items():
        c = found[key]
        assert c.kind == e.kind, (key, c)
        assert c.name == e.name, (key, c)
        if e.broken:
            assert c.broken and c.broken.startswith(e.broken), (key, c.broken)
        else:
            assert c.broken is None, (key, c.broken)
        if e.found_by:
            assert c.found_by == e.found_by, (key, c.found_by)
    assert elapsed < 1.0
    assert m.runs() == []  # discovery itself runs nothing


def test_reads_planted_envs_statically(on_machine: Machine) -> None:
    m = on_machine
    cands = run_discover(m)
    before = len(m.runs())
    rows = read_candidates(cands, environ=m.environ)
    assert [r[0] for r in rows] == cands
    runs = m.runs()[before:]
    # only the interpreter with no layout at all is run, once
    assert runs == [str(m.root / "odd" / "python")]
    for cand, env, err in rows:
        e = m.expected[key_of(cand)]
        if e.broken:
            assert env is None and err == cand.broken
            continue
        assert err is None and env is not None, (cand, err)
        assert env.python_version.startswith(e.version or "?"), (cand.name, env.python_version)
        assert env.probed == (cand.name == "odd"), cand.name
    envs = {c.name: env for c, env, _ in rows if env is not None}
    assert envs["r-keras"].version_of("keras") == "3.6.0"
    assert envs["tf"].version_of("tensorflow") == "2.15.1"
    assert envs["tf"].version_of("numpy") == "1.26.4"
    assert envs["winconda"].version_of("numpy") == "1.26.4"
    assert envs["winvenv"].version_of("keras") == "3.6.0"
    assert envs["odd"].version_of("keras") == "2.15.0"
    # warm: the probe answer is cached, nothing runs again
    read_candidates(cands, environ=m.environ)
    assert len(m.runs()) == before + 1


def test_notes_and_sources_are_merged(on_machine: Machine) -> None:
    cands = {c.name: c for c in run_discover(on_machine)}
    keras = cands["r-keras"]
    assert any("RETICULATE_PYTHON_ENV=r-keras" in n for n in keras.notes)
    assert any("running envdoctor" in n for n in keras.notes)
    shim = cands["3.12.1"]
    shim_note = shim.notes[0]
    assert "pyenv shim" in shim_note and "resolves to 3.12.1" in shim_note
    assert str(on_machine.root / "work" / "proj" / ".python-version") in shim_note
    tf = cands["tf"]
    assert tf.notes[0].startswith("activated: CONDA_PREFIX=")
    assert "python3.10" not in " ".join(n for c in cands.values() for n in c.notes)


def test_store_stub_skipped_and_path_order(on_machine: Machine) -> None:
    cands = run_discover(on_machine)
    assert not any("WindowsApps" in c.python for c in cands)
    path_found = [c for c in cands if c.found_by[0] == "path"]
    assert [c.name for c in path_found][:2] == ["3.12.1", "odd"]


def test_sources_absent_yield_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "home"
    empty.mkdir()
    environ = {"HOME": str(empty), "PATH": str(tmp_path / "nothing")}
    for source in SOURCES:
        if source.NAME == "active":
            continue
        found = source.find(Context(environ, str(tmp_path), str(empty)))
        assert [c for c in found if not system_wide(c)] == [], source.NAME


def test_crashing_source_becomes_a_note(
    on_machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(ctx: Context) -> Iterator[Candidate]:
        yield Candidate(
            python="", prefix=str(on_machine.root / "partial"), kind="unknown", name="partial"
        )
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(conda, "find", boom)
    cands = run_discover(on_machine)
    notes = [c for c in cands if c.name == "source conda"]
    assert len(notes) == 1
    assert notes[0].broken is not None and "disk on fire" in notes[0].broken
    assert "RuntimeError" in notes[0].broken and notes[0].python == ""
    assert any(c.name == "partial" for c in cands)  # what it yielded before the crash is kept
    assert any(c.name == "r-keras" for c in cands)  # other sources still ran
    rows = read_candidates(notes)
    assert rows[0][1] is None and rows[0][2] == notes[0].broken


def test_read_candidates_reports_errors(tmp_path: Path) -> None:
    script = write_exe(tmp_path / "bin" / "python", "echo garbage")
    cand = Candidate(python=str(script), prefix=str(tmp_path), kind="unknown", name="x")
    gone = Candidate(python=str(tmp_path / "nope"), prefix=str(tmp_path), kind="unknown", name="y")
    rows = read_candidates([cand, gone], environ={"HOME": str(tmp_path)}, timeout=5)
    assert rows[0][1] is None and "not JSON" in str(rows[0][2]) and "garbage" in str(rows[0][2])
    assert rows[1][1] is None and "no such file" in str(rows[1][2])


# --------------------------------------------------------------------------------------------
# pyenv shims


@pytest.fixture
def shim_root(tmp_path: Path) -> Path:
    root = tmp_path / "pyenv"
    for v in ("3.10.4", "3.10.12", "3.11.7"):
        write_exe(root / "versions" / v / "bin" / "python3", "exit 0")
        write_exe(root / "versions" / v / "bin" / f"python{v.rsplit('.', 1)[0]}", "exit 0")
    (root / "version").write_text("3.11.7\n")
    shim = root / "shims" / "python3"
    shim.parent.mkdir(parents=True)
    shim.write_text(
        f'#!/usr/bin/env bash\nexport PYENV_ROOT="{root}"\n'
        f'exec "{root}/libexec/pyenv" exec python3 "$@"\n'
    )
    shim.chmod(0o755)
    return root


def resolve(root: Path, cwd: Path, environ: Optional[dict[str, str]] = None) -> Optional[Candidate]:
    ctx = Context({"HOME": str(cwd), **(environ or {})}, str(cwd), str(cwd))
    shim = str(root / "shims" / "python3")
    assert pyenv.shim_root(ctx, shim) == str(root)
    return pyenv.resolve_shim(ctx, shim, str(root))


def test_shim_global_version(shim_root: Path, tmp_path: Path) -> None:
    c = resolve(shim_root, tmp_path)
    assert c is not None and c.python == str(shim_root / "versions" / "3.11.7" / "bin" / "python3")
    assert c.notes == (
        f"pyenv shim {shim_root}/shims/python3 resolves to 3.11.7 (set by {shim_root}/version)",
    )


def test_shim_local_file_in_parent_and_prefix_version(shim_root: Path, tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / ".python-version").write_text("3.10\n")
    (tmp_path / "proj" / "deep").mkdir()
    c = resolve(shim_root, tmp_path / "proj" / "deep")
    assert c is not None and c.name == "3.10.12"  # newest 3.10.x, numerically


def test_shim_env_var_wins_and_missing_version_is_broken(shim_root: Path, tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("3.10.4\n")
    c = resolve(shim_root, tmp_path, {"PYENV_VERSION": "3.9.1:3.11.7"})
    assert c is not None and c.broken is not None
    assert "'3.9.1'" in c.broken and "not installed" in c.broken and "PYENV_VERSION" in c.broken
    c = resolve(shim_root, tmp_path, {"PYENV_VERSION": "python-3.11.7"})
    assert c is not None and c.name == "3.11.7" and c.broken is None


def test_shim_system_yields_nothing(shim_root: Path, tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("system\n")
    assert resolve(shim_root, tmp_path) is None


# --------------------------------------------------------------------------------------------
# project names and hashes


def test_project_name_reader() -> None:
    text = (
        "[build-system]\nname = 'not-this'\n\n[project]  # PEP 621\nname = \"Keras-Thing\"\n"
        '[tool.poetry]\nname = "ignored"\n'
    )
    assert project.project_name(text) == "Keras-Thing"
    assert (
        project.project_name("[tool.poetry]\nversion = '1'\nname = 'legacy_app'\n") == "legacy_app"
    )
    assert project.project_name("[tool.black]\nname = 'x'\n") is None


def test_poetry_and_pipenv_names_follow_their_algorithms(tmp_path: Path) -> None:
    import base64
    import hashlib

    d = tmp_path / "My Proj"
    d.mkdir()
    (d / "Pipfile").write_text("")
    digest = hashlib.sha256(os.path.normcase(os.path.realpath(d)).encode()).digest()
    assert project.poetry_env_prefix("My_Proj.Core", str(d)) == (
        "my-proj-core-" + base64.urlsafe_b64encode(digest).decode()[:8]
    )
    pdigest = hashlib.sha256(str((d / "Pipfile").resolve()).encode()).digest()[:6]
    assert (
        project.pipenv_env_name(str(d)) == "My_Proj-" + base64.urlsafe_b64encode(pdigest).decode()
    )


def test_moved_project_matches_by_name_with_a_note(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text("[project]\nname = 'proj'\n")
    store = tmp_path / "poetry"
    fake_venv(store / "proj-ZZZZZZZZ-py3.11", tmp_path / "log", "3.11.7")
    fake_venv(store / "projector-ZZZZZZZZ-py3.11", tmp_path / "log", "3.11.7")
    ctx = Context(
        {"HOME": str(tmp_path), "POETRY_VIRTUALENVS_PATH": str(store)}, str(proj), str(tmp_path)
    )
    found = list(project.find(ctx))
    assert [c.name for c in found] == ["proj-ZZZZZZZZ-py3.11"]
    assert found[0].kind == "poetry" and "matched by project name only" in found[0].notes[0]


# --------------------------------------------------------------------------------------------
# conda config reader


def test_condarc_envs_dirs_forms() -> None:
    block = (
        "channels:\n  - defaults\nenvs_dirs:\n  - ~/envs   # mine\n"
        '  - "/opt/team envs"\n\nchannel_priority: strict\n'
    )
    assert conda.parse_envs_dirs(block) == ["~/envs", "/opt/team envs"]
    assert conda.parse_envs_dirs("envs_dirs: [/a, '/b']\n") == ["/a", "/b"]
    assert conda.parse_envs_dirs("envs_path: /single\n") == ["/single"]
    assert conda.parse_envs_dirs("# envs_dirs:\n#  - /x\n") == []


def test_conda_envs_dirs_and_micromamba(tmp_path: Path) -> None:
    log = tmp_path / "log"
    mamba = tmp_path / "mamba-root"
    make_conda_env(mamba / "envs" / "ml", log, "3.11.7")
    dirs_env = tmp_path / "d1"
    make_conda_env(dirs_env / "x", log, "3.10.14")
    exe_root = tmp_path / "anaconda-x"
    make_conda_env(exe_root, log, "3.9.18")
    write_exe(exe_root / "bin" / "conda", "exit 1")
    environ = {
        "HOME": str(tmp_path / "h"),
        "MAMBA_ROOT_PREFIX": str(mamba),
        "CONDA_ENVS_DIRS": f"{dirs_env},{tmp_path / 'none'}",
        "CONDA_EXE": str(exe_root / "bin" / "conda"),
    }
    names = {c.name: c for c in conda.find(Context(environ, str(tmp_path), str(tmp_path / "h")))}
    assert set(names) == {"ml", "x", "base"}
    assert names["base"].prefix == str(exe_root)


# --------------------------------------------------------------------------------------------
# Windows: py launcher output, PEP 514 registry


PY_LIST_PATHS_NEW = """\
  *               C:\\Users\\alice\\proj\\.venv\\Scripts\\python.exe
 -V:3.13          C:\\Users\\alice\\AppData\\Local\\Programs\\Python\\Python313\\python.exe
 -V:3.12 *        C:\\Users\\alice\\AppData\\Local\\Programs\\Python\\Python312\\python.exe
 -V:3.11-32       C:\\Program Files (x86)\\Python311-32\\python.exe
 -V:ContinuumAnalytics/Anaconda39-64 C:\\Users\\alice\\anaconda3\\python.exe
"""

PY_LIST_PATHS_OLD = """\
Installed Pythons found by C:\\WINDOWS\\py.exe Launcher for Windows
 -3.9-64        C:\\Users\\bob\\AppData\\Local\\Programs\\Python\\Python39\\python.exe *
 -3.8-32        C:\\Python38-32\\python.exe
"""


def test_py_launcher_new_format() -> None:
    entries = windows.parse_py_list_paths(PY_LIST_PATHS_NEW)
    assert [(e.tag, e.default) for e in entries] == [
        ("", True),
        ("3.13", False),
        ("3.12", True),
        ("3.11-32", False),
        ("ContinuumAnalytics/Anaconda39-64", False),
    ]
    assert entries[3].path == "C:\\Program Files (x86)\\Python311-32\\python.exe"
    assert entries[2].path.endswith("Python312\\python.exe")


def test_py_launcher_old_format_and_nothing_found() -> None:
    entries = windows.parse_py_list_paths(PY_LIST_PATHS_OLD)
    assert entries == [
        windows.LauncherEntry(
            "3.9-64", "C:\\Users\\bob\\AppData\\Local\\Programs\\Python\\Python39\\python.exe", True
        ),
        windows.LauncherEntry("3.8-32", "C:\\Python38-32\\python.exe", False),
    ]
    assert windows.parse_py_list_paths("No Installed Pythons Found!\n") == []
    assert windows.parse_py_list_paths("  *               Active venv\n") == []


class FakeWinreg:
    """The part of :mod:`winreg` that PEP 514 reading uses, over a dict tree."""

    HKEY_CURRENT_USER = "HKCU"
    HKEY_LOCAL_MACHINE = "HKLM"
    KEY_READ = 0x20019
    KEY_WOW64_64KEY = 0x100
    KEY_WOW64_32KEY = 0x200

    def __init__(self, trees: dict[tuple[str, int], dict[str, Any]]) -> None:
        self.trees = trees

    def OpenKey(self, key: Any, sub: str, reserved: int = 0, access: int = 0) -> Any:
        if isinstance(key, str):
            node: Any = self.trees.get((key, access & 0x300))
        else:
            node = key
        for part in sub.split("\\"):
            if not isinstance(node, dict) or part not in node:
                raise FileNotFoundError(sub)
            node = node[part]
        return node

    def EnumKey(self, key: dict[str, Any], index: int) -> str:
        subs = [k for k, v in key.items() if isinstance(v, dict)]
        if index >= len(subs):
            raise OSError("no more items")
        return subs[index]

    def QueryValueEx(self, key: dict[str, Any], name: str) -> tuple[Any, int]:
        value = key.get("@" + name)
        if value is None:
            raise FileNotFoundError(name)
        return value, 1


def test_pep514_registry_reading() -> None:
    hkcu = {
        "Software": {
            "Python": {
                "PythonCore": {
                    "3.12": {
                        "InstallPath": {
                            "@": "C:\\Users\\a\\Py312\\",
                            "@ExecutablePath": "C:\\Users\\a\\Py312\\python.exe",
                        }
                    }
                },
                "PyLauncher": {"3.12": {"InstallPath": {"@": "C:\\Windows\\"}}},
            }
        }
    }
    hklm64 = {
        "Software": {
            "Python": {
                "PythonCore": {
                    "3.12": {"InstallPath": {"@": "C:\\Program Files\\Python312\\"}},  # HKCU wins
                    "3.11": {
                        "InstallPath": {"@": "C:\\Program Files\\Python311"}
                    },  # no ExecutablePath
                    "3.10": {"DisplayName": {}},  # no InstallPath: skipped
                },
                "ContinuumAnalytics": {
                    "Anaconda39-64": {"InstallPath": {"@": "C:\\ProgramData\\Anaconda3"}}
                },
            }
        }
    }
    hklm32 = {
        "Software": {
            "Python": {"PythonCore": {"3.8-32": {"InstallPath": {"@": "C:\\Python38-32"}}}}
        }
    }
    reg = FakeWinreg({("HKCU", 0x100): hkcu, ("HKLM", 0x100): hklm64, ("HKLM", 0x200): hklm32})
    entries = windows.read_registry(reg)
    assert [(e.hive, e.company, e.tag) for e in entries][:2] == [
        ("HKCU", "PythonCore", "3.12"),
        ("HKCU", "PyLauncher", "3.12"),
    ]
    assert windows.pep514_interpreters(entries) == [
        ("C:\\Users\\a\\Py312\\python.exe", "PythonCore/3.12"),
        ("C:\\Program Files\\Python311\\python.exe", "PythonCore/3.11"),
        ("C:\\ProgramData\\Anaconda3\\python.exe", "ContinuumAnalytics/Anaconda39-64"),
        ("C:\\Python38-32\\python.exe", "PythonCore/3.8-32"),
    ]


def test_windows_source_yields_nothing_on_linux_without_windows_vars(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("Linux/macOS behaviour")
    assert list(windows.find(Context({"HOME": str(tmp_path)}, str(tmp_path), str(tmp_path)))) == []


def test_path_names_order() -> None:
    names = [
        "python3.9",
        "python",
        "pythonw",
        "python3.12",
        "python3-config",
        "python3",
        "python3.13t",
    ]
    assert path_source.interpreter_names(names) == [
        "python",
        "python3",
        "python3.13t",
        "python3.12",
        "python3.9",
    ]
    assert path_source.interpreter_names(["python.exe", "python3.exe", "py.exe"], windows=True) == [
        "python.exe",
        "python3.exe",
    ]
    assert path_source.is_store_stub("C:\\Users\\a\\AppData\\Local\\Microsoft\\WindowsApps")


# --------------------------------------------------------------------------------------------
# speed: 30 real venvs with real dist-info


def test_thirty_envs_read_fast(tmp_path: Path) -> None:
    base = real_venv(need(PYENV / "3.11.7" / "bin" / "python3"), tmp_path / "seed")
    site = base / "lib" / "python3.11" / "site-packages"
    for d in sorted(need(SITE_SRC).glob("*.dist-info"))[:20]:
        subprocess.run(["cp", "-a", str(d), str(site)], check=True)
    root = tmp_path / "home" / ".virtualenvs"
    root.mkdir(parents=True)
    for i in range(30):
        subprocess.run(["cp", "-a", str(base), str(root / f"env{i:02d}")], check=True)
    environ = {"HOME": str(tmp_path / "home"), "PATH": str(tmp_path / "nothing")}
    discover(environ=environ, cwd=str(tmp_path), home=str(tmp_path / "home"))  # warm the OS caches
    t0 = time.perf_counter()
    cands = [
        c
        for c in discover(environ=environ, cwd=str(tmp_path), home=str(tmp_path / "home"))
        if c.name.startswith("env")
    ]
    rows = read_candidates(cands, environ=environ)
    elapsed = time.perf_counter() - t0
    assert len(rows) == 30 and all(
        env is not None and not env.probed and len(env.packages) == 20 for _, env, _ in rows
    )
    assert elapsed < 0.5, f"30 environments took {elapsed:.3f} s"


def test_interpreters_that_must_run_are_run_in_parallel(tmp_path: Path) -> None:
    """Four layout-less interpreters that take 0.4 s each: read together, not one by one."""
    log = tmp_path / "log"
    cands = []
    for i in range(4):
        d = tmp_path / f"odd{i}"
        answer = {
            "executable": str(d / "python"),
            "prefix": str(d),
            "base_prefix": str(d),
            "version": "3.10.1",
            "version_info": [3, 10, 1, "final", 0],
            "implementation": "cpython",
            "arch": "x86_64",
            "platform": "linux",
            "site_packages": [],
            "user_site": None,
        }
        exe = fake_python(d / "python", log, answer)
        exe.write_text(exe.read_text().replace("\ncat", "\nsleep 0.4\ncat"))
        cands.append(Candidate(python=str(exe), prefix=str(d), kind="unknown", name=f"odd{i}"))
    t0 = time.perf_counter()
    rows = read_candidates(cands, environ={"HOME": str(tmp_path)})
    elapsed = time.perf_counter() - t0
    assert [env.python_version for _, env, _ in rows if env] == ["3.10.1"] * 4
    assert len(log.read_text().splitlines()) == 4
    assert elapsed < 1.2, f"{elapsed:.2f} s: the interpreters ran one after another"


def test_public_api() -> None:
    assert discovery.__all__ == [
        "KINDS",
        "SOURCES",
        "Candidate",
        "Context",
        "discover",
        "read_candidates",
    ]
    assert [s.NAME for s in SOURCES] == [
        "active",
        "project",
        "path",
        "pyenv",
        "conda",
        "venv_homes",
        "uv",
        "pipx",
        "reticulate",
        "windows",
    ]
