"""ED420: a TensorFlow / Keras / tf-keras release newer than the knowledge tables.

Every version here is derived from the tables ("the newest known release + 1"), never typed,
so the tests keep their meaning when the tables grow.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version
from test_checks_support import find, make_env, make_model, savedmodel_info

from envdoctor.api import apply_ignores
from envdoctor.app import assess
from envdoctor.checks import run_checks, verdict
from envdoctor.knowledge import tables
from envdoctor.render.json_out import envelope
from envdoctor.types import ModelFormat, Severity

ROOT = Path(__file__).resolve().parents[1]


def _next_minor(version: str) -> str:
    v = Version(version)
    return f"{v.major}.{v.minor + 1}.0"


def _next_patch(version: str) -> str:
    v = Version(version)
    return f"{v.major}.{v.minor}.{v.micro + 1}"


NEWEST_TF = tables.tf_releases()[-1]
NEWEST_KERAS = tables.newest_known("keras")
NEWEST_TFK = tables.newest_known("tf-keras")


def _tf_tested_python() -> str:
    return f"{NEWEST_TF.python_max}.1"


def _known_env(**over: str) -> dict[str, str]:
    """The newest known TensorFlow with the pins of its own row, nothing unknown."""
    tfk = tables.tf_keras_release(NEWEST_TF.minor)
    base = {
        "tensorflow": NEWEST_TF.latest,
        "keras": NEWEST_KERAS,
        "numpy": "2.1.3" if NEWEST_TF.numpy2 else "1.26.4",
        "protobuf": "6.31.1",
        "h5py": "3.12.1",
        "ml_dtypes": "0.5.1",
    }
    if tfk is not None:
        base["tf_keras"] = tfk["versions"][-1]
    base.update(over)
    return base


def _codes(findings: list) -> list[str]:  # type: ignore[type-arg]
    return [f.code for f in findings]


def test_newest_known_is_the_newest_row() -> None:
    assert tables.newest_known("tensorflow") == max(
        (r.latest for r in tables.tf_releases()), key=Version
    )
    assert NEWEST_KERAS == max(tables.keras_releases(), key=Version)
    for dist in tables.NEWER_THAN_KNOWN_DISTRIBUTIONS:
        newest = tables.newest_known(dist)
        assert tables.newer_than_known(dist, newest) is None
        assert tables.newer_than_known(dist, "1.0.0") is None
        nxt = tables.newer_than_known(dist, _next_minor(newest))
        assert nxt is not None and nxt.basis == newest and not nxt.minor_known
        patch = tables.newer_than_known(dist, _next_patch(newest))
        assert patch is not None and patch.basis == newest and patch.minor_known
        rc = tables.newer_than_known(dist, _next_minor(newest).removesuffix(".0") + ".0rc0")
        assert rc is not None and rc.basis == newest
    # a local build label is the same release; junk is no release
    assert tables.newer_than_known("tensorflow", f"{NEWEST_TF.latest}+cu121") is None
    assert tables.newer_than_known("tensorflow", "not-a-version") is None
    assert tables.newer_than_known("keras", "2.99.0") is None  # Keras 2 lives in the TF rows
    with pytest.raises(KeyError):
        tables.newer_than_known("torch", "2.0.0")


def test_every_known_release_is_not_newer_than_known() -> None:
    for row in tables.tf_releases():
        assert tables.newer_than_known("tensorflow", row.latest) is None
    for version in tables.keras_releases():
        assert tables.newer_than_known("keras", version) is None


def test_known_environment_is_a_confident_ok() -> None:
    env = make_env(_tf_tested_python(), **_known_env())
    found = run_checks(None, env)
    assert "ED420" not in _codes(found)


@pytest.mark.parametrize("dist", ["tensorflow", "keras", "tf_keras"])
def test_environment_newer_than_known(dist: str) -> None:
    name = dist.replace("_", "-")
    newer = _next_minor(tables.newest_known(name))
    over = {dist: newer}
    if dist == "tf_keras":  # keep tf-keras and TensorFlow on one minor: no ED401 noise
        over["tensorflow"] = newer
    env = make_env(_tf_tested_python(), **_known_env(**over))
    found = run_checks(None, env)
    hits = [f for f in found if f.code == "ED420" and f.evidence[0] == (name, newer)]
    assert len(hits) == 1, _codes(found)
    f = hits[0]
    assert f.severity is Severity.INFO
    basis = tables.newest_known(name)
    assert dict(f.evidence)["extrapolated from"].endswith(basis)
    assert basis in f.detail and "Extrapolated from" in f.detail
    assert f.fixes[0].text.startswith("envdoctor verify ")
    assert f.fixes[0].text.endswith(f"--python {env.python}")
    assert f.source
    v = verdict("", env.python, found)
    assert v.status != "ok" and "ED420" in v.codes
    if not [x for x in found if x.severity is not Severity.INFO]:
        assert v.status == "warning"


def test_newer_patch_of_a_known_minor() -> None:
    newer = _next_patch(NEWEST_TF.latest)
    env = make_env(_tf_tested_python(), **_known_env(tensorflow=newer))
    f = find(run_checks(None, env), "ED420")
    assert f"known up to {NEWEST_TF.latest}" in f.detail


def test_model_saved_by_a_newer_keras() -> None:
    newer = _next_minor(NEWEST_KERAS)
    env = make_env(_tf_tested_python(), **_known_env())
    model = make_model(keras_version=newer)
    found = run_checks(model, env)
    f = find(found, "ED420")
    assert f.model == model.path and f.evidence[0] == ("keras", newer)
    assert f.fixes[0].text.startswith(f"envdoctor verify {model.path} --python")
    v = verdict(model.path, env.python, found)
    assert v.status in ("warning", "error") and "ED420" in v.codes
    # the same model saved by the newest known Keras: no ED420
    known = run_checks(make_model(keras_version=NEWEST_KERAS), env)
    assert "ED420" not in _codes(known)


def test_savedmodel_from_a_newer_tensorflow() -> None:
    newer = _next_minor(NEWEST_TF.latest)
    env = make_env(_tf_tested_python(), **_known_env())
    model = make_model(
        ModelFormat.SAVEDMODEL,
        keras_version=None,
        path="/models/sm",
        tensorflow_version=newer,
        savedmodel=savedmodel_info(newer, producer=None),
    )
    found = run_checks(model, env)
    f = find(found, "ED420")
    assert f.evidence[0] == ("tensorflow", newer)
    assert verdict(model.path, env.python, found).status != "ok"


def test_ignored_ed420_gives_ok_back_and_summary_follows_the_verdict() -> None:
    newer = _next_minor(NEWEST_KERAS)
    env = make_env(_tf_tested_python(), **_known_env(keras=newer))
    report = assess([], env)
    assert report.verdicts[0].status == "warning"
    only_info = all(f.severity is Severity.INFO for f in report.findings)
    if only_info:
        assert envelope(report, "check")["summary"]["status"] == "warning"
        assert apply_ignores(report, {"ED420": "we verify in CI"}).verdicts[0].status == "ok"


def test_cli_json_on_an_environment_newer_than_known(tmp_path: Path) -> None:
    """A real (fake-installed) distribution: dist-info of the next TensorFlow minor."""
    newer = _next_minor(NEWEST_TF.latest)
    site = tmp_path / "venv" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site = site / "site-packages"
    site.mkdir(parents=True)
    for name, version in (("tensorflow", newer), ("numpy", "2.1.3")):
        d = site / f"{name}-{version}.dist-info"
        d.mkdir()
        (d / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
        )
    (tmp_path / "venv" / "bin").mkdir()
    py = tmp_path / "venv" / "bin" / "python"
    py.symlink_to(sys.executable)
    (tmp_path / "venv" / "pyvenv.cfg").write_text(
        f"home = {Path(sys.executable).parent}\nversion = {sys.version.split()[0]}\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-m", "envdoctor", "check", "--python", str(py), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode in (0, 1), out.stderr
    data = json.loads(out.stdout)
    hits = [f for f in data["findings"] if f["code"] == "ED420"]
    assert hits and hits[0]["evidence"][0] == ["tensorflow", newer]
    assert data["verdicts"][0]["status"] != "ok"
