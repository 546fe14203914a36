"""envdoctor explain: finding codes documented, and real error texts classified.

The error texts are never typed here: they come from real runs.

* ``tests/live/ground_truth_*.json``: every error of really loading every fixture in every
  real environment (scripts/real_load.py), classified with what envdoctor reads of that
  model and of that environment (its versions as recorded in the same file).
* ``tests/fixtures/errors/captured.json``: errors of real runs made by
  ``scripts/capture_errors.py`` (missing and empty paths, git-lfs pointers, corrupt files,
  backend / TF_USE_LEGACY_KERAS problems, memory and time limits, float64 and wrong-rank
  forward passes, and R/reticulate output including ``py_last_error()``).
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import pytest

from envdoctor.checks import run_checks
from envdoctor.checks.runtime import effective_keras
from envdoctor.cli import main
from envdoctor.explain import (
    Context,
    ParsedError,
    causes,
    classify,
    classify_parsed,
    describe,
    parse_error_text,
    strip_configs,
)
from envdoctor.knowledge import tables
from envdoctor.modelfiles import read_model
from envdoctor.types import Environment, ModelFormat, ModelInfo, Package, Severity

REPO = Path(__file__).resolve().parents[1]
LIVE = REPO / "tests" / "live"
CAPTURED = REPO / "tests" / "fixtures" / "errors" / "captured.json"
ENVELOPE_KEYS = {
    "schema_version", "envdoctor_version", "command", "host", "models", "environments",
    "findings", "verdicts", "checked", "summary", "candidates",
}


# ---------------------------------------------------------------- helpers


def env_from_truth(truth: dict[str, Any]) -> Environment:
    """The environment a ground-truth file was recorded in, from its recorded versions."""
    packages = {name: Package(name, version) for name, version in truth["versions"].items()
                if version}
    env_vars = {k: v for k, v in truth["env"].items() if v}
    return Environment(
        python=truth["executable"], prefix="", kind="venv", manager="pip",
        python_version=truth["python"], packages=packages, env_vars=env_vars,
        keras_backend=env_vars.get("KERAS_BACKEND", "tensorflow"),
    )


def truth_text(result: dict[str, Any]) -> str:
    """The real message as real_load.py kept it: its head and its tail."""
    head, tail = result["error_head"] or "", result["error"] or ""
    return head if head == tail else f"{head}\n[...]\n{tail}"


_MODELS: dict[str, ModelInfo] = {}


def model(path: str) -> ModelInfo:
    if path not in _MODELS:
        _MODELS[path] = read_model(str(REPO / path))
    return _MODELS[path]


def truth_entries() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    out = []
    for path in sorted(LIVE.glob("ground_truth_*.json")):
        truth = json.loads(path.read_text())
        for result in truth["results"]:
            if result["error"]:
                out.append((path.name, truth, result))
    return out


TRUTH = truth_entries()

# The expected cause of each distinct real error, by what its message says (first match
# wins).  ``None`` in the second column: any environment; else the Keras generation of the
# environment that produced it.
EXPECTED: list[tuple[str, Optional[int], str]] = [
    (r"Unknown layer: 'envdoctor_fixtures>Scale'", None, "custom_object_missing"),
    (r"Could not locate class 'Scale'", None, "custom_object_missing"),
    (r"parent module envdoctor_fixture_layers cannot be imported", None, "custom_object_missing"),
    (r"'str' object is not callable", None, "custom_object_missing"),
    (r"Unrecognized keyword arguments: \[[^\]]*'batch_shape'", None, "keras3_file_in_keras2"),
    (r"Unrecognized keyword arguments: \['optional'\]", None, "newer_keras_file"),
    (r"parent module (tf_)?keras\.src\.models\.functional", None, "keras3_file_in_keras2"),
    (r"parent module keras\.src\.engine\.functional", None, "keras2_archive_in_keras3"),
    (r"parent module tf_keras\.src\.engine\.functional", 3, "keras2_archive_in_keras3"),
    (r"parent module tf_keras\.src\.engine\.functional", 2, "newer_keras_file"),
    (r"Could not locate class 'Functional'", None, "keras2_archive_in_keras3"),
    (r"quantization_config|'input_axes'", None, "newer_keras_file"),
    (r"time_major|'convert_input'|'quantization_mode'|Could not interpret initializer", None,
     "legacy_h5_keras3"),
    (r"File format not supported: filepath=", None, "savedmodel_in_keras3"),
    (r"Unable to create a (TF-)?Keras model from SavedModel|'_UserObject' object has no attribute",
     None, "savedmodel_without_keras_metadata"),
    (r"No model config found in the file", None, "not_a_whole_model"),
    (r"bad marshal data", None, "lambda_marshal"),
    (r"`?Lambda`? layer", None, "lambda_safe_mode"),
    (r"'keras\.metrics\.mse'|Could not locate function 'mse'", None, "loss_alias_keras3"),
    (r"expected \d+ variables, but received 0 variables", None, "point_release_regression"),
]


def expected_cause(message: str, generation: Optional[int]) -> str:
    for pattern, gen, cause in EXPECTED:
        if (gen is None or gen == generation) and re.search(pattern, message):
            return cause
    raise AssertionError(f"no expectation for: {message[:200]}")


def classify_truth(truth: dict[str, Any], result: dict[str, Any],
                   with_context: bool = True) -> Any:
    message = truth_text(result)
    parsed = ParsedError(result["error_type"], message, ((result["error_type"], message),), (),
                         "verify")
    if not with_context:
        return classify_parsed(parsed, Context()), set()
    env = env_from_truth(truth)
    info = model(result["model"])
    static = tuple(f for f in run_checks(info, env) if f.severity is not Severity.INFO)
    errors = {f.code for f in static if f.severity is Severity.ERROR}
    return classify_parsed(parsed, Context(model=info, env=env, static=static)), errors


# ---------------------------------------------------------------- explain CODE


def test_every_code_is_documented_by_explain(capsys: pytest.CaptureFixture[str]) -> None:
    codes = tables.documented_codes()
    assert {"ED001", "ED002", "ED003", "ED004", "ED005", "ED006", "ED007", "ED008",
            "ED009"} <= set(codes)
    for code in codes:
        assert main(["explain", code, "--format", "json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert set(data) == ENVELOPE_KEYS | {"explanation"}
        assert data["command"] == "explain"
        doc = data["explanation"]
        assert doc["code"] == code
        for field in ("title", "severity", "cause", "evidence", "fixes", "source"):
            assert str(doc[field]).strip(), (code, field)


def test_explain_code_text_and_lowercase(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "ed103", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "ED103" in out and "SavedModel" in out and "source:" in out
    # the error causes related to the code are listed
    assert "savedmodel_in_keras3" in out


def test_explain_cause_id_and_unknown_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "lambda_marshal", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["explanation"]["codes"] == ["ED201", "ED202"]
    assert main(["explain", "ED999"]) == 2
    assert "unknown code" in capsys.readouterr().err
    assert main(["explain"]) == 2
    assert main(["explain", "ED101", "--error", "x"]) == 2


# ---------------------------------------------------------------- the knowledge


def test_signatures_are_data_with_sources() -> None:
    ids = [c.id for c in causes()]
    assert len(ids) == len(set(ids)) and len(ids) >= 100
    documented = set(tables.documented_codes())
    for cause in causes():
        assert cause.title and cause.cause and cause.fixes and cause.source, cause.id
        assert set(cause.codes) <= documented, cause.id
        assert cause.signatures, cause.id
        for sig in cause.signatures:
            assert sig.source.strip(), (cause.id, sig.pattern.pattern)
            assert sig.where in ("text", "type", "frames")
    # everything the issue lists is covered by at least one cause
    needed = {
        "savedmodel_in_keras3", "keras3_file_in_keras2", "keras2_archive_in_keras3",
        "lambda_marshal", "lambda_safe_mode", "custom_object_missing", "tf_keras_tf_mismatch",
        "legacy_keras_without_tf_keras", "numpy2_abi", "protobuf_mismatch", "h5py_missing",
        "corrupt_file", "git_lfs_pointer", "point_release_regression", "backend_missing",
        "gpu_libraries", "gpu_not_visible", "reticulate_already_initialized",
        "reticulate_tf_not_found", "reticulate_cannot_bind", "input_rank", "input_shape",
        "input_dtype", "wrong_or_empty_path", "not_a_whole_model", "newer_keras_file",
    }
    assert needed <= set(ids)


def test_a_wrapper_ranks_after_the_cause_it_wraps() -> None:
    """R's 'Valid installation of TensorFlow not found' around a recognized import error
    (https://github.com/rstudio/keras3/issues/1501): the inner cause answers, with the
    lines that matched; the wrapper stays among the candidates."""
    text = (
        "Error: Valid installation of TensorFlow not found.\n\n"
        "Python environments searched for 'tensorflow' package:\n"
        " C:\\Users\\me\\.virtualenvs\\r-reticulate\\Scripts\\python.exe\n\n"
        "Python exception encountered:\n Traceback (most recent call last):\n"
        "ImportError: DLL load failed while importing _pywrap_tensorflow_internal: "
        "A dynamic link library (DLL) initialization routine failed.\n\n"
        "> reticulate::import(\"tensorflow\")\n"
        "Error in py_module_import(module, convert = convert) : \n")
    expl = classify(text)
    assert expl.best is not None
    assert expl.best.cause.id == "tf_windows_base_wheel_dll_regression"
    assert "reticulate_tf_not_found" in {m.cause.id for m in expl.candidates}
    assert any("initialization routine failed" in line for line in expl.best.lines)
    assert any(line.startswith("matched: DLL load failed") for line in describe(expl))


def test_origin_alone_never_makes_a_weak_phrase_an_answer() -> None:
    """An R wrapper around an error no cause knows is unknown, not 'TensorFlow not found'
    (https://github.com/statsmaths/kerasR/issues/35)."""
    text = ("> reticulate::import(\"keras\")\nError in py_module_import(module, convert = convert) :"
            " \n  ImportError: cannot import name np_utils\n")
    assert classify(text).best is None


def test_each_cause_recognizes_its_own_examples() -> None:
    for cause in causes():
        for example in cause.examples:
            found = classify(example)
            assert cause.id in {m.cause.id for m in found.candidates}, (cause.id, example)


# ---------------------------------------------------------------- real errors: ground truth


def test_every_real_error_of_the_ground_truth_is_classified() -> None:
    """Every error of really loading every fixture in every real environment."""
    assert len(TRUTH) > 400
    wrong = []
    counts: Counter[str] = Counter()
    for name, truth, result in TRUTH:
        expl, static_errors = classify_truth(truth, result)
        generation = effective_keras(env_from_truth(truth)).generation
        want = expected_cause(truth_text(result), generation)
        got = expl.best.cause.id if expl.best else "unknown"
        counts[got] += 1
        if got != want:
            wrong.append((name, result["model"], want, got))
            continue
        # the real cause is among the static check's errors for that pair
        assert expl.best is not None
        if not set(expl.best.cause.codes) & static_errors:
            wrong.append((name, result["model"], "codes", sorted(static_errors)))
    assert not wrong, wrong[:20]
    assert counts["unknown"] == 0


def test_each_distinct_real_error_alone() -> None:
    """Without any context, a distinctive message is recognized on its own."""
    distinct: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
    for _, truth, result in TRUTH:
        key = (result["error_type"], re.sub(r"\d+", "N", result["error_head"][:80]))
        distinct.setdefault(key, (truth, result))
    ambiguous = ("'str' object is not callable", "tf_keras.src.engine")
    for (etype, head), (truth, result) in distinct.items():
        expl, _ = classify_truth(truth, result, with_context=False)
        if any(a in truth_text(result) for a in ambiguous):
            # honest: ambiguous without the model and environment
            assert expl.candidates, head
            continue
        assert expl.best is not None, (etype, head)
        generation = effective_keras(env_from_truth(truth)).generation
        assert expl.best.cause.id == expected_cause(truth_text(result), generation), head


# ---------------------------------------------------------------- real errors: captured runs


def captured() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(CAPTURED.read_text())["entries"]
    return entries


def classify_captured(entry: dict[str, Any]) -> Any:
    ctx = entry["context"]
    if entry["origin"] == "r":
        path = str(REPO / ctx["model"]) if "model" in ctx else None
        return classify(entry["text"], model_path=path)
    info = None
    if "format" in ctx:
        info = ModelInfo(path="model", format=ModelFormat(ctx["format"]), loadable=False,
                         summary="")
    chain = tuple(tuple(c) for c in entry["chain"]) + ((entry["error_type"], entry["error"]),)
    parsed = ParsedError(entry["error_type"], entry["error"], chain, tuple(entry["frames"]),
                         "verify")
    return classify_parsed(parsed, Context(
        model=info, model_missing=bool(ctx.get("model_missing")),
        model_unreadable=bool(ctx.get("model_unreadable"))))


@pytest.mark.parametrize("entry", captured(), ids=lambda e: f"{e['id']}-{e['env']}")
def test_captured_real_error_is_classified(entry: dict[str, Any]) -> None:
    expl = classify_captured(entry)
    assert expl.best is not None, (entry["scenario"], expl.closest)
    assert expl.best.cause.id in entry["expected"], (entry["scenario"], expl.best.cause.id)


def test_captured_covers_the_scenarios() -> None:
    entries = captured()
    assert len(entries) >= 30
    origins = Counter(e["origin"] for e in entries)
    assert origins["verify"] >= 25
    steps = Counter(e["step"] for e in entries)
    assert steps["predict_wrong_rank"] >= 5 and steps["predict_float32"] >= 1
    expected = {c for e in entries for c in e["expected"]}
    assert {"wrong_or_empty_path", "git_lfs_pointer", "corrupt_file", "backend_missing",
            "legacy_keras_without_tf_keras", "resource_limit", "verify_incomplete"} <= expected


# ---------------------------------------------------------------- parsing: R and tracebacks


def _r_entries() -> list[dict[str, Any]]:
    return [e for e in captured() if e["origin"] == "r"]


def test_r_py_last_error_is_parsed() -> None:
    entries = _r_entries()
    if not entries:
        pytest.skip("captured.json was made without R")
    last = [e for e in entries if "py_last_error" in e["scenario"]]
    assert len(last) == 2
    for entry in last:
        parsed = parse_error_text(entry["text"])
        assert parsed.error_type == "ValueError"
        assert parsed.frames, "the Python traceback frames are read"
    r_error = next(e for e in entries if e["scenario"].endswith("the R error")
                   and e["env"] == "tf215")
    parsed = parse_error_text(r_error["text"])
    assert parsed.error_type == "ValueError"
    assert parsed.message.startswith("Unknown layer")


def test_chained_traceback_keeps_every_exception() -> None:
    entries = _r_entries()
    if not entries:
        pytest.skip("captured.json was made without R")
    text = next(e["text"] for e in entries if "py_last_error" in e["scenario"]
                and e["env"] == "tf221")
    parsed = parse_error_text(text)
    assert parsed.origin in ("traceback", "reticulate")
    assert parsed.chain[-1][0] == "ValueError"
    assert "File format not supported" in parsed.message


def test_strip_configs_removes_configs_only() -> None:
    start = "Could not deserialize class 'Functional'"
    message = next(truth_text(r) for _, _, r in TRUTH if (r["error_head"] or "").startswith(start))
    stripped = strip_configs(message)
    assert "Full object config" not in stripped
    assert "cannot be imported" in stripped
    assert "'class_name'" not in stripped.split("[...]")[0]


# ---------------------------------------------------------------- the CLI


def _run_cli(args: list[str], capsys: pytest.CaptureFixture[str],
             stdin: Optional[str] = None) -> tuple[int, str, str]:
    old = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()))
    try:
        code = main(args)
    finally:
        sys.stdin = old
    out = capsys.readouterr()
    return code, out.out, out.err


