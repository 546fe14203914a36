"""Every test environment is pinned by a committed lock, and the built one matches it."""

from __future__ import annotations

import re
import subprocess

import pytest
from livecommon import EXTRA, REPO, load_make_fixtures

make_fixtures = load_make_fixtures()


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "==" not in line:
            continue
        name, version = line.split("==", 1)
        pins[re.sub(r"[-_.]+", "-", name).lower()] = version.split(";")[0].strip()
    return pins


@pytest.mark.parametrize("name", sorted(make_fixtures.ENV_SPECS))
def test_every_environment_has_a_lock_that_pins_its_requirements(name: str) -> None:
    spec = make_fixtures.ENV_SPECS[name]
    lock = make_fixtures.lock_path(spec)
    assert lock.is_file(), f"{name}: no lock; run scripts/make_fixtures.py lock --names {name}"
    pins = _pins(lock.read_text(encoding="utf-8"))
    for requirement in spec["requirements"]:
        base = re.split(r"[\[=<>!~ ]", requirement, maxsplit=1)[0]
        assert re.sub(r"[-_.]+", "-", base).lower() in pins, (name, requirement)


def test_project_test_constraints_pin_every_test_dependency() -> None:
    pins = _pins((REPO / "tests" / "constraints-test.txt").read_text(encoding="utf-8"))
    needed = ("pytest", "ruff", "mypy", "uv", "hypothesis", "jsonschema", "numpy", "rich", "h5py")
    for dep in needed:
        assert dep in pins, dep
    script = (REPO / "scripts" / "test").read_text(encoding="utf-8")
    assert "constraints-test.txt" in script


@pytest.mark.live
@pytest.mark.parametrize("name", sorted(make_fixtures.ENV_SPECS))
def test_built_environment_equals_its_lock(name: str) -> None:
    spec = make_fixtures.ENV_SPECS[name]
    built = make_fixtures.env_python(make_fixtures.envs_root() / name).exists()
    if spec["tier"] != "core" and not EXTRA and not built:
        pytest.skip(f"{name} is an extra environment and is not built")
    python = make_fixtures.ensure_env(spec)
    freeze = subprocess.run(
        [*make_fixtures.uv_command(), "pip", "freeze", "--python", str(python)],
        capture_output=True, text=True, check=True,
    ).stdout
    assert _pins(freeze) == _pins(make_fixtures.read_lock(spec))
