"""The installers envdoctor drives: which of uv, pip and conda changes an environment, how.

``envdoctor fix`` and ``envdoctor env create`` never edit site-packages themselves; they run
the environment's own installer, first as a dry run whose output says what would change:

* uv: ``uv pip install --dry-run --python PY REQ...`` prints ``Would install/uninstall``
  and one `` - name==version`` / `` + name==version`` line per package (on stderr);
* pip (>= 22.2): ``PY -m pip install --dry-run --quiet --report - REQ...`` prints a JSON
  installation report whose ``install`` list holds every distribution it would install;
  what it would replace is the installed version of the same name;
* conda, mamba, micromamba: ``install --dry-run --json`` prints ``actions.LINK`` and
  ``actions.UNLINK``.

:func:`choose_tool` picks the installer for an environment: conda/mamba/micromamba for a
conda prefix when one is on PATH (otherwise pip inside the prefix, with a warning), uv for
environments uv made when uv is found, pip otherwise (uv when the environment has no pip).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from envdoctor.errors import EnvdoctorError
from envdoctor.types import Environment, canonical_name

canonicalize_name = canonical_name
"""PEP 503 normalized name (:func:`envdoctor.types.canonical_name`)."""


CONDA_TOOLS = ("conda", "mamba", "micromamba")
"""Conda-compatible executables looked for on PATH, in this order."""

DEFAULT_STEP_TIMEOUT = 3600.0
"""Seconds one install command may run (downloads of TensorFlow wheels included)."""

DRY_RUN_TIMEOUT = 600.0
"""Seconds a resolver dry run may take."""

MAX_OUTPUT_CHARS = 64 * 1024
"""Characters of a command's output kept (the tail), characters."""

MAX_REPORT_CHARS = 64 * 1024 * 1024
"""Characters kept of a dry run that answers in JSON (pip's report holds every package's
description: megabytes for TensorFlow), characters."""


class InstallerMissing(EnvdoctorError):
    """No installer can change the environment (no pip in it and no uv found)."""


@dataclass(frozen=True)
class Tool:
    """An installer and how to run it.

    Attributes:
        name: ``uv``, ``pip``, ``conda``, ``mamba`` or ``micromamba``.
        argv: the words that start it, e.g. ``("/usr/bin/uv",)`` or
            ``("/env/bin/python", "-m", "pip")``.
    """

    name: str
    argv: tuple[str, ...]

    @property
    def is_conda(self) -> bool:
        """True for conda, mamba and micromamba."""
        return self.name in CONDA_TOOLS


@dataclass(frozen=True)
class ToolChoice:
    """The installer chosen for an environment, and a warning when it is a fallback."""

    tool: Tool
    warning: str = ""


@dataclass(frozen=True)
class Change:
    """One distribution a command changes.

    Attributes:
        name: the normalized distribution name (PEP 503).
        before: the installed version, None when it is not installed.
        after: the version after the command, None when it is removed.
    """

    name: str
    before: Optional[str]
    after: Optional[str]

    @property
    def action(self) -> str:
        """``install``, ``remove``, ``upgrade``, ``downgrade`` or ``reinstall``."""
        if self.before is None:
            return "install"
        if self.after is None:
            return "remove"
        from envdoctor.knowledge.versions import parse

        old, new = parse(self.before), parse(self.after)
        if old is None or new is None or old == new:
            return "reinstall"
        return "upgrade" if new > old else "downgrade"

    def text(self) -> str:
        """Return e.g. ``"numpy 2.1.3 → 1.26.4"``, ``"rich (new) 15.0.0"``, ``"six 1 removed"``."""
        if self.before is None:
            return f"{self.name} (new) {self.after}"
        if self.after is None:
            return f"{self.name} {self.before} removed"
        return f"{self.name} {self.before} → {self.after}"


