"""`envdoctor report merge`: real `check --format json` reports of several "hosts" merged.

Each host's report is produced the way a fleet job produces it: `python -m envdoctor check
MODEL... --format json` in a subprocess of this test venv's interpreter (which has no
TensorFlow), with ENVDOCTOR_HOST naming the host, against a real environment laid out on
disk (read statically, never run) or against this venv itself, or `check --all`.
"""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ci_support import FIXTURES, HOSTILE, REPO, cli, fake_env
from jsonschema import Draft202012Validator

from envdoctor import merge as M

MLP = "tests/fixtures/tf221/mlp.keras"
LSTM = "examples/lstm.keras"
OLD_STACK = {"tensorflow": "2.13.1", "keras": "2.13.1", "numpy": "1.24.3", "h5py": "3.9.0",
             "protobuf": "4.23.4"}
MERGE_SCHEMA = json.loads((REPO / "envdoctor" / "schema" / "merge-v1.schema.json").read_text())
ENVELOPE_SCHEMA = json.loads(
    (REPO / "envdoctor" / "schema" / "envelope-v1.schema.json").read_text()
)


def check_report(out: Path, *args: str, host: str | None) -> dict[str, Any]:
    """Run a real `envdoctor check ... --format json` and save its stdout to ``out``."""
    env = {"ENVDOCTOR_HOST": host} if host is not None else {"ENVDOCTOR_HOST": ""}
    proc = cli("check", *args, "--format", "json", env=env)
    assert proc.returncode in (0, 1), proc.stderr
    out.write_text(proc.stdout)
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("fleet")
    envs = root / "envs"
    good = fake_env(envs, name="good")
    old = fake_env(envs, OLD_STACK, version="3.10.12", name="old")
    reports = root / "reports"
    reports.mkdir()
    data = {
        "node1": check_report(reports / "report-node1.json", MLP, LSTM, "--python", str(good),
                              host="node1"),
        "node2": check_report(reports / "report-node2.json", MLP, LSTM, "--python", str(old),
                              host="node2"),
        "node10": check_report(reports / "report-node10.json", MLP, "--python", sys.executable,
                               host="node10"),
    }
    # A report written before envelopes had a host: the file name names the host.
    legacy = check_report(root / "legacy.json", MLP, "--python", str(good), host="x")
    del legacy["host"]
    (reports / "legacy-report.json").write_text(json.dumps(legacy, indent=2) + "\n")
    data["legacy-report.json"] = legacy
    ok_only = check_report(root / "ok-only.json", MLP, "--python", str(good), host="okhost")
    warn_only = check_report(root / "warn-only.json", LSTM, "--python", str(good),
                             host="warnhost")
    return {"root": root, "reports": reports, "data": data, "good": good, "old": old,
            "ok_only": ok_only, "warn_only": warn_only}


def merge_cli(*args: str, stdin: str | None = None,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    if stdin is None:
        return cli("report", "merge", *args, env=env)
    import os

    full = dict(os.environ)
    full["PYTHONPATH"] = str(REPO)
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "envdoctor", "report", "merge", *args], input=stdin,
        capture_output=True, text=True, env=full, timeout=120, check=False, cwd=str(REPO),
    )


RowKey = tuple[str, str, str, str, tuple[str, ...]]


def expected_rows(data: dict[str, dict[str, Any]]) -> set[RowKey]:
    return {
        (host, v["python"], v["model"], v["status"], tuple(v["codes"]))
        for host, report in data.items() for v in report["verdicts"]
    }


def json_rows(stdout: str) -> set[RowKey]:
    out = json.loads(stdout)
    assert Draft202012Validator(MERGE_SCHEMA).is_valid(out)
    return {(r["host"], r["python"], r["model"], r["status"], tuple(r["codes"]))
            for r in out["rows"]}


# ---------------------------------------------------------------- the host field


def test_envelope_carries_the_host(fleet: dict[str, Any]) -> None:
    assert fleet["data"]["node1"]["host"] == "node1"
    assert Draft202012Validator(ENVELOPE_SCHEMA).is_valid(fleet["data"]["node1"])
    assert Draft202012Validator(ENVELOPE_SCHEMA).is_valid(fleet["data"]["legacy-report.json"])
    proc = cli("check", MLP, "--python", str(fleet["good"]), "--format", "json",
               env={"ENVDOCTOR_HOST": ""})
    assert json.loads(proc.stdout)["host"] == socket.gethostname()
    assert "host" not in ENVELOPE_SCHEMA["required"]


