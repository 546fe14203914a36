"""Tests of envdoctor.inventory: static reading of environments, pip_check, importability."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Optional

import pytest

import envdoctor.probe
from envdoctor.errors import EnvironmentReadError, ProbeError
from envdoctor.inventory import (
    module_importable,
    parse_build_info,
    pip_check,
    read_environment,
    resolve_keras_backend,
)
from envdoctor.types import Environment

PYENV = Path("/root/.pyenv/versions")
UV = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "uv"
TEST_ENVS = Path.home() / ".cache" / "envdoctor" / "test-envs"
REPO = Path(__file__).resolve().parent.parent
FIXTURE_LAYERS = REPO / "tests" / "fixtures" / "custom_layers" / "envdoctor_fixture_layers.py"

# A realistic build_info.py of a Linux CUDA wheel of TensorFlow (the CPU wheels under
# ~/.cache/envdoctor/test-envs carry the same OrderedDict form with only the is_* keys).
GPU_BUILD_INFO = (
    "# Copyright 2020 The TensorFlow Authors. All Rights Reserved.\n"
    "#\n"
    '# Licensed under the Apache License, Version 2.0 (the "License");\n'
    "# " + "=" * 78 + "\n"
    '"""Auto-generated module providing information about the build."""\n'
    "import collections\n"
    "\n"
    "build_info = collections.OrderedDict([('cpu_compiler', '/usr/lib/llvm-17/bin/clang'),"
    " ('cuda_compute_capabilities', ['sm_50', 'sm_60', 'sm_70', 'sm_80', 'compute_90']),"
    " ('cuda_version', '12.3'), ('cudnn_version', '8'), ('is_cuda_build', True),"
    " ('is_rocm_build', False), ('is_tensorrt_build', True)])\n"
)

# Verbatim from the tensorflow-cpu 2.15.1 / 2.16.2 / 2.21.0 wheels (one line in the file).
CPU_BUILD_INFO = (
    '"""Auto-generated module providing information about the build."""\n'
    "import collections\n"
    "\n"
    "build_info = collections.OrderedDict([('is_cuda_build', False), ('is_rocm_build', False),"
    " ('is_tensorrt_build', False)])\n"
)


# --------------------------------------------------------------------------------------------
# helpers


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


def make_dist(
    site: Path,
    name: str,
    version: str,
    requires: Iterable[str] = (),
    requires_python: Optional[str] = None,
    installer: Optional[str] = "pip",
    top_level: Optional[Iterable[str]] = None,
    metadata: bool = True,
    provides_extra: Iterable[str] = (),
) -> Path:
    """Write ``<name>-<version>.dist-info`` as pip or uv would (no RECORD needed here)."""
    site.mkdir(parents=True, exist_ok=True)
    d = site / f"{name.replace('-', '_')}-{version}.dist-info"
    d.mkdir()
    if metadata:
        lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", "Summary: test"]
        if requires_python:
            lines.append(f"Requires-Python: {requires_python}")
        lines += [f"Provides-Extra: {e}" for e in provides_extra]
        lines += [f"Requires-Dist: {r}" for r in requires]
        text = "\n".join(lines) + "\n\nA long description\nRequires-Dist: not-a-header\n"
        (d / "METADATA").write_text(text)
    if installer is not None:
        (d / "INSTALLER").write_text(installer + "\n")
    if top_level is not None:
        (d / "top_level.txt").write_text("\n".join(top_level) + "\n")
    return d


def write_exe(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def fake_interpreter(path: Path, log: Path, answer: Optional[dict[str, object]] = None) -> Path:
    """A ``#!/bin/sh`` interpreter that logs each run and prints canned probe JSON."""
    canned = log.with_suffix(".answer.json")
    canned.write_text(json.dumps(answer or {}))
    return write_exe(path, f'echo "run $*" >> "{log}"\ncat "{canned}"')


