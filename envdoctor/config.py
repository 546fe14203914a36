"""Project configuration: ``[tool.envdoctor]`` in ``pyproject.toml``, or ``envdoctor.toml``.

A project states once which models to check, how strict to be, which finding codes it
accepts (each with a reason) and which environments matter::

    [tool.envdoctor]
    models = ["models/*.keras", "export/serving_model"]   # globs, relative to this file
    fail-on = "warning"                                   # error (default) | warning | info
    environments = [".venv", "~/.virtualenvs/r-keras"]    # or "all"; default: this Python

    [tool.envdoctor.ignore]
    ED802 = "the training requirements.txt pins a CUDA build we never use"

``envdoctor.toml`` holds the same keys at its top level (or under ``[tool.envdoctor]``).
``ignore`` may also be written as an array of tables: ``ignore = [{code = "ED802",
reason = "..."}]``.  Keys may be spelled with ``-`` or ``_``.  An unknown key, a wrong type,
an ignore entry without a reason or a code that is not ``EDnnn`` is a :class:`ConfigError`
(exit code 2): a typo must not silently check less.

How ``envdoctor check`` applies it (:func:`plan_check`): the file given with
``--config PATH``, else the first ``envdoctor.toml`` or ``pyproject.toml`` with a
``[tool.envdoctor]`` table found from the current directory upwards (the search stops at a
directory holding ``pyproject.toml``, ``envdoctor.toml`` or ``.git``); ``--no-config``
turns the search off.  ``models`` are checked when no MODEL is given on the command line;
``fail-on`` applies unless ``--fail-on`` is given; ``environments`` apply unless
``--python``/``--all`` is given; ``ignore`` always applies.

TOML is read with :mod:`tomllib` (Python 3.11+) or ``tomli`` (3.9/3.10), imported only here.
"""

from __future__ import annotations

import glob
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

from envdoctor.errors import UsageError

CONFIG_NAMES = ("envdoctor.toml", "pyproject.toml")
"""File names looked for, in order of preference within one directory."""

ROOT_MARKERS = ("envdoctor.toml", "pyproject.toml", ".git")
"""A directory holding one of these is a project root: the upward search stops there."""

MAX_CONFIG_BYTES = 1024 * 1024
"""Largest configuration file read (bytes)."""

FAIL_ON_LEVELS = ("error", "warning", "info")
"""Accepted ``fail-on`` values, strictest last."""

KEYS = ("models", "fail_on", "ignore", "environments")
"""Keys of ``[tool.envdoctor]`` (``-`` and ``_`` spellings are equivalent)."""

CODE_RE = re.compile(r"^ED[0-9]{3}$")
"""What a finding code looks like."""

_GLOB_CHARS = frozenset("*?[")