def test_tf_distributions_match_the_inventory() -> None:
    from envdoctor.inventory import TF_DISTRIBUTIONS

    assert M.TF_DISTRIBUTIONS == TF_DISTRIBUTIONS


# ---------------------------------------------------------------- the three formats


def test_text_table_of_real_reports(fleet: dict[str, Any]) -> None:
    files = sorted(str(p) for p in fleet["reports"].iterdir())
    proc = merge_cli(*files, env={"COLUMNS": "20"})
    assert proc.returncode == 1, proc.stderr  # node2 and node10 cannot load the models
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    header = lines[0].split()
    assert header == ["host", "environment", "kind", "Python", "TF", "Keras", "model",
                      "verdict", "codes"]
    rows = [line.split() for line in lines[1:lines.index("")]]
    want = expected_rows(fleet["data"])
    assert len(rows) == len(want)
    # One row per line, every value whole (COLUMNS=20 does not wrap or cut anything).
    got = {(r[0], r[1], r[6], r[7], tuple(r[8].split(",")) if r[8] != "-" else ())
           for r in rows}
    assert got == want
    # Natural host order: node1, node2, node10; the host-less report is named by its file.
    hosts = list(dict.fromkeys(r[0] for r in rows))
    assert hosts == ["legacy-report.json", "node1", "node2", "node10"]
    good_python = str(fleet["good"] / "bin" / "python")
    node1 = [r for r in rows if r[0] == "node1"]
    assert {r[1] for r in node1} == {good_python}
    assert {(r[3], r[4], r[5]) for r in node1} == {("3.11.7", "2.21.0", "3.15.1")}
    assert {r[6]: r[7] for r in node1} == {MLP: "ok", LSTM: "warning"}
    node10 = [r for r in rows if r[0] == "node10"]
    assert node10[0][4:6] == ["-", "-"]  # this venv has no TensorFlow and no Keras
    assert f"{MLP}: usable on 2 of 4 host(s); not on node2, node10" in lines
    assert lines[-1].startswith("4 host(s), 4 environment(s), 6 row(s): 2 ok, 1 warning, "
                                "3 error, 0 broken; 4 report(s) merged from 4 input(s).")
    assert "\x1b[" not in proc.stdout


def test_json_rows_are_exactly_the_verdicts(fleet: dict[str, Any]) -> None:
    proc = merge_cli(str(fleet["reports"]), "--format", "json")  # a directory
    assert proc.returncode == 1, proc.stderr
    assert json_rows(proc.stdout) == expected_rows(fleet["data"])
    out = json.loads(proc.stdout)
    assert proc.stdout == json.dumps(out, sort_keys=True, indent=2) + "\n"
    assert out["summary"]["status"] == "error"
    assert out["summary"]["counts"] == {"ok": 2, "warning": 1, "error": 3, "broken": 0}
    assert (out["summary"]["hosts"], out["summary"]["reports"]) == (4, 4)
    models = {m["model"]: m for m in out["models"]}
    assert models[LSTM] == {"model": LSTM, "hosts": 2, "usable": 1, "unusable": ["node2"]}
    node1 = next(r for r in out["rows"] if r["host"] == "node1" and r["model"] == MLP)
    assert (node1["tensorflow"], node1["keras"], node1["kind"]) == ("2.21.0", "3.15.1", "venv")


def test_markdown_table(fleet: dict[str, Any]) -> None:
    files = sorted(str(p) for p in fleet["reports"].iterdir())
    proc = merge_cli(*files, "--format", "markdown")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "### ❌ envdoctor report merge: 4 host(s)"
    table = [line for line in lines if line.startswith("| ")]
    assert table[0] == ("| host | environment | kind | Python | TF | Keras | model | verdict "
                        "| codes |")
    assert len(table) == 1 + len(expected_rows(fleet["data"]))
    assert "| `node1` |" in proc.stdout and "| ✅ ok |" in proc.stdout
    assert "| ⚠️ warning | ED801 |" in proc.stdout