@dataclass(frozen=True)
class CommandResult:
    """What running one command did.

    Attributes:
        argv: the command.
        returncode: its exit code (None when it could not be started or was killed).
        output: stdout and stderr merged, the last :data:`MAX_OUTPUT_CHARS` characters.
        seconds: wall-clock time, seconds.
        timed_out: True when it was killed at its time limit.
        error: why it could not be started ("" when it was).
    """

    argv: tuple[str, ...]
    returncode: Optional[int]
    output: str
    seconds: float
    timed_out: bool = False
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when the command ran and exited 0."""
        return self.returncode == 0 and not self.timed_out and not self.error


# ---------------------------------------------------------------- finding the tools


def find_uv(environ: Optional[Mapping[str, str]] = None) -> Optional[tuple[str, ...]]:
    """Return the command that runs uv, or None when uv is not found.

    Looks for ``uv`` on PATH, then beside the interpreter running envdoctor (a venv's
    ``bin/uv``), then the ``uv`` Python package's binary.

    Args:
        environ: the environment whose ``PATH`` is searched (default ``os.environ``).

    Returns:
        e.g. ``("/usr/local/bin/uv",)``.
    """
    environ = os.environ if environ is None else environ
    found = shutil.which("uv", path=environ.get("PATH"))
    if found:
        return (found,)
    exe = "uv.exe" if os.name == "nt" else "uv"
    sibling = Path(sys.executable).parent / exe
    if sibling.is_file() and os.access(sibling, os.X_OK):
        return (str(sibling),)
    try:
        import importlib

        module = importlib.import_module("uv")
        path = str(module.find_uv_bin())
    except Exception:
        return None
    return (path,) if os.path.isfile(path) else None


def find_conda(environ: Optional[Mapping[str, str]] = None) -> Optional[Tool]:
    """Return the first of conda, mamba, micromamba found on PATH (``CONDA_EXE`` first), or None."""
    environ = os.environ if environ is None else environ
    for var, name in (("CONDA_EXE", "conda"), ("MAMBA_EXE", "micromamba")):
        value = environ.get(var)
        if value and os.path.isfile(value):
            base = os.path.basename(value).lower().removesuffix(".exe")
            return Tool(base if base in CONDA_TOOLS else name, (value,))
    for name in CONDA_TOOLS:
        found = shutil.which(name, path=environ.get("PATH"))
        if found:
            return Tool(name, (found,))
    return None


def is_conda_env(env: Environment) -> bool:
    """True for a conda prefix (``conda-meta`` present or conda manager)."""
    return env.manager == "conda" or env.kind == "conda"


def has_pip(env: Environment) -> bool:
    """True when pip is installed in the environment (read statically)."""
    return env.version_of("pip") is not None


def pip_tool(env: Environment) -> Tool:
    """Return pip run by the environment's own interpreter."""
    return Tool("pip", (env.python, "-m", "pip"))


def choose_tool(
    env: Environment,
    *,
    uv: Optional[Sequence[str]] = None,
    conda: Optional[Tool] = None,
) -> ToolChoice:
    """Choose the installer that changes ``env``.

    Args:
        env: the environment.
        uv: the command that runs uv (see :func:`find_uv`), None when there is none.
        conda: a conda-compatible tool (see :func:`find_conda`), None when there is none.

    Returns:
        conda/mamba/micromamba for a conda prefix when one is given; otherwise pip inside
        the prefix with a warning (uv when the prefix has no pip).  uv for an environment
        uv made (``manager == "uv"``) when uv is given.  Otherwise the environment's pip,
        or uv when it has no pip.

    Raises:
        InstallerMissing: neither pip in the environment nor uv.
    """
    if is_conda_env(env):
        if conda is not None:
            return ToolChoice(conda)
        warning = (
            f"no conda, mamba or micromamba on PATH: installing with pip inside the conda "
            f"prefix {env.prefix}; conda will not know about these packages"
        )
        if has_pip(env):
            return ToolChoice(pip_tool(env), warning)
        if uv:
            return ToolChoice(Tool("uv", tuple(uv)), warning.replace("with pip", "with uv pip"))
        raise InstallerMissing(f"{env.prefix}: conda prefix without pip, and no conda/uv found")
    if env.manager == "uv" and uv:
        return ToolChoice(Tool("uv", tuple(uv)))
    if has_pip(env):
        return ToolChoice(pip_tool(env))
    if uv:
        return ToolChoice(Tool("uv", tuple(uv)))
    raise InstallerMissing(
        f"{env.python}: pip is not installed in this environment and uv was not found; "
        f"install uv or run `{env.python} -m ensurepip`"
    )


# ---------------------------------------------------------------- building commands


