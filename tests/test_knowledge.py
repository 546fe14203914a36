"""The knowledge data: every row sourced, every code documented, the tables answer right."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from envdoctor.knowledge import DATA_FILES, load, tables
from envdoctor.knowledge.versions import key, minor, parse, python_minor, satisfies

CHECKS_DIR = Path(__file__).resolve().parents[1] / "envdoctor" / "checks"
REAL_MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "real-models"


def test_every_file_loads_and_is_cached() -> None:
    for name in DATA_FILES:
        assert load(name) is load(name)
        assert load(name)["schema"] == 1
    with pytest.raises(KeyError):
        load("nope")


def test_every_row_has_a_source() -> None:
    rows = list(tables.iter_rows())
    assert len(rows) > 100
    missing = [(f, label) for f, label, row in rows if not str(row.get("source", "")).strip()]
    assert not missing, missing


def test_every_tensorflow_minor_from_2_10_to_the_newest_is_present() -> None:
    minors = [r.minor for r in tables.tf_releases()]
    newest = parse(minors[-1])
    assert newest is not None and newest >= parse("2.21")
    assert minors == [f"2.{n}" for n in range(10, newest.minor + 1)]


def _emitted_codes() -> set[str]:
    found: set[str] = set()
    for path in CHECKS_DIR.glob("*.py"):
        found |= set(re.findall(r'"(ED\d{3})"', path.read_text()))
    return found


def test_every_emitted_code_is_documented() -> None:
    emitted = _emitted_codes()
    assert len(emitted) >= 35
    documented = set(tables.documented_codes())
    assert emitted <= documented, sorted(emitted - documented)
    assert documented <= emitted, f"documented but never emitted: {sorted(documented - emitted)}"


def test_code_docs_are_complete() -> None:
    for code in tables.documented_codes():
        doc = tables.code_doc(code)
        for field in ("title", "severity", "cause", "evidence", "fixes", "source"):
            assert str(doc.get(field, "")).strip(), (code, field)


@pytest.mark.parametrize(
    ("version", "gap", "numpy2", "graph_def"),
    [
        ("2.10.1", True, False, None),
        ("2.11.0", True, False, None),
        ("2.14.0", True, False, None),
        ("2.14.1", False, False, None),
        ("2.15.1", False, False, 1645),
        ("2.16.2", False, False, 1766),
        ("2.18.0", False, True, None),
        ("2.21.0", False, True, None),
    ],
)
def test_tensorflow_rows(version: str, gap: bool, numpy2: bool, graph_def: int) -> None:
    rel = tables.tf_release(version)
    assert rel is not None
    assert rel.numpy_upper_bound_missing is gap
    assert rel.numpy2 is numpy2
    assert rel.graph_def_version == graph_def


def test_tensorflow_details() -> None:
    assert tables.tf_release("2.12.0").numpy == ">=1.22,<1.24"  # type: ignore[union-attr]
    assert tables.tf_release("2.12.1").numpy == ">=1.22,<=1.24.3"  # type: ignore[union-attr]
    assert tables.tf_release("2.15.0").ml_dtypes == "~=0.2.0"  # type: ignore[union-attr]
    assert tables.tf_release("2.15.1").ml_dtypes == "~=0.3.1"  # type: ignore[union-attr]
    rel = tables.tf_release("2.21")
    assert rel is not None and rel.python_tested("3.9") is False and rel.python_tested("3.13.1")
    assert tables.tf_release("2.15").keras_generation == 2  # type: ignore[union-attr]
    assert tables.tf_release("2.16").keras_generation == 3  # type: ignore[union-attr]
    assert tables.tf_release("2.9") is None
    assert tables.tf_fact("first_numpy2_minor")["value"] == "2.18"
    assert tables.tf_fact("legacy_keras_env")["true_values"] == ["true", "True", "1"]


def test_keras_rows() -> None:
    assert tables.keras_requires_python("3.10.0") == ">=3.9"
    assert tables.keras_requires_python("3.12.4") == ">=3.10"
    assert tables.keras_requires_python("3.15.1") == ">=3.11"
    assert tables.keras_requires_python("2.15.0") is None
    releases = tables.keras_releases()
    assert releases[0] == "3.0.0"
    assert list(releases) == sorted(releases, key=key)
    assert tables.keras_fact("dtype_policy_dicts_since")["value"] == "3.4.0"
    assert tables.keras_fact("safe_mode_legacy_h5_since")["value"] == "3.11.3"
    assert tables.keras_fact("lambda_fail_closed_since")["value"] == "3.15.0"
    assert tables.keras_fact("batch_input_shape_accepted_since")["value"] == "3.0.2"
    assert tables.keras_fact("imports_custom_modules")["value"] == "3.9.0"
    assert "mse" in tables.keras_fact("legacy_h5_loss_aliases")["value"]
    with pytest.raises(KeyError):
        tables.keras_fact("nope")
    ids = {r["id"] for r in tables.keras_regressions()}
    assert {"tf-keras-2.13-archive-in-2.14+", "keras-3.4-sequential-inputs"} <= ids


def test_tf_keras_pins_match_tf_minor() -> None:
    keras3_minors = [r.minor for r in tables.tf_releases() if r.keras_generation == 3]
    assert keras3_minors and keras3_minors[0] == "2.16"
    for m in keras3_minors:
        row = tables.tf_keras_release(m)
        assert row is not None
        assert satisfies(f"{m}.0", row["tensorflow"])
        assert all(minor(v) == m for v in row["versions"])
    assert tables.tf_keras_release("2.15")["tensorflow"] is None  # type: ignore[index]


def test_advisories() -> None:
    ids = {a["id"] for a in tables.advisories("3.3.3")}
    assert {"CVE-2025-1550", "CVE-2025-8747", "CVE-2025-9906", "CVE-2025-9905"} <= ids
    assert "CVE-2025-12060" not in ids  # get_file: not model loading
    assert "CVE-2025-12060" in {a["id"] for a in tables.advisories("3.3.3", False)}
    assert {a["id"] for a in tables.advisories("3.11.1")} >= {"CVE-2025-49655", "CVE-2025-9905"}
    best = tables.recommended_keras()[0]["version"]
    assert tables.advisories(best) == []  # the first hardened release: no advisory left
    for row in tables.recommended_keras():
        assert row["version"] in tables.keras_releases()
    assert {a["id"] for a in tables.advisories("2.12.0")} == {"CVE-2024-3660"}
    assert tables.advisories("2.15.0") == []


@pytest.mark.parametrize(
    ("op", "dist"),
    [
        ("CaseFoldUTF8", "tensorflow-text"),
        ("SentencepieceOp", "tensorflow-text"),
        ("SentencepieceSomethingNew", "tensorflow-text"),
        ("TFText>NgramsStringJoin", "tensorflow-text"),
        ("WordpieceTokenizeWithOffsets", "tensorflow-text"),
        ("Addons>DeformableConv2D", "tensorflow-addons"),
        ("IO>AudioResample", "tensorflow-io"),
        ("SimpleMLInferenceOpWithHandle", "tensorflow-decision-forests"),
        ("MatMul", None),
        ("UnicodeDecodeWithOffsets", None),  # a TensorFlow core op
        ("StaticRegexFullMatch", None),
    ],
)
def test_addon_ops(op: str, dist: str) -> None:
    hit = tables.addon_for_op(op)
    assert (hit[0] if hit else None) == dist


@pytest.mark.skipif(not REAL_MODELS.exists(), reason="shared real models not present")
def test_addon_ops_against_real_tensorflow_text_model() -> None:
    """pm-032 (tensorflow/serving tf_text_regression) uses tensorflow-text ops in its functions."""
    from envdoctor.modelfiles import read_model

    model = read_model(str(REAL_MODELS / "pm-032__tensorflow__serving" / "01"))
    assert model.savedmodel is not None
    ops = {op for mg in model.savedmodel.meta_graphs for op in mg.ops}
    text_ops = {op for op in ops if (tables.addon_for_op(op) or ("",))[0] == "tensorflow-text"}
    assert {
        "CaseFoldUTF8",
        "NormalizeUTF8",
        "RegexSplitWithOffsets",
        "WhitespaceTokenizeWithOffsets",
        "WordpieceTokenizeWithOffsets",
        "UnicodeScriptTokenizeWithOffsets",
        "SentencepieceOp",
        "SentencepieceTokenizeOp",
        "SentencepieceDetokenizeOp",
        "ConstrainedSequence",
        "MaxSpanningTree",
        "RougeL",
        "SentenceFragments",
        "SplitMergeTokenizeWithOffsets",
    } <= text_ops
    # nothing else in that graph is attributed to an add-on
    assert all(tables.addon_for_op(op) is None for op in ops - text_ops)


def test_version_helpers() -> None:
    assert parse("2.0.2-tf") is not None and key("2.0.2-tf") == (2, 0, 2)
    assert parse("junk") is None and key(None) == (0, 0, 0)
    assert minor("2.15.1") == "2.15" and minor(None) is None
    assert python_minor("3.11.7") == (3, 11)
    assert satisfies("2.16.1rc0", ">=2.16,<2.17") is True
    assert satisfies("1.0", "not a spec") is None
    assert key("2.10.0") > key("2.9.9")


GHSA = re.compile(r"^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$")

# Advisories whose GHSA id the audit could not find (docs/knowledge-audit.md); the list may
# only shrink: an entry that gains its GHSA id must leave it.
GHSA_NOT_FOUND = {"CVE-2025-49655"}


def test_every_advisory_has_its_ghsa_alias_url_and_record() -> None:
    for row in load("advisories")["advisories"]:
        ghsa = [a for a in row["aliases"] if GHSA.match(a)]
        record = row["record"]
        assert record["checked_on"] and record["source"] and record["verdict"], row["id"]
        assert isinstance(record["affected"], list) and isinstance(record["fixed"], list)
        if row["id"] in GHSA_NOT_FOUND:
            assert not ghsa, f"{row['id']} now has {ghsa}: drop it from GHSA_NOT_FOUND"
            assert row["url"] == f"https://nvd.nist.gov/vuln/detail/{row['id']}"
            continue
        assert len(ghsa) == 1, row["id"]
        assert row["url"] == f"https://github.com/advisories/{ghsa[0]}", row["id"]
        assert row["id"].startswith("CVE-"), row["id"]


def test_every_advisory_fix_leaves_its_affected_ranges() -> None:
    for row in load("advisories")["advisories"]:
        for fixed in row["fixed"]:
            assert not any(satisfies(fixed, spec) for spec in row["affected"]), (row["id"], fixed)