def test_hostile_host_names_stay_on_one_line(fleet: dict[str, Any], tmp_path: Path) -> None:
    bad = check_report(tmp_path / "evil.json", MLP, "--python", str(fleet["good"]),
                       host=HOSTILE)
    assert bad["host"] == HOSTILE.strip()
    text = merge_cli(str(tmp_path / "evil.json"))
    assert text.returncode == 0, text.stderr
    assert len(text.stdout.splitlines()) == 5  # header, row, blank, model line, summary
    assert "\\n::add-mask::secret" in text.stdout.splitlines()[1]
    md = merge_cli(str(tmp_path / "evil.json"), "--format", "markdown")
    row = next(line for line in md.stdout.splitlines() if "mlp.keras" in line and "|" in line)
    assert "``evil\\|<img" in row  # inside a code span: shown as text, never as HTML
    assert row.count(" | ") == 8  # nine cells: the host's | is escaped


# ---------------------------------------------------------------- streaming inputs


def test_stdin_concatenated_reports_and_json_lines(fleet: dict[str, Any], tmp_path: Path) -> None:
    files = [fleet["reports"] / f"{name}.json"
             for name in ("report-node1", "report-node2", "report-node10", "legacy-report")]
    hosted = expected_rows({k: v for k, v in fleet["data"].items() if k != "legacy-report.json"})

    def check_rows(stdout: str, name: str) -> None:
        got = json_rows(stdout)
        # The host-less report is the 4th document of one input: named "<input>#4".
        legacy = {r for r in got if r[0] == f"{name}#4"}
        assert len(legacy) == 1
        assert got - legacy == hosted

    concatenated = "".join(p.read_text() for p in files)  # what `cat *.json |` gives
    proc = merge_cli("--format", "json", stdin=concatenated)  # no FILE: standard input
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    check_rows(proc.stdout, "stdin")
    # JSON Lines: one compact report per line, in a file and on stdin (`-`).
    jsonl = tmp_path / "fleet.jsonl"
    jsonl.write_text("".join(json.dumps(json.loads(p.read_text())) + "\n" for p in files))
    for args, stdin, name in (((str(jsonl),), None, "fleet.jsonl"),
                              (("-",), jsonl.read_text(), "stdin")):
        proc = merge_cli(*args, "--format", "json", stdin=stdin)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr == ""
        check_rows(proc.stdout, name)
    # A JSON array of reports (jq -s) is merged too.
    array = json.dumps([json.loads(p.read_text()) for p in files[:2]])
    proc = merge_cli("-", "--format", "json", stdin=array)
    assert proc.returncode == 1 and len(json.loads(proc.stdout)["rows"]) == 4


def test_a_rerun_replaces_the_earlier_report(fleet: dict[str, Any]) -> None:
    one = str(fleet["reports"] / "report-node1.json")
    proc = merge_cli(one, one, "--format", "json")
    out = json.loads(proc.stdout)
    assert len(out["rows"]) == 2 and out["summary"]["superseded"] == 2
    assert proc.returncode == 0  # ok + warning


# ---------------------------------------------------------------- bad input and exit codes


