"""Typed views of the knowledge data files.

Each accessor reads :func:`envdoctor.knowledge.load` (cached) and returns plain values or
small frozen dataclasses.  The ``source`` of every row travels with it so a finding can cite
the rule it applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

from packaging.version import Version

from envdoctor.knowledge import load
from envdoctor.knowledge.versions import minor, parse, satisfies, satisfies_any


@dataclass(frozen=True)
class TFRelease:
    """One TensorFlow minor release (patch-level differences already applied).

    Attributes:
        minor: ``"2.15"``.
        latest: newest patch, e.g. ``"2.15.1"``.
        python_min: oldest tested Python minor, e.g. ``"3.9"``.
        python_max: newest tested Python minor, e.g. ``"3.11"``.
        requires_python: the wheel's ``Requires-Python``.
        keras: the wheel's Keras requirement.
        keras_generation: 2 when tf.keras is Keras 2 by default, else 3.
        numpy: the wheel's numpy specifier.
        numpy_upper_bound_missing: True when the metadata lets NumPy 2 in although the build
            is for NumPy 1 (2.10, 2.11, 2.14.0).
        numpy2: True when built for NumPy 2 (2.18+).
        protobuf: the wheel's protobuf specifier.
        ml_dtypes: the wheel's ml-dtypes specifier, if any.
        cuda: tested CUDA version.
        cudnn: tested cuDNN version.
        graph_def_version: ``TF_GRAPH_DEF_VERSION`` of the build, where known.
        note: extra words.
        source: where the row comes from.
    """

    minor: str
    latest: str
    python_min: str
    python_max: str
    requires_python: str
    keras: str
    keras_generation: int
    numpy: str
    numpy_upper_bound_missing: bool
    numpy2: bool
    protobuf: str
    ml_dtypes: Optional[str]
    cuda: str
    cudnn: str
    graph_def_version: Optional[int]
    note: str
    source: str

    def python_tested(self, py: Optional[str]) -> Optional[bool]:
        """Return whether Python ``py`` ("3.11" or "3.11.7") is in the tested range."""
        v = parse(minor(py))
        if v is None:
            return None
        lo, hi = parse(self.python_min), parse(self.python_max)
        return bool(lo and hi and lo <= v <= hi)


def _release(row: dict[str, Any], patch: Optional[str]) -> TFRelease:
    merged = dict(row)
    if patch and patch in row.get("patches", {}):
        merged.update(row["patches"][patch])
    lo, _, hi = str(merged["python_tested"]).partition("-")
    return TFRelease(
        minor=merged["minor"],
        latest=merged["latest"],
        python_min=lo,
        python_max=hi or lo,
        requires_python=merged["requires_python"],
        keras=merged["keras"],
        keras_generation=int(merged["keras_generation"]),
        numpy=merged["numpy"],
        numpy_upper_bound_missing=bool(merged["numpy_upper_bound_missing"]),
        numpy2=bool(merged["numpy2"]),
        protobuf=merged["protobuf"],
        ml_dtypes=merged.get("ml_dtypes"),
        cuda=merged["cuda"],
        cudnn=merged["cudnn"],
        graph_def_version=merged.get("graph_def_version"),
        note=merged.get("note", ""),
        source=merged["source"],
    )


def tf_releases() -> tuple[TFRelease, ...]:
    """Return every known TensorFlow minor, oldest first."""
    return tuple(_release(r, None) for r in load("tensorflow")["releases"])


def tf_release(version: Optional[str]) -> Optional[TFRelease]:
    """Return the row for the minor of ``version`` (``"2.15.1"`` -> 2.15), or None.

    Patch-level differences (e.g. 2.14.0's uncapped numpy) are applied when ``version`` is
    a full patch version listed in the row's ``patches``.
    """
    m = minor(version)
    for row in load("tensorflow")["releases"]:
        if row["minor"] == m:
            return _release(row, version)
    return None


def tf_fact(name: str) -> dict[str, Any]:
    """Return a top-level fact of ``tensorflow.json`` (e.g. ``"legacy_keras_env"``).

    Raises:
        KeyError: no such fact.
    """
    value = load("tensorflow")[name]
    assert isinstance(value, dict)
    return value


def tf_distributions() -> tuple[str, ...]:
    """Return the distribution names that provide ``import tensorflow``."""
    return tuple(tf_fact("distributions")["value"])


def keras_fact(name: str) -> dict[str, Any]:
    """Return one entry of ``keras.json`` ``facts`` (each has a ``source``).

    Raises:
        KeyError: no such fact.
    """
    value = load("keras")["facts"][name]
    assert isinstance(value, dict)
    return value


def keras_releases() -> tuple[str, ...]:
    """Return every published Keras 3 version, oldest first."""
    return tuple(load("keras")["releases_3"]["value"])


def keras_requires_python(version: Optional[str]) -> Optional[str]:
    """Return the ``Requires-Python`` of Keras ``version`` (Keras 3 only), or None."""
    for row in load("keras")["requires_python"]:
        if satisfies(version, row["keras"]):
            return str(row["python"])
    return None


def keras_regressions() -> list[dict[str, Any]]:
    """Return the known point-release regressions (see ``keras.json`` ``regressions``)."""
    return list(load("keras")["regressions"])


def tf_keras_release(tf_minor: Optional[str]) -> Optional[dict[str, Any]]:
    """Return the tf-keras row for a TensorFlow minor (``"2.16"``), or None."""
    for row in load("tf_keras")["releases"]:
        if row["minor"] == tf_minor:
            return dict(row)
    return None


def tf_keras_rule_source() -> str:
    """Return the source of the rule "tf-keras X.Y pins tensorflow X.Y"."""
    return str(load("tf_keras")["rule"]["source"])


def advisories(version: Optional[str], model_loading_only: bool = True) -> list[dict[str, Any]]:
    """Return the Keras advisories whose affected ranges contain ``version``.

    Args:
        version: an installed keras version.
        model_loading_only: keep only advisories that loading a model can trigger.
    """
    found = []
    for row in load("advisories")["advisories"]:
        if model_loading_only and not row["model_loading"]:
            continue
        if satisfies_any(version, row["affected"]):
            found.append(dict(row))
    return found


def recommended_keras() -> list[dict[str, Any]]:
    """Return the recommended hardened Keras releases, best first (version, python, source)."""
    return list(load("advisories")["recommended"])


def addon_for_op(op: str) -> Optional[tuple[str, str]]:
    """Return ``(distribution, source)`` of the add-on that registers ``op``, or None."""
    data = load("addon_ops")
    for row in data["ops"]:
        if row["op"] == op:
            return str(row["distribution"]), str(row["source"])
    for row in data["prefixes"]:
        if op.startswith(row["prefix"]):
            return str(row["distribution"]), str(row["source"])
    return None


def addon_distribution(name: str) -> dict[str, Any]:
    """Return ``{"module", "pin", "source"}`` of an add-on distribution.

    Raises:
        KeyError: unknown distribution.
    """
    value = load("addon_ops")["distributions"][name]
    assert isinstance(value, dict)
    return value


def code_doc(code: str) -> dict[str, Any]:
    """Return the documentation of a finding code (title, severity, cause, evidence, fixes, source).

    Raises:
        KeyError: the code is not documented.
    """
    value = load("codes")["codes"][code]
    assert isinstance(value, dict)
    return value


def documented_codes() -> tuple[str, ...]:
    """Return every documented finding code, sorted."""
    return tuple(sorted(load("codes")["codes"]))


@dataclass(frozen=True)
class KnownBasis:
    """The known release a version newer than the tables is extrapolated from.

    Attributes:
        distribution: ``"tensorflow"``, ``"keras"`` or ``"tf-keras"``.
        version: the version asked about, e.g. ``"2.22.0"``.
        basis: the newest known release of its line (its minor, or the newest overall when
            the minor is unknown), e.g. ``"2.21.0"``.
        newest: the newest release the tables know at all, e.g. ``"2.21.0"``.
        minor_known: True when the tables have the version's minor (a newer patch).
        source: the source of the basis row.
    """

    distribution: str
    version: str
    basis: str
    newest: str
    minor_known: bool
    source: str


def _known_versions(distribution: str) -> list[tuple[str, str]]:
    """``(version, source)`` of every release the tables list for ``distribution``."""
    if distribution == "tensorflow":
        out = []
        for row in load("tensorflow")["releases"]:
            out.append((str(row["latest"]), str(row["source"])))
            out.extend((str(v), str(row["source"])) for v in row.get("patches", {}))
        return out
    if distribution == "tf-keras":
        return [
            (str(v), str(row["source"]))
            for row in load("tf_keras")["releases"]
            for v in row["versions"]
        ]
    if distribution == "keras":
        fact = load("keras")["releases_3"]
        return [(str(v), str(fact["source"])) for v in fact["value"]]
    raise KeyError(distribution)


_ZERO = Version("0")

NEWER_THAN_KNOWN_DISTRIBUTIONS = ("tensorflow", "keras", "tf-keras")
"""The distributions whose release rows :func:`newer_than_known` compares against."""


def newest_known(distribution: str) -> str:
    """Return the newest release of ``distribution`` the tables know (``"2.21.0"``).

    Raises:
        KeyError: ``distribution`` is not one of :data:`NEWER_THAN_KNOWN_DISTRIBUTIONS`.
    """
    return max((v for v, _ in _known_versions(distribution)), key=lambda v: parse(v) or _ZERO)


def newer_than_known(distribution: str, version: Optional[str]) -> Optional[KnownBasis]:
    """Return the basis when ``version`` is newer than every known release of its line.

    A line is a minor (``2.21``, ``3.15``): ``2.21.1`` is newer than known when the tables
    know 2.21.0 only; ``2.22.0rc0`` when they know nothing of 2.22 and 2.22 is past the
    newest minor.  Local labels (``+cu121``) are ignored; versions older than the tables,
    Keras 2 (``keras`` < 3) and junk answer None.

    Args:
        distribution: ``"tensorflow"`` (any TF distribution's version), ``"keras"`` or
            ``"tf-keras"``.
        version: the installed or recorded version.

    Raises:
        KeyError: unknown ``distribution``.
    """
    known = _known_versions(distribution)
    v = parse(version)
    if v is None or (distribution == "keras" and v.major < 3):
        return None
    public = parse(v.public)
    assert public is not None
    parsed = [(pv, text, src) for text, src in known if (pv := parse(text)) is not None]
    if not parsed:
        return None
    newest = max(parsed, key=lambda t: t[0])
    same = [t for t in parsed if (t[0].major, t[0].minor) == (public.major, public.minor)]
    if same:
        best = max(same, key=lambda t: t[0])
        if public <= best[0] or any(public == t[0] for t in same):
            return None
        return KnownBasis(distribution, str(version), best[1], newest[1], True, best[2])
    if public <= newest[0]:
        return None
    return KnownBasis(distribution, str(version), newest[1], newest[1], False, newest[2])


def iter_rows() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield ``(file, row label, row)`` for every sourced row of every data file (for tests)."""
    tf = load("tensorflow")
    for name in ("first_numpy2_minor", "first_keras3_minor", "legacy_keras_env", "distributions"):
        yield "tensorflow", name, tf[name]
    yield (
        "tensorflow",
        "tf_keras_is_keras3_when_keras3_installed",
        tf["tf_keras_is_keras3_when_keras3_installed"],
    )
    for row in tf["releases"]:
        yield "tensorflow", row["minor"], row
    keras = load("keras")
    yield "keras", "releases_3", keras["releases_3"]
    for row in keras["requires_python"]:
        yield "keras", f"requires_python {row['keras']}", row
    for name, row in keras["facts"].items():
        yield "keras", name, row
    for row in keras["regressions"]:
        yield "keras", row["id"], row
    tfk = load("tf_keras")
    yield "tf_keras", "rule", tfk["rule"]
    for row in tfk["releases"]:
        yield "tf_keras", row["minor"], row
    adv = load("advisories")
    for row in adv["recommended"] + adv["advisories"]:
        yield "advisories", row.get("id", row.get("version", "?")), row
    ops = load("addon_ops")
    for name, row in ops["distributions"].items():
        yield "addon_ops", name, row
    for row in load("errors")["causes"]:
        yield "errors", row["id"], row
    r = load("r")
    for name, row in r["facts"].items():
        yield "r", name, row
    for row in r["error_signatures"]:
        yield "r", row["id"], row
    for row in ops["ops"] + ops["prefixes"]:
        yield "addon_ops", row.get("op", row.get("prefix", "?")), row
    for code, row in load("codes")["codes"].items():
        yield "codes", code, row
