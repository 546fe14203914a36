"""Snapshots of an environment's installed distributions, and exact restores.

Before ``envdoctor fix --yes`` changes an environment it saves what is installed in
``platformdirs.user_data_dir("envdoctor")/snapshots/<key>/<timestamp>.txt`` (``<key>``: see
:func:`envdoctor.repair.lock.prefix_key`):

* a pip or uv environment: the freeze, ``uv pip freeze --python PY`` for environments uv
  made (when uv is found), else ``PY -m pip freeze --all`` (pip, setuptools and wheel
  included, so that they are restored too);
* a conda prefix: the conda-meta listing (``@EXPLICIT`` and one package URL per line, the
  format of ``conda list --explicit``), with the pip freeze beside it in
  ``<timestamp>.pip.txt``.

``<timestamp>.json`` beside it records the interpreter, the prefix, the freeze tool and
the conda revision.  :func:`restore` puts the environment back exactly: ``uv pip sync``
when uv is found (it removes what the snapshot does not list and installs the listed
versions), else pip: uninstall the distributions the snapshot does not list, then
``pip install --no-deps`` the lines that differ.  Conda prefixes changed by conda go back
with ``conda install --revision N``.  Afterwards every distribution's ``RECORD`` is checked
(removing ``tensorflow`` deletes the files ``tensorflow-cpu`` shares with it) and damaged ones
are reinstalled at their version; then the freeze is compared with the snapshot.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from packaging.utils import canonicalize_name

from envdoctor.errors import EnvdoctorError, UsageError
from envdoctor.repair import installer
from envdoctor.repair.installer import CommandResult, InstallerMissing, Tool
from envdoctor.repair.lock import data_dir, prefix_key
from envdoctor.types import Environment

FREEZE_TIMEOUT = 120.0
"""Seconds a freeze may take."""


class SnapshotError(EnvdoctorError):
    """A snapshot cannot be taken (the freeze failed) or read (missing, not envdoctor's)."""


@dataclass(frozen=True)
class Snapshot:
    """What was installed in an environment at one moment.

    Attributes:
        path: the ``.txt`` file (a requirements file: the freeze, or the conda listing).
        python: the environment's interpreter.
        prefix: the environment's prefix.
        freeze_tool: ``uv`` or ``pip``: the tool whose freeze ``freeze`` is.
        freeze: the freeze lines, as the tool printed them.
        created: ISO 8601 time (UTC).
        conda_listing: for conda prefixes, the ``@EXPLICIT`` listing lines from conda-meta.
        conda_revision: for conda prefixes, the revision number in ``conda-meta/history``.
    """

    path: Path
    python: str
    prefix: str
    freeze_tool: str
    freeze: tuple[str, ...]
    created: str
    conda_listing: tuple[str, ...] = ()
    conda_revision: Optional[int] = None

    @property
    def meta_path(self) -> Path:
        """The ``.json`` record beside the ``.txt``."""
        return self.path.with_suffix(".json")

    @property
    def freeze_path(self) -> Path:
        """The file holding the freeze (the ``.txt`` itself, ``.pip.txt`` for conda prefixes)."""
        return self.path.with_suffix(".pip.txt") if self.conda_listing else self.path


@dataclass(frozen=True)
class RestoreResult:
    """What :func:`restore` did.

    Attributes:
        snapshot: the snapshot restored.
        commands: the commands run, in order.
        ok: True when every command worked and the freeze equals the snapshot.
        differences: lines that still differ, ``-`` (in the snapshot, missing now) and
            ``+`` (present now, not in the snapshot), and distributions whose files are
            missing (``damaged ...``).
        planned: the commands that would run (``dry_run``), as text.
    """

    snapshot: Snapshot
    commands: tuple[CommandResult, ...]
    ok: bool
    differences: tuple[str, ...] = ()
    planned: tuple[str, ...] = field(default_factory=tuple)


def snapshots_dir(prefix: str, root: Optional[Path] = None) -> Path:
    """Return the directory holding the snapshots of the environment at ``prefix``."""
    return (root or data_dir()) / "snapshots" / prefix_key(prefix)


# ---------------------------------------------------------------- freezing


def freeze_tool(env: Environment, uv: Optional[Sequence[str]]) -> Tool:
    """Return the tool that freezes ``env``.

    uv for environments uv made (or when pip is missing), else the environment's pip.

    Raises:
        InstallerMissing: no pip in the environment and no uv.
    """
    if uv and (env.manager == "uv" or not installer.has_pip(env)):
        return Tool("uv", tuple(uv))
    if installer.has_pip(env):
        return installer.pip_tool(env)
    raise InstallerMissing(f"{env.python}: cannot list its packages: no pip in it and no uv found")


def freeze_argv(tool: Tool, python: str) -> list[str]:
    """Return the freeze command of ``tool`` for the interpreter ``python``."""
    if tool.name == "uv":
        return [*tool.argv, "pip", "freeze", "--python", python]
    return [*tool.argv, "freeze", "--all", "--disable-pip-version-check"]


def freeze(tool: Tool, python: str) -> tuple[str, ...]:
    """Return the freeze lines of the environment of ``python`` (comments and blanks dropped).

    Raises:
        SnapshotError: the freeze command failed.
    """
    result = installer.run(freeze_argv(tool, python), timeout=FREEZE_TIMEOUT, stdout_only=True)
    if not result.ok:
        why = result.error or installer.tail(result.output, 5)
        raise SnapshotError(f"cannot list the packages of {python}: {why}")
    return tuple(
        line.strip()
        for line in result.output.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )


_HEADER_RE = re.compile(r"^==>\s.*\s<==\s*$")


def conda_listing(prefix: str) -> tuple[tuple[str, ...], Optional[int]]:
    """Read the conda-meta listing of a conda prefix, statically.

    Args:
        prefix: the conda prefix.

    Returns:
        ``(lines, revision)``: ``@EXPLICIT`` then the package URL of every
        ``conda-meta/*.json`` record (``# name==version=build (channel)`` for records
        without one), sorted; and the last revision number of ``conda-meta/history``
        (revisions count from 0), None when there is no history.
    """
    meta = Path(prefix, "conda-meta")
    urls: list[str] = []
    for record in sorted(meta.glob("*.json")):
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or "name" not in data:
            continue
        url = data.get("url")
        if url:
            urls.append(str(url))
        else:
            urls.append(
                f"# {data['name']}=={data.get('version', '?')}={data.get('build', '?')} "
                f"({data.get('channel', '?')})"
            )
    revision: Optional[int] = None
    try:
        with open(meta / "history", encoding="utf-8", errors="replace") as handle:
            count = sum(1 for line in handle if _HEADER_RE.match(line))
        revision = count - 1 if count else None
    except OSError:
        revision = None
    return ("@EXPLICIT", *sorted(urls)), revision


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def take_snapshot(
    env: Environment,
    *,
    uv: Optional[Sequence[str]] = None,
    root: Optional[Path] = None,
    now: Optional[_dt.datetime] = None,
) -> Snapshot:
    """Save what ``env`` has installed and return the snapshot.

    Args:
        env: the environment.
        uv: the command that runs uv, if found.
        root: the data directory (default: the user data dir).
        now: the time to name the snapshot by (default: now, UTC).

    Returns:
        The saved :class:`Snapshot`.

    Raises:
        InstallerMissing: nothing can list the packages (no pip in the environment, no uv).
        SnapshotError: the freeze failed.
        OSError: the snapshot cannot be written.
    """
    tool = freeze_tool(env, uv)
    lines = freeze(tool, env.python)
    listing: tuple[str, ...] = ()
    revision: Optional[int] = None
    if installer.is_conda_env(env):
        listing, revision = conda_listing(env.prefix)
    moment = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
    directory = snapshots_dir(env.prefix, root)
    directory.mkdir(parents=True, exist_ok=True)
    stem = moment.strftime("%Y%m%dT%H%M%S-%fZ")
    path = directory / f"{stem}.txt"
    suffix = 1
    while path.exists():
        path = directory / f"{stem}-{suffix}.txt"
        suffix += 1
    snap = Snapshot(
        path=path,
        python=env.python,
        prefix=env.prefix,
        freeze_tool=tool.name,
        freeze=lines,
        created=moment.isoformat(),
        conda_listing=listing,
        conda_revision=revision,
    )
    if listing:
        _atomic_write(snap.freeze_path, "".join(f"{line}\n" for line in lines))
        _atomic_write(path, "".join(f"{line}\n" for line in listing))
    else:
        _atomic_write(path, "".join(f"{line}\n" for line in lines))
    meta = {
        "envdoctor_snapshot": 1,
        "python": env.python,
        "prefix": env.prefix,
        "manager": env.manager,
        "freeze_tool": tool.name,
        "created": snap.created,
        "conda_revision": revision,
        "freeze_file": snap.freeze_path.name,
    }
    _atomic_write(snap.meta_path, json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return snap


def load_snapshot(path: str) -> Snapshot:
    """Read a snapshot saved by :func:`take_snapshot` (its ``.txt`` or ``.json`` path).

    Raises:
        UsageError: the file is missing or has no envdoctor record beside it.
    """
    given = Path(path).expanduser()
    txt = given.with_suffix(".txt") if given.suffix == ".json" else given
    meta_path = txt.with_suffix(".json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not an envdoctor snapshot ({meta_path.name}: {exc})") from None
    if not isinstance(meta, dict) or meta.get("envdoctor_snapshot") != 1:
        raise UsageError(f"{path}: not an envdoctor snapshot")
    freeze_path = txt.with_name(str(meta.get("freeze_file") or txt.name))
    try:
        lines = tuple(
            line.strip()
            for line in freeze_path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        )
        listing: tuple[str, ...] = ()
        if freeze_path != txt:
            listing = tuple(
                line.rstrip("\n") for line in txt.read_text(encoding="utf-8").splitlines()
            )
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the snapshot: {exc.strerror or exc}") from None
    revision = meta.get("conda_revision")
    return Snapshot(
        path=txt,
        python=str(meta["python"]),
        prefix=str(meta["prefix"]),
        freeze_tool=str(meta.get("freeze_tool", "pip")),
        freeze=lines,
        created=str(meta.get("created", "")),
        conda_listing=listing,
        conda_revision=revision if isinstance(revision, int) else None,
    )


def list_snapshots(prefix: str, root: Optional[Path] = None) -> list[Path]:
    """Return the snapshot files of the environment at ``prefix``, oldest first."""
    directory = snapshots_dir(prefix, root)
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.glob("*.txt") if not p.name.endswith(".pip.txt")
    )


# ---------------------------------------------------------------- comparing


_NAME_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(==|@)")
_EGG_RE = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")


def line_name(line: str) -> str:
    """Return the normalized distribution name of a freeze line (the line itself when unknown)."""
    match = _NAME_RE.match(line.strip())
    if match:
        return canonicalize_name(match.group(1))
    egg = _EGG_RE.search(line)
    if egg:
        return canonicalize_name(egg.group(1))
    return line.strip()


def by_name(lines: Sequence[str]) -> dict[str, str]:
    """Index freeze lines by distribution name."""
    return {line_name(line): line.strip() for line in lines}


def compare(snapshot_lines: Sequence[str], current: Sequence[str]) -> tuple[str, ...]:
    """Return the differences between a snapshot and a current freeze.

    Returns:
        ``"- line"`` for each snapshot line missing now, ``"+ line"`` for each current line
        the snapshot does not have, sorted by name; empty when they are equal.
    """
    old, new = by_name(snapshot_lines), by_name(current)
    out = []
    for name in sorted(set(old) | set(new)):
        if old.get(name) == new.get(name):
            continue
        if name in old:
            out.append(f"- {old[name]}")
        if name in new:
            out.append(f"+ {new[name]}")
    return tuple(out)


# ---------------------------------------------------------------- integrity


def _record_paths(record: Path) -> list[str]:
    """The paths a ``RECORD`` lists (one CSV row per line; quoted paths allowed)."""
    import csv

    out: list[str] = []
    try:
        text = record.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        if not line.strip():
            continue
        row = next(csv.reader([line]), None) if line.startswith('"') else line.rsplit(",", 2)
        if row:
            out.append(row[0])
    return out


def damaged(python: str) -> list[str]:
    """Return ``name==version`` of each distribution of the environment whose files are missing.

    Two distributions that provide the same files (``tensorflow`` and ``tensorflow-cpu``)
    share them on disk: uninstalling one deletes the other's files, while the freeze still
    lists it.  Each ``*.dist-info/RECORD`` of the environment's site-packages is checked
    (compiled ``.pyc`` files aside).

    Args:
        python: the environment's interpreter.

    Returns:
        The damaged distributions, sorted; empty when every recorded file exists.
    """
    from envdoctor.inventory import read_environment

    try:
        env = read_environment(python)
    except EnvdoctorError:
        return []
    out = set()
    for site in env.site_packages:
        for info in Path(site).glob("*.dist-info"):
            for rel in _record_paths(info / "RECORD"):
                if rel.endswith(".pyc") or "__pycache__" in rel:
                    continue
                if not os.path.lexists(os.path.join(site, rel)):
                    name, _, version = info.name[: -len(".dist-info")].partition("-")
                    out.add(f"{canonicalize_name(name)}=={version}")
                    break
    return sorted(out)


def repair_argv(
    python: str, lines: Sequence[str], uv: Optional[Sequence[str]], *, conda: bool = False
) -> Optional[list[str]]:
    """Return the command that reinstalls damaged distributions at their versions.

    Args:
        python: the environment's interpreter.
        lines: ``name==version`` of each damaged distribution (:func:`damaged`).
        uv: the command that runs uv, if found (else the environment's pip).
        conda: True for a conda prefix (nothing is returned: conda owns those files).

    Returns:
        The argument vector, or None when there is nothing to repair.
    """
    if not lines or conda:
        return None
    if uv:
        return [*uv, "pip", "install", "--python", python, "--reinstall", "--no-deps", *lines]
    return [python, "-m", "pip", "install", "--disable-pip-version-check",
            "--force-reinstall", "--no-deps", *lines]


# ---------------------------------------------------------------- restoring


def _q(text: str) -> str:
    return installer.display([text])


def self_command() -> str:
    """Return how to run envdoctor from a shell (``envdoctor``, else ``python -m envdoctor``)."""
    import shutil
    import sys

    if shutil.which("envdoctor"):
        return "envdoctor"
    return f"{_q(sys.executable)} -m envdoctor"


def pip_restore_argvs(
    snap: Snapshot, current: Sequence[str], pip: Sequence[str]
) -> list[list[str]]:
    """Return the pip commands that turn ``current`` back into the snapshot's freeze.

    Uninstall every distribution the snapshot does not list, then ``install --no-deps``
    each snapshot line that differs (``name @ file://`` lines of conda packages that no
    longer exist are installed by version from the index instead).

    Args:
        snap: the snapshot.
        current: the current freeze lines.
        pip: the words that run pip (``python -m pip``).

    Returns:
        Zero, one or two argument vectors.
    """
    old, new = by_name(snap.freeze), by_name(current)
    extras = sorted(n for n in new if n not in old)
    changed = []
    for name, line in sorted(old.items()):
        if new.get(name) == line:
            continue
        if " @ file://" in line:
            path = line.split(" @ file://", 1)[1]
            if not os.path.exists(path.split("#", 1)[0]):
                continue
        changed.append(line)
    argvs: list[list[str]] = []
    if extras:
        argvs.append([*pip, "uninstall", "-y", *extras])
    if changed:
        argvs.append(
            [*pip, "install", "--disable-pip-version-check", "--no-deps", *_pip_lines(changed)]
        )
    return argvs


def _pip_lines(lines: Sequence[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line.startswith("-e "):
            out += ["-e", line[3:].strip()]
        else:
            out.append(line)
    return out


def uv_sync_argv(snap: Snapshot, uv: Sequence[str], *, dry_run: bool = False) -> list[str]:
    """Return ``uv pip sync --python PY --allow-empty-requirements SNAPSHOT`` (exact restore)."""
    argv = [*uv, "pip", "sync", "--python", snap.python, "--allow-empty-requirements"]
    if dry_run:
        argv.append("--dry-run")
    return [*argv, str(snap.freeze_path)]


def conda_restore_argv(snap: Snapshot, conda: Tool) -> Optional[list[str]]:
    """Return ``conda|mamba install -y -p PREFIX --revision N``, None without a revision.

    micromamba has no revisions: it gets ``install -y -p PREFIX --file SNAPSHOT`` (it
    reinstalls the listed builds but does not remove packages added since).
    """
    if conda.name == "micromamba":
        return [*conda.argv, "install", "-y", "-p", snap.prefix, "--file", str(snap.path)]
    if snap.conda_revision is None:
        return None
    return [*conda.argv, "install", "-y", "-p", snap.prefix, "--revision",
            str(snap.conda_revision)]


def restore_commands(
    snap: Snapshot,
    *,
    uv: Optional[Sequence[str]] = None,
    conda: Optional[Tool] = None,
    extras: Sequence[str] = (),
) -> list[str]:
    """Return the commands that restore ``snap``, to print: envdoctor's, then the tool's own.

    Args:
        snap: the snapshot.
        uv: the command that runs uv, if found.
        conda: the conda tool, for conda prefixes changed by conda.
        extras: distributions installed since the snapshot (pip's uninstall list).

    Returns:
        ``envdoctor env restore SNAPSHOT --yes`` (exact in every case) first, then the
        equivalent ``uv pip sync`` / pip / ``conda install --revision`` command line.
    """
    lines = [f"{self_command()} env restore {_q(str(snap.path))} --yes"]
    if snap.conda_listing:
        # pip's freeze of a conda prefix names conda's build paths (name @ file://...),
        # which neither uv nor pip can reinstall: only envdoctor's restore is exact there.
        argv = conda_restore_argv(snap, conda) if conda is not None else None
        if argv:
            lines.append(installer.display(argv, uv))
        return lines
    if uv:
        lines.append(installer.display(uv_sync_argv(snap, uv), uv))
    elif snap.freeze_tool == "pip":
        pip = [snap.python, "-m", "pip"]
        parts = []
        if extras:
            parts.append(installer.display([*pip, "uninstall", "-y", *sorted(extras)]))
        parts.append(installer.display([*pip, "install", "--no-deps", "-r",
                                        str(snap.freeze_path)]))
        lines.append(" && ".join(parts))
    return lines


def _package_argvs(
    snap: Snapshot, current: Sequence[str], uv: Optional[Sequence[str]]
) -> list[list[str]]:
    """The commands that make the freeze equal the snapshot's (none when it already is)."""
    if not compare(snap.freeze, current):
        return []
    if uv and not snap.conda_listing:
        return [uv_sync_argv(snap, uv)]
    return pip_restore_argvs(snap, current, [snap.python, "-m", "pip"])


def restore(
    snap: Snapshot,
    *,
    uv: Optional[Sequence[str]] = None,
    conda: Optional[Tool] = None,
    dry_run: bool = False,
    on_line: Optional[Callable[[str], None]] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> RestoreResult:
    """Put the environment of ``snap`` back exactly as the snapshot lists it.

    The caller holds the environment's lock (:func:`envdoctor.repair.lock.environment_lock`).

    Args:
        snap: the snapshot.
        uv: the command that runs uv, if found (then ``uv pip sync`` restores).
        conda: a conda tool; used when the conda-meta listing changed since the snapshot.
        dry_run: only say which commands would run.
        on_line: called with each output line of the commands.
        environ: the environment the commands run with (default: installer's).

    Returns:
        The :class:`RestoreResult`; ``ok`` is True when the freeze equals the snapshot
        afterwards.

    Raises:
        InstallerMissing: nothing can list or install packages in that environment.
        SnapshotError: the freeze failed.
    """
    if not os.path.exists(snap.python):
        raise UsageError(f"{snap.python}: the snapshot's interpreter no longer exists")
    tool = Tool("uv", tuple(uv)) if snap.freeze_tool == "uv" and uv else Tool(
        "pip", (snap.python, "-m", "pip")
    )
    if snap.freeze_tool == "uv" and not uv:
        raise InstallerMissing("this snapshot was taken with uv, and uv was not found")
    current = freeze(tool, snap.python)
    conda_argv: Optional[list[str]] = None
    if snap.conda_listing and conda is not None:
        listing, _ = conda_listing(snap.prefix)
        if tuple(listing) != tuple(snap.conda_listing):
            conda_argv = conda_restore_argv(snap, conda)
    argvs = ([conda_argv] if conda_argv else []) + _package_argvs(snap, current, uv)
    planned = tuple(installer.display(a, uv) for a in argvs)
    if dry_run:
        broken = damaged(snap.python)
        repair = repair_argv(snap.python, broken, uv, conda=bool(snap.conda_listing))
        if repair and not argvs:
            planned = (installer.display(repair, uv),)
        differences = compare(snap.freeze, current) + tuple(
            f"damaged (files missing): {line}" for line in broken)
        return RestoreResult(snap, (), not planned and not broken, differences, planned)
    results: list[CommandResult] = []
    if conda_argv:
        results.append(installer.run(conda_argv, on_line=on_line, environ=environ))
        if results[-1].ok:
            current = freeze(tool, snap.python)  # what conda's revision left for pip
            argvs = [conda_argv, *_package_argvs(snap, current, uv)]
            planned = tuple(installer.display(a, uv) for a in argvs)
    if all(r.ok for r in results):
        for argv in argvs[len(results):]:
            result = installer.run(argv, on_line=on_line, environ=environ)
            results.append(result)
            if not result.ok:
                break
    broken = damaged(snap.python) if all(r.ok for r in results) else []
    repair = repair_argv(snap.python, broken, uv, conda=bool(snap.conda_listing))
    if repair:
        results.append(installer.run(repair, on_line=on_line, environ=environ))
        planned = (*planned, installer.display(repair, uv))
        broken = damaged(snap.python)
    after = freeze(tool, snap.python)
    differences = compare(snap.freeze, after)
    differences += tuple(f"damaged (files missing): {line}" for line in broken)
    if snap.conda_listing and conda is not None:
        listing, _ = conda_listing(snap.prefix)
        differences += tuple(f"conda: {line}" for line in compare(snap.conda_listing, listing))
    ok = all(r.ok for r in results) and not differences
    return RestoreResult(snap, tuple(results), ok, differences, planned)
