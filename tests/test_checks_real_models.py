"""Real models written by others (/work/shared/real-models) against real loads.

``REAL_LOADS`` records what ``scripts/real_load.py`` (plain ``load_model`` + a float32 forward
pass, no custom objects, default safe_mode) did with each shared real model in the real test
environments on 2026-11-21.  It is the source cited by several rows of
``envdoctor/knowledge/keras.json`` (``legacy_h5_list_sequential``, ``keras1_config_in_tf_keras``
...).  pm-030 and pm-036 are left out: their signatures take fixed-size inputs and the harness
fed a batch of 2, so the failure says nothing about the model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import pytest

from envdoctor.checks import run_checks
from envdoctor.types import Environment, Severity

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real-models"
ENVS_ROOT = Path(
    os.environ.get("ENVDOCTOR_TEST_ENVS", Path.home() / ".cache" / "envdoctor" / "test-envs")
)

# model id -> {env: "ok" | error text}; only tf221-tfkeras sets TF_USE_LEGACY_KERAS=1
REAL_LOADS: dict[str, dict[str, str]] = {
    "pm-009": {
        "tf213": "missing 1 required positional argument: 'units'",
        "tf215": "LSTM.__init__() missing 'units'",
        "tf216-keras33": "pop expected at most 1 argument, got 2",
        "tf221": "pop expected at most 1 argument, got 2",
        "tf221-tfkeras": "LSTM.__init__() missing 'units'",
    },
    "pm-010": {
        "tf213": "missing 'units'",
        "tf215": "Error when deserializing class 'Dense' (output_dim)",
        "tf216-keras33": "pop expected at most 1 argument",
        "tf221": "pop expected at most 1 argument",
        "tf221-tfkeras": "Dense.__init__() missing 'units'",
    },
    "pm-011": {
        "tf213": "missing 'units'",
        "tf215": "LSTM.__init__() missing 'units'",
        "tf216-keras33": "pop expected at most 1 argument",
        "tf221": "pop expected at most 1 argument",
        "tf221-tfkeras": "LSTM.__init__() missing 'units'",
    },
    "pm-012": {
        "tf213": "ok",
        "tf215": "ok",
        "tf216-keras33": "pop expected at most 1 argument",
        "tf221": "pop expected at most 1 argument",
        "tf221-tfkeras": "ok",
    },
    "pm-013": {
        "tf215": "bad marshal data (unknown type code)",
        "tf221": "Requested the deserialization of a `Lambda`",
    },
    "pm-014": {
        "tf213": "ok",
        "tf215": "ok",
        "tf216-keras33": "pop expected at most 1 argument",
        "tf221": "pop expected at most 1 argument",
        "tf221-tfkeras": "ok",
    },
    "pm-016": {
        "tf215": "bad marshal data (unknown type code)",
        "tf221": "Requested the deserialization of a `Lambda`",
    },
    "pm-017": {
        "tf213": "ok",
        "tf215": "ok",
        "tf216-keras33": "GlorotUniform.__init__() got an unexpected keyword argument 'dtype'",
        "tf221": "GlorotUniform.__init__() got an unexpected keyword argument 'dtype'",
        "tf221-tfkeras": "ok",
    },
    "pm-018": {
        "tf213": "ok",
        "tf215": "ok",
        "tf216-keras33": "ok",
        "tf221": "ok",
        "tf221-tfkeras": "ok",
    },
    "pm-019": {
        "tf213": "ok",
        "tf215": "ok",
        "tf216-keras33": "ok",
        "tf221": "ok",
        "tf221-tfkeras": "ok",
    },
    "pm-022": {
        "tf213": "ok",
        "tf215": "ok",
        "tf216-keras33": "predict: Attention called with 2 inputs",
        "tf221": "Invalid value for argument score_mode",
        "tf221-tfkeras": "ok",
    },
    "pm-028": {
        "tf215": "IndexError: list index out of range",
        "tf221": "File format not supported",
    },
    "pm-029": {
        "tf215": "IndexError: list index out of range",
        "tf221": "File format not supported",
    },
    "pm-031": {"tf215": "ok", "tf221": "File format not supported"},
    "pm-032": {
        "tf215": "Op type not registered 'ConstrainedSequence'",
        "tf221": "File format not supported",
    },
    "pm-035": {"tf215": "ok", "tf221": "File format not supported"},
}
ENV_VARS = {"tf221-tfkeras": {"TF_USE_LEGACY_KERAS": "1"}}


def _env(name: str) -> Optional[Environment]:
    python = ENVS_ROOT / name / "bin" / "python"
    if not python.exists():
        return None
    from envdoctor.inventory import read_environment

    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "KERAS_BACKEND", "TF_USE_LEGACY_KERAS")
    }
    environ.update(ENV_VARS.get(name, {}))
    return read_environment(str(python), environ=environ)


def _paths() -> dict[str, Path]:
    manifest = json.loads((REAL / "MANIFEST.json").read_text())
    return {e["id"]: REAL / e["file"] for e in manifest}


@pytest.mark.skipif(not (REAL / "MANIFEST.json").exists(), reason="shared real models not present")
def test_real_models_agree_with_real_loads() -> None:
    from envdoctor.modelfiles import read_model

    paths = _paths()
    envs = {n: _env(n) for n in ("tf213", "tf215", "tf216-keras33", "tf221", "tf221-tfkeras")}
    if not any(envs.values()):
        pytest.skip(f"no test environment under {ENVS_ROOT}")
    bad, compared = [], 0
    for model_id, outcomes in REAL_LOADS.items():
        model = read_model(str(paths[model_id]))
        for env_name, outcome in outcomes.items():
            env = envs.get(env_name)
            if env is None:
                continue
            compared += 1
            errs = [f.code for f in run_checks(model, env) if f.severity is Severity.ERROR]
            if bool(errs) != (outcome != "ok"):
                bad.append(
                    f"{model_id} in {env_name}: predicted {errs or 'no error'}, real: {outcome}"
                )
    assert compared >= 20
    assert not bad, "\n".join(bad)


@pytest.mark.skipif(not (REAL / "MANIFEST.json").exists(), reason="shared real models not present")
def test_every_real_model_checks_without_crashing() -> None:
    """Every shared model (including non-models) yields findings in constructed environments."""
    from test_checks_support import make_env

    from envdoctor.modelfiles import read_model

    envs = [
        make_env(
            "3.10.13",
            tensorflow="2.15.1",
            keras="2.15.0",
            numpy="1.26.4",
            protobuf="4.25.3",
            h5py="3.11.0",
        ),
        make_env(
            "3.12.1",
            keras="3.15.1",
            jax="0.4.30",
            jaxlib="0.4.30",
            numpy="2.1.0",
            h5py="3.11.0",
            backend="jax",
        ),
    ]
    for path in _paths().values():
        model = read_model(str(path))
        for env in envs:
            findings = run_checks(model, env)
            assert all(f.model == str(path) or f.model == "" for f in findings)