def conda_spec(requirement: str) -> str:
    """Turn a pip requirement into a conda match spec.

    ``keras==3.6.*`` → ``keras=3.6``; ``numpy<2`` stays ``numpy<2`` (conda reads it).
    """
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([0-9][0-9.]*)\.\*", requirement.strip())
    if match:
        return f"{match.group(1)}={match.group(2)}"
    return requirement.strip().replace(" ", "")


def install_argv(
    tool: Tool, env: Environment, requirements: Sequence[str], *, dry_run: bool = False
) -> list[str]:
    """Return the command that installs ``requirements`` into ``env`` with ``tool``.

    Args:
        tool: the installer.
        env: the environment.
        requirements: PEP 508 requirement strings.
        dry_run: the resolver's dry run instead (nothing is changed): uv ``--dry-run``,
            pip ``--dry-run --quiet --report -``, conda ``--dry-run --json``.

    Returns:
        The argument vector (no shell).
    """
    if tool.name == "uv":
        argv = [*tool.argv, "pip", "install", "--python", env.python]
        if dry_run:
            argv.append("--dry-run")
        return [*argv, *requirements]
    if tool.is_conda:
        argv = [*tool.argv, "install", "-y", "-p", env.prefix, "-c", "conda-forge"]
        if dry_run:
            argv += ["--dry-run", "--json"]
        return [*argv, *(conda_spec(r) for r in requirements)]
    argv = [*tool.argv, "install", "--disable-pip-version-check"]
    if dry_run:
        argv += ["--dry-run", "--quiet", "--report", "-"]
    return [*argv, *requirements]


def display(argv: Sequence[str], uv: Optional[Sequence[str]] = None) -> str:
    """Return ``argv`` as a command line a user can paste (POSIX or Windows quoting).

    The uv found on PATH is shown as plain ``uv``.
    """
    words = list(argv)
    on_path = shutil.which("uv")
    if uv and len(uv) == 1 and words[:1] == [uv[0]] and on_path:
        try:
            if os.path.samefile(on_path, uv[0]):
                words[0] = "uv"
        except OSError:
            pass
    if os.name == "nt":
        return subprocess.list2cmdline(words)
    return shlex.join(words)


# ---------------------------------------------------------------- reading dry runs

_UV_LINE = re.compile(r"^\s*([-+~])\s+([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)")


def parse_uv_changes(text: str) -> tuple[Change, ...]:
    """Read the package lines of uv's ``pip install/sync`` output (dry run or real).

    `` - numpy==2.1.3`` then `` + numpy==1.26.4`` is a downgrade; a ``+`` alone an install,
    a ``-`` alone a removal, ``~`` a reinstall.

    Args:
        text: uv's output (stderr and stdout).

    Returns:
        One change per distribution, sorted by name.
    """
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    for line in text.splitlines():
        match = _UV_LINE.match(line)
        if not match:
            continue
        sign, name, version = match.group(1), canonicalize_name(match.group(2)), match.group(3)
        if sign in "-~":
            before[name] = version
        if sign in "+~":
            after[name] = version
    return tuple(
        Change(n, before.get(n), after.get(n)) for n in sorted(set(before) | set(after))
    )


def _json_object(text: str) -> Optional[dict[str, object]]:
    """Return the first JSON object in ``text`` (tools may print warnings around it)."""
    start = text.find("{")
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(text[start:])
        except ValueError:
            start = text.find("{", start + 1)
            continue
        return value if isinstance(value, dict) else None
    return None


def parse_pip_report(text: str, installed: Mapping[str, str]) -> Optional[tuple[Change, ...]]:
    """Read pip's ``--report`` JSON (installation report version 1).

    Args:
        text: pip's stdout.
        installed: normalized name → installed version (what each install replaces).

    Returns:
        One change per distribution pip would install, sorted by name; None when the text
        holds no report.
    """
    data = _json_object(text)
    if data is None or not isinstance(data.get("install"), list):
        return None
    changes = []
    items = data["install"]
    assert isinstance(items, list)
    for item in items:
        meta = item.get("metadata") if isinstance(item, dict) else None
        if not isinstance(meta, dict) or "name" not in meta:
            continue
        name = canonicalize_name(str(meta["name"]))
        changes.append(Change(name, installed.get(name), str(meta.get("version", "?"))))
    return tuple(sorted(changes, key=lambda c: c.name))


