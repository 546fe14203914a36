"""ED301-ED305: custom objects, with module importability decided by a fake."""

from __future__ import annotations

from typing import Optional

import pytest
from knowledge_support import NEWEST_KERAS, NEWEST_TF
from test_checks_support import custom, find, make_env, make_model

from envdoctor.checks import run_checks
from envdoctor.types import Environment, ModelFormat, Severity

K33 = make_env(
    "3.11.7", tensorflow="2.16.2", keras="3.3.3", h5py="3.11.0", numpy="1.26.4", protobuf="4.25.3"
)
# The newest known stack (Keras >= 3.9 imports no module for you), derived from the tables.
K315 = make_env(
    "3.11.7",
    tensorflow=NEWEST_TF.latest,
    keras=NEWEST_KERAS,
    h5py="3.11.0",
    numpy="2.1.0",
    protobuf="6.31.1",
)
TF215 = make_env(
    "3.10.13", tensorflow="2.15.1", keras="2.15.0", h5py="3.11.0", numpy="1.26.4", protobuf="4.25.3"
)


@pytest.fixture
def importable(monkeypatch: pytest.MonkeyPatch) -> dict[str, Optional[bool]]:
    answers: dict[str, Optional[bool]] = {}

    def fake(env: Environment, module: str) -> Optional[bool]:
        return answers.get(module, False)

    import envdoctor.inventory

    monkeypatch.setattr(envdoctor.inventory, "module_importable", fake)
    return answers


def sev(model: object, env: Environment, code: str) -> Optional[Severity]:
    hits = [f.severity for f in run_checks(model, env) if f.code == code]  # type: ignore[arg-type]
    return hits[0] if hits else None


def test_ed301_module_not_importable(importable: dict[str, Optional[bool]]) -> None:
    model = make_model(keras_version=NEWEST_KERAS, custom_objects=(custom(),))
    f = find(run_checks(model, K315), "ED301")
    assert f.severity is Severity.ERROR and "mypkg.layers" in f.detail
    texts = [x.text for x in f.fixes]
    assert "import mypkg.layers" in texts
    assert any('custom_objects={"mypkg>Scale": Scale, "Scale": Scale}' in t for t in texts)
    assert any("custom_objects = list(" in t and x.kind == "r" for t, x in zip(texts, f.fixes))


def test_ed301_h5_records_no_module(importable: dict[str, Optional[bool]]) -> None:
    model = make_model(
        ModelFormat.KERAS_H5, "2.15.0", path="/m/c.h5", custom_objects=(custom(None),)
    )
    f = find(run_checks(model, TF215), "ED301")
    assert "does not record which module" in f.detail


def test_keras_imports_importable_modules_before_3_9(importable: dict[str, Optional[bool]]) -> None:
    importable["mypkg.layers"] = True
    model = make_model(keras_version="3.3.3", custom_objects=(custom(),))
    assert sev(model, K33, "ED301") is None and sev(model, K33, "ED302") is None
    # tf.keras 2.x does not, although its serialization_lib names an import (real loads)
    keras2 = make_model(keras_version="2.15.0", custom_objects=(custom(),))
    assert sev(keras2, TF215, "ED302") is Severity.ERROR


def test_ed302_keras_3_9_plus_needs_an_import(importable: dict[str, Optional[bool]]) -> None:
    importable["mypkg.layers"] = True
    model = make_model(keras_version=NEWEST_KERAS, custom_objects=(custom(),))
    f = find(run_checks(model, K315), "ED302")
    assert f.severity is Severity.ERROR and "import mypkg.layers" in f.detail
    assert f.fixes[0].text == "import mypkg.layers"
    importable["mypkg.layers"] = None  # unknowable
    assert sev(model, K315, "ED302") is Severity.WARNING


def test_ed303_r_objects(importable: dict[str, Optional[bool]]) -> None:
    model = make_model(keras_version=NEWEST_KERAS, custom_objects=(custom("<r-globalenv>"),))
    f = find(run_checks(model, K315), "ED303")
    assert f.severity is Severity.ERROR
    assert all(x.kind == "r" for x in f.fixes)
    assert any("register_keras_serializable(" in x.text for x in f.fixes)


def test_ed304_compile_only(importable: dict[str, Optional[bool]]) -> None:
    loss = custom("mypkg.losses", where="compile_config/loss", kind="loss")
    model = make_model(keras_version=NEWEST_KERAS, custom_objects=(loss,))
    f = find(run_checks(model, K315), "ED304")
    assert f.severity is Severity.ERROR
    assert "compile=False" in f.fixes[0].text
    assert sev(model, K315, "ED301") is None


def test_ed305_savedmodel_in_keras2_revives(importable: dict[str, Optional[bool]]) -> None:
    model = make_model(
        ModelFormat.SAVEDMODEL, "2.15.0", path="/m/sm", custom_objects=(custom(None),)
    )
    assert sev(model, TF215, "ED305") is Severity.WARNING
    assert sev(model, TF215, "ED301") is None


# What really happened (tests/live/test_live_agreement.py, 2026-11-21) when the custom-layer
# module was importable (tests/fixtures/custom_layers on PYTHONPATH) but nobody imported it:
# fixture -> {environment: loaded and predicted?}.  Source of keras.json
# ``imports_custom_modules``.
IMPORTABLE_NOT_IMPORTED: dict[str, dict[str, bool]] = {
    "tf213/custom.keras": {"tf213": False},
    "tf215/custom.keras": {"tf215": False, "tf221-tfkeras": False},
    "tf216-keras33/custom.keras": {"tf216-keras33": True, "tf221": False, "jax": False},
    "tf221/custom.keras": {"tf221": False, "jax": False},
    "jax/custom.keras": {"tf221": False, "jax": False},
    "tf221-tfkeras/custom.keras": {"tf221-tfkeras": False},
}


def test_importable_but_not_imported_matches_real_loads() -> None:
    """Real fixtures and environments, the module on PYTHONPATH (skipped without them)."""
    from pathlib import Path

    from test_checks_real import ENVS_ROOT, REPO, _make_fixtures

    from envdoctor.inventory import read_environment
    from envdoctor.modelfiles import read_model

    mf = _make_fixtures()
    if mf is None:
        pytest.skip("scripts/make_fixtures.py missing")
    envs: dict[str, Environment] = {}
    for name in {e for outcomes in IMPORTABLE_NOT_IMPORTED.values() for e in outcomes}:
        python = Path(ENVS_ROOT) / name / "bin" / "python"
        if python.exists():
            envs[name] = read_environment(str(python), environ=mf.child_env(mf.ENV_SPECS[name]))
    if not envs:
        pytest.skip("no test environments")
    bad = []
    for fixture, outcomes in IMPORTABLE_NOT_IMPORTED.items():
        path = REPO / "tests" / "fixtures" / fixture
        if not path.exists():
            continue
        model = read_model(str(path))
        for name, loaded in outcomes.items():
            if name not in envs:
                continue
            errs = [f.code for f in run_checks(model, envs[name]) if f.severity is Severity.ERROR]
            if bool(errs) == loaded:
                bad.append(f"{fixture} in {name}: predicted {errs}, loaded={loaded}")
    assert not bad, bad
