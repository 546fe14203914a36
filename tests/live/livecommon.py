"""Helpers shared by the live-tier tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
LIVE = os.environ.get("ENVDOCTOR_LIVE", "1") != "0"
EXTRA = os.environ.get("ENVDOCTOR_LIVE_EXTRA", "0") == "1"
CORE_ENVS = ("tf213", "tf215", "tf216-keras33", "tf220", "tf221", "tf221-tfkeras", "jax")
EXTRA_ENVS: tuple[str, ...] = ()


def load_make_fixtures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_fixtures", REPO / "scripts" / "make_fixtures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_fixtures"] = module
    spec.loader.exec_module(module)
    return module


def fixture_models() -> list[Path]:
    """Every saved model under tests/fixtures/<env>/ (files and SavedModel directories)."""
    models = []
    for env_dir in sorted(p for p in FIXTURES.iterdir() if p.is_dir() and (p / "SAVED_WITH.json").exists()):
        for entry in sorted(env_dir.iterdir()):
            if entry.name in ("SAVED_WITH.json",) or entry.name.startswith("."):
                continue
            models.append(entry)
    return models