def _conda_record(item: object) -> Optional[tuple[str, str]]:
    if isinstance(item, dict) and "name" in item:
        return str(item["name"]), str(item.get("version", "?"))
    if isinstance(item, str):
        dist = item.split("::")[-1]
        parts = dist.rsplit("-", 2)
        if len(parts) == 3:
            return parts[0], parts[1]
    return None


def parse_conda_json(text: str) -> Optional[tuple[Change, ...]]:
    """Read ``conda|mamba|micromamba install --dry-run --json`` output.

    Args:
        text: the tool's stdout.

    Returns:
        The changes from ``actions.UNLINK`` and ``actions.LINK``, sorted by name (empty
        when conda says everything is already installed); None when the text is not such a
        report.
    """
    data = _json_object(text)
    if data is None:
        return None
    actions = data.get("actions")
    if actions is None:
        return () if data.get("success") is True or "message" in data else None
    if not isinstance(actions, dict):
        return None
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    for key, sink in (("UNLINK", before), ("LINK", after)):
        for item in actions.get(key) or []:
            record = _conda_record(item)
            if record:
                sink[canonicalize_name(record[0])] = record[1]
    return tuple(
        Change(n, before.get(n), after.get(n)) for n in sorted(set(before) | set(after))
    )


def installed_versions(env: Environment) -> dict[str, str]:
    """Return normalized name → version of every distribution in ``env``."""
    return {canonicalize_name(p.name): p.version for p in env.packages.values()}


def diff_versions(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[Change, ...]:
    """Return what changed between two name → version maps, sorted by name."""
    changes = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            changes.append(Change(name, before.get(name), after.get(name)))
    return tuple(changes)


# ---------------------------------------------------------------- running


def child_environ(environ: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """The environment installers run with: R's library paths removed, no ``VIRTUAL_ENV``.

    Every command names its target explicitly (``--python``, ``-p``, the interpreter),
    so an activated environment must not redirect it.
    """
    from envdoctor.probe.runner import clean_child_env

    env = clean_child_env(os.environ if environ is None else environ)
    for name in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV"):
        env.pop(name, None)
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    return env


def run(
    argv: Sequence[str],
    *,
    timeout: float = DEFAULT_STEP_TIMEOUT,
    on_line: Optional[Callable[[str], None]] = None,
    environ: Optional[Mapping[str, str]] = None,
    stdout_only: bool = False,
    max_chars: int = MAX_OUTPUT_CHARS,
) -> CommandResult:
    """Run one command without a shell; stdin closed; output captured (and echoed by line).

    Args:
        argv: the command.
        timeout: seconds before it is killed.
        on_line: called with each output line as it arrives (progress for a terminal).
        environ: its environment (default :func:`child_environ`).
        stdout_only: keep stdout only (stderr is captured separately and appended to
            ``output`` after a blank line only when the command fails), for tools that
            print JSON on stdout.
        max_chars: characters of output kept (the tail).

    Returns:
        The :class:`CommandResult`; a command that cannot be started gives ``error``
        instead of raising.
    """
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if stdout_only else subprocess.STDOUT,
            env=dict(environ) if environ is not None else child_environ(),
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    except OSError as exc:
        return CommandResult(tuple(argv), None, "", 0.0, error=f"{argv[0]}: {exc.strerror or exc}")
    chunks: list[str] = []
    errs: list[str] = []

    def pump(stream: Iterable[str], sink: list[str], echo: bool) -> None:
        for line in stream:
            sink.append(line)
            if echo and on_line is not None:
                on_line(line.rstrip("\n"))

    assert proc.stdout is not None
    threads = [threading.Thread(target=pump, args=(proc.stdout, chunks, True), daemon=True)]
    if stdout_only:
        assert proc.stderr is not None
        threads.append(threading.Thread(target=pump, args=(proc.stderr, errs, False), daemon=True))
    for t in threads:
        t.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        proc.wait()
    for t in threads:
        t.join(5.0)
    output = "".join(chunks)
    if stdout_only and proc.returncode != 0:
        output += "\n" + "".join(errs)
    return CommandResult(
        tuple(argv),
        None if timed_out else proc.returncode,
        output[-max_chars:],
        round(time.monotonic() - started, 3),
        timed_out,
    )


def tail(text: str, lines: int = 15) -> str:
    """Return the last ``lines`` non-empty lines of ``text``."""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])
