"""scripts/update_knowledge.py: the hand-kept release tables agree with the committed
release metadata (envdoctor/knowledge/releases.json), offline."""

from __future__ import annotations

import email.parser
import importlib.util
import json
import shutil
import urllib.error
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "index" / "tensorflow-2.15.0.post1-cp310-manylinux.metadata"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "update_knowledge", ROOT / "scripts" / "update_knowledge.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _releases() -> dict:
    return json.loads((ROOT / "envdoctor" / "knowledge" / "releases.json").read_text())


def test_hand_tables_agree_with_release_metadata() -> None:
    """Every hand-kept release row equals its generated row (and nothing is unverified).

    The hand tables stay the runtime source (they carry what no metadata says: tested
    Python ranges, CUDA, GraphDef versions, notes); this test is what keeps their metadata
    facts equal to the wheels'.
    """
    assert _script().check(_releases()) == []


def test_check_catches_a_wrong_hand_row(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "envdoctor" / "knowledge", knowledge)
    tf = json.loads((knowledge / "tensorflow.json").read_text())
    row = next(r for r in tf["releases"] if r["minor"] == "2.15")
    del row["patches"]["2.15.0.post1"]
    (knowledge / "tensorflow.json").write_text(json.dumps(tf))
    problems = _script().check(_releases(), knowledge)
    assert any("2.15.0.post1" in p and "ml_dtypes" in p for p in problems)


def test_relevant_requirements_from_real_metadata() -> None:
    msg = email.parser.Parser().parsestr(FIXTURE.read_text(), headersonly=True)
    rows = _script()._relevant(msg.get_all("Requires-Dist"))
    assert "ml-dtypes~=0.2.0" in rows
    committed = next(
        r for r in _releases()["packages"]["tensorflow"] if r["version"] == "2.15.0.post1"
    )
    assert committed["requires_dist"] == rows
    assert committed["requires_python"] == msg["Requires-Python"]


SAMPLE = ROOT / "tests" / "fixtures" / "index" / "tf-keras-sample"
"""Real index answers for tf-keras 2.15.0, 2.15.1 (no PEP 658 file: METADATA read from the
wheel by range requests) and 2.21.0 (PEP 658), recorded with ``record-sample``."""


def test_generate_offline_from_recorded_sample_equals_committed_rows(tmp_path: Path) -> None:
    script = _script()
    cache = script.cache_from_sample(SAMPLE, tmp_path / "cache")
    out = tmp_path / "releases.json"
    data = script.generate(["tf-keras"], cache, True, out)
    rows = {r["version"]: r for r in data["packages"]["tf-keras"]}
    assert sorted(rows) == ["2.15.0", "2.15.1", "2.21.0"]
    committed = {r["version"]: r for r in _releases()["packages"]["tf-keras"]}
    for version, row in rows.items():
        assert row == committed[version], version  # every generated row = its metadata
    assert rows["2.15.0"]["requires_dist"] == []
    assert rows["2.15.1"]["requires_dist"] == ["tensorflow<2.16,>=2.15"]
    assert rows["2.15.1"]["source"].endswith(".whl#METADATA")
    assert rows["2.21.0"]["source"].endswith(".whl.metadata")
    assert rows["2.21.0"]["requires_python"] == ">=3.10"
    # the file round-trips and one row is one line (small diffs on release day)
    assert json.loads(out.read_text()) == data
    assert sum(1 for line in out.read_text().splitlines() if '"version"' in line) == 3


def test_every_committed_release_has_metadata_and_a_source() -> None:
    for name, rows in _releases()["packages"].items():
        for row in rows:
            assert row.get("metadata", True) is not None, (name, row["version"])
            assert row["source"].startswith("https://files.pythonhosted.org/"), (name, row)
            assert row["source"].endswith((".metadata", "#METADATA")), (name, row)


class _Server:
    """A local HTTP server with Range support that fails the first ``fail`` requests."""

    def __init__(self, body: bytes, fail: int = 0) -> None:
        import http.server
        import threading

        outer = self
        self.fail = fail
        self.requests: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.requests.append(self.headers.get("Range") or "")
                if outer.fail:
                    outer.fail -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                rng = self.headers.get("Range")
                data, status = body, 200
                if rng:
                    spec = rng.removeprefix("bytes=")
                    a, _, b = spec.partition("-")
                    if not a:
                        data = body[-int(b) :]
                    else:
                        data = body[int(a) : int(b) + 1 if b else None]
                    status = 206
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/x-1.0-py3-none-any.whl"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _wheel(metadata: bytes) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x/__init__.py", b"#" * 200_000)
        zf.writestr("x-1.0.dist-info/METADATA", metadata)
        zf.writestr("x-1.0.dist-info/RECORD", b"")
    return buf.getvalue()


def test_wheel_metadata_by_range_reads_only_the_member(tmp_path: Path) -> None:
    meta = FIXTURE.read_bytes()
    wheel = _wheel(meta)
    server = _Server(wheel)
    try:
        got = _script().wheel_metadata_by_range(server.url, tmp_path, False)
        assert got == meta
        assert all(r for r in server.requests)  # every request was a range request
        # cached: a second read makes no request, and works offline
        n = len(server.requests)
        assert _script().wheel_metadata_by_range(server.url, tmp_path, True) == meta
        assert len(server.requests) == n
    finally:
        server.close()


def test_transient_failures_are_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = _script()
    monkeypatch.setattr(script.time, "sleep", lambda s: None)  # the backoff is not under test
    server = _Server(b"hello", fail=2)
    try:
        assert script._get(server.url, tmp_path, False) == b"hello"
        assert len(server.requests) == 3
    finally:
        server.close()
    gone = _Server(b"", fail=0)
    gone.close()
    with pytest.raises(FileNotFoundError):
        script._get(gone.url + "?never-cached", tmp_path, True)
    script.RETRIES = 2
    with pytest.raises(urllib.error.URLError):  # down for good: the error surfaces
        script._get(gone.url + "?down", tmp_path, False)
