"""Shared fixtures of the live tier: real environments built by scripts/make_fixtures.py."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from livecommon import CORE_ENVS, EXTRA, EXTRA_ENVS, LIVE, load_make_fixtures


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if LIVE:
        return
    skip = pytest.mark.skip(reason="ENVDOCTOR_LIVE=0 skips the live tier")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def make_fixtures() -> ModuleType:
    return load_make_fixtures()


@pytest.fixture(scope="session")
def live_envs(make_fixtures: ModuleType) -> dict[str, Path]:
    names = list(CORE_ENVS) + (list(EXTRA_ENVS) if EXTRA else [])
    envs: dict[str, Path] = make_fixtures.ensure_envs(names, extra=EXTRA)
    return {n: Path(envs[n]) for n in names}
