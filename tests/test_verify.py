"""envdoctor verify without TensorFlow: the harness's logic, its sandbox, findings, the CLI.

The real loads in real TensorFlow/Keras environments are in tests/live/test_verify_live.py.
Here the harness runs for real in this interpreter (which has no Keras: the load fails at
import, which is itself a real verify result), its logic is driven with fake loaders, and
the findings are built from harness answers shaped like the real ones.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import numpy as np
import pytest

from envdoctor import verify as V
from envdoctor.checks.observed import verify_findings
from envdoctor.cli import main
from envdoctor.modelfiles import read_model
from envdoctor.types import Environment, Finding, Package, Severity

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
ENVELOPE_KEYS = {
    "schema_version", "envdoctor_version", "command", "host", "models", "environments",
    "findings", "verdicts", "checked", "summary", "candidates",
}


def harness_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_harness_under_test", V.HARNESS_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


H = harness_module()


# ---------------------------------------------------------------- options and specs


@pytest.mark.parametrize(("text", "value"), [
    ("8G", 8 * 1024**3), ("512M", 512 * 1024**2), ("16GiB", 16 * 1024**3), ("2", 2 * 1024**3),
    ("1.5g", int(1.5 * 1024**3)), ("0", None), ("none", None),
])
def test_parse_memory(text: str, value: Any) -> None:
    assert V.parse_memory(text) == value


def test_parse_memory_rejects_garbage() -> None:
    from envdoctor.errors import UsageError

    with pytest.raises(UsageError):
        V.parse_memory("lots")


def test_custom_modules_are_found_by_reading_text_only() -> None:
    layers = str(FIXTURES / "custom_layers")
    assert V.find_defining_modules(["Scale"], [layers]) == ["envdoctor_fixture_layers"]
    assert V.find_defining_modules(["Nope"], [layers]) == []
    h5 = read_model(str(FIXTURES / "tf215" / "custom.h5"))  # legacy .h5: no module recorded
    assert h5.custom_objects and h5.custom_objects[0].module is None
    assert V.custom_module_candidates(h5, [layers]) == ["envdoctor_fixture_layers"]
    keras = read_model(str(FIXTURES / "tf221" / "custom.keras"))  # module recorded
    assert V.custom_module_candidates(keras, [], ["extra_mod"]) == [
        "extra_mod", "envdoctor_fixture_layers"]


def test_model_spec_of_a_savedmodel_names_its_endpoint_and_inputs() -> None:
    sm = read_model(str(FIXTURES / "tf215" / "lstm_savedmodel"))
    spec = V.model_spec(sm, [])
    assert spec["format"] == "savedmodel" and spec["endpoint"] == "serving_default"
    assert spec["signature_inputs"][0]["shape"] == [None, 5, 3]
    assert os.path.isabs(spec["path"])


# ---------------------------------------------------------------- harness logic, fake loaders


class FakeModel:
    """A loaded 'model': one (None, 8) float32 input; predict checks rank like Keras does."""

    class Input:
        name = "x"
        shape = (None, 8)
        dtype = "float32"

    inputs = [Input()]

    def predict(self, x: Any, verbose: int = 0) -> Any:
        if x.ndim != 2:
            raise ValueError(f"expected min_ndim=2, found ndim={x.ndim}")
        return np.zeros((x.shape[0], 1), dtype="float32")


def run_model(loader: Callable[..., Any], spec: dict[str, Any],
              model: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"steps": [], "attempts": []}
    H.verify_model(loader, model, spec, lambda rec: H._collect([rec], result))
    return result


def test_harness_steps_of_a_model_that_loads() -> None:
    result = run_model(lambda path, **kw: FakeModel(), {}, {"path": "m.keras",
                                                         "format": "keras_archive"})
    names = [(s["name"], s["ok"]) for s in result["steps"]]
    assert names == [("load", True), ("predict_float32", True), ("predict_float64", True),
                     ("predict_wrong_rank", False)]
    assert "float32" in result["steps"][2]["detail"]  # the float64 batch came out float32
    wrong = result["steps"][3]
    assert wrong["error_type"] == "ValueError" and "found ndim=1" in wrong["error"]
    assert wrong["detail"].startswith("fed shape (8,)")
    assert all(isinstance(s["seconds"], float) for s in result["steps"])
    assert result["attempts"] == []


def lambda_loader(calls: list[dict[str, Any]]) -> Callable[..., Any]:
    def load(path: str, **kwargs: Any) -> Any:
        calls.append(kwargs)
        if kwargs.get("safe_mode") is False:
            return FakeModel()
        raise ValueError("Requested the deserialization of a `Lambda` layer whose `function` is "
                         "a Python lambda. ... passing `safe_mode=False` to the loading function")
    return load


def test_safe_mode_false_is_never_tried_without_unsafe() -> None:
    calls: list[dict[str, Any]] = []
    model = {"path": "m.keras", "format": "keras_archive", "has_unsafe_objects": True}
    result = run_model(lambda_loader(calls), {"unsafe": False}, model)
    assert all(kw.get("safe_mode") is not False for kw in calls)
    assert [a["name"] for a in result["attempts"]] == ["compile=False"]
    calls.clear()
    result = run_model(lambda_loader(calls), {"unsafe": True}, model)
    unsafe = [a for a in result["attempts"] if a["kind"] == "unsafe"]
    assert unsafe and unsafe[0]["ok"] and unsafe[0]["kwargs"] == {"safe_mode": False}
    assert {"safe_mode": False} in calls


def test_import_attempt_puts_module_path_on_sys_path(tmp_path: Path) -> None:
    (tmp_path / "my_layers_for_verify.py").write_text("REGISTERED = True\n")

    def load(path: str, **kwargs: Any) -> Any:
        if "my_layers_for_verify" not in sys.modules:
            raise ValueError("Unknown layer: 'pkg>Scale'")
        return FakeModel()

    model = {"path": "m.h5", "format": "keras_h5", "custom_modules": ["my_layers_for_verify"]}
    try:
        result = run_model(load, {"module_path": [str(tmp_path)]}, model)
    finally:
        sys.modules.pop("my_layers_for_verify", None)
        if str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))
    imports = [a for a in result["attempts"] if a["kind"] == "import"]
    assert imports and imports[0]["ok"] and imports[0]["modules"] == ["my_layers_for_verify"]


def test_error_fields_keep_head_tail_frames_and_chain() -> None:
    try:
        try:
            raise ModuleNotFoundError("No module named 'torch'")
        except ImportError:
            raise ImportError("Keras cannot be imported. " + "x" * 9000) from None
    except ImportError as exc:
        plain = H.error_fields(exc)
    assert plain["chain"] == []  # `from None`: no context kept
    try:
        try:
            raise ModuleNotFoundError("No module named 'torch'")
        except ImportError as inner:
            raise ImportError("Keras cannot be imported. " + "x" * 9000) from inner
    except ImportError as exc:
        fields = H.error_fields(exc)
    assert fields["chain"] == [["ModuleNotFoundError", "No module named 'torch'"]]
    assert "[...]" in fields["error"] and len(fields["error"]) < 4200
    assert fields["frames"] and fields["frames"][-1].endswith("test_verify.py")


# ---------------------------------------------------------------- the real sandbox


def test_harness_sandbox_with_this_interpreter() -> None:
    """This interpreter has no Keras: a real run, failing at import, in the sandbox."""
    info = read_model(str(FIXTURES / "tf221" / "mlp.keras"))
    environ = dict(os.environ, LD_LIBRARY_PATH="/usr/lib/R/lib:/opt/keep",
                   PYTHONPATH=str(FIXTURES / "custom_layers"))
    run = V.run_harness(sys.executable, [info], V.Options(memory=3 * 1024**3), environ=environ)
    assert not run.problem
    box = run.sandbox
    assert box["isolated"] and box["dont_write_bytecode"] and box["stdin_is_devnull"]
    assert box["rlimit_as"] == 3 * 1024**3
    assert Path(box["cwd"]).name.startswith("envdoctor-verify-")
    assert not Path(box["cwd"]).exists()  # removed afterwards
    assert run.env["LD_LIBRARY_PATH"] == "/opt/keep"  # R's entry stripped
    model = run.models[0]
    assert model.path == info.path and model.outcome == "load"
    assert model.failure is not None and model.failure.error_type == "ModuleNotFoundError"


def test_harness_that_prints_nothing_is_a_crash(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'no json here'\nexit 3\n")
    fake.chmod(0o755)
    info = read_model(str(FIXTURES / "tf221" / "mlp.keras"))
    run = V.run_harness(str(fake), [info], V.Options(timeout=5))
    assert "exited with code 3" in run.problem
    assert run.models[0].outcome == "crash"


def test_missing_interpreter_is_bad_input() -> None:
    from envdoctor.errors import EnvironmentReadError

    with pytest.raises(EnvironmentReadError):
        V.run_harness("/nonexistent/python", [], V.Options())


# ---------------------------------------------------------------- findings from answers


def answer(steps: list[dict[str, Any]], attempts: list[dict[str, Any]] | None = None,
           loader: str = "keras.saving.load_model") -> V.HarnessRun:
    """A harness answer shaped like the real ones, parsed as run_harness parses it."""
    raw = {"harness": 1, "python": "3.11.7", "loader": loader, "versions": {}, "env": {},
           "import": {"name": "import", "ok": True, "seconds": 1.0},
           "models": [{"path": "x", "isolation": "fork", "steps": steps,
                       "attempts": attempts or [], "seconds": 1.0}]}
    info = read_model(str(FIXTURES / "tf215" / "mlp_savedmodel"))
    return V._parse("py", [info], V._Raw(json.dumps(raw).encode(), b"", 0, False, 1.0, 10.0),
                    V.Options())


def step(name: str, ok: bool, etype: str | None = None, error: str | None = None,
         **extra: Any) -> dict[str, Any]:
    return {"name": name, "ok": ok, "seconds": 0.1, "error_type": etype, "error": error, **extra}


def keras3_env() -> Environment:
    packages = {n: Package(n, v) for n, v in (("tensorflow", "2.21.0"), ("keras", "3.15.1"),
                                              ("h5py", "3.14.0"), ("numpy", "2.4.6"))}
    return Environment(python="/envs/tf221/bin/python", prefix="/envs/tf221", kind="venv",
                       manager="pip", python_version="3.11.7", packages=packages)


SAVEDMODEL_ERROR = ("File format not supported: filepath=tests/fixtures/tf215/mlp_savedmodel. "
                    "Keras 3 only supports V3 `.keras` files and legacy H5 format files (`.h5` "
                    "extension). Note that the legacy SavedModel format is not supported by "
                    "`load_model()` in Keras 3.")


def findings_for(run: V.HarnessRun, static: list[Finding] | None = None) -> list[Finding]:
    from envdoctor.checks import run_checks

    info = read_model(str(FIXTURES / "tf215" / "mlp_savedmodel"))
    env = keras3_env()
    found = run_checks(info, env) if static is None else static
    return verify_findings(info, env, run, run.models[0], found)


def test_load_failure_with_a_verified_fix() -> None:
    run = answer([step("load", False, "ValueError", SAVEDMODEL_ERROR)], [
        {"name": "compile=False", "kind": "compile_false", "kwargs": {"compile": False},
         "modules": [], "ok": False, "steps": [step("load", False, "ValueError",
                                                    SAVEDMODEL_ERROR)]},
        {"name": "keras.layers.TFSMLayer", "kind": "tfsm_layer", "kwargs": {}, "modules": [],
         "ok": True, "steps": [step("load", True), step("predict_float32", True)]},
    ])
    found = findings_for(run)
    codes = [f.code for f in found]
    assert codes[0] == "ED001" and "ED007" in codes and "ED005" not in codes
    ed001 = found[0]
    assert ed001.severity is Severity.ERROR
    assert ed001.fixes[0].description.startswith("verified: loads and predicts")
    assert "TFSMLayer" in ed001.fixes[0].text
    assert ("cause", "savedmodel_in_keras3 (score 22, high confidence)") in ed001.evidence or any(
        k == "cause" and v.startswith("savedmodel_in_keras3") for k, v in ed001.evidence)
    assert any(k == "tried compile=False" and v.startswith("fails") for k, v in ed001.evidence)


def test_disagreements_are_reported_both_ways() -> None:
    ok = answer([step("load", True), step("predict_float32", True, detail="output (2, 1)")])
    found = findings_for(ok)  # the static check says ED103 error
    ed005 = [f for f in found if f.code == "ED005"]
    assert ed005 and ed005[0].severity is Severity.WARNING and "ED103" in ed005[0].detail
    failed = answer([step("load", False, "ValueError", SAVEDMODEL_ERROR)])
    found = findings_for(failed, static=[])  # a static check that saw nothing
    ed005 = [f for f in found if f.code == "ED005"]
    assert ed005 and "gap in the static check" in ed005[0].detail


def test_inputs_float64_and_wrong_rank() -> None:
    run = answer([
        step("load", True), step("predict_float32", True, detail="via model.predict"),
        step("predict_float64", False, "InvalidArgumentError",
             "cannot compute __inference_signature_wrapper_533 as input #0(zero-based) was "
             "expected to be a float tensor but is a double tensor", input="x"),
        step("predict_wrong_rank", True, input="x", detail="fed shape (8,) (rank 1); accepted"),
    ])
    found = {f.code: f for f in findings_for(run)}
    assert found["ED003"].severity is Severity.WARNING
    assert any(k == "cause" and v.startswith("input_dtype") for k, v in found["ED003"].evidence)
    assert found["ED004"].severity is Severity.WARNING  # accepted with the wrong rank
    cast = answer([step("load", True), step("predict_float32", True),
                   step("predict_float64", True, input="x",
                        detail="accepted; output (2, 1) float32"),
                   step("predict_wrong_rank", False, "ValueError",
                        "expected min_ndim=2, found ndim=1", input="x", detail="fed shape (8,)")])
    found = {f.code: f for f in findings_for(cast)}
    assert found["ED003"].severity is Severity.INFO and "cast" in found["ED003"].detail
    assert found["ED004"].severity is Severity.INFO


def test_timeout_and_crash() -> None:
    timeout = answer([step("load", True), step("timeout", False, "Timeout",
                                                "killed after 300 s (the per-model time limit)")])
    ed006 = [f for f in findings_for(timeout) if f.code == "ED006"]
    assert ed006 and ed006[0].severity is Severity.WARNING
    crash = answer([step("crash", False, "ChildCrashed",
                         "the process verifying the model died: killed by signal SIGABRT")])
    ed006 = [f for f in findings_for(crash) if f.code == "ED006"]
    assert ed006 and ed006[0].severity is Severity.ERROR
    assert "--memory 0" in ed006[0].fixes[0].text


# ---------------------------------------------------------------- the CLI


def test_cli_json_contract_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    model = str(FIXTURES / "tf221" / "mlp.keras")
    code = main(["verify", model, "--python", sys.executable, "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1  # no Keras in this interpreter: the load fails (ED001)
    assert set(data) == ENVELOPE_KEYS | {"verify"}
    assert data["command"] == "verify"
    run = data["verify"][0]
    assert run["models"][0]["outcome"] == "load"
    assert {"cwd", "rlimit_as", "isolated"} <= set(run["sandbox"])
    assert "ED001" in [f["code"] for f in data["findings"]]
    assert data["verdicts"][0]["status"] == "error"
    lines = [c for c in data["checked"] if "model load(s)" in c["summary"]]
    assert len(lines) == 1 and lines[0]["status"] == "error"


def test_cli_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    model = str(FIXTURES / "tf221" / "mlp.keras")
    assert main(["verify", model, "--memory", "lots"]) == 2
    assert main(["verify", model, "--timeout", "0"]) == 2
    assert main(["verify", model, "--all", "--python", sys.executable]) == 2
    assert main(["verify", "/nonexistent/model.keras"]) == 2
    capsys.readouterr()


def test_cli_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    model = str(FIXTURES / "tf221" / "mlp.keras")
    main(["verify", model, "--python", sys.executable, "--no-color"])
    out = capsys.readouterr().out
    assert "safe_mode=False never tried" in out
    assert "✗ load" in out and "does NOT load and run here" in out
    assert "\x1b[" not in out


def test_python_older_than_37_is_reported_not_run() -> None:
    info = read_model(str(FIXTURES / "tf221" / "mlp.keras"))
    old = Environment(python="/py27/bin/python", prefix="/py27", kind="system", manager="pip",
                      python_version="2.7.18")
    run = V.unsupported_run(old, [info])
    assert run is not None and "3.7 or newer" in run.problem
    assert V.unsupported_run(keras3_env(), [info]) is None
    ed006 = [f for f in verify_findings(info, old, run, run.models[0], []) if f.code == "ED006"]
    assert ed006 and ed006[0].severity is Severity.WARNING


def test_key_line_of_real_graph_errors() -> None:
    """TensorFlow frames its errors; the report shows the line that says what went wrong."""
    from envdoctor.checks.observed import key_line

    captured = json.loads((FIXTURES / "errors" / "captured.json").read_text())["entries"]
    wrong_rank = {e["env"] + " " + e["scenario"]: e["error"] for e in captured
                  if e["step"] == "predict_wrong_rank"}
    matmul = next(v for k, v in wrong_rank.items() if k.startswith("tf215") and "mlp.keras" in k)
    assert key_line(matmul).startswith("In[0] ndims must be >= 2")
    lstm = next(v for k, v in wrong_rank.items() if k.startswith("tf215") and "lstm.keras" in k)
    assert key_line(lstm) == "'NoneType' object is not subscriptable"