def test_error_from_a_file_and_from_stdin(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    entries = _r_entries()
    if not entries:
        pytest.skip("captured.json was made without R")
    traceback = next(e["text"] for e in entries if "py_last_error" in e["scenario"]
                     and e["env"] == "tf215")
    path = tmp_path / "traceback.txt"
    path.write_text(traceback)
    code, out, _ = _run_cli(["explain", "--error", str(path), "--format", "json"], capsys)
    assert code == 1
    data = json.loads(out)
    assert data["explanation"]["cause"]["id"] == "custom_object_missing"
    assert data["findings"][0]["code"] == "ED008"
    code, out, _ = _run_cli(["explain", "--error", "-", "--format", "json"], capsys,
                            stdin=traceback)
    assert code == 1
    assert json.loads(out)["explanation"]["parsed"]["error_type"] == "ValueError"


def test_unknown_error_is_honest(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run_cli(["explain", "--error", "RuntimeError: the frobnicator exploded",
                             "--format", "json"], capsys)
    assert code == 0  # a warning: below the default --fail-on error
    data = json.loads(out)
    assert data["explanation"]["known"] is False
    assert data["explanation"]["cause"] is None
    assert len(data["explanation"]["closest"]) == 3
    finding = data["findings"][0]
    assert finding["code"] == "ED009" and finding["severity"] == "warning"
    code, _, _ = _run_cli(["explain", "--error", "the frobnicator exploded", "--fail-on",
                           "warning"], capsys)
    assert code == 1
    code, _, err = _run_cli(["explain", "--error", "  "], capsys)
    assert code == 2 and "empty" in err


def test_marshal_error_with_model_and_python_311() -> None:
    """The issue's example: 'bad marshal data' + a model with a Lambda + Python 3.11 here."""
    truth = json.loads((LIVE / "ground_truth_tf221.json").read_text())
    env = env_from_truth(truth)  # Python 3.11.7, TF 2.21, Keras 3.15.1
    assert env.python_version.startswith("3.11")
    expl = classify("ValueError: bad marshal data (unknown type code)",
                    model_path=str(REPO / "tests/fixtures/tf215/lambda.h5"), env=env)
    assert expl.best is not None and expl.best.cause.id == "lambda_marshal"
    assert expl.best.confidence == "high"
    related = [f.code for f in expl.best.related]
    assert "ED201" in related
    from envdoctor.checks.observed import explanation_finding

    finding = explanation_finding(expl, "tests/fixtures/tf215/lambda.h5", env.python)
    assert "Python 3.11" in finding.detail and "3.8-3.10" in finding.detail


def test_file_format_not_supported_for_a_missing_path(tmp_path: Path) -> None:
    """The same Keras 3 message means a SavedModel, or a wrong path: the path decides."""
    message = (f"ValueError: File format not supported: filepath={tmp_path}/model_dir. Keras 3 "
               "only supports V3 `.keras` files, legacy H5 format files (`.h5` extension).")
    expl = classify(message)
    assert expl.best is not None and expl.best.cause.id == "wrong_or_empty_path"
    saved = REPO / "tests/fixtures/tf215/mlp_savedmodel"
    expl = classify(message.replace(f"{tmp_path}/model_dir", str(saved)))
    assert expl.best is not None and expl.best.cause.id == "savedmodel_in_keras3"
    (tmp_path / "empty").mkdir()
    expl = classify(message, model_path=str(tmp_path / "empty"))
    assert expl.best is not None and expl.best.cause.id == "wrong_or_empty_path"
