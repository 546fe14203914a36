"""Helpers shared by the CI-format, schema, API, config and fault tests (not a test module)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Callable, Optional

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real-models"
EXAMPLE = REPO / "examples" / "lstm.keras"
ENVS_ROOT = Path(
    os.environ.get("ENVDOCTOR_TEST_ENVS", Path.home() / ".cache" / "envdoctor" / "test-envs")
)

# A Keras 3 stack that loads tests/fixtures/tf221/mlp.keras without any finding at warning+.
GOOD_STACK = {
    "tensorflow": "2.21.0",
    "keras": "3.15.1",
    "numpy": "2.4.6",
    "h5py": "3.14.0",
    "protobuf": "7.36.2",
    "ml-dtypes": "0.5.1",
}

HOSTILE = "evil|<img src=x onerror=alert(1)>`x`**b**\n::add-mask::secret %0A, :"
"""A string that tries to break Markdown tables, inject HTML and start workflow commands."""


def fixture_models() -> list[Path]:
    """Every model fixture saved by a real Keras/TensorFlow (files and SavedModel dirs)."""
    out = []
    for env_dir in sorted(FIXTURES.iterdir()):
        if not env_dir.is_dir() or env_dir.name == "custom_layers":
            continue
        out.extend(p for p in sorted(env_dir.iterdir()) if p.name != "SAVED_WITH.json")
    return out


def real_models() -> list[Path]:
    """The real models by others listed in /work/shared/real-models/MANIFEST.json."""
    manifest = REAL / "MANIFEST.json"
    if not manifest.exists():
        return []
    return [REAL / row["file"] for row in json.loads(manifest.read_text()) if row.get("file")]


def write_exe(path: Path, body: str) -> Path:
    """Write an executable ``#!/bin/sh`` script."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def fake_env(
    root: Path,
    packages: Mapping[str, str] = GOOD_STACK,
    version: str = "3.11.7",
    name: str = "fakeenv",
) -> Path:
    """A venv laid out on disk (pyvenv.cfg, lib/pythonX.Y, dist-info), read statically.

    Its ``bin/python`` logs each run to ``<prefix>/runs.log`` and fails, so a test can
    assert that the interpreter was never run.
    """
    prefix = root / name
    xy = ".".join(version.split(".")[:2])
    site = prefix / "lib" / f"python{xy}" / "site-packages"
    site.mkdir(parents=True)
    (prefix / "pyvenv.cfg").write_text(
        f"home = /usr/bin\ninclude-system-site-packages = false\nversion = {version}\n"
    )
    write_exe(prefix / "bin" / "python", f'echo run >> "{prefix}/runs.log"\nexit 1')
    for dist, ver in packages.items():
        info = site / f"{dist.replace('-', '_')}-{ver}.dist-info"
        info.mkdir()
        info.joinpath("METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {ver}\n"
        )
        info.joinpath("INSTALLER").write_text("pip\n")
        pkg = site / dist.replace("-", "_")
        pkg.mkdir(exist_ok=True)
        pkg.joinpath("__init__.py").write_text("")
    return prefix


def rewrite_keras(src: Path, dst: Path, mutate: Callable[[dict[str, Any]], None]) -> Path:
    """Copy a ``.keras`` archive, passing its parsed ``config.json`` through ``mutate``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                mutate(config)
                data = json.dumps(config).encode()
            zout.writestr(info.filename, data)
    return dst


def cli(
    *args: str,
    cwd: Optional[Path] = None,
    env: Optional[Mapping[str, str]] = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m envdoctor ARGS`` in a subprocess (KERAS_BACKEND etc. removed)."""
    full = dict(os.environ)
    for key in ("KERAS_BACKEND", "TF_USE_LEGACY_KERAS", "GITHUB_ACTIONS"):
        full.pop(key, None)
    full["PYTHONPATH"] = str(REPO)
    if env:
        full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "envdoctor", *args],
        capture_output=True, text=True, env=full, timeout=timeout, check=False,
        cwd=str(cwd or REPO),
    )


def iter_envs(names: Iterable[str]) -> list[Path]:
    """The live test environments that exist (``~/.cache/envdoctor/test-envs/<name>``)."""
    return [ENVS_ROOT / n for n in names if (ENVS_ROOT / n / "bin" / "python").exists()]
