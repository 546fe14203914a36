"""Fuzz every model reader over hostile mutations of the real fixtures (bounded run).

A crash is any exception other than ``ModelFileError`` escaping
``envdoctor.modelfiles.read_model`` (or a ``ModelFileError`` that only wraps an unexpected
exception: "unexpected error while reading"), a command-line exit code other than 0/1/2, or a
traceback on stderr.  Every input must also be read within ``MAX_SECONDS`` seconds and
``MAX_TRACED_MB`` of Python allocations.  The whole module stays under ~60 s on 2 cores;
``benchmarks/fuzz_readers.py`` runs the same generators over 20,000+ inputs in forked
children and measures peak RSS.

Also here: models whose Lambda layer would write a file if its bytecode ran; ``inspect``,
``check`` and ``explain`` must never run it.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import marshal
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: ci_support

import mutators  # noqa: E402
from ci_support import FIXTURES, cli, fake_env, iter_envs  # noqa: E402

from envdoctor import cli as envdoctor_cli  # noqa: E402
from envdoctor.errors import ModelFileError  # noqa: E402
from envdoctor.modelfiles import read_model  # noqa: E402

MAX_SECONDS = 15.0
"""Wall time allowed to read one hostile input (seconds; the worst seen is ~3 s)."""

MAX_TRACED_MB = 400
"""Python allocations allowed while reading one input (MiB; the worst seen is ~190)."""

MAX_RSS_MB = 1024
"""Peak RSS allowed for the whole test process (MiB; HDF5 allocations included)."""

TRACE_BELOW_SECONDS = 0.5
"""Inputs read faster than this (seconds) are read again under tracemalloc."""

FUZZ = settings(
    max_examples=int(os.environ.get("ENVDOCTOR_FUZZ_EXAMPLES", "20")),
    deadline=None,  # time is asserted per input below, with a bound meant for hostile input
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fake_env(tmp_path_factory.mktemp("env"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def read_checked(path: Path, *, trace: bool = True) -> str:
    """Read one input; fail on a crash, a masked crash, too much time or memory.

    Time is measured on a plain read.  Memory: the Python allocations of a second, traced
    read (tracemalloc slows reading ~10x, so only inputs read in under
    ``TRACE_BELOW_SECONDS``), and for every input the process's peak RSS, which also counts
    HDF5's own allocations.
    """
    start = time.perf_counter()
    outcome = _read(path)
    elapsed = time.perf_counter() - start
    assert elapsed < MAX_SECONDS, f"{path}: {elapsed:.1f} s"
    peak_rss_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    assert peak_rss_mb < MAX_RSS_MB, f"{path}: the process reached {peak_rss_mb:.0f} MiB"
    if trace and elapsed < TRACE_BELOW_SECONDS:
        tracemalloc.start()
        try:
            assert _read(path) == outcome
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < MAX_TRACED_MB * 1024 * 1024, f"{path}: {peak / 2**20:.0f} MiB"
    return outcome


def _read(path: Path) -> str:
    try:
        read_model(str(path))
    except ModelFileError as exc:
        assert "unexpected error while reading" not in str(exc), str(exc)
        return "rejected"
    return "ok"


def run_cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = envdoctor_cli.main(argv)
    return rc, err.getvalue()


def assert_cli_clean(path: Path, env: Path) -> None:
    for argv in (["inspect", str(path), "--format", "json"],
                 ["check", str(path), "--python", str(env), "--no-config", "--format", "json"]):
        rc, err = run_cli(argv)
        assert rc in (0, 1, 2), (argv, rc, err)
        assert "Traceback" not in err and "internal error" not in err, err
        if rc == 2:
            assert err.count("\n") == 1 and err.startswith("envdoctor: error: "), err


# ------------------------------------------------------------------------------------ fuzzing


@pytest.mark.timeout(300)
@pytest.mark.parametrize("family", sorted(mutators.GENERATORS))
@FUZZ
@given(seed=st.integers(min_value=0, max_value=2**63))
def test_readers_survive_hostile_inputs(family: str, seed: int) -> None:
    with tempfile.TemporaryDirectory() as work:
        path, label = mutators.generate(random.Random(seed), Path(work), family)
        outcome = read_checked(path)
        assert outcome in ("ok", "rejected"), label


@pytest.mark.timeout(300)
@settings(FUZZ, max_examples=int(os.environ.get("ENVDOCTOR_FUZZ_CLI_EXAMPLES", "20")))
@given(seed=st.integers(min_value=0, max_value=2**63))
def test_command_line_survives_hostile_inputs(seed: int, env: Path) -> None:
    with tempfile.TemporaryDirectory() as work:
        path, _label = mutators.generate(random.Random(seed), Path(work))
        assert_cli_clean(path, env)


@pytest.mark.timeout(300)
@FUZZ
@given(data=st.binary(max_size=4096), name=st.sampled_from(
    ["m.keras", "m.h5", "saved_model.pb", "m.json", "m.pb", "m.index", "checkpoint", "m.pkl",
     "m.tflite", "x"]))
def test_arbitrary_bytes_under_any_name(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / name
        path.write_bytes(data)
        read_checked(path, trace=False)


# ------------------------------------------------------------------------ hostile corpus


def _keras(src: Path, out: Path, replace: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED,
           extra: tuple[tuple[str, bytes], ...] = ()) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", method) as z:
        for info in zin.infolist():
            z.writestr(info.filename, replace.get(info.filename, zin.read(info)))
        for name, data in extra:
            z.writestr(name, data)
    return out


def _patch_central_size(path: Path, member: str, value: int, field_offset: int = 24) -> None:
    data = bytearray(path.read_bytes())
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        name_len = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + name_len] == member.encode():
            data[pos + field_offset:pos + field_offset + 4] = value.to_bytes(4, "little")
        pos = data.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(data))


MLP_KERAS = FIXTURES / "tf221" / "mlp.keras"
MLP_H5 = FIXTURES / "tf215" / "mlp.h5"
SAVEDMODEL = FIXTURES / "tf215" / "lstm_savedmodel"


def corpus(work: Path) -> dict[str, Path]:
    """Named hostile inputs for the threats of issue #7, built fresh in ``work``."""
    import h5py
    import numpy as np

    config = zipfile.ZipFile(MLP_KERAS).read("config.json")
    out: dict[str, Path] = {}
    out["zip_bomb_config"] = _keras(MLP_KERAS, work / "bomb.keras",
                                    {"config.json": config + b" " * 40_000_000})
    out["zip_bomb_metadata"] = _keras(MLP_KERAS, work / "bomb_meta.keras",
                                      {"metadata.json": b'{"a": "' + b"x" * 30_000_000 + b'"}'})
    small = _keras(MLP_KERAS, work / "lie_small.keras", {}, method=zipfile.ZIP_STORED)
    _patch_central_size(small, "config.json", 10)
    out["member_lies_smaller"] = small
    big = _keras(MLP_KERAS, work / "lie_big.keras", {})
    _patch_central_size(big, "config.json", 60_000_000)
    out["member_lies_larger"] = big
    huge = _keras(MLP_KERAS, work / "lie_huge.keras", {})
    _patch_central_size(huge, "config.json", 0xFFFFFFFF)
    out["member_lies_4gb"] = huge
    out["traversal_members"] = _keras(MLP_KERAS, work / "trav.keras", {}, extra=(
        ("../../../../tmp/envdoctor-evil", b"x"), ("/etc/evil", b"x"), ("a/../../b", b"x")))
    out["deep_json"] = _keras(MLP_KERAS, work / "deep.keras", {
        "config.json": b'{"class_name": "Sequential", "config": ' + b"[" * 100_000
        + b"]" * 100_000 + b"}"})
    out["wide_json"] = _keras(MLP_KERAS, work / "wide.keras", {
        "config.json": config[:-1] + b', "x": [' + b"999," * 8_000_000 + b"1]}"},
        method=zipfile.ZIP_STORED)
    out["huge_json_string"] = _keras(MLP_KERAS, work / "str.keras", {
        "config.json": config[:-1] + b', "x": "' + b"A" * 60_000_000 + b'"}'},
        method=zipfile.ZIP_STORED)
    out["many_small_dicts"] = _keras(MLP_KERAS, work / "dicts.keras", {
        "config.json": config[:-1] + b', "x": [' + b'{"a":1},' * 3_000_000 + b"{}]}"},
        method=zipfile.ZIP_STORED)
    out["huge_version_number"] = _keras(MLP_KERAS, work / "ver.keras", {
        "metadata.json": b'{"keras_version": "' + b"9" * 5000 + b'.1"}'})
    # HDF5: external links, virtual datasets over other files, soft-link loops, odd attrs.
    other = work / "other.h5"
    with h5py.File(other, "w") as f:
        f["data"] = np.arange(8.0)
    with h5py.File(MLP_H5) as src:
        attrs = {k: src.attrs[k] for k in src.attrs}
    links = work / "links.h5"
    with h5py.File(links, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        f["model_weights"] = h5py.ExternalLink("/etc/passwd", "/")
        f["ext"] = h5py.ExternalLink(str(other), "/data")
        f["a"] = h5py.SoftLink("/b")
        f["b"] = h5py.SoftLink("/a")
        layout = h5py.VirtualLayout(shape=(8,), dtype="f8")
        layout[:] = h5py.VirtualSource(str(other), "data", shape=(8,))
        f.create_virtual_dataset("vds", layout)
    out["hdf5_external_links_vds"] = links
    vds_only = work / "vds.h5"
    with h5py.File(vds_only, "w") as f:
        layout = h5py.VirtualLayout(shape=(8,), dtype="f8")
        layout[:] = h5py.VirtualSource("/nonexistent.h5", "data", shape=(8,))
        f.create_virtual_dataset("layers", layout)
    out["hdf5_vds_missing_source"] = vds_only
    arr = work / "array_config.h5"
    with h5py.File(arr, "w", libver="latest") as f:
        f.attrs["model_config"] = np.array([b'{"class_name": "Sequential"}'] * 50_000)
        f.attrs["keras_version"] = np.arange(10)
    out["hdf5_attribute_arrays"] = arr
    # SavedModel directories with symlinks, FIFOs and traversal names.
    for name, target in (("vars_to_root", "/"), ("vars_to_parent", ".."),
                         ("vars_loop", "variables")):
        d = work / name
        shutil.copytree(SAVEDMODEL, d, symlinks=True)
        shutil.rmtree(d / "variables")
        os.symlink(target, d / "variables")
        out[f"savedmodel_{name}"] = d
    d = work / "pb_to_devzero"
    shutil.copytree(SAVEDMODEL, d)
    (d / "saved_model.pb").unlink()
    os.symlink("/dev/zero", d / "saved_model.pb")
    out["savedmodel_pb_symlink_devzero"] = d
    d = work / "fifos"
    shutil.copytree(SAVEDMODEL, d)
    for name in ("variables/evil", "requirements.txt", "fingerprint.pb"):
        with contextlib.suppress(FileNotFoundError):
            (d / name).unlink()
        os.mkfifo(d / name)
    out["savedmodel_fifos"] = d
    d = work / "ckpt_fifo"
    d.mkdir()
    (d / "m.data-00000-of-00001").write_bytes(b"x")
    os.mkfifo(d / "m.index")
    os.mkfifo(d / "checkpoint")
    out["checkpoint_fifos"] = d
    d = work / "traversal_names"
    shutil.copytree(SAVEDMODEL, d)
    for name in ("..\\..\\evil", "a\nb", "x" * 255, "-rf"):
        (d / "variables" / name).write_bytes(b"v")
    os.symlink("/etc/passwd", d / "variables" / "variables.data-00000-of-00002")
    out["savedmodel_traversal_names"] = d
    d = work / "proto_bomb"
    shutil.copytree(SAVEDMODEL, d)
    tiny = b"\x1a\x00" * 6_000_000  # 6 M empty fields inside one MetaGraphDef
    (d / "saved_model.pb").write_bytes(b"\x12" + mutators._varint(len(tiny)) + tiny)
    out["savedmodel_many_tiny_fields"] = d
    return out


CORPUS_NAMES = [
    "zip_bomb_config", "zip_bomb_metadata", "member_lies_smaller", "member_lies_larger",
    "member_lies_4gb", "traversal_members", "deep_json", "wide_json", "huge_json_string",
    "many_small_dicts", "huge_version_number", "hdf5_external_links_vds",
    "hdf5_vds_missing_source", "hdf5_attribute_arrays", "savedmodel_vars_to_root",
    "savedmodel_vars_to_parent", "savedmodel_vars_loop", "savedmodel_pb_symlink_devzero",
    "savedmodel_fifos", "checkpoint_fifos", "savedmodel_traversal_names",
    "savedmodel_many_tiny_fields",
]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return corpus(tmp_path_factory.mktemp("hostile"))


def test_corpus_names_are_complete(hostile: dict[str, Path]) -> None:
    assert sorted(hostile) == sorted(CORPUS_NAMES)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_hostile_corpus(name: str, hostile: dict[str, Path], env: Path) -> None:
    path = hostile[name]
    read_checked(path)
    assert_cli_clean(path, env)
    assert not Path("/tmp/envdoctor-evil").exists()


def test_hostile_corpus_verdicts(hostile: dict[str, Path]) -> None:
    """The clear errors a user sees for the worst inputs."""
    expect = {
        "zip_bomb_config": "refusing a possible zip bomb",
        "member_lies_larger": "zip bomb",
        "deep_json": "nested deeper than 200 levels",
        "wide_json": "JSON values",
        "many_small_dicts": "JSON containers",
        "savedmodel_many_tiny_fields": "protobuf field units",
    }
    import re

    for name, pattern in expect.items():
        with pytest.raises(ModelFileError) as info:
            read_model(str(hostile[name]))
        assert re.search(pattern, str(info.value)), (name, str(info.value))
    fifo = read_model(str(hostile["checkpoint_fifos"]))
    assert any("not a regular file (a FIFO)" in n for n in fifo.notes), fifo.notes
    links = read_model(str(hostile["hdf5_external_links_vds"]))
    assert any("external link, not followed" in n for n in links.notes)


@pytest.mark.timeout(120)
def test_cli_subprocess_on_hostile_inputs(hostile: dict[str, Path], env: Path) -> None:
    """A real process: exit 0/1/2, one clear line on stderr for exit 2, never a traceback."""
    for name in ("member_lies_4gb", "savedmodel_fifos", "hdf5_external_links_vds",
                 "wide_json"):
        for args in (("inspect", str(hostile[name])),
                     ("check", str(hostile[name]), "--python", str(env), "--no-config")):
            proc = cli(*args, timeout=60)
            assert proc.returncode in (0, 1, 2), (name, proc.returncode, proc.stderr)
            assert "Traceback" not in proc.stderr
            if proc.returncode == 2:
                assert proc.stderr.count("\n") == 1


# --------------------------------------------------------------- Lambda code never executed


PAYLOAD_SOURCE = "lambda x: (open({marker!r}, 'w').write('executed'), x)[1]"


def _payload(marker: Path) -> str:
    """base64 of a marshalled code object (this Python) that writes ``marker`` when called."""
    code = compile(PAYLOAD_SOURCE.format(marker=str(marker)), "<payload>", "eval")
    lam = next(c for c in code.co_consts if hasattr(c, "co_code"))
    return base64.b64encode(marshal.dumps(lam)).decode("ascii")


def _h5_with_lambda(dst: Path, code_b64: str) -> Path:
    """A real Keras 2.15 .h5 whose Lambda's marshalled function is ``code_b64``."""
    import h5py

    shutil.copy(FIXTURES / "tf215" / "lambda.h5", dst)
    with h5py.File(dst, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "Lambda":
                layer["config"]["function"] = [code_b64, None, None]
        f.attrs["model_config"] = json.dumps(config).encode("utf-8")
    return dst


def _keras_with_lambda(dst: Path, code_b64: str) -> Path:
    """A real Keras 3 .keras whose Lambda holds a ``__lambda__`` object with ``code_b64``."""
    src = FIXTURES / "tf221" / "lambda.keras"
    config = json.loads(zipfile.ZipFile(src).read("config.json"))
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "Lambda":
            layer["config"]["function"] = {
                "class_name": "__lambda__",
                "config": {"code": code_b64, "defaults": None, "closure": None},
            }
    return _keras(src, dst, {"config.json": json.dumps(config).encode()})


def _run_payload(code_b64: str) -> None:
    """What a loader with safe_mode=False does with the bytes: unmarshal and call."""
    program = (
        "import base64, marshal, sys, types\n"
        "code = marshal.loads(base64.b64decode(sys.argv[1]))\n"
        "types.FunctionType(code, {'open': open})(1)\n"
    )
    subprocess.run([sys.executable, "-c", program, code_b64], check=True, timeout=30)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", ["h5", "keras"])
def test_lambda_that_writes_a_file_is_never_executed(kind: str, tmp_path: Path,
                                                     env: Path) -> None:
    marker = tmp_path / "lambda-was-executed"
    code_b64 = _payload(marker)
    # The payload is live: running it the way a loader would writes the file.
    _run_payload(code_b64)
    assert marker.read_text() == "executed"
    marker.unlink()

    model = (_h5_with_lambda(tmp_path / "evil.h5", code_b64) if kind == "h5"
             else _keras_with_lambda(tmp_path / "evil.keras", code_b64))
    info = read_model(str(model))
    assert [lam.has_bytecode for lam in info.lambdas] == [True]
    assert not marker.exists()

    commands = [
        ("inspect", str(model)),
        ("inspect", str(model), "--format", "json"),
        ("check", str(model), "--no-config"),
        ("check", str(model), "--python", str(env), "--format", "markdown"),
        ("check", str(model), "--python", str(env), "--format", "github"),
    ]
    proc = cli("explain", "--help")
    if proc.returncode == 0:  # `envdoctor explain` exists
        commands += [
            ("explain", "ED201"),
            ("explain", "--error", "ValueError: bad marshal data (unknown type code)",
             "--model", str(model)),
            ("explain", "--error", "Requested the deserialization of a `Lambda` layer",
             "--model", str(model), "--python", str(env)),
        ]
    # Real Keras 2 and Keras 3 environments too, when the live tier has built them.
    for real in iter_envs(["tf215", "tf221"]):
        commands.append(("check", str(model), "--python", str(real), "--no-config"))
    for args in commands:
        result = cli(*args, timeout=60)
        assert result.returncode in (0, 1, 2), (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert not marker.exists(), f"{args} executed the Lambda"
    import envdoctor

    report = envdoctor.check(model, python=env)
    assert any(f.code.startswith("ED2") for f in report.findings)
    assert not marker.exists()


# --------------------------------------------------------- regressions of reader bugs found


_OLD_STRING_RE = __import__("re").compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', __import__("re").DOTALL)
_OLD_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:\n\u00e9'),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(alphabet='[]{}"\\a:'), inner, max_size=4),
    max_leaves=30,
), chunk=st.sampled_from([1, 2, 3, 7, 64, 1 << 20]), ascii_only=st.booleans())
def test_structure_scanner_matches_a_full_parse(doc: object, chunk: int, ascii_only: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The chunked bracket scanner (bounded memory) finds exactly the structural brackets."""
    from envdoctor.modelfiles import config as cfg

    monkeypatch.setattr(cfg, "_SCAN_CHUNK", chunk)
    data = json.dumps(doc, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    expected = _OLD_STRING_RE.sub(b"", data).translate(None, _OLD_NOT_BRACKETS)
    got = cfg._structure(data, 10**9)
    assert got is not None and got.replace(b",", b"") == expected


def test_counting_containers_needs_no_big_intermediate_lists() -> None:
    """57 MB of small objects used to take 900 MB before the container check said no."""
    from envdoctor.modelfiles.config import load_json_bounded

    data = b"[" + b'{"a":"b"},' * 1_500_000 + b"{}]"
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="JSON containers"):
            load_json_bounded(data, "config.json", "m.keras")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20, f"{peak / 2**20:.0f} MiB"


def test_read_limited_reserves_only_the_file_size(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from envdoctor.modelfiles import safe_open

    small = tmp_path / "small.pb"
    small.write_bytes(b"x" * 1000)
    tracemalloc.start()
    try:
        with safe_open.open_regular(str(small)) as fh:
            assert safe_open.read_limited(fh, 512 * 2**20) == b"x" * 1000
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20, peak  # not the 512 MiB that handle.read(limit + 1) reserves
    # A file that says it is empty (like /proc files) or grows is read on, up to the limit.
    real_fstat = os.fstat
    monkeypatch.setattr(safe_open.os, "fstat",
                        lambda fd: os.stat_result((0o100644, 0, 0, 1, 0, 0, 0, 0, 0, 0)))
    with safe_open.open_regular(str(small)) as fh:
        assert safe_open.read_limited(fh, 4096) == b"x" * 1000
    with safe_open.open_regular(str(small)) as fh:
        assert safe_open.read_limited(fh, 10) == b"x" * 11  # over the limit: limit + 1 bytes
    monkeypatch.setattr(safe_open.os, "fstat", real_fstat)


def test_open_regular_refuses_fifos_without_blocking(tmp_path: Path) -> None:
    from envdoctor.modelfiles.safe_open import NotRegularFileError, open_regular

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in (fifo, tmp_path, Path("/dev/null")):
        with pytest.raises(NotRegularFileError, match="not a regular file"):
            open_regular(str(target))
    link = tmp_path / "link"
    link.symlink_to(fifo)
    with pytest.raises(NotRegularFileError, match="FIFO"):
        open_regular(str(link))


def test_hostile_version_strings_are_junk_not_crashes() -> None:
    from envdoctor.knowledge import versions

    for text in ("9" * 5000, "9" * 5000 + ".1", "1." + "9" * 5000, "x" * 10_000):
        assert versions.parse(text) is None
        assert versions.major(text) is None
    assert versions.parse("2.15.1") is not None


def test_hdf5_text_attributes_holding_arrays_are_not_read(hostile: dict[str, Path]) -> None:
    """50,000 copies of a config in an array attribute: refused before h5py reads them."""
    from envdoctor.modelfiles import hdf5

    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="model_config attribute is not text"):
            hdf5._read_hdf5(str(hostile["hdf5_attribute_arrays"]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20, peak


CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.mark.timeout(60)
def test_hdf5_library_hang_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, env: Path) -> None:
    """A bit-flipped global heap makes HDF5 spin for ever reading a string attribute.

    Found by benchmarks/fuzz_readers.py (seed 7000702: tests/fixtures/jax/lstm.h5 with one
    bit flipped and 64 bytes zeroed).  The read runs in a child process that is killed after
    ``HDF5_TIMEOUT`` seconds.
    """
    from envdoctor.modelfiles import hdf5

    monkeypatch.setattr(hdf5, "HDF5_TIMEOUT", 2.0)
    start = time.monotonic()
    with pytest.raises(ModelFileError, match="did not finish reading its metadata within 2 s"):
        read_model(str(CORPUS / "hdf5_global_heap_loop.h5"))
    assert time.monotonic() - start < 10
    rc, err = run_cli(["inspect", str(CORPUS / "hdf5_global_heap_loop.h5")])
    assert rc == 2 and err.count("\n") == 1
    assert "did not finish" in err and "Traceback" not in err


def test_hdf5_library_crash_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A segfault inside HDF5 kills only the reading child."""
    from envdoctor.modelfiles import hdf5

    def crash(path: str) -> object:
        os.kill(os.getpid(), signal.SIGSEGV)
        raise AssertionError("unreachable")

    monkeypatch.setattr(hdf5, "_read_hdf5", crash)
    with pytest.raises(ModelFileError, match="crashed reading it \\(signal SIGSEGV\\)"):
        read_model(str(FIXTURES / "tf215" / "mlp.h5"))


def test_hdf5_memory_blowup_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from envdoctor.modelfiles import hdf5

    def hog(path: str) -> object:
        return bytearray(4 * 1024**3)

    monkeypatch.setattr(hdf5, "_read_hdf5", hog)
    with pytest.raises(ModelFileError, match="needs too much memory"):
        read_model(str(FIXTURES / "tf215" / "mlp.h5"))


def test_zip_name_flagged_utf8_that_is_not() -> None:
    """Found by benchmarks/fuzz_readers.py (seed 11000353): central-directory flag 0x800 on a
    name that is not UTF-8 made zipfile raise UnicodeDecodeError, reported as "unexpected"."""
    with pytest.raises(ModelFileError) as info:
        read_model(str(CORPUS / "zip_utf8_flag_bad_name.keras"))
    assert "corrupt or truncated zip file" in str(info.value)
    assert "unexpected error" not in str(info.value)


@pytest.mark.parametrize("path", sorted(CORPUS.iterdir()), ids=lambda p: p.name)
def test_saved_crashers_stay_fixed(path: Path, monkeypatch: pytest.MonkeyPatch,
                                   env: Path) -> None:
    """Every input the fuzzer ever broke envdoctor with, kept in tests/fuzz/corpus/:

    * ``hdf5_global_heap_loop.h5`` (seed 7000702): HDF5 spins for ever on a damaged heap;
    * ``zip_utf8_flag_bad_name.keras`` (seed 11000353): UnicodeDecodeError from zipfile;
    * ``hdf5_class_name_is_a_dict.weights.h5`` (seed 23016279): a ``class_name`` that is a
      JSON object crashed ``check`` (``TypeError: unhashable type: 'dict'`` in the legacy
      .h5 check, exit 3).
    """
    from envdoctor.modelfiles import hdf5

    monkeypatch.setattr(hdf5, "HDF5_TIMEOUT", 2.0)
    read_checked(path, trace=False)
    assert_cli_clean(path, env)
