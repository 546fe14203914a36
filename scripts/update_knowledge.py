"""Regenerate ``envdoctor/knowledge/releases.json`` from the package index, or check the
hand-kept release tables against it.

Standard library plus :mod:`packaging`.  For every release of the packages in
:data:`PACKAGES` it reads the file list of PyPI's simple API (PEP 691 JSON, absolute file
URLs, ``yanked``), then each wheel's core metadata through PEP 658 (``<wheel URL>.metadata``,
never the wheel itself; wheels with identical metadata, by the ``core-metadata`` sha256 of
PyPI's JSON API, are fetched once).  Each row keeps ``Requires-Python``, the ``Requires-Dist``
entries that matter to envdoctor (:data:`RELEVANT`), the Python and platform tags of the
wheels, ``yanked`` and ``source`` (the exact metadata file URL the row came from).

Commands::

    python scripts/update_knowledge.py generate [--cache DIR] [--packages a,b] [--offline]
    python scripts/update_knowledge.py check [--releases FILE]
    python scripts/update_knowledge.py record-sample PACKAGE V1,V2 DIR [--cache DIR]

``generate`` writes ``envdoctor/knowledge/releases.json`` (downloads are cached under
``--cache``, default ``~/.cache/envdoctor/index``; ``--offline`` reads only the cache).
``check`` (offline) compares ``tensorflow.json``, ``tf_keras.json`` and ``keras.json`` with
``releases.json`` and prints one line per disagreement; exit status 1 when there is one.
``record-sample`` copies the cached answers for a few releases into ``DIR`` (the offline
sample of ``tests/fixtures/index/``).  Metadata comes from PEP 658 ``.metadata`` files, or,
where the index has none, from the wheel's ``.dist-info/METADATA`` read with HTTP range
requests (source ``<wheel URL>#METADATA``).
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import os
import struct
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "envdoctor" / "knowledge"
RELEASES = KNOWLEDGE / "releases.json"
INDEX = "https://pypi.org"
PACKAGES = (
    "tensorflow",
    "tensorflow-cpu",
    "tf-keras",
    "keras",
    "jax",
    "jaxlib",
    "tensorflow-text",
    "tensorflow-hub",
    "tensorflow-probability",
)
RELEVANT = frozenset(
    {
        "numpy",
        "protobuf",
        "ml-dtypes",
        "keras",
        "tensorflow",
        "tensorflow-cpu",
        "tensorflow-intel",
        "tensorflow-macos",
        "tf-keras",
        "h5py",
        "jax",
        "jaxlib",
    }
)
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
USER_AGENT = "envdoctor-update-knowledge (+scripts/update_knowledge.py)"
RETRIES = 5
MAX_RANGE = 64 * 1024 * 1024
"""Upper bound of one range answer (a central directory or a METADATA member)."""
TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})


def _cache_path(cache: Path, url: str, suffix: str = "") -> Path:
    return cache / (hashlib.sha256((url + suffix).encode()).hexdigest()[:32])


def _download(url: str, headers: Optional[dict[str, str]] = None, partial: bool = False) -> bytes:
    """Return the body of ``url``; transient failures (timeouts, 429, 5xx) are retried with
    exponential backoff (1, 2, 4, 8 s), answers such as 404 are raised at once.

    With ``partial`` the answer must be ``206 Partial Content``: a server that ignores the
    ``Range`` header (and would send a whole 500 MB wheel) raises ``RangeRefused`` before
    the body is read.
    """
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    for attempt in range(RETRIES):
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                if partial and resp.status != 206:
                    raise RangeRefused(f"{url}: HTTP {resp.status} to a range request")
                body: bytes = resp.read(MAX_RANGE if partial else -1)
            return body
        except urllib.error.HTTPError as exc:
            if exc.code not in TRANSIENT_HTTP or attempt == RETRIES - 1:
                raise
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            if attempt == RETRIES - 1:
                raise
        time.sleep(2**attempt)
    raise AssertionError("unreachable")


class RangeRefused(urllib.error.URLError):
    """The server answered a range request with something other than 206."""


def _store(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}")
    tmp.write_bytes(body)
    tmp.replace(path)


def _get(
    url: str, cache: Path, offline: bool, accept: Optional[str] = None, fresh: bool = False
) -> bytes:
    """Return the body of ``url``, cached under ``cache`` by the URL's sha256.

    Args:
        url: an index page or an immutable file URL.
        cache: the cache directory.
        offline: read only the cache (``FileNotFoundError`` when the URL is not cached).
        accept: the ``Accept`` header (PEP 691 JSON for the simple API).
        fresh: the URL is an index page that changes on release day: downloaded again when
            online (the cached copy is the offline fallback). File URLs are immutable and
            read from the cache whenever present.
    """
    path = _cache_path(cache, url)
    if path.exists() and (offline or not fresh):
        return path.read_bytes()
    if offline:
        raise FileNotFoundError(f"not cached (offline): {url}")
    body = _download(url, {"Accept": accept} if accept else None)
    _store(path, body)
    return body


def _range(url: str, start: int, length: Optional[int] = None) -> bytes:
    """Return bytes ``start..start+length`` of ``url`` (``start < 0``: the last ``-start``)."""
    spec = f"bytes={start}" if start < 0 else f"bytes={start}-{start + (length or 1) - 1}"
    return _download(url, {"Range": spec}, partial=True)


def wheel_metadata_by_range(url: str, cache: Path, offline: bool) -> bytes:
    """Return ``*.dist-info/METADATA`` of the wheel at ``url`` read with HTTP range requests.

    The fallback when the index has no PEP 658 ``.metadata`` file for a wheel: the zip's end
    of central directory (last 64 KiB), its central directory, then the one member; the
    wheel itself is never downloaded.  Cached like :func:`_get` (key ``url + "#METADATA"``).

    Raises:
        FileNotFoundError: offline and not cached, or no METADATA member in the wheel.
        urllib.error.URLError: the server refused the range requests.
    """
    path = _cache_path(cache, url, "#METADATA")
    if path.exists():
        return path.read_bytes()
    if offline:
        raise FileNotFoundError(f"not cached (offline): {url}#METADATA")
    tail = _range(url, -65536)
    eocd = tail.rfind(b"PK\x05\x06")
    if eocd < 0:
        raise FileNotFoundError(f"no zip end record: {url}")
    cd_size, cd_offset = struct.unpack("<II", tail[eocd + 12 : eocd + 20])
    cd = _range(url, cd_offset, cd_size)
    pos = 0
    while pos + 46 <= len(cd) and cd[pos : pos + 4] == b"PK\x01\x02":
        (method,) = struct.unpack("<H", cd[pos + 10 : pos + 12])
        csize, _usize, nlen, xlen, clen = struct.unpack("<IIHHH", cd[pos + 20 : pos + 34])
        (local,) = struct.unpack("<I", cd[pos + 42 : pos + 46])
        name = cd[pos + 46 : pos + 46 + nlen].decode("utf-8", "replace")
        pos += 46 + nlen + xlen + clen
        parts = name.split("/")
        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
            head = _range(url, local, 30)
            lnlen, lxlen = struct.unpack("<HH", head[26:30])
            raw = _range(url, local + 30 + lnlen + lxlen, csize)
            body = zlib.decompress(raw, -15) if method == 8 else raw
            _store(path, body)
            return body
    raise FileNotFoundError(f"no .dist-info/METADATA in {url}")


def _relevant(requires: Iterable[str]) -> list[str]:
    out = []
    for text in requires:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        name = canonicalize_name(req.name)
        if name not in RELEVANT:
            continue
        spec = ",".join(sorted(str(s) for s in req.specifier))
        line = name + spec
        if req.marker is not None:
            line += f"; {req.marker}"
        out.append(line)
    return sorted(set(out))


def _platform_key(platforms: Iterable[str]) -> int:
    """Prefer the Linux x86_64 wheel as a release's primary metadata (what CI runs)."""
    ps = list(platforms)
    if any("linux" in p and "x86_64" in p for p in ps):
        return 0
    if "any" in ps:
        return 1
    return 2


