"""The JSON envelope's published schema: it is valid, it matches the types, every output fits it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from ci_support import EXAMPLE, GOOD_STACK, cli, fake_env, fixture_models, iter_envs, real_models
from jsonschema import Draft202012Validator

from envdoctor import types as T
from envdoctor.api import check, envelope_schema
from envdoctor.errors import ModelFileError
from envdoctor.render.json_out import envelope

SCHEMA = envelope_schema()
VALIDATOR = Draft202012Validator(SCHEMA)


def assert_valid(data: Any) -> None:
    errors = sorted(VALIDATOR.iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def roundtrip(report: T.Report, command: str) -> Any:
    """The envelope as a consumer sees it (through JSON text)."""
    return json.loads(json.dumps(envelope(report, command), sort_keys=True))


def test_schema_is_valid_draft_2020_12_and_shipped_in_the_package() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    path = Path(T.__file__).parent / "schema" / "envelope-v1.schema.json"
    assert json.loads(path.read_text()) == SCHEMA
    assert SCHEMA["properties"]["schema_version"] == {"const": "1"}


@pytest.mark.parametrize(
    ("definition", "cls"),
    [
        ("ModelInfo", T.ModelInfo), ("Environment", T.Environment), ("Package", T.Package),
        ("Finding", T.Finding), ("Fix", T.Fix), ("Verdict", T.Verdict),
        ("CheckItem", T.CheckItem), ("CandidateInfo", T.CandidateInfo),
        ("LayerInfo", T.LayerInfo), ("CustomObject", T.CustomObject),
        ("LambdaInfo", T.LambdaInfo), ("SecurityObject", T.SecurityObject),
        ("InputSpec", T.InputSpec), ("TensorSpec", T.TensorSpec),
        ("SignatureInfo", T.SignatureInfo), ("MetaGraphInfo", T.MetaGraphInfo),
        ("SavedModelInfo", T.SavedModelInfo), ("Sidecar", T.Sidecar),
    ],
)
def test_schema_describes_every_field_of_every_type(definition: str, cls: type) -> None:
    """A field added to a dataclass without the schema (or the reverse) fails here."""
    spec = SCHEMA["$defs"][definition]
    # fields marked metadata={"json": False} (e.g. Fix.requirements, data for envdoctor fix)
    # are not serialized, so the schema does not list them
    names = {f.name for f in dataclasses.fields(cls) if f.metadata.get("json", True)}
    assert set(spec["properties"]) == names
    assert set(spec["required"]) == names
    assert spec["additionalProperties"] is False


def test_schema_enums_match_the_code() -> None:
    defs = SCHEMA["$defs"]
    assert set(defs["severity"]["enum"]) == {s.value for s in T.Severity}
    assert set(defs["ModelInfo"]["properties"]["format"]["enum"]) == {
        f.value for f in T.ModelFormat
    }
    assert set(defs["ModelInfo"]["properties"]["dialect"]["enum"]) == {
        d.value for d in T.ConfigDialect
    }
    assert set(defs["status"]["enum"]) == {"ok", "warning", "error"}
    for command in ("check", "inspect", "envs", "r check", "explain"):
        assert Draft202012Validator(SCHEMA["properties"]["command"]).is_valid(command)


def test_schema_rejects_what_the_contract_forbids() -> None:
    report = check(EXAMPLE)
    good = roundtrip(report, "check")
    assert_valid(good)
    for path, value in [
        (("findings", 0, "severity"), "fatal"),
        (("verdicts", 0, "status"), "maybe"),
        (("models", 0, "format"), "onnx"),
        (("schema_version",), "2"),
        (("summary", "counts", "error"), -1),
    ]:
        bad = json.loads(json.dumps(good))
        target = bad
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        assert not VALIDATOR.is_valid(bad), path
    extra = json.loads(json.dumps(good))
    extra["models"][0]["surprise"] = 1
    assert not VALIDATOR.is_valid(extra)
    top = json.loads(json.dumps(good))
    top["surprise"] = 1
    assert not VALIDATOR.is_valid(top)  # check/inspect/envs/which: exactly the pinned keys
    top["command"] = "explain"
    assert VALIDATOR.is_valid(top)  # other commands may add keys of their own
    missing = json.loads(json.dumps(good))
    del missing["summary"]
    assert not VALIDATOR.is_valid(missing)


def _check_and_inspect_all(paths: list[Path], python: str | None) -> int:
    """Validate check and inspect envelopes for every path; return how many were validated."""
    from envdoctor.app import inspect_model

    count = 0
    readable = []
    for path in paths:
        try:
            info = inspect_model(str(path))
        except ModelFileError:
            continue
        assert_valid(roundtrip(T.Report((info,), (), (), ()), "inspect"))
        readable.append(str(path))
        count += 1
    report = check(readable, python=python)
    assert len(report.verdicts) == len(readable)
    assert_valid(roundtrip(report, "check"))
    return count


def test_check_and_inspect_of_every_fixture_validate(tmp_path: Path) -> None:
    models = fixture_models()
    assert len(models) > 60
    assert _check_and_inspect_all(models, None) == len(models)
    # Against an environment with a Keras 3 stack too: other findings, fixes and verdicts.
    env = fake_env(tmp_path, GOOD_STACK)
    assert _check_and_inspect_all(models, str(env)) == len(models)


def test_check_and_inspect_of_every_real_model_validate() -> None:
    models = real_models()
    if not models:
        pytest.skip("no /work/shared/real-models")
    assert _check_and_inspect_all(models, None) == len(models)


@pytest.mark.parametrize("name", ["tf221", "tf215", "tf216-keras33", "jax"])
def test_check_against_real_environments_validates(name: str) -> None:
    envs = iter_envs([name])
    if not envs:
        pytest.skip(f"live environment {name} not built")
    report = check([str(p) for p in fixture_models()], python=str(envs[0]))
    data = roundtrip(report, "check")
    assert_valid(data)
    assert data["findings"] and any(f["fixes"] for f in data["findings"])


def test_other_commands_envelopes_validate() -> None:
    """explain (and the other plug-in commands) print the same envelope, plus their keys."""
    proc = cli("explain", "ED201", "--format", "json")
    if proc.returncode != 0 or not proc.stdout.startswith("{"):
        pytest.skip("envdoctor explain is not available")
    assert_valid(json.loads(proc.stdout))


def test_cli_outputs_validate(tmp_path: Path) -> None:
    """check (model, environment alone, --all), inspect, envs and a configured check."""
    outputs = [
        cli("check", str(EXAMPLE), "--format", "json"),
        cli("check", "--format", "json", "--no-config"),
        cli("inspect", str(EXAMPLE), "--format", "json"),
        cli("envs", "--format", "json"),
        cli("check", str(EXAMPLE), "--all", "--format", "json"),
    ]
    project = tmp_path / "proj"
    project.mkdir()
    (project / "envdoctor.toml").write_text(
        f'models = ["{EXAMPLE}"]\n[ignore]\nED409 = "the test venv has no Keras"\n'
        'ED701 = "noise"\n'
    )
    outputs.append(cli("check", "--format", "json", cwd=project))
    for proc in outputs:
        assert proc.returncode in (0, 1), proc.stderr
        data = json.loads(proc.stdout)
        assert_valid(data)
    configured = json.loads(outputs[-1].stdout)
    assert {i["code"] for i in configured["summary"]["ignored"]} >= {"ED409", "ED701"}
    assert json.loads(outputs[3].stdout)["candidates"]
