"""Tests of the sidecar reader on MLflow-style model directories and other requirement files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from envdoctor.modelfiles import read_model, sidecar
from envdoctor.modelfiles.sidecar import (
    conda_spec_to_pep508,
    normalize_python_version,
    parse_conda_yaml,
    parse_requirements,
    read_sidecars,
)
from envdoctor.types import ModelFormat

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real-models"

# As MLflow 2.x writes them for mlflow.tensorflow.log_model(keras_model, "model").
MLMODEL = """\
artifact_path: model
flavors:
  python_function:
    data: data
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.tensorflow
    python_version: 3.10.12
  tensorflow:
    code: null
    data: data
    keras_version: 2.15.0
    model_type: keras
    save_exported_model: false
mlflow_version: 2.9.2
model_size_bytes: 1498822
model_uuid: 4b0e5f8f0c7f4d3f9b0a2d8e4c1a7b6e
run_id: 1f2e3d4c5b6a79881726354433221100
utc_time_created: '2024-01-09 12:05:55.123456'
"""

CONDA_YAML = """\
channels:
- conda-forge
dependencies:
- python=3.10.12
- pip<=23.3.2
- pip:
  - mlflow==2.9.2
  - keras==2.15.0
  - tensorflow==2.15.0
name: mlflow-env
"""

PYTHON_ENV_YAML = """\
python: 3.10.12
build_dependencies:
- pip==23.3.2
- setuptools==68.2.2
- wheel==0.42.0
dependencies:
- -r requirements.txt
"""

REQUIREMENTS_TXT = """\
mlflow==2.9.2
keras==2.15.0
tensorflow==2.15.0
"""


def write_mlflow_model(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "MLmodel").write_text(MLMODEL)
    (root / "conda.yaml").write_text(CONDA_YAML)
    (root / "python_env.yaml").write_text(PYTHON_ENV_YAML)
    (root / "requirements.txt").write_text(REQUIREMENTS_TXT)
    return root


def test_mlflow_model_directory(tmp_path: Path) -> None:
    root = write_mlflow_model(tmp_path / "model")
    data = root / "data" / "model.keras"
    data.parent.mkdir()
    data.write_bytes(b"x")
    found = read_sidecars(str(data))
    assert found is not None
    assert found.python_version == "3.10.12"
    assert found.requirements == ("mlflow==2.9.2", "keras==2.15.0", "tensorflow==2.15.0")
    names = sorted(Path(f).name for f in found.files)
    assert names == ["MLmodel", "conda.yaml", "python_env.yaml", "requirements.txt"]
    assert any("keras_version 2.15.0" in n and "mlflow_version 2.9.2" in n for n in found.notes)
    assert not any("not found" in n or "skipped" in n for n in found.notes)


def test_mlflow_savedmodel_subdirectory(tmp_path: Path) -> None:
    source = sorted(REAL.glob("pm-036__*/00000123"))
    if not source:
        pytest.skip("real SavedModel not present")
    root = write_mlflow_model(tmp_path / "model")
    shutil.copytree(source[0], root / "tfmodel")
    info = read_model(str(root / "tfmodel"))
    assert info.format is ModelFormat.SAVEDMODEL
    assert info.sidecar is not None
    assert info.sidecar.python_version == "3.10.12"
    assert "tensorflow==2.15.0" in info.sidecar.requirements


def test_only_conda_yaml(tmp_path: Path) -> None:
    (tmp_path / "conda.yaml").write_text(CONDA_YAML)
    (tmp_path / "m.h5").write_bytes(b"x")
    found = read_sidecars(str(tmp_path / "m.h5"))
    assert found is not None
    assert found.python_version == "3.10.12"
    # pip itself is a build tool, not a model dependency
    assert found.requirements == ("mlflow==2.9.2", "keras==2.15.0", "tensorflow==2.15.0")


def test_environment_yml_with_conda_specs(tmp_path: Path) -> None:
    (tmp_path / "environment.yml").write_text(
        "name: train  # the training env\n"
        "channels:\n"
        "  - conda-forge\n"
        "  - defaults\n"
        "dependencies:\n"
        "  - python=3.9\n"
        "  - numpy=1.24\n"
        "  - conda-forge::h5py==3.8.0\n"
        "  - scipy=1.10.1=py39hf3d152e_0\n"
        "  - cudatoolkit 11.2.*\n"
        "  - pandas>=1.5,<2\n"
        "  - 'libblas=*=*mkl'\n"
        "  - pip\n"
        "  - pip:\n"
        "      - tensorflow==2.11.0  # pinned\n"
        "      - --extra-index-url https://example.invalid/simple\n"
        "      - git+https://github.com/example/pkg.git\n"
    )
    found = read_sidecars(str(tmp_path / "model.h5"))
    assert found is not None
    assert found.python_version == "3.9"
    assert found.requirements == (
        "tensorflow==2.11.0",
        "numpy==1.24.*",
        "h5py==3.8.0",
        "scipy==1.10.1.*",
        "cudatoolkit==11.2.*",
        "pandas<2,>=1.5",
        "libblas",
    )
    assert any("--extra-index-url" in n for n in found.notes)
    assert any("git+https" in n for n in found.notes)


def test_requirements_txt_edge_cases(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# generated\n"
        "-r base.txt\n"
        "-e ./local_pkg\n"
        "--index-url https://pypi.org/simple\n"
        "tensorflow-cpu==2.15.1 ; sys_platform == 'linux'\n"
        "keras>=2.15,<3  # Keras 2\n"
        "numpy==1.26.4 \\\n"
        "    --hash=sha256:0123456789abcdef\n"
        "pkg @ https://example.invalid/pkg-1.0.whl\n"
        "https://example.invalid/other-1.0.tar.gz\n"
        "./wheels/local-1.0-py3-none-any.whl\n"
        "not a requirement !!\n"
        "Keras==9.9  # duplicate name, first one wins\n"
    )
    found = read_sidecars(str(tmp_path / "model.keras"))
    assert found is not None
    assert found.requirements == (
        'tensorflow-cpu==2.15.1; sys_platform == "linux"',
        "keras<3,>=2.15",
        "numpy==1.26.4",
    )
    notes = " | ".join(found.notes)
    for fragment in ("-r base.txt", "'-e'", "'--index-url'", "'pkg'", "other-1.0", "local-1.0",
                     "not a requirement"):
        assert fragment in notes
    assert found.python_version is None


def test_python_version_files(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("3.11.7\n")
    (tmp_path / "runtime.txt").write_text("python-3.11.7\n")
    found = read_sidecars(str(tmp_path / "model.keras"))
    assert found is not None
    assert found.python_version == "3.11.7"
    assert found.requirements == ()
    assert not any("says Python" in n for n in found.notes)


def test_conflicting_python_versions_are_noted(tmp_path: Path) -> None:
    write_mlflow_model(tmp_path)
    (tmp_path / ".python-version").write_text("3.12\n")
    found = read_sidecars(str(tmp_path / "model.keras"))
    assert found is not None
    assert found.python_version == "3.10.12"  # MLmodel is trusted first
    assert any(".python-version says Python 3.12" in n for n in found.notes)


def test_unusable_python_version_file(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("my-pyenv-virtualenv\n")
    found = read_sidecars(str(tmp_path / "model.keras"))
    assert found is not None
    assert found.python_version is None
    assert any("not a plain Python version" in n for n in found.notes)


def test_savedmodel_directory_looks_in_itself_and_parent(tmp_path: Path) -> None:
    model = tmp_path / "export" / "model"
    model.mkdir(parents=True)
    (model / "python_env.yaml").write_text(PYTHON_ENV_YAML)
    (tmp_path / "export" / "requirements.txt").write_text("tensorflow==2.15.0\n")
    found = read_sidecars(str(model))
    assert found is not None
    assert found.python_version == "3.10.12"
    assert found.requirements == ("tensorflow==2.15.0",)
    assert any("requirements.txt not found" in n for n in found.notes)


def test_nothing_found(tmp_path: Path) -> None:
    assert read_sidecars(str(tmp_path / "model.keras")) is None


def test_oversized_file_is_skipped_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "requirements.txt").write_text("numpy==1.26.4\n" * 100)
    monkeypatch.setattr(sidecar, "MAX_SIDECAR_BYTES", 64)
    found = read_sidecars(str(tmp_path / "model.keras"))
    assert found is not None
    assert found.requirements == ()
    assert any("over the 64-byte limit" in n for n in found.notes)


def test_binary_garbage_does_not_raise(tmp_path: Path) -> None:
    (tmp_path / "conda.yaml").write_bytes(b"\xff\xfe\x00dependencies:\n- \xff\xff\n- [\n")
    (tmp_path / "MLmodel").write_bytes(b"\x00\x01python_version: \xff\n")
    found = read_sidecars(str(tmp_path / "model.keras"))
    assert found is not None
    assert found.python_version is None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("numpy=1.24", "numpy==1.24.*"),
        ("numpy==1.24.3", "numpy==1.24.3"),
        ("numpy=1.24.3=py310h5f9d8c6_0", "numpy==1.24.3.*"),
        ("numpy 1.24.*", "numpy==1.24.*"),
        ("numpy >=1.20,<2", "numpy<2,>=1.20"),
        ("conda-forge::keras=2.15", "keras==2.15.*"),
        ("tensorflow", "tensorflow"),
        ("numpy=1.24.*", "numpy==1.24.*"),
        ("numpy[version='>=1.20']", None),
        ("numpy 1.20|1.21", None),
    ],
)
def test_conda_spec_conversion(spec: str, expected: str | None) -> None:
    assert conda_spec_to_pep508(spec) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.10.12", "3.10.12"),
        ("3.10", "3.10"),
        ("'3.10.12'", "3.10.12"),
        ("python-3.10.12", "3.10.12"),
        ("cpython@3.12", "3.12"),
        ("3.10.*", "3.10"),
        ("system", None),
        (">=3.8", None),
    ],
)
def test_normalize_python_version(text: str, expected: str | None) -> None:
    assert normalize_python_version(text) == expected


def test_parse_conda_yaml_flow_lists_and_python_constraints() -> None:
    python, requirements, notes = parse_conda_yaml(
        "dependencies: [python>=3.8, numpy=1.24, {pip: [keras==3.0.0]}]\n", "conda.yaml"
    )
    assert python is None
    assert "numpy==1.24.*" in requirements
    assert any("python spec" in n for n in notes)


def test_parse_requirements_continuation_and_includes() -> None:
    requirements, notes, includes = parse_requirements(
        "-r other.txt\n--requirement=more.txt\nkeras\\\n==3.3.3\n", "requirements.txt"
    )
    assert requirements == ["keras==3.3.3"]
    assert includes == ["other.txt", "more.txt"]
    assert notes == []