def package_rows(package: str, cache: Path, offline: bool) -> list[dict[str, Any]]:
    """Return one row per release of ``package`` that has wheels, oldest first."""
    simple = json.loads(
        _get(f"{INDEX}/simple/{package}/", cache, offline, accept=SIMPLE_JSON, fresh=True).decode()
    )
    api = json.loads(_get(f"{INDEX}/pypi/{package}/json", cache, offline, fresh=True).decode())
    meta_hash: dict[str, str] = {}
    for files in api.get("releases", {}).values():
        for f in files:
            cm = f.get("core-metadata") or f.get("data-dist-info-metadata")
            if isinstance(cm, dict) and cm.get("sha256"):
                meta_hash[f["filename"]] = cm["sha256"]
    by_version: dict[str, list[dict[str, Any]]] = {}
    for f in simple["files"]:
        fn = f["filename"]
        if not fn.endswith(".whl"):
            continue
        try:
            _, wheel_version, _, tags = parse_wheel_filename(fn)
        except Exception:
            continue
        by_version.setdefault(str(wheel_version), []).append(
            {
                "url": f["url"],
                "hash": meta_hash.get(fn) or fn,
                "tags": tags,
                "yanked": bool(f.get("yanked")),
            }
        )
    jobs: dict[str, str] = {}
    for files in by_version.values():
        for w in files:
            jobs.setdefault(w["hash"], w["url"])

    def fetch(url: str) -> Optional[tuple[str, str]]:
        """Return (METADATA text, how: ".metadata" for PEP 658, "#METADATA" for a range read)."""
        try:
            return _get(url + ".metadata", cache, offline).decode("utf-8", "replace"), ".metadata"
        except urllib.error.HTTPError as exc:
            if exc.code not in (403, 404, 410):
                raise
        except FileNotFoundError:
            pass
        try:  # no PEP 658 file: read METADATA out of the wheel with range requests
            text = wheel_metadata_by_range(url, cache, offline).decode("utf-8", "replace")
            return text, "#METADATA"
        except (urllib.error.URLError, FileNotFoundError, struct.error, zlib.error):
            return None

    with ThreadPoolExecutor(8) as pool:
        texts = dict(zip(jobs, pool.map(fetch, jobs.values())))
    rows: list[dict[str, Any]] = []
    for version, files in by_version.items():
        variants: dict[tuple[Any, ...], dict[str, Any]] = {}
        for w in files:
            got = texts.get(w["hash"])
            if got is None:
                continue
            text, how = got
            msg = email.parser.Parser().parsestr(text, headersonly=True)
            rp = msg.get("Requires-Python")
            rd = _relevant(msg.get_all("Requires-Dist") or [])
            k = (rp, tuple(rd))
            v = variants.setdefault(
                k,
                {"requires_python": rp, "requires_dist": rd, "platforms": set(), "urls": []},
            )
            v["platforms"].update(t.platform for t in w["tags"])
            v["urls"].append(w["url"] + how)
        if not variants:
            rows.append(
                {
                    "version": version,
                    "metadata": None,
                    "python_tags": sorted({t.interpreter for w in files for t in w["tags"]}),
                    "platforms": sorted({t.platform for w in files for t in w["tags"]}),
                    "yanked": all(w["yanked"] for w in files),
                    "source": None,
                }
            )
            continue
        ordered = sorted(
            variants.values(), key=lambda v: (_platform_key(v["platforms"]), v["urls"][0])
        )
        primary = ordered[0]
        row: dict[str, Any] = {
            "version": version,
            "requires_python": primary["requires_python"],
            "requires_dist": primary["requires_dist"],
            "python_tags": sorted({t.interpreter for w in files for t in w["tags"]}),
            "platforms": sorted({t.platform for w in files for t in w["tags"]}),
            "yanked": all(w["yanked"] for w in files),
            "source": sorted(primary["urls"])[0],
        }
        if len(ordered) > 1:
            row["variants"] = [
                {
                    "platforms": sorted(v["platforms"]),
                    "requires_python": v["requires_python"],
                    "requires_dist": v["requires_dist"],
                    "source": sorted(v["urls"])[0],
                }
                for v in ordered[1:]
            ]
        rows.append(row)
    rows.sort(key=lambda r: Version(r["version"]))
    return rows