def runs(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def make_venv(tmp_path: Path, version: str = "3.11.7", *args: str) -> Path:
    base = need(PYENV / version / "bin" / "python")
    venv = tmp_path / f"venv-{version}"
    subprocess.run([str(base), "-m", "venv", "--without-pip", *args, str(venv)], check=True)
    return venv


def site_of(prefix: Path, xy: str) -> Path:
    return prefix / "lib" / f"python{xy}" / "site-packages"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def environ(home: Path) -> dict[str, str]:
    """A minimal target environment: an empty HOME, no PYTHONPATH, no Keras variables."""
    return {"HOME": str(home), "PATH": "/usr/bin:/bin"}


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def no_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the target interpreter would be run."""

    def forbidden(*args: object, **kwargs: object) -> dict[str, object]:
        raise AssertionError("the interpreter was run although static evidence was enough")

    monkeypatch.setattr(envdoctor.probe, "probe_interpreter", forbidden)
    monkeypatch.setattr(envdoctor.probe.cache, "run_probe", forbidden)


# --------------------------------------------------------------------------------------------
# interpreter location and errors


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentReadError, match="no such file or directory"):
        read_environment(str(tmp_path / "nope" / "bin" / "python"))


def test_not_executable(tmp_path: Path) -> None:
    p = tmp_path / "python"
    p.write_text("#!/bin/sh\n")
    p.chmod(0o644)
    with pytest.raises(EnvironmentReadError, match="not executable") as info:
        read_environment(str(p))
    assert "\n" not in str(info.value)


def test_directory_without_interpreter(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentReadError, match="not a Python environment"):
        read_environment(str(tmp_path))


def test_broken_symlink(tmp_path: Path) -> None:
    link = tmp_path / "python"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(EnvironmentReadError, match="broken symbolic link"):
        read_environment(str(link))


# --------------------------------------------------------------------------------------------
# venvs


def test_venv_static(tmp_path: Path, environ: dict[str, str], no_probe: None) -> None:
    venv = make_venv(tmp_path)
    site = site_of(venv, "3.11")
    make_dist(
        site,
        "tensorflow",
        "2.15.1",
        requires=["numpy<2.0.0,>=1.23.5", 'nvidia-cudnn-cu12==8.9.4.25; extra == "and-cuda"'],
        requires_python=">=3.9",
        top_level=["tensorflow"],
        provides_extra=["and-cuda"],
    )
    make_dist(site, "numpy", "2.1.0", requires_python=">=3.10", installer="uv")
    make_dist(site, "Typing_Extensions", "4.12.2")

    for target in (venv, venv / "bin" / "python"):
        env = read_environment(str(target), environ=environ)
        assert env.kind == "venv"
        assert env.manager == "pip"
        assert env.python_version == "3.11.7"
        assert env.prefix == str(venv)
        assert env.python == str(venv / "bin" / "python")
        assert env.implementation == "cpython"
        assert env.arch == os.uname().machine
        assert env.site_packages == (str(site),)
        assert env.probed is False
        assert set(env.packages) == {"tensorflow", "numpy", "typing-extensions"}
    tf = env.packages["tensorflow"]
    assert tf.version == "2.15.1"
    assert tf.requires == (
        "numpy<2.0.0,>=1.23.5",
        'nvidia-cudnn-cu12==8.9.4.25; extra == "and-cuda"',
    )
    assert tf.requires_python == ">=3.9"
    assert tf.location == str(site)
    assert tf.installer == "pip"
    assert env.packages["numpy"].installer == "uv"
    assert env.version_of("Typing_Extensions") == "4.12.2"
    assert env.tf_build_info == {}  # no tensorflow/ directory: only a note


def test_venv_from_python27_and_313(
    tmp_path: Path, environ: dict[str, str], no_probe: None
) -> None:
    venv = make_venv(tmp_path, "3.13.0")
    env = read_environment(str(venv), environ=environ)
    assert env.python_version == "3.13.0"
    assert env.site_packages == (str(site_of(venv, "3.13")),)
    py27 = need(PYENV / "2.7.18" / "bin" / "python")
    env27 = read_environment(str(py27), environ=environ)
    assert env27.kind == "pyenv"
    assert env27.python_version == "2.7.18"
    assert env27.site_packages == (str(PYENV / "2.7.18" / "lib" / "python2.7" / "site-packages"),)


def test_uv_venv(tmp_path: Path, environ: dict[str, str], no_probe: None) -> None:
    need(UV)
    base = need(PYENV / "3.12.1" / "bin" / "python")
    venv = tmp_path / "uvenv"
    subprocess.run(
        [str(UV), "venv", "--quiet", "--no-config", "--python", str(base), str(venv)],
        check=True,
        env={**os.environ, "UV_OFFLINE": "1", "UV_PYTHON_DOWNLOADS": "never"},
    )
    make_dist(site_of(venv, "3.12"), "keras", "3.6.0", installer="uv")
    env = read_environment(str(venv), environ=environ)
    assert env.kind == "uv"
    assert env.manager == "uv"
    assert env.python_version == "3.12.1"
    assert env.version_of("keras") == "3.6.0"
    assert env.probed is False


def test_system_site_packages_venv(tmp_path: Path, home: Path, environ: dict[str, str]) -> None:
    venv = make_venv(tmp_path, "3.11.7", "--system-site-packages")
    make_dist(site_of(venv, "3.11"), "numpy", "1.26.4")
    user_site = home / ".local" / "lib" / "python3.11" / "site-packages"
    make_dist(user_site, "keras", "3.3.3")
    env = read_environment(str(venv), environ=environ)
    base_site = PYENV / "3.11.7" / "lib" / "python3.11" / "site-packages"
    # sys.path order: user site, venv site-packages, base site-packages
    assert env.site_packages == (str(user_site), str(site_of(venv, "3.11")), str(base_site))
    assert env.packages["keras"].location == str(user_site)
    assert "pip" in env.packages  # from the base interpreter
    env2 = read_environment(str(venv), environ={**environ, "PYTHONNOUSERSITE": "1"})
    assert str(user_site) not in env2.site_packages


def test_isolated_venv_ignores_user_site(
    tmp_path: Path, home: Path, environ: dict[str, str]
) -> None:
    venv = make_venv(tmp_path)
    make_dist(home / ".local" / "lib" / "python3.11" / "site-packages", "keras", "3.3.3")
    env = read_environment(str(venv), environ=environ)
    assert "keras" not in env.packages


def test_pyenv_interpreter_is_static(environ: dict[str, str], no_probe: None) -> None:
    py = need(PYENV / "3.11.7" / "bin" / "python3.11")
    env = read_environment(str(py), environ=environ)
    assert env.kind == "pyenv"
    assert env.python_version == "3.11.7"
    assert env.manager == "pip"
    assert "pip" in env.packages


def test_pyenv_user_site_first(home: Path, environ: dict[str, str], no_probe: None) -> None:
    py = need(PYENV / "3.11.7" / "bin" / "python")
    user_site = home / ".local" / "lib" / "python3.11" / "site-packages"
    make_dist(user_site, "pip", "1.0")
    env = read_environment(str(py), environ=environ)
    assert env.site_packages[0] == str(user_site)
    assert env.packages["pip"].version == "1.0"  # the user site shadows the real pip
    assert any("shadows" in n for n in env.notes)


def test_system_python(environ: dict[str, str], no_probe: None) -> None:
    py = need(Path("/usr/bin/python3"))
    env = read_environment(str(py), environ=environ)
    assert env.kind == "system"
    assert env.prefix == "/usr"
    assert env.python_version.startswith("3.")
    assert all(p.startswith("/usr/") for p in env.site_packages)
    assert any(p.endswith("dist-packages") for p in env.site_packages)


def test_windows_layout_is_read_statically(tmp_path: Path, environ: dict[str, str]) -> None:
    venv = tmp_path / "winvenv"
    (venv / "Scripts").mkdir(parents=True)
    (venv / "Scripts" / "python.exe").write_bytes(b"MZ" + b"\0" * 200)
    (venv / "pyvenv.cfg").write_text(
        "home = C:\\Python311\nimplementation = CPython\nversion_info = 3.11.9\n"
        "include-system-site-packages = false\nvirtualenv = 20.26.3\n"
    )
    make_dist(venv / "Lib" / "site-packages", "tensorflow-intel", "2.15.0")
    env = read_environment(str(venv), environ=environ)
    assert env.kind == "virtualenv"
    assert env.python_version == "3.11.9"
    assert env.python == str(venv / "Scripts" / "python.exe")
    assert env.version_of("tensorflow-intel") == "2.15.0"


# --------------------------------------------------------------------------------------------
# interpreter runs: none when pyvenv.cfg tells, exactly one (then cached) when nothing does


def test_no_run_when_pyvenv_cfg_gives_version(tmp_path: Path, environ: dict[str, str]) -> None:
    prefix = tmp_path / "env"
    log = tmp_path / "runs.log"
    fake_interpreter(prefix / "bin" / "python", log)
    (prefix / "pyvenv.cfg").write_text(
        "home = /root/.pyenv/versions/3.10.13/bin\ninclude-system-site-packages = false\n"
        "version = 3.10.13\n"
    )
    make_dist(site_of(prefix, "3.10"), "keras", "2.15.0")
    env = read_environment(str(prefix / "bin" / "python"), environ=environ)
    assert runs(log) == 0
    assert env.probed is False
    assert env.python_version == "3.10.13"
    assert env.version_of("keras") == "2.15.0"


def test_one_run_then_cache_when_static_evidence_missing(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    prefix = tmp_path / "opt" / "python"
    log = tmp_path / "runs.log"
    for xy in ("3.10", "3.11"):  # two lib/pythonX.Y and a bare "python": ambiguous
        (prefix / "lib" / f"python{xy}" / "site-packages").mkdir(parents=True)
        (prefix / "lib" / f"python{xy}" / "os.py").write_text("")
    make_dist(site_of(prefix, "3.11"), "numpy", "1.26.4")
    make_dist(site_of(prefix, "3.10"), "numpy", "1.22.0")
    answer = {
        "executable": str(prefix / "bin" / "python"),
        "prefix": str(prefix),
        "base_prefix": str(prefix),
        "version": "3.11.9",
        "version_info": [3, 11, 9, "final", 0],
        "implementation": "cpython",
        "arch": "x86_64",
        "platform": "linux",
        "site_packages": [str(site_of(prefix, "3.11"))],
        "user_site": str(tmp_path / "home" / ".local" / "lib" / "python3.11" / "site-packages"),
    }
    fake_interpreter(prefix / "bin" / "python", log, answer)
    env = read_environment(str(prefix / "bin" / "python"), environ=environ)
    assert runs(log) == 1
    assert env.probed is True
    assert env.python_version == "3.11.9"
    assert env.site_packages == (str(site_of(prefix, "3.11")),)
    assert env.version_of("numpy") == "1.26.4"
    env2 = read_environment(str(prefix / "bin" / "python"), environ=environ)
    assert runs(log) == 1  # answered from the cache
    assert env2 == env


def test_version_from_interpreter_name_avoids_run(tmp_path: Path, environ: dict[str, str]) -> None:
    prefix = tmp_path / "opt" / "python"
    log = tmp_path / "runs.log"
    for xy in ("3.10", "3.11"):  # two `make altinstall` Pythons in one prefix
        (prefix / "lib" / f"python{xy}" / "site-packages").mkdir(parents=True)
        (prefix / "lib" / f"python{xy}" / "os.py").write_text("")
    (prefix / "include" / "python3.11").mkdir(parents=True)
    (prefix / "include" / "python3.11" / "patchlevel.h").write_text(
        '#define PY_MAJOR_VERSION 3\n#define PY_VERSION "3.11.4"\n'
    )
    fake_interpreter(prefix / "bin" / "python3.11", log)
    env = read_environment(str(prefix / "bin" / "python3.11"), environ=environ)
    assert runs(log) == 0
    assert env.python_version == "3.11.4"
    assert env.site_packages == (str(site_of(prefix, "3.11")),)


def test_symlink_into_a_real_installation(tmp_path: Path, environ: dict[str, str]) -> None:
    # /usr/local/bin/python3 -> /usr/bin/python3.11 with Debian's bare /usr/local/lib/python3.11
    real = tmp_path / "usr"
    log = tmp_path / "runs.log"
    fake_interpreter(real / "bin" / "python3.11", log)
    (real / "lib" / "python3.11").mkdir(parents=True)
    (real / "lib" / "python3.11" / "os.py").write_text("")
    make_dist(site_of(real, "3.11"), "numpy", "1.24.2")
    local = tmp_path / "usr" / "local"
    (local / "lib" / "python3.11" / "dist-packages").mkdir(parents=True)
    (local / "bin").mkdir(parents=True)
    (local / "bin" / "python3").symlink_to(real / "bin" / "python3.11")
    env = read_environment(str(local / "bin" / "python3"), environ=environ)
    assert runs(log) == 0
    assert env.prefix == str(real)
    assert env.python == str(local / "bin" / "python3")
    assert env.python_version == "3.11"
    assert env.version_of("numpy") == "1.24.2"


def test_legacy_virtualenv(tmp_path: Path, environ: dict[str, str]) -> None:
    base = need(PYENV / "2.7.18")
    venv = tmp_path / "oldenv"
    log = tmp_path / "runs.log"
    fake_interpreter(venv / "bin" / "python", log)
    lib = venv / "lib" / "python2.7"
    (lib / "site-packages").mkdir(parents=True)
    (lib / "orig-prefix.txt").write_text(str(base))
    (lib / "no-global-site-packages.txt").write_text("")
    egg = lib / "site-packages" / "Keras-2.0.8-py2.7.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: Keras\nVersion: 2.0.8\n")
    env = read_environment(str(venv), environ=environ)
    assert runs(log) == 0
    assert env.kind == "virtualenv"
    assert env.python_version == "2.7.18"  # from the base's include/python2.7/patchlevel.h
    assert env.site_packages == (str(lib / "site-packages"),)
    assert env.version_of("keras") == "2.0.8"
    assert module_importable(env, "os") is True  # the base interpreter's standard library


def test_probe_failure_surfaces(tmp_path: Path, environ: dict[str, str]) -> None:
    prefix = tmp_path / "weird"
    write_exe(prefix / "bin" / "python", "echo boom >&2; exit 7")
    with pytest.raises(ProbeError) as info:
        read_environment(str(prefix / "bin" / "python"), environ=environ)
    assert "exited with code 7: boom" in str(info.value)
    assert isinstance(info.value, EnvironmentReadError)


# --------------------------------------------------------------------------------------------
# conda


def write_conda_record(
    prefix: Path, name: str, version: str, build: str, files: Iterable[str] = ()
) -> None:
    rec = {
        "build": build,
        "build_number": 0,
        "channel": "https://conda.anaconda.org/conda-forge/linux-64",
        "constrains": [],
        "depends": ["python >=3.10,<3.11.0a0"] if name != "python" else ["libgcc-ng >=12"],
        "extracted_package_dir": f"/opt/conda/pkgs/{name}-{version}-{build}",
        "files": list(files),
        "fn": f"{name}-{version}-{build}.conda",
        "license": "BSD-3-Clause",
        "link": {"source": f"/opt/conda/pkgs/{name}-{version}-{build}", "type": 1},
        "md5": "0" * 32,
        "name": name,
        "paths_data": {
            "paths": [{"_path": f, "path_type": "hardlink", "sha256": "0" * 64} for f in files],
            "paths_version": 1,
        },
        "requested_spec": name,
        "sha256": "0" * 64,
        "size": 1234,
        "subdir": "linux-64",
        "timestamp": 1700000000000,
        "url": f"https://conda.anaconda.org/conda-forge/linux-64/{name}-{version}-{build}.conda",
        "version": version,
    }
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / f"{name}-{version}-{build}.json").write_text(json.dumps(rec, indent=2, sort_keys=True))


def test_conda_prefix(tmp_path: Path, environ: dict[str, str]) -> None:
    prefix = tmp_path / "miniconda3" / "envs" / "tf"
    log = tmp_path / "runs.log"
    fake_interpreter(prefix / "bin" / "python3.10", log)
    (prefix / "bin" / "python").symlink_to("python3.10")
    write_conda_record(prefix, "python", "3.10.14", "hd12c33a_0_cpython", ["bin/python3.10"])
    write_conda_record(
        prefix,
        "numpy",
        "1.26.4",
        "py310hb13e2d6_0",
        ["lib/python3.10/site-packages/numpy/__init__.py"],
    )
    write_conda_record(prefix, "cudatoolkit", "11.8.0", "h4ba93d1_13")
    write_conda_record(prefix, "cudnn", "8.9.7.29", "hbc23b4c_3")
    write_conda_record(prefix, "libgcc-ng", "13.2.0", "h77fa898_7")
    write_conda_record(prefix, "tensorflow-base", "2.15.0", "cpu_py310h2b6b0f1_2")
    (prefix / "conda-meta" / "history").write_text("==> 2024-01-01 <==\n")
    (prefix / "lib" / "python3.10" / "lib-dynload").mkdir(parents=True)
    site = site_of(prefix, "3.10")
    make_dist(site, "numpy", "1.26.4", installer="conda")
    make_dist(site, "keras", "2.15.0", installer=None)
    make_dist(site, "tf-keras", "2.15.1", installer="pip")
    env = read_environment(str(prefix / "bin" / "python"), environ=environ)
    assert runs(log) == 0
    assert env.kind == "conda"
    assert env.manager == "conda"
    assert env.python_version == "3.10.14"
    assert env.site_packages == (str(site),)
    assert env.packages["numpy"].installer == "conda"
    assert env.packages["numpy"].location == str(site)
    assert env.packages["tf-keras"].installer == "pip"
    assert env.packages["keras"].installer is None  # no INSTALLER, no conda record
    cuda = env.packages["cudatoolkit"]
    assert (cuda.version, cuda.installer, cuda.location) == ("11.8.0", "conda", str(prefix))
    assert env.version_of("cudnn") == "8.9.7.29"
    assert env.version_of("libgcc-ng") == "13.2.0"
    assert env.version_of("python") == "3.10.14"
    assert env.version_of("tensorflow-base") == "2.15.0"


# --------------------------------------------------------------------------------------------
# distributions: broken, duplicated, fast


def test_broken_dist_info_is_a_note(tmp_path: Path, environ: dict[str, str]) -> None:
    venv = make_venv(tmp_path)
    site = site_of(venv, "3.11")
    make_dist(site, "h5py", "3.11.0", metadata=False)
    make_dist(site, "numpy", "1.26.4")
    d = site / "empty_meta-1.0.dist-info"
    d.mkdir()
    (d / "METADATA").write_text("Metadata-Version: 2.1\nSummary: nothing\n")
    env = read_environment(str(venv), environ=environ)
    assert "h5py" not in env.packages
    assert "numpy" in env.packages
    assert any("h5py-3.11.0.dist-info" in n and "no METADATA" in n for n in env.notes)
    assert any("empty_meta-1.0.dist-info" in n and "Name/Version" in n for n in env.notes)


def test_duplicate_dist_info_is_a_note(tmp_path: Path, environ: dict[str, str]) -> None:
    venv = make_venv(tmp_path)
    site = site_of(venv, "3.11")
    make_dist(site, "numpy", "1.26.4")
    make_dist(site, "numpy", "2.0.0")
    env = read_environment(str(venv), environ=environ)
    assert env.version_of("numpy") in ("1.26.4", "2.0.0")
    assert any("two metadata directories for numpy" in n for n in env.notes)


def test_egg_info_requires(tmp_path: Path, environ: dict[str, str]) -> None:
    venv = make_venv(tmp_path)
    egg = site_of(venv, "3.11") / "oldpkg-0.9-py3.11.egg-info"
    egg.mkdir(parents=True)
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: OldPkg\nVersion: 0.9\n")
    (egg / "requires.txt").write_text("six>=1.10\n\n[gpu]\npycuda\n")
    env = read_environment(str(venv), environ=environ)
    pkg = env.packages["oldpkg"]
    assert pkg.version == "0.9"
    assert "six>=1.10" in pkg.requires
    assert pip_check(env) == [("oldpkg", "oldpkg 0.9 requires six>=1.10, which is not installed")]


def test_two_hundred_distributions_are_fast(tmp_path: Path, environ: dict[str, str]) -> None:
    venv = make_venv(tmp_path)
    site = site_of(venv, "3.11")
    for i in range(200):
        d = make_dist(
            site,
            f"pkg-{i}",
            f"1.{i}.0",
            requires=[f"pkg-{(i + 1) % 200}>=1.0", "numpy>=1.20; python_version<'3.8'"],
        )
        (d / "RECORD").write_text("x,,\n" * 5000)  # must not be read
        (d / "METADATA").write_text((d / "METADATA").read_text() + "long description line\n" * 2000)
    read_environment(str(venv), environ=environ)  # warm the file system cache
    best = min(_timed(lambda: read_environment(str(venv), environ=environ)) for _ in range(3))
    env = read_environment(str(venv), environ=environ)
    assert len(env.packages) == 200
    assert best < 0.1, f"read_environment took {best * 1000:.1f} ms for 200 distributions"
    assert pip_check(env) == []


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


# --------------------------------------------------------------------------------------------
# pip_check


def env_with(
    packages: dict[str, tuple[str, list[str], Optional[str]]], python_version: str = "3.11.7"
) -> Environment:
    from envdoctor.types import Package

    return Environment(
        python="/x/bin/python",
        prefix="/x",
        kind="venv",
        manager="pip",
        python_version=python_version,
        arch="x86_64",
        packages={
            n: Package(name=n, version=v, requires=tuple(r), requires_python=rp)
            for n, (v, r, rp) in packages.items()
        },
    )


def test_pip_check_numpy2_conflict_from_real_files(tmp_path: Path, environ: dict[str, str]) -> None:
    venv = make_venv(tmp_path)
    site = site_of(venv, "3.11")
    make_dist(
        site,
        "tensorflow",
        "2.15.1",
        requires=[
            "absl-py>=1.0.0",
            "numpy<2.0.0,>=1.23.5",
            "tensorflow-io-gcs-filesystem>=0.23.1;"
            ' platform_machine != "arm64" or platform_system != "Darwin"',
            'typing-extensions>=3.6.6; python_version < "3.8"',
            'nvidia-cudnn-cu12==8.9.4.25; extra == "and-cuda"',
        ],
        requires_python=">=3.9",
        provides_extra=["and-cuda"],
    )
    make_dist(site, "numpy", "2.1.0", requires_python=">=3.10")
    make_dist(site, "absl-py", "2.1.0")
    make_dist(site, "tensorflow-io-gcs-filesystem", "0.37.1", requires_python=">=3.7, <3.11")
    env = read_environment(str(venv), environ=environ)
    assert pip_check(env) == [
        ("tensorflow", "tensorflow 2.15.1 requires numpy<2.0.0,>=1.23.5, but 2.1.0 is installed"),
        (
            "tensorflow-io-gcs-filesystem",
            "tensorflow-io-gcs-filesystem 0.37.1 requires Python >=3.7, <3.11, but the environment"
            " has Python 3.11.7",
        ),
    ]
    assert pip_check(env, ["numpy"]) == []
    assert pip_check(env, ["tensorflow[and-cuda]"]) == [
        ("tensorflow", "tensorflow 2.15.1 requires numpy<2.0.0,>=1.23.5, but 2.1.0 is installed"),
        (
            "tensorflow",
            "tensorflow 2.15.1 requires nvidia-cudnn-cu12==8.9.4.25, which is not installed",
        ),
    ]
    assert pip_check(env, ["tf-keras"]) == [("tf-keras", "tf-keras is not installed")]


def test_pip_check_extras_requested_by_other_dists() -> None:
    env = env_with(
        {
            "app": ("1.0", ["keras[backend]>=3", "rich"], None),
            "keras": ("3.3.3", ['jax>=0.4; extra == "backend"', 'torch; extra == "torch"'], None),
            "rich": ("13.0", [], ">=3.8"),
        }
    )
    assert pip_check(env) == [("keras", "keras 3.3.3 requires jax>=0.4, which is not installed")]


def test_pip_check_markers_use_the_target_python() -> None:
    reqs = [
        'tomli>=1.1; python_version < "3.11"',
        "importlib-metadata; python_full_version < '3.8.0'",
    ]
    env = env_with({"tool": ("1.0", reqs, None)}, python_version="3.10.13")
    assert pip_check(env) == [("tool", "tool 1.0 requires tomli>=1.1, which is not installed")]
    env = env_with({"tool": ("1.0", reqs, None)}, python_version="3.12.1")
    assert pip_check(env) == []
    env = env_with({"tool": ("1.0", reqs, None)}, python_version="3.7.16")
    assert len(pip_check(env)) == 2


def test_pip_check_prereleases_and_bad_lines() -> None:
    env = env_with(
        {
            "a": ("1.0", ["b>=2.0rc1", "not a valid requirement ((", "c"], ">=3.9"),
            "b": ("2.0rc2", [], "nonsense specifier"),
            "c": ("weird-version", [], None),
        }
    )
    assert pip_check(env) == []
    env = env_with({"a": ("1.0", ["c>=1"], None), "c": ("weird-version", [], None)})
    assert pip_check(env) == [
        (
            "a",
            "a 1.0 requires c>=1, but the installed c version 'weird-version'"
            " is not a valid version",
        )
    ]


# --------------------------------------------------------------------------------------------
# Keras backend


def test_keras_backend_default(environ: dict[str, str]) -> None:
    assert resolve_keras_backend(environ) == ("tensorflow", "default", [])


def test_keras_backend_from_home_keras_json(home: Path, environ: dict[str, str]) -> None:
    cfg = home / ".keras" / "keras.json"
    cfg.parent.mkdir()
    cfg.write_text(
        json.dumps(
            {
                "floatx": "float32",
                "epsilon": 1e-07,
                "backend": "jax",
                "image_data_format": "channels_last",
            }
        )
    )
    assert resolve_keras_backend(environ) == ("jax", str(cfg), [])
    assert resolve_keras_backend({**environ, "KERAS_BACKEND": "torch"}) == (
        "torch",
        "KERAS_BACKEND",
        [],
    )
    # an empty KERAS_BACKEND is ignored by Keras
    assert resolve_keras_backend({**environ, "KERAS_BACKEND": ""})[0] == "jax"


def test_keras_backend_from_keras_home(tmp_path: Path, home: Path, environ: dict[str, str]) -> None:
    (home / ".keras").mkdir()
    (home / ".keras" / "keras.json").write_text('{"backend": "jax"}')
    kh = tmp_path / "kh"
    kh.mkdir()
    (kh / "keras.json").write_text('{"backend": "torch"}')
    assert resolve_keras_backend({**environ, "KERAS_HOME": str(kh)}) == (
        "torch",
        str(kh / "keras.json"),
        [],
    )
    # KERAS_HOME without keras.json: ~/.keras is NOT consulted
    empty = tmp_path / "empty"
    empty.mkdir()
    assert resolve_keras_backend({**environ, "KERAS_HOME": str(empty)}) == (
        "tensorflow",
        "default",
        [],
    )


def test_keras_backend_bad_json(home: Path, environ: dict[str, str]) -> None:
    (home / ".keras").mkdir()
    (home / ".keras" / "keras.json").write_text('{"backend": "jax",')
    backend, source, notes = resolve_keras_backend(environ)
    assert (backend, source) == ("tensorflow", "default")
    assert len(notes) == 1 and "not valid JSON" in notes[0]
    (home / ".keras" / "keras.json").write_text('{"floatx": "float16"}')
    assert resolve_keras_backend(environ) == ("tensorflow", "default", [])
    (home / ".keras" / "keras.json").write_text("x" * (2 * 1024 * 1024))
    backend, source, notes = resolve_keras_backend(environ)
    assert backend == "tensorflow" and notes


def test_environment_records_backend_and_variables(
    tmp_path: Path, home: Path, environ: dict[str, str]
) -> None:
    venv = make_venv(tmp_path)
    (home / ".keras").mkdir()
    (home / ".keras" / "keras.json").write_text('{"backend": "jax"}')
    target = {
        **environ,
        "TF_USE_LEGACY_KERAS": "1",
        "CUDA_VISIBLE_DEVICES": "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "LD_LIBRARY_PATH": "/usr/lib/R/lib",
        "UNRELATED": "x",
    }
    env = read_environment(str(venv), environ=target)
    assert env.keras_backend == "jax"
    assert env.keras_backend_source == str(home / ".keras" / "keras.json")
    assert env.env_vars == {
        "TF_USE_LEGACY_KERAS": "1",
        "CUDA_VISIBLE_DEVICES": "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "LD_LIBRARY_PATH": "/usr/lib/R/lib",
    }
    env = read_environment(str(venv), environ={**target, "KERAS_BACKEND": "tensorflow"})
    assert (env.keras_backend, env.keras_backend_source) == ("tensorflow", "KERAS_BACKEND")
    assert env.env_vars["KERAS_BACKEND"] == "tensorflow"


# --------------------------------------------------------------------------------------------
# module importability


def test_pythonpath_module_importable(tmp_path: Path, environ: dict[str, str]) -> None:
    venv = make_venv(tmp_path)
    env = read_environment(str(venv), environ=environ)
    assert module_importable(env, "envdoctor_fixture_layers") is False
    code = tmp_path / "code"
    code.mkdir()
    shutil.copy(FIXTURE_LAYERS, code / "envdoctor_fixture_layers.py")
    (code / "mypkg").mkdir()
    (code / "mypkg" / "__init__.py").write_text("")
    (code / "mypkg" / "layers.py").write_text("X = 1\n")
    env = read_environment(
        str(venv), environ={**environ, "PYTHONPATH": f"{tmp_path / 'missing'}:{code}"}
    )
    assert env.env_vars["PYTHONPATH"].endswith(str(code))
    assert module_importable(env, "envdoctor_fixture_layers") is True
    assert module_importable(env, "mypkg") is True
    assert module_importable(env, "mypkg.layers") is True
    assert module_importable(env, "mypkg.losses") is False
    assert module_importable(env, "envdoctor_fixture_layers.sub") is None
    assert module_importable(env, "json") is True  # standard library of the base interpreter
    assert module_importable(env, "_json") is True  # lib-dynload extension
    assert module_importable(env, "sys") is True  # built in
    assert module_importable(env, "not a name") is False


def test_site_packages_module_kinds(tmp_path: Path, environ: dict[str, str]) -> None:
    venv = make_venv(tmp_path)
    site = site_of(venv, "3.11")
    (site / "extmod.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    (site / "nsroot" / "part").mkdir(parents=True)
    (site / "nsroot" / "part" / "mod.py").write_text("")
    (site / "dynpkg").mkdir()
    (site / "dynpkg" / "__init__.py").write_text("from . import _impl as fancy\n")
    (site / "pathpkg" / "api" / "layers").mkdir(parents=True)
    (site / "pathpkg" / "__init__.py").write_text(
        'import os\n__path__.append(os.path.join(os.path.dirname(__file__), "api"))\n'
    )
    (site / "pathpkg" / "api" / "layers" / "__init__.py").write_text("")
    env = read_environment(str(venv), environ=environ)
    assert module_importable(env, "extmod") is True
    assert module_importable(env, "nsroot") is True
    assert module_importable(env, "nsroot.part.mod") is True
    assert module_importable(env, "nsroot.part.other") is False
    assert module_importable(env, "dynpkg.fancy") is None
    assert module_importable(env, "dynpkg.plain") is False
    assert module_importable(env, "pathpkg.layers") is True


def test_pth_files(tmp_path: Path, environ: dict[str, str]) -> None:
    venv = make_venv(tmp_path)
    site = site_of(venv, "3.11")
    src = tmp_path / "src"
    (src / "devpkg").mkdir(parents=True)
    (src / "devpkg" / "__init__.py").write_text("")
    zipped = tmp_path / "zipped.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("zpkg/__init__.py", "")
    marker = tmp_path / "executed"
    (site / "dev.pth").write_text(
        f"# comment\n{src}\n{zipped}\n\nimport os; open({str(marker)!r}, 'w')\n"
    )
    (site / "hook.pth").write_text("import hookfinder; hookfinder.install(['magicmod'])\n")
    (site / "distutils-precedence.pth").write_text(
        "import os; var = 'SETUPTOOLS_USE_DISTUTILS';"
        " enabled = os.environ.get(var, 'local') == 'local';"
        " enabled and __import__('_distutils_hack').add_shim(); \n"
    )
    env = read_environment(str(venv), environ=environ)
    assert module_importable(env, "devpkg") is True
    assert module_importable(env, "zpkg") is True
    assert module_importable(env, "magicmod") is None  # an import hook names it: unknowable
    assert module_importable(env, "nothere") is False
    assert not marker.exists()  # import lines are never executed


def test_editable_finder_and_top_level(tmp_path: Path, environ: dict[str, str]) -> None:
    venv = make_venv(tmp_path)
    site = site_of(venv, "3.11")
    src = tmp_path / "proj" / "src" / "edpkg"
    src.mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "layers.py").write_text("")
    (site / "__editable__.edpkg-0.1.pth").write_text(
        "import __editable___edpkg_0_1_finder; __editable___edpkg_0_1_finder.install()\n"
    )
    (site / "__editable___edpkg_0_1_finder.py").write_text(
        f"import sys\nMAPPING: dict[str, str] = {{'edpkg': {str(src)!r}}}\nNAMESPACES = {{}}\n"
    )
    make_dist(site, "ghost", "1.0", top_level=["ghostmod"])
    env = read_environment(str(venv), environ=environ)
    assert module_importable(env, "edpkg") is True
    assert module_importable(env, "edpkg.layers") is True
    assert module_importable(env, "edpkg.nope") is False
    assert module_importable(env, "ghostmod") is None  # claimed by a dist, no files


# --------------------------------------------------------------------------------------------
# TensorFlow build info


def test_parse_build_info_gpu_ordereddict() -> None:
    info = parse_build_info(GPU_BUILD_INFO)
    assert info == {
        "cpu_compiler": "/usr/lib/llvm-17/bin/clang",
        "cuda_compute_capabilities": "sm_50,sm_60,sm_70,sm_80,compute_90",
        "cuda_version": "12.3",
        "cudnn_version": "8",
        "is_cuda_build": "True",
        "is_rocm_build": "False",
        "is_tensorrt_build": "True",
    }


def test_parse_build_info_other_forms(tmp_path: Path) -> None:
    assert parse_build_info(CPU_BUILD_INFO) == {
        "is_cuda_build": "False",
        "is_rocm_build": "False",
        "is_tensorrt_build": "False",
    }
    assert parse_build_info("build_info = {'cuda_version': '11.2', 'is_cuda_build': True}\n") == {
        "cuda_version": "11.2",
        "is_cuda_build": "True",
    }
    assert parse_build_info(
        "build_info: dict = dict(cuda_version='11.8', is_rocm_build=False)\n"
    ) == {
        "cuda_version": "11.8",
        "is_rocm_build": "False",
    }
    old = (
        "is_rocm_build = False\nis_cuda_build = True\n"
        "cuda_version_number = '10.1'\ncudnn_version_number = '7'\n"
    )
    assert parse_build_info(old) == {
        "is_rocm_build": "False",
        "is_cuda_build": "True",
        "cuda_version": "10.1",
        "cudnn_version": "7",
    }
    marker = tmp_path / "pwned"
    evil = (
        f"build_info = __import__('os').system('touch {marker}')\nx = open({str(marker)!r}, 'w')\n"
    )
    assert parse_build_info(evil) == {}
    assert not marker.exists()
    assert parse_build_info("def (:\n") == {}
    assert parse_build_info("\0") == {}


def test_tf_build_info_from_site_packages(tmp_path: Path, environ: dict[str, str]) -> None:
    venv = make_venv(tmp_path)
    site = site_of(venv, "3.11")
    platform_dir = site / "tensorflow" / "python" / "platform"
    platform_dir.mkdir(parents=True)
    (site / "tensorflow" / "__init__.py").write_text("")
    (platform_dir / "build_info.py").write_text(GPU_BUILD_INFO)
    make_dist(site, "tensorflow", "2.16.1", top_level=["tensorflow"])
    env = read_environment(str(venv), environ=environ)
    assert env.tf_build_info["cuda_version"] == "12.3"
    assert env.tf_build_info["is_cuda_build"] == "True"
    assert env.tf_build_info["distribution"] == "tensorflow"
    assert not [n for n in env.notes if "tensorflow" in n]
    assert module_importable(env, "tensorflow") is True
    # a second distribution writing the same package directory
    d = make_dist(site, "tensorflow-cpu", "2.16.1", top_level=["tensorflow"])
    future = time.time() + 10
    os.utime(d, (future, future))
    env = read_environment(str(venv), environ=environ)
    assert env.tf_build_info["distribution"] == "tensorflow-cpu"
    assert any("several distributions install the tensorflow package" in n for n in env.notes)


def test_tf_dist_without_package_dir(tmp_path: Path, environ: dict[str, str]) -> None:
    venv = make_venv(tmp_path)
    make_dist(site_of(venv, "3.11"), "tensorflow-cpu", "2.15.1", top_level=["tensorflow"])
    env = read_environment(str(venv), environ=environ)
    assert env.tf_build_info == {}
    assert any("no tensorflow/ package directory" in n for n in env.notes)


# --------------------------------------------------------------------------------------------
# the current interpreter


def test_current_interpreter(environ: dict[str, str]) -> None:
    env = read_environment(environ=environ)
    assert env.python == sys.executable
    assert env.prefix == sys.prefix
    vi = sys.version_info
    assert env.python_version == f"{vi[0]}.{vi[1]}.{vi[2]}"
    assert env.probed is False
    assert env.version_of("packaging") is not None
    assert env.version_of("importlib-metadata") is not None
    assert "tensorflow" not in sys.modules and "keras" not in sys.modules


# --------------------------------------------------------------------------------------------
# the real TensorFlow / JAX environments built under ~/.cache/envdoctor/test-envs

def interpreter_truth(prefix: Path) -> dict[str, Any]:
    """What the environment's own interpreter reports: its Python version and distributions.

    Read with the standard library inside that interpreter (``importlib.metadata``), never
    from versions typed into the repository, so a new upstream release cannot make it stale.
    """
    report = subprocess.run(
        [
            str(prefix / "bin" / "python"),
            "-I",
            "-c",
            "import importlib.metadata as m, json, platform;"
            "print(json.dumps({'python': platform.python_version(),"
            " 'versions': {d.metadata['Name']: d.version for d in m.distributions()}}))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, Any] = json.loads(report.stdout)
    return result


REAL_ENVS = {
    # name: (tensorflow distribution, TF major.minor, keras major.minor, numpy major)
    "tf215": ("tensorflow-cpu", "2.15", "2.15", "1"),
    "tf216-keras33": ("tensorflow-cpu", "2.16", "3.3", "1"),
    "tf221": ("tensorflow-cpu", "2.21", "3.15", "2"),
}


# Skips are decided when the test runs, not at collection: tests/live (collected first)
# builds these environments in the same pytest run.
@pytest.mark.parametrize("name", sorted(REAL_ENVS))
def test_real_tensorflow_envs(name: str, environ: dict[str, str], no_probe: None) -> None:
    prefix = TEST_ENVS / name
    if not (prefix / "pyvenv.cfg").exists():
        pytest.skip(f"{prefix} not built (yet)")
    dist, tf_xy, keras_xy, numpy_major = REAL_ENVS[name]
    env = read_environment(str(prefix), environ=environ)
    assert env.probed is False
    assert env.kind == "uv" and env.manager == "uv"
    tf_version = env.version_of(dist)
    assert tf_version is not None and tf_version.startswith(tf_xy + ".")
    keras = env.version_of("keras")
    assert keras is not None and keras.startswith(keras_xy + ".")
    numpy = env.version_of("numpy")
    assert numpy is not None and numpy.split(".")[0] == numpy_major
    assert env.tf_build_info["distribution"] == dist
    assert env.tf_build_info["is_cuda_build"] in ("True", "False")
    assert module_importable(env, "tensorflow") is True
    assert module_importable(env, "keras.src.engine") is (name == "tf215")
    # agreement with what the environment's own interpreter reports today (its metadata,
    # read by the standard library in that interpreter: no TensorFlow import)
    truth = interpreter_truth(prefix)
    assert env.python_version == truth["python"]
    for key, version in truth["versions"].items():
        assert env.version_of(key) == version, key
    assert "tensorflow" not in sys.modules and "keras" not in sys.modules


def test_real_jax_env(environ: dict[str, str], no_probe: None) -> None:
    if not (TEST_ENVS / "jax" / "pyvenv.cfg").exists():
        pytest.skip("jax test env absent")
    env = read_environment(str(TEST_ENVS / "jax"), environ={**environ, "KERAS_BACKEND": "jax"})
    assert env.version_of("jax") is not None
    assert env.version_of(
        "keras",
    ) is not None and env.version_of("keras").startswith("3.")  # type: ignore[union-attr]
    assert env.tf_build_info == {}
    assert env.keras_backend == "jax"
    assert "jax" not in sys.modules


def test_bare_name_is_looked_up_on_path(
    tmp_path: Path, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = tmp_path / "env"
    log = tmp_path / "runs.log"
    fake_interpreter(prefix / "bin" / "envdoctor-test-python", log)
    (prefix / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.2\n")
    monkeypatch.setenv("PATH", str(prefix / "bin"))
    monkeypatch.chdir(tmp_path)
    env = read_environment("envdoctor-test-python", environ=environ)
    assert env.python == str(prefix / "bin" / "envdoctor-test-python")
    assert env.python_version == "3.11.2"
    assert runs(log) == 0


def _built_envs() -> list[str]:
    if not TEST_ENVS.is_dir():
        return []
    return sorted(p.name for p in TEST_ENVS.iterdir() if (p / "pyvenv.cfg").exists())


def _spec_names() -> list[str]:
    """Every environment scripts/make_fixtures.py builds (ENV_SPECS), built or not yet."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_make_fixtures_names", Path(__file__).resolve().parents[1] / "scripts" / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return sorted(module.ENV_SPECS)


@pytest.mark.parametrize("name", _spec_names())
def test_every_built_env_matches_its_ground_truth(
    name: str, environ: dict[str, str], no_probe: None
) -> None:
    """Versions read from files equal what the env's own interpreter reports."""
    if name not in _built_envs():
        pytest.skip(f"{name} not built under {TEST_ENVS}")
    env = read_environment(str(TEST_ENVS / name), environ=environ)
    assert env.probed is False
    assert env.packages, "no distribution found"
    truth = interpreter_truth(TEST_ENVS / name)
    assert env.python_version == truth["python"]
    for key, version in truth["versions"].items():
        assert env.version_of(key) == version, key


def test_canonical_name_is_packagings_rule() -> None:
    from packaging.utils import canonicalize_name

    from envdoctor.types import canonical_name

    for name in ("Tf_Keras", "tensorflow-cpu", "ml.dtypes", "A__B--c..D", "zope.interface",
                 "PyYAML", "typing_extensions", "x", "jax[cuda12]"[:3], "foo-_.bar"):
        assert canonical_name(name) == canonicalize_name(name), name


def test_pip_check_answers_from_its_cache_without_packaging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second check of the same environment reads pip check's answer from the cache:
    a fresh process answers identically and never imports packaging (issue 14: start-up)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from envdoctor.inventory import pip_check
    from envdoctor.types import Environment, Package

    env = Environment(
        python="/e/bin/python", prefix="/e", kind="venv", manager="pip", python_version="3.11.7",
        packages={
            "tensorflow": Package("tensorflow", "2.15.1", ("numpy<2.0.0,>=1.23.5",
                                                          "tf-keras; extra == 'x'")),
            "numpy": Package("numpy", "2.1.0"),
        },
    )
    first = pip_check(env, ["tensorflow"])
    assert first == [("tensorflow", "tensorflow 2.15.1 requires numpy<2.0.0,>=1.23.5, but "
                                    "2.1.0 is installed")]
    probe = (
        "import sys, json\n"
        "from envdoctor.inventory import pip_check\n"
        "from envdoctor.types import Environment, Package\n"
        "env = Environment(python='/e/bin/python', prefix='/e', kind='venv', manager='pip',"
        " python_version='3.11.7', packages={'tensorflow': Package('tensorflow', '2.15.1',"
        " ('numpy<2.0.0,>=1.23.5', \"tf-keras; extra == 'x'\")), 'numpy': Package('numpy',"
        " '2.1.0')})\n"
        "out = pip_check(env, ['tensorflow'])\n"
        "print(json.dumps([out, sorted(m for m in sys.modules if m.startswith('packaging'))]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
                          check=True, timeout=120)
    answer, loaded = json.loads(proc.stdout)
    assert [tuple(x) for x in answer] == first
    assert loaded == []
    # another version installed: another key, computed by the rules again
    env.packages["numpy"] = Package("numpy", "1.26.4")
    assert pip_check(env, ["tensorflow"]) == []
