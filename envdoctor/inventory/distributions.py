"""The distributions installed in an environment, read from their metadata files.

``*.dist-info`` / ``*.egg-info`` in the site directories (via ``importlib_metadata``,
never importing them), their ``INSTALLER`` (PEP 376), ``Requires-Dist`` and
``Requires-Python`` (core metadata specification), names normalised as PEP 503 says, and
conda's ``conda-meta/<name>-<version>-<build>.json`` records.  May import
:mod:`envdoctor.inventory.layout` and :mod:`envdoctor.types`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import importlib_metadata

from envdoctor.inventory.layout import is_file, list_dir, read_small, real_key
from envdoctor.types import Package, canonical_name

MAX_METADATA_BYTES = 16 * 1024 * 1024
"""Largest METADATA / PKG-INFO accepted (bytes); bigger ones are treated as broken."""


def _conda_records(prefix: str, notes: list[str]) -> list[tuple[str, str]]:
    """Return (name, version) of each ``conda-meta/*.json`` record.

    The record file is named ``<name>-<version>-<build>.json`` by conda (neither version
    nor build may contain ``-``), which gives the record's ``name``/``version`` without
    parsing files that can be megabytes long (their ``files``/``paths_data`` lists).  The
    JSON body is read only when a file name does not follow that pattern.
    """
    meta = os.path.join(prefix, "conda-meta")
    records: list[tuple[str, str]] = []
    for fname in sorted(list_dir(meta)):
        if not fname.endswith(".json") or fname.startswith("."):
            continue
        parts = fname[: -len(".json")].rsplit("-", 2)
        if len(parts) == 3 and all(parts):
            records.append((parts[0], parts[1]))
            continue
        text = read_small(os.path.join(meta, fname), MAX_METADATA_BYTES)
        try:
            rec = json.loads(text) if text is not None else None
        except ValueError:
            rec = None
        if isinstance(rec, dict) and isinstance(rec.get("name"), str):
            records.append((rec["name"], str(rec.get("version", ""))))
        else:
            notes.append(f"conda-meta/{fname} in {prefix} is not a readable conda record")
    return records



# --------------------------------------------------------------------------------------------
# distributions


def _parse_headers(text: str) -> dict[str, list[str]]:
    """Parse the RFC 822 header block of METADATA / PKG-INFO (the body is skipped)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    end = text.find("\n\n")
    head = text if end < 0 else text[:end]
    headers: dict[str, list[str]] = {}
    last: Optional[list[str]] = None
    for line in head.split("\n"):
        if line[:1] in (" ", "\t"):
            if last:
                last[-1] += "\n" + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            last = None
            continue
        last = headers.setdefault(key.strip().lower(), [])
        last.append(value.strip())
    return headers


def _dist_path(dist: importlib_metadata.Distribution) -> str:
    raw: object = getattr(dist, "_path", None)
    if raw is None:
        return ""
    return str(raw)


@dataclass
class _DistRead:
    package: Optional[Package]
    meta_dir: str
    note: Optional[str] = None


def _read_dist(dist: importlib_metadata.Distribution) -> _DistRead:
    meta_dir = _dist_path(dist)
    location = os.path.dirname(meta_dir) if meta_dir else str(dist.locate_file(""))
    label = meta_dir or location
    try:
        text = dist.read_text("METADATA")
        legacy = False
        if text is None:
            text = dist.read_text("PKG-INFO")
            legacy = True
        if text is None and meta_dir and is_file(meta_dir):
            text = dist.read_text("")
            legacy = True
    except (UnicodeDecodeError, OSError) as exc:
        return _DistRead(None, meta_dir, f"{label}: unreadable metadata ({exc}); ignored")
    if text is None:
        return _DistRead(None, meta_dir, f"{label}: no METADATA file (a broken install); ignored")
    if len(text) > MAX_METADATA_BYTES:
        return _DistRead(
            None, meta_dir, f"{label}: METADATA over {MAX_METADATA_BYTES} bytes; ignored"
        )
    headers = _parse_headers(text)
    name = (headers.get("name") or [""])[0]
    version = (headers.get("version") or [""])[0]
    if not name or not version:
        return _DistRead(
            None, meta_dir, f"{label}: METADATA without Name/Version (a broken install); ignored"
        )
    if legacy:
        try:
            requires = tuple(dist.requires or ())
        except Exception:
            requires = ()
    else:
        requires = tuple(headers.get("requires-dist", ()))
    installer: Optional[str] = None
    with contextlib.suppress(UnicodeDecodeError, OSError):
        raw = dist.read_text("INSTALLER")
        if raw is not None and raw.strip():
            installer = raw.strip().splitlines()[0][:100]
    rp = headers.get("requires-python")
    pkg = Package(
        name=canonical_name(name),
        version=version,
        requires=requires,
        requires_python=rp[0] if rp and rp[0] else None,
        location=location,
        installer=installer,
    )
    return _DistRead(pkg, meta_dir)


@dataclass
class Dists:
    """The distributions found so far: by normalized name, and the metadata dir of each."""

    packages: dict[str, Package]
    meta_dirs: dict[str, str]
    notes: list[str]


def read_distributions(search: Sequence[str], pythonpath: Sequence[str]) -> Dists:
    """Read every distribution on ``search`` (sys.path order); the first of each name wins."""
    importlib_metadata.MetadataPathFinder.invalidate_caches()
    packages: dict[str, Package] = {}
    meta_dirs: dict[str, str] = {}
    notes: list[str] = []
    pp = {real_key(p) for p in pythonpath}
    for dist in importlib_metadata.distributions(path=list(search)):
        assert isinstance(dist, importlib_metadata.Distribution)
        rd = _read_dist(dist)
        if rd.package is None:
            if rd.note:
                notes.append(rd.note)
            continue
        pkg = rd.package
        prev = packages.get(pkg.name)
        if prev is None:
            packages[pkg.name] = pkg
            meta_dirs[pkg.name] = rd.meta_dir
            if real_key(pkg.location) in pp:
                notes.append(f"{pkg.name} {pkg.version} comes from PYTHONPATH ({pkg.location})")
            continue
        if prev.location == pkg.location:
            notes.append(
                f"{pkg.location} holds two metadata directories for {pkg.name}"
                f" ({prev.version} and {pkg.version}), a leftover of an interrupted install"
                f" or upgrade; {prev.version} is used here but Python may pick either"
            )
        elif prev.version != pkg.version:
            notes.append(
                f"{pkg.name} {prev.version} in {prev.location} shadows {pkg.name}"
                f" {pkg.version} in {pkg.location}"
            )
    return Dists(packages, meta_dirs, notes)


def add_conda_packages(prefix: str, dists: Dists, notes: list[str]) -> None:
    """Add conda records missing from the dist-info set; mark conda-installed ones."""
    for name, version in _conda_records(prefix, notes):
        key = canonical_name(name)
        prev = dists.packages.get(key)
        if prev is None:
            dists.packages[key] = Package(
                name=key, version=version, location=prefix, installer="conda"
            )
        elif prev.installer is None and prev.version == version:
            dists.packages[key] = dataclasses.replace(prev, installer="conda")