def vulnerabilities(package: str, cache: Path, offline: bool) -> list[dict[str, Any]]:
    """Return the ``vulnerabilities`` of PyPI's JSON API for ``package`` (for the audit)."""
    api = json.loads(_get(f"{INDEX}/pypi/{package}/json", cache, offline).decode())
    return list(api.get("vulnerabilities") or [])


def generate(packages: Iterable[str], cache: Path, offline: bool, out: Path) -> dict[str, Any]:
    """Fetch every release row of ``packages`` and write them to ``out``."""
    old: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    data: dict[str, Any] = {
        "schema": 1,
        "description": (
            "Generated by scripts/update_knowledge.py from PyPI (PEP 691 simple API file lists, "
            "PEP 658 wheel core metadata). Do not edit: regenerate."
        ),
        "index": f"{INDEX}/simple/",
        "relevant_requirements": sorted(RELEVANT),
        "packages": dict(old.get("packages", {})),
    }
    for name in packages:
        rows = package_rows(name, cache, offline)
        data["packages"][name] = rows
        print(f"{name}: {len(rows)} releases", file=sys.stderr)
    data["packages"] = {k: data["packages"][k] for k in PACKAGES if k in data["packages"]}
    write(data, out)
    return data


def write(data: dict[str, Any], out: Path) -> None:
    """Write ``data`` one release row per line (small diffs on release day)."""
    lines = ["{"]
    head = {k: v for k, v in data.items() if k != "packages"}
    for k, v in head.items():
        lines.append(f" {json.dumps(k)}: {json.dumps(v)},")
    lines.append(' "packages": {')
    names = list(data["packages"])
    for i, name in enumerate(names):
        lines.append(f"  {json.dumps(name)}: [")
        rows = data["packages"][name]
        for j, row in enumerate(rows):
            lines.append(
                "   " + json.dumps(row, sort_keys=True) + ("," if j < len(rows) - 1 else "")
            )
        lines.append("  ]" + ("," if i < len(names) - 1 else ""))
    lines.append(" }")
    lines.append("}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def record_sample(package: str, versions: Iterable[str], cache: Path, dest: Path) -> Path:
    """Copy the cached index answers for a few releases of ``package`` into ``dest``.

    The simple-API page and the JSON API answer are trimmed to ``versions``; every metadata
    body those files need is copied verbatim.  ``dest/manifest.json`` maps each cache key
    (``url``, or ``url#METADATA`` for a range read) to its file, so a test can rebuild a
    cache and run :func:`generate` offline on real recorded answers.

    Raises:
        FileNotFoundError: a needed answer is not in ``cache`` (run ``generate`` first).
    """
    keep = set(versions)
    dest.mkdir(parents=True, exist_ok=True)
    simple_url = f"{INDEX}/simple/{package}/"
    api_url = f"{INDEX}/pypi/{package}/json"
    simple = json.loads(_get(simple_url, cache, True).decode())
    api = json.loads(_get(api_url, cache, True).decode())

    def wanted(fn: str) -> bool:
        try:
            return str(parse_wheel_filename(fn)[1]) in keep
        except Exception:
            return False

    simple["files"] = [f for f in simple["files"] if wanted(f["filename"])]
    api = {"releases": {v: f for v, f in api.get("releases", {}).items() if v in keep}}
    manifest: dict[str, str] = {}

    def put(key: str, body: bytes) -> None:
        name = f"{len(manifest):03d}-{key.rstrip('/').rsplit('/', 1)[-1].replace('#', '.')[:80]}"
        (dest / name).write_bytes(body)
        manifest[key] = name

    put(simple_url, json.dumps(simple, indent=1, sort_keys=True).encode())
    put(api_url, json.dumps(api, indent=1, sort_keys=True).encode())
    for f in simple["files"]:
        url = f["url"]
        for key, path in (
            (url + ".metadata", _cache_path(cache, url + ".metadata")),
            (url + "#METADATA", _cache_path(cache, url, "#METADATA")),
        ):
            if path.exists():
                put(key, path.read_bytes())
                break
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return dest


def cache_from_sample(sample: Path, cache: Path) -> Path:
    """Rebuild a cache directory from a :func:`record_sample` directory (for offline tests)."""
    manifest = json.loads((sample / "manifest.json").read_text())
    for key, name in manifest.items():
        if key.endswith("#METADATA"):
            path = _cache_path(cache, key[: -len("#METADATA")], "#METADATA")
        else:
            path = _cache_path(cache, key)
        _store(path, (sample / name).read_bytes())
    return cache


# ---------------------------------------------------------------- check


def _spec_eq(a: Optional[str], b: Optional[str]) -> bool:
    if a is None or b is None:
        return a is b
    return SpecifierSet(a) == SpecifierSet(b)


def _pins(row: dict[str, Any], name: str) -> list[str]:
    """Return the specifiers ``row`` declares for ``name`` (markers dropped, extras kept out)."""
    out = []
    for line in row["requires_dist"]:
        req = Requirement(line)
        if canonicalize_name(req.name) != name:
            continue
        if req.marker is not None and "extra" in str(req.marker):
            continue
        out.append(str(req.specifier))
    return out


def _finals(rows: list[dict[str, Any]], verified: bool = True) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        try:
            v = Version(r["version"])
        except InvalidVersion:
            continue
        if (
            not v.is_prerelease
            and not v.is_devrelease
            and (not verified or r.get("metadata", True) is not None)
        ):
            out.append(r)
    return out


def _minor(version: str) -> str:
    v = Version(version)
    return f"{v.major}.{v.minor}"


def check(releases: dict[str, Any], knowledge: Path = KNOWLEDGE) -> list[str]:
    """Return one line per hand-kept release fact that disagrees with ``releases``.

    Checked: every ``tensorflow.json`` row (``latest`` is the newest final patch of the minor,
    ``requires_python``, ``keras``, ``numpy``, ``protobuf``, ``ml_dtypes`` of every final patch
    with ``patches`` applied), every ``tf_keras.json`` row (versions, tensorflow pin,
    requires_python) and ``keras.json`` (``releases_3`` lists every final Keras 3 release,
    ``requires_python`` ranges).  A minor on the index that a table lacks is reported too.
    Releases whose metadata could not be fetched (``"metadata": null``) are reported as
    unverified, never as agreeing.
    """
    problems: list[str] = []
    pk = releases["packages"]
    for name, rows in pk.items():
        for r in rows:
            if r.get("metadata", True) is None:
                problems.append(f"{name} {r['version']}: metadata not fetched (unverified)")
    tf_rows = {r["version"]: r for r in _finals(pk["tensorflow"])}
    tf_all = {r["version"] for r in _finals(pk["tensorflow"], verified=False)}
    tf = json.loads((knowledge / "tensorflow.json").read_text())
    known_minors = {row["minor"] for row in tf["releases"]}
    oldest = min((Version(m) for m in known_minors), default=Version("0"))
    for v in tf_all:
        if Version(_minor(v)) >= oldest and _minor(v) not in known_minors:
            problems.append(f"tensorflow.json: no row for tensorflow {v} (on the index)")
    fields = {"keras": "keras", "numpy": "numpy", "protobuf": "protobuf", "ml_dtypes": "ml-dtypes"}
    for row in tf["releases"]:
        m = row["minor"]
        patches = sorted((v for v in tf_all if _minor(v) == m), key=Version)
        if not patches:
            problems.append(f"tensorflow.json {m}: no final release on the index")
            continue
        if row["latest"] != patches[-1]:
            problems.append(f"tensorflow.json {m}: latest {row['latest']} != index {patches[-1]}")
        for version in patches:
            merged = dict(row)
            merged.update(row.get("patches", {}).get(version, {}))
            meta = tf_rows.get(version)
            if meta is None:
                continue
            if not _spec_eq(merged["requires_python"], meta["requires_python"]):
                problems.append(
                    f"tensorflow.json {m} ({version}): requires_python {merged['requires_python']}"
                    f" != {meta['requires_python']} ({meta['source']})"
                )
            for key, dist in fields.items():
                want = merged.get(key)
                if key == "keras" and want:
                    want = want[len("keras") :]
                have = _pins(meta, dist)
                if want is None and not have:
                    continue
                if not any(_spec_eq(want, h) for h in have):
                    problems.append(
                        f"tensorflow.json {m} ({version}): {key} {want} not in metadata {have}"
                        f" ({meta['source']})"
                    )
    tfk_rows = _finals(pk["tf-keras"], verified=False)
    tfk = json.loads((knowledge / "tf_keras.json").read_text())
    listed = {v for row in tfk["releases"] for v in row["versions"]}
    for r in tfk_rows:
        if r["version"] not in listed and not r["yanked"]:
            problems.append(f"tf_keras.json: tf-keras {r['version']} (on the index) is not listed")
    by_v = {r["version"]: r for r in tfk_rows}
    for row in tfk["releases"]:
        for version in row["versions"]:
            meta = by_v.get(version)
            if meta is None:
                problems.append(f"tf_keras.json {row['minor']}: {version} is not on the index")
                continue
            if meta.get("metadata", True) is None:
                continue
            have = _pins(meta, "tensorflow")
            merged = {**row, **row.get("patches", {}).get(version, {})}
            want = merged.get("tensorflow")
            if (want is None and have) or (
                want is not None and not any(_spec_eq(want, h) for h in have)
            ):
                problems.append(
                    f"tf_keras.json {version}: tensorflow {want} != metadata {have}"
                    f" ({meta['source']})"
                )
            if merged.get("requires_python") is not None and not _spec_eq(
                merged["requires_python"], meta["requires_python"]
            ):
                problems.append(
                    f"tf_keras.json {version}: requires_python {merged['requires_python']} != "
                    f"{meta['requires_python']} ({meta['source']})"
                )
    keras = json.loads((knowledge / "keras.json").read_text())
    k3 = [r for r in _finals(pk["keras"]) if Version(r["version"]).major == 3]
    index3 = [
        r["version"]
        for r in _finals(pk["keras"], verified=False)
        if Version(r["version"]).major == 3
    ]
    if keras["releases_3"]["value"] != index3:
        missing = sorted(set(index3) - set(keras["releases_3"]["value"]), key=Version)
        extra = sorted(set(keras["releases_3"]["value"]) - set(index3), key=Version)
        problems.append(f"keras.json releases_3: missing {missing}, not on the index {extra}")
    for r in k3:
        rows = [
            x for x in keras["requires_python"] if Version(r["version"]) in SpecifierSet(x["keras"])
        ]
        if len(rows) != 1:
            problems.append(
                f"keras.json requires_python: {len(rows)} rows match keras {r['version']}"
            )
        elif not _spec_eq(rows[0]["python"], r["requires_python"]):
            problems.append(
                f"keras.json requires_python: keras {r['version']} {rows[0]['python']} != "
                f"{r['requires_python']} ({r['source']})"
            )
    return problems


def main(argv: Optional[list[str]] = None) -> int:
    """Run the command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--cache", type=Path, default=Path.home() / ".cache/envdoctor/index")
    g.add_argument("--packages", default=",".join(PACKAGES))
    g.add_argument("--offline", action="store_true")
    g.add_argument("--out", type=Path, default=RELEASES)
    r = sub.add_parser("record-sample")
    r.add_argument("package")
    r.add_argument("versions")
    r.add_argument("dest", type=Path)
    r.add_argument("--cache", type=Path, default=Path.home() / ".cache/envdoctor/index")
    c = sub.add_parser("check")
    c.add_argument("--releases", type=Path, default=RELEASES)
    c.add_argument("--knowledge", type=Path, default=KNOWLEDGE)
    a = p.parse_args(argv)
    if a.cmd == "generate":
        names = [n.strip() for n in a.packages.split(",") if n.strip()]
        unknown = sorted(set(names) - set(PACKAGES))
        if unknown:
            print(f"update_knowledge: unknown package(s) {unknown}", file=sys.stderr)
            return 2
        generate(names, a.cache, a.offline, a.out)
        return 0
    if a.cmd == "record-sample":
        record_sample(a.package, a.versions.split(","), a.cache, a.dest)
        return 0
    problems = check(json.loads(a.releases.read_text()), a.knowledge)
    for line in problems:
        print(line)
    print(f"{len(problems)} disagreement(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