def test_bad_files_one_line_each_and_the_rest_merged(fleet: dict[str, Any],
                                                     tmp_path: Path) -> None:
    node1 = fleet["reports"] / "report-node1.json"
    text = node1.read_text()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notjson.txt").write_text("envdoctor: error: something went wrong on this node\n")
    (bad / "truncated.json").write_text(text[: len(text) // 2])
    (bad / "v2.json").write_text(text.replace('"schema_version": "1"', '"schema_version": "2"'))
    (bad / "empty.json").write_text("")
    (bad / "other.json").write_text('{"name": "not a report"}\n')
    shutil.copy(FIXTURES / "tf221" / "mlp.keras", bad / "model.keras")  # a zip, not JSON
    inspect_report = cli("inspect", MLP, "--format", "json")
    assert inspect_report.returncode == 0, inspect_report.stderr
    (bad / "inspect.json").write_text(inspect_report.stdout)
    missing = str(bad / "missing.json")
    bads = sorted(str(p) for p in bad.iterdir())
    proc = merge_cli(*bads, missing, str(fleet["reports"] / "report-node2.json"),
                     "--format", "json")
    assert proc.returncode == 2
    err = proc.stderr.splitlines()
    assert "Traceback" not in proc.stderr
    assert len(err) == len(bads) + 1  # one line per bad file
    by_file = {Path(line.split(": ")[2].split(" line ")[0].split(":")[0]).name: line
               for line in err}
    assert set(by_file) == {Path(p).name for p in [*bads, missing]}
    assert "not JSON" in by_file["notjson.txt"]
    assert "truncated report" in by_file["truncated.json"]
    assert 'schema_version "2"' in by_file["v2.json"]
    assert "empty" in by_file["empty.json"]
    assert "not an envdoctor report" in by_file["other.json"]
    assert "not JSON" in by_file["model.keras"] or "not UTF-8" in by_file["model.keras"]
    assert "'inspect' report holds no verdicts" in by_file["inspect.json"]
    assert "No such file" in by_file["missing.json"]
    out = json.loads(proc.stdout)
    assert {r["host"] for r in out["rows"]} == {"node2"}  # the good report is still merged
    assert out["summary"]["bad_inputs"] == len(bads) + 1
    assert len(out["problems"]) == len(bads) + 1


def test_truncated_report_inside_a_stream(fleet: dict[str, Any]) -> None:
    """`cat` of node1, a report cut mid-line (no newline), node2: node1 and node2 merged."""
    node1 = (fleet["reports"] / "report-node1.json").read_text()
    node2 = (fleet["reports"] / "report-node2.json").read_text()
    cut = node1.replace('"node1"', '"cut"')[: len(node1) // 3]
    for middle in (cut, cut + "\n"):
        proc = merge_cli("-", "--format", "json", stdin=node1 + middle + node2)
        assert proc.returncode == 2
        assert len(proc.stderr.splitlines()) == 1
        assert "stdin line" in proc.stderr and "truncated report" in proc.stderr
        assert {r["host"] for r in json.loads(proc.stdout)["rows"]} == {"node1", "node2"}


def test_exit_codes(fleet: dict[str, Any], tmp_path: Path) -> None:
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(fleet["ok_only"]))
    warn = tmp_path / "warn.json"
    warn.write_text(json.dumps(fleet["warn_only"]))
    assert merge_cli(str(ok)).returncode == 0
    assert merge_cli(str(ok), str(warn)).returncode == 0
    assert merge_cli(str(ok), str(warn), "--fail-on", "warning").returncode == 1
    assert merge_cli(str(ok), str(fleet["reports"] / "report-node2.json")).returncode == 1
    nothing = merge_cli("-", stdin="")
    assert nothing.returncode == 2 and nothing.stderr.strip().endswith("empty: no report in it")
    usage = merge_cli("--format", "yaml")
    assert usage.returncode == 2 and "invalid choice" in usage.stderr
    assert cli("report").returncode == 2


def test_envs_reports_merge_as_environment_rows(tmp_path: Path) -> None:
    envs = cli("envs", "--format", "json", env={"ENVDOCTOR_HOST": "inventory"})
    assert envs.returncode == 0, envs.stderr
    (tmp_path / "envs.json").write_text(envs.stdout)
    proc = merge_cli(str(tmp_path / "envs.json"), "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    verdicts = json.loads(envs.stdout)["verdicts"]
    assert len([r for r in rows if r["status"] != "broken"]) == len(verdicts)
    assert {r["model"] for r in rows} == {""} and {r["host"] for r in rows} == {"inventory"}


def test_check_all_report(fleet: dict[str, Any], tmp_path: Path) -> None:
    report = check_report(tmp_path / "all.json", MLP, "--all", host="allhost")
    proc = merge_cli(str(tmp_path / "all.json"), "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    verdicts = {(v["python"], v["status"]) for v in report["verdicts"]}
    assert {(r["python"], r["status"]) for r in rows if r["status"] != "broken"} == verdicts
    broken = {c["python"] or c["prefix"] for c in report["candidates"] if c["health"] == "broken"}
    assert {r["python"] for r in rows if r["status"] == "broken"} == broken
    assert {r["host"] for r in rows} == {"allhost"}


# ---------------------------------------------------------------- the reader, in process


def test_oversized_document_and_endless_line(monkeypatch: pytest.MonkeyPatch,
                                             fleet: dict[str, Any]) -> None:
    node1 = (fleet["reports"] / "report-node1.json").read_bytes()
    monkeypatch.setattr(M, "MAX_DOCUMENT_BYTES", len(node1) + 10)
    monkeypatch.setattr(M, "READ_CHUNK", 4096)
    big = node1.replace(b'"node1"', b'"big"').replace(b'"models": [', b'"models": [' + b" " * 50)
    big = big.replace(b"\n  ", b"\n  " + b" " * 20)  # same document, more bytes than allowed
    endless = b"x" * (len(node1) * 3)  # one line, no newline at all
    problems: list[M.Problem] = []
    merger = M.Merger(problems.append)
    merger.add_stream(io.BytesIO(big + node1 + endless + b"\n" + node1), "-")
    assert [p.message.split(" ")[0:2] for p in problems] == [["document", "over"],
                                                             ["not", "JSON:"]]
    assert merger.reports == 2 and merger.superseded == 2


@pytest.mark.parametrize("chunk", [7, 64, 4096, M.READ_CHUNK])
def test_reader_finds_the_same_documents_at_any_chunk_size(
    monkeypatch: pytest.MonkeyPatch, fleet: dict[str, Any], chunk: int
) -> None:
    """Pretty reports, JSON Lines, CRLF, a BOM, blank lines, two documents on one line, a
    truncated JSON Lines line and indented text between reports, read in chunks of any size."""
    monkeypatch.setattr(M, "READ_CHUNK", chunk)
    node1 = json.loads((fleet["reports"] / "report-node1.json").read_text())
    node2 = json.loads((fleet["reports"] / "report-node2.json").read_text())
    pretty1 = json.dumps(node1, indent=2, sort_keys=True) + "\n"
    stream = (
        "\ufeff" + pretty1
        + "\n\n"
        + json.dumps(node2) + json.dumps(node1) + "\n"           # {..}{..} on one line
        + json.dumps(node2)[:500] + "\n"                          # a JSON Lines line cut short
        + json.dumps(node2, indent=2).replace("\n", "\r\n") + "\r\n"
        + "    indented text\n  more of it\n"                     # text, not JSON
        + json.dumps(node1) + "\n"
    ).encode()
    problems: list[M.Problem] = []
    docs = list(M.iter_documents(io.BytesIO(stream), "-", problems.append))
    assert [d.value for d in docs] == [node1, node2, node1, node2, node1]
    lines = stream.decode("utf-8-sig").split("\n")
    assert [d.line for d in docs][0] == 1
    assert [lines[d.line - 1][:1] for d in docs] == ["{"] * 5
    assert [(p.line, p.message.split(":")[0]) for p in problems] == [
        (lines.index(json.dumps(node2)[:500]) + 1, "truncated report"),
        (lines.index("    indented text") + 1, "2 lines that are not JSON"),
    ]


def test_log_lines_between_reports(fleet: dict[str, Any]) -> None:
    """`kubectl logs` of several pods: one pod printed log lines, not a report."""
    node1 = (fleet["reports"] / "report-node1.json").read_text()
    node2 = (fleet["reports"] / "report-node2.json").read_text()
    logs = "[INFO] pip install envdoctor failed on node-3\n[2026-01-01 10:00] exit 2\n"
    proc = merge_cli("-", "--format", "json", stdin=node1 + logs + node2 + "[\n]\n")
    assert proc.returncode == 2
    err = proc.stderr.splitlines()
    assert len(err) == 2
    assert "2 lines that are not JSON: '[INFO] pip install envdoctor failed" in err[0]
    assert "an empty JSON array" in err[1]
    assert {r["host"] for r in json.loads(proc.stdout)["rows"]} == {"node1", "node2"}


def test_streamed_json_is_exactly_json_dumps(fleet: dict[str, Any]) -> None:
    from envdoctor.render.merge import jsonable, render_json

    for paths in ([str(fleet["reports"])], [str(fleet["root"] / "missing.json")]):
        merger = M.merge(paths)
        out = io.StringIO()
        render_json(merger, out)
        assert out.getvalue() == json.dumps(jsonable(merger), sort_keys=True, indent=2) + "\n"
        assert Draft202012Validator(MERGE_SCHEMA).is_valid(json.loads(out.getvalue()))
