"""envdoctor.fixes: exact commands per environment manager and computed version targets."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import pytest
from knowledge_support import NEWEST_KERAS, newest_keras, newest_tf
from test_checks_support import make_env

from envdoctor import fixes


def test_pip_command() -> None:
    env = make_env()
    fix = fixes.install_command(env, "keras==3.6.*", "numpy<2")
    assert fix.kind == "command"
    assert fix.text == '"/envs/t/bin/python" -m pip install "keras==3.6.*" "numpy<2"'


def test_uv_command() -> None:
    fix = fixes.install_command(make_env(manager="uv", kind="uv"), "tf-keras==2.16.*")
    assert fix.text == 'uv pip install --python "/envs/t/bin/python" "tf-keras==2.16.*"'


def _fake_exe(directory: Path, name: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_conda_command_with_conda_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_exe(tmp_path, "micromamba")
    monkeypatch.setenv("PATH", str(tmp_path))
    env = make_env(manager="conda", kind="conda")
    fix = fixes.install_command(env, "keras==3.6.*", "numpy<2")
    assert fix.text == 'micromamba install -y -p "/envs/t" -c conda-forge "keras=3.6" "numpy<2"'


def test_conda_without_conda_falls_back_to_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    fix = fixes.install_command(make_env(manager="conda", kind="conda"), "h5py")
    assert fix.text == '"/envs/t/bin/python" -m pip install "h5py"'
    assert "no conda/mamba/micromamba on PATH" in fix.description


def test_env_fix_and_unset() -> None:
    shell, r = fixes.env_fix("TF_USE_LEGACY_KERAS", "1")
    assert (shell.kind, shell.text) == ("env", "export TF_USE_LEGACY_KERAS=1")
    assert (r.kind, r.text) == ("r", 'Sys.setenv(TF_USE_LEGACY_KERAS = "1")')
    shell, r = fixes.env_unset("KERAS_BACKEND")
    assert shell.text == "unset KERAS_BACKEND" and r.text == 'Sys.unsetenv("KERAS_BACKEND")'
    assert fixes.python_fix("import x").kind == "python"
    assert fixes.r_fix("library(keras3)").kind == "r"
    assert fixes.note("words").kind == "note"


def test_version_targets() -> None:
    assert fixes.tf_keras_requirement("2.16.2") == "tf-keras==2.16.*"
    assert fixes.tf_keras_requirement("2.13.1") is None
    assert fixes.numpy_requirement("2.15.1") == "numpy<2"
    assert fixes.numpy_requirement("2.10.1") == "numpy<2"
    assert fixes.numpy_requirement("2.13.1") == "numpy>=1.22,<=1.24.3"
    assert fixes.numpy_requirement("2.19.0") == "numpy>=1.26.0,<2.2.0"
    assert fixes.protobuf_requirement("2.21.0") == "protobuf>=6.31.1,<8.0.0"
    assert fixes.protobuf_requirement("2.15.1") == "protobuf>=3.20.3,<5.0.0dev"


def test_keras_and_tensorflow_targets() -> None:
    # by rule: the newest Keras 3 / TensorFlow row of the tables whose Python range holds
    for py in ("3.11.7", "3.10.4", "3.9.18"):
        assert fixes.keras_target(make_env(py)) == newest_keras(py)
        assert fixes.tensorflow_target(make_env(py)) == newest_tf(py)
    assert fixes.keras_target(make_env("3.10.4")) != NEWEST_KERAS  # Requires-Python bites
    assert fixes.keras_target(make_env("3.9.18"), "3.11.0") is None
    assert fixes.tensorflow_target(make_env("3.12.1"), keras3=False) is None
    assert fixes.tensorflow_target(make_env("3.11.7"), keras3=False).minor == "2.15"  # type: ignore[union-attr]
    env = make_env("3.10.13", tensorflow_cpu="2.15.1", keras="2.15.0")
    texts = [f.text for f in fixes.keras3_install(env, "3.3.3")]
    tf310 = newest_tf("3.10.13")
    assert tf310 is not None
    want = f'"tensorflow-cpu=={tf310.minor}.*" "keras=={newest_keras("3.10.13", tf310)}"'
    assert texts == [f'"/envs/t/bin/python" -m pip install {want}']
    jax = make_env("3.12.1", keras="3.3.3", jax="0.4.30")
    assert fixes.keras3_install(jax, "3.4")[0].text.endswith(f'"keras=={newest_keras("3.12.1")}"')
    assert fixes.tensorflow_dist(dataclasses.replace(env, packages={})) == "tensorflow"