class ConfigError(UsageError):
    """The configuration file cannot be read or is invalid (exit code 2).

    Attributes:
        path: the configuration file.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class ProjectConfig:
    """A validated ``[tool.envdoctor]`` table.

    Attributes:
        path: the file it was read from ("" when built in code).
        root: the directory relative paths are resolved against (the file's directory).
        models: model paths or glob patterns, as written.
        fail_on: ``"error"``, ``"warning"``, ``"info"`` or None (not set).
        ignore: finding code -> the reason the project ignores it.
        environments: interpreter paths, environment prefixes or names on ``PATH``, as written.
        all_environments: True for ``environments = "all"`` (every environment discovered).
    """

    path: str = ""
    root: str = "."
    models: tuple[str, ...] = ()
    fail_on: Optional[str] = None
    ignore: Mapping[str, str] = field(default_factory=dict)
    environments: tuple[str, ...] = ()
    all_environments: bool = False


@dataclass(frozen=True)
class CheckPlan:
    """What ``envdoctor check`` will do once the command line and the configuration merge.

    Attributes:
        models: model paths to check (may be empty: the environment alone).
        python: the one target interpreter, or None (see ``environments``).
        environments: several target interpreters/prefixes (from the configuration).
        all_environments: check against every environment discovered.
        fail_on: the exit-code threshold (``"error"``, ``"warning"`` or ``"info"``).
        ignore: finding code -> reason, removed from the report.
        config: the configuration applied, or None.
    """

    models: tuple[str, ...]
    python: Optional[str]
    environments: tuple[str, ...]
    all_environments: bool
    fail_on: str
    ignore: Mapping[str, str]
    config: Optional[ProjectConfig]


def _toml_loads(text: str) -> dict[str, object]:
    """Parse TOML text with tomllib (3.11+) or tomli.

    Raises:
        ValueError: the text is not valid TOML (``TOMLDecodeError`` is a ValueError).
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.9/3.10
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    data: dict[str, object] = tomllib.loads(text)
    return data


def _read_text(path: str) -> str:
    """Read a configuration file (at most :data:`MAX_CONFIG_BYTES` bytes) as UTF-8.

    Raises:
        ConfigError: unreadable, too large or not UTF-8.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(path, f"cannot read it: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(path, f"larger than {MAX_CONFIG_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _table(path: str, document: Mapping[str, object]) -> Optional[Mapping[str, object]]:
    """Return ``tool.envdoctor`` of a parsed document, or None when absent."""
    tool = document.get("tool")
    if not isinstance(tool, dict):
        return None
    table = tool.get("envdoctor")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(path, "[tool.envdoctor] must be a table")
    return table


def _strings(path: str, key: str, value: object) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise ConfigError(path, f"{key} must be a list of non-empty strings")
    return tuple(str(v) for v in items)


def _ignores(path: str, value: object) -> dict[str, str]:
    entries: list[tuple[object, object]]
    if isinstance(value, dict):
        entries = list(value.items())
    elif isinstance(value, list):
        entries = []
        for item in value:
            if not isinstance(item, dict) or set(item) - {"code", "reason"}:
                raise ConfigError(
                    path, 'each ignore entry must be {code = "EDnnn", reason = "..."}'
                )
            entries.append((item.get("code"), item.get("reason")))
    else:
        raise ConfigError(path, "ignore must be a table of code = reason (or a list of tables)")
    ignore: dict[str, str] = {}
    for code, reason in entries:
        if not isinstance(code, str) or not CODE_RE.match(code.strip().upper()):
            raise ConfigError(path, f"ignore: {code!r} is not a finding code (EDnnn)")
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(path, f"ignore: {code} needs a reason (a non-empty string)")
        ignore[code.strip().upper()] = reason.strip()
    return ignore


def parse_config(path: str, table: Mapping[str, object]) -> ProjectConfig:
    """Validate a ``[tool.envdoctor]`` table.

    Args:
        path: the file it came from (for messages and as the base of relative paths).
        table: the parsed table.

    Returns:
        The validated :class:`ProjectConfig`.

    Raises:
        ConfigError: an unknown key, a value of the wrong type, an invalid ``fail-on``,
            an ignore entry without a reason or with a code that is not ``EDnnn``.
    """
    values: dict[str, object] = {}
    for raw_key, value in table.items():
        key = str(raw_key).replace("-", "_")
        if key not in KEYS:
            allowed = ", ".join(k.replace("_", "-") for k in KEYS)
            raise ConfigError(path, f"unknown key {raw_key!r} in [tool.envdoctor] ({allowed})")
        values[key] = value
    fail_on = values.get("fail_on")
    if fail_on is not None and fail_on not in FAIL_ON_LEVELS:
        raise ConfigError(path, f"fail-on must be one of {', '.join(FAIL_ON_LEVELS)}")
    environments: tuple[str, ...] = ()
    all_envs = False
    if values.get("environments") == "all":
        all_envs = True
    elif "environments" in values:
        environments = _strings(path, "environments", values["environments"])
    return ProjectConfig(
        path=path,
        root=os.path.dirname(os.path.abspath(path)) if path else os.getcwd(),
        models=_strings(path, "models", values["models"]) if "models" in values else (),
        fail_on=str(fail_on) if fail_on is not None else None,
        ignore=_ignores(path, values["ignore"]) if "ignore" in values else {},
        environments=environments,
        all_environments=all_envs,
    )


def load_config(path: str) -> ProjectConfig:
    """Read and validate a configuration file.

    Args:
        path: a ``pyproject.toml`` (its ``[tool.envdoctor]`` table is read) or any other
            TOML file such as ``envdoctor.toml`` (its ``[tool.envdoctor]`` table if it has
            one, else its top level).

    Returns:
        The validated :class:`ProjectConfig`.

    Raises:
        ConfigError: the file is missing, unreadable, over :data:`MAX_CONFIG_BYTES` bytes,
            not TOML, has no ``[tool.envdoctor]`` table (``pyproject.toml``), or is invalid
            (see :func:`parse_config`).
    """
    text = _read_text(path)
    try:
        document = _toml_loads(text)
    except ValueError as exc:
        raise ConfigError(path, f"not valid TOML: {exc}") from None
    table = _table(path, document)
    if table is None:
        if os.path.basename(path) == "pyproject.toml":
            raise ConfigError(path, "no [tool.envdoctor] table")
        table = document
    return parse_config(path, table)


def find_config(start: Optional[str] = None) -> Optional[str]:
    """Find the project's configuration file, from ``start`` upwards.

    In each directory, ``envdoctor.toml`` wins, then a ``pyproject.toml`` that has a
    ``[tool.envdoctor]`` table.  The search stops at the first directory holding
    ``pyproject.toml``, ``envdoctor.toml`` or ``.git`` (the project root), and at the
    filesystem root.

    Args:
        start: the directory to start from (default: the current directory).

    Returns:
        The path of the configuration file, or None.
    """
    directory = os.path.abspath(start or os.getcwd())
    while True:
        candidate = os.path.join(directory, "envdoctor.toml")
        if os.path.isfile(candidate):
            return candidate
        pyproject = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(pyproject):
            try:
                with open(pyproject, "rb") as fh:
                    head = fh.read(MAX_CONFIG_BYTES)
            except OSError:
                return None
            return pyproject if b"tool.envdoctor" in head else None
        if any(os.path.exists(os.path.join(directory, m)) for m in ROOT_MARKERS):
            return None
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _display(path: str) -> str:
    """``path`` relative to the current directory when it lies under it, else absolute."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # another drive on Windows
        return absolute
    return absolute if relative.startswith("..") else relative


def _expand(root: str, text: str) -> str:
    expanded = os.path.expanduser(os.path.expandvars(text))
    return expanded if os.path.isabs(expanded) else os.path.join(root, expanded)


def expand_models(config: ProjectConfig) -> tuple[str, ...]:
    """Resolve the configuration's ``models`` into paths.

    Patterns (``*``, ``?``, ``[``; ``**`` recurses) are expanded with :func:`glob.glob`,
    sorted; plain paths are kept even when missing (reading them then fails clearly).
    ``~`` and ``$VARS`` are expanded; relative entries are relative to ``config.root``.

    Args:
        config: the configuration.

    Returns:
        Paths relative to the current directory when they lie under it, else absolute;
        duplicates removed, order kept.

    Raises:
        ConfigError: a pattern matches nothing.
    """
    found: dict[str, None] = {}
    for entry in config.models:
        full = _expand(config.root, entry)
        if _GLOB_CHARS & set(entry):
            matches = sorted(glob.glob(full, recursive=True))
            if not matches:
                raise ConfigError(config.path or "config", f"models: {entry!r} matches no file")
            for match in matches:
                found.setdefault(_display(match.rstrip(os.sep) or match), None)
        else:
            found.setdefault(_display(full), None)
    return tuple(found)


def expand_environments(config: ProjectConfig) -> tuple[str, ...]:
    """Resolve the configuration's ``environments``.

    Entries with a directory part, and names that exist in ``config.root``, are paths
    relative to ``config.root``; other bare names (``python3.11``) are left for a ``PATH``
    lookup.  ``~`` and ``$VARS`` are expanded.

    Args:
        config: the configuration.

    Returns:
        Interpreter paths, environment prefixes or bare names, in order, duplicates removed.
    """
    found: dict[str, None] = {}
    for entry in config.environments:
        expanded = os.path.expanduser(os.path.expandvars(entry))
        bare = os.sep not in expanded and "/" not in expanded
        if bare and not os.path.exists(os.path.join(config.root, expanded)):
            found.setdefault(expanded, None)
        else:
            found.setdefault(_expand(config.root, expanded), None)
    return tuple(found)


def plan_check(
    *,
    models: Sequence[str] = (),
    python: Optional[str] = None,
    all_environments: bool = False,
    fail_on: Optional[str] = None,
    config_path: Optional[str] = None,
    use_config: bool = True,
    start: Optional[str] = None,
) -> CheckPlan:
    """Merge the ``check`` command line with the project configuration.

    Args:
        models: MODEL arguments (the configuration's models are used when empty).
        python: ``--python`` (overrides the configuration's environments).
        all_environments: ``--all`` (overrides the configuration's environments).
        fail_on: ``--fail-on``, or None when not given.
        config_path: ``--config PATH``, or None to search (see :func:`find_config`).
        use_config: False for ``--no-config``: no search, no configuration.
        start: where the search starts (default: the current directory).

    Returns:
        The :class:`CheckPlan`.

    Raises:
        ConfigError: the configuration cannot be read or is invalid, or one of its
            model patterns matches nothing.
    """
    config: Optional[ProjectConfig] = None
    if config_path is not None:
        config = load_config(config_path)
    elif use_config:
        found = find_config(start)
        config = load_config(found) if found else None
    return merge_config(
        config, models=models, python=python, all_environments=all_environments,
        fail_on=fail_on,
    )


def merge_config(
    config: Optional[ProjectConfig],
    *,
    models: Sequence[str] = (),
    python: Optional[str] = None,
    environments: Sequence[str] = (),
    all_environments: bool = False,
    fail_on: Optional[str] = None,
    ignore: Optional[Mapping[str, str]] = None,
) -> CheckPlan:
    """The one merge of what a caller asked for with a project configuration.

    ``envdoctor check`` (through :func:`plan_check`) and :func:`envdoctor.check` both
    merge here: the arguments win; the configuration's ``models`` apply when ``models`` is
    empty, its ``environments``/``all_environments`` when neither ``python``,
    ``environments`` nor ``all_environments`` is given, its ``fail_on`` when ``fail_on``
    is None (default ``"error"``); ``ignore`` entries merge (keys upper-cased), the
    argument winning.

    Args:
        config: the configuration, or None (the arguments alone).
        models: model paths asked for (empty: the configuration's).
        python: the one target interpreter asked for, or None.
        environments: several targets asked for.
        all_environments: every discovered environment asked for.
        fail_on: the threshold asked for, or None.
        ignore: finding code -> reason asked for.

    Returns:
        The :class:`CheckPlan`.

    Raises:
        ConfigError: one of the configuration's model patterns matches nothing.
    """
    chosen = tuple(models)
    targets = tuple(environments)
    all_envs = all_environments
    merged_ignore: dict[str, str] = {}
    if config is not None:
        if not chosen:
            chosen = expand_models(config)
        if python is None and not targets and not all_envs:
            targets = expand_environments(config)
            all_envs = config.all_environments
        merged_ignore.update(config.ignore)
    merged_ignore.update({k.upper(): v for k, v in (ignore or {}).items()})
    return CheckPlan(
        models=chosen,
        python=python,
        environments=targets,
        all_environments=all_envs,
        fail_on=fail_on or (config.fail_on if config and config.fail_on else "error"),
        ignore=merged_ignore,
        config=config,
    )
