"""Read the requirement files saved beside a model (MLflow and friends), without a YAML library.

Files looked for (compat-facts §5.1 and §7; MLflow ``mlflow/utils/environment.py`` constants
``_CONDA_ENV_FILE_NAME = "conda.yaml"``, ``_REQUIREMENTS_FILE_NAME = "requirements.txt"``,
``_PYTHON_ENV_FILE_NAME = "python_env.yaml"``; MLflow's ``MLmodel`` records
``flavors.python_function.python_version``):

* ``requirements.txt`` -- pip requirement lines (``-r``/``-c``/``-e``, ``--options`` and URL or
  path requirements are skipped with a note);
* ``conda.yaml`` / ``conda.yml`` / ``environment.yml`` / ``environment.yaml`` -- a conda
  environment: ``dependencies:`` holds conda match specs (``python=3.10.12``, ``numpy=1.24``,
  ``pip<=23.1``) and a ``- pip:`` sub-list of pip requirement lines;
* ``python_env.yaml`` -- MLflow's virtualenv spec: ``python: 3.10.12``,
  ``build_dependencies:`` (pip/setuptools/wheel, ignored) and ``dependencies:`` (pip lines,
  typically ``-r requirements.txt``);
* ``MLmodel`` -- YAML with ``python_version: 3.10.12`` (and flavor facts such as
  ``keras_version``, reported as notes);
* ``.python-version`` (pyenv / uv: ``3.10.12``) and ``runtime.txt`` (``python-3.10.12``).

Conda's ``name=1.2`` is a fuzzy match meaning ``1.2.*`` and ``name==1.2`` an exact match
(conda docs, "Package match specifications"); they become PEP 508 ``name==1.2.*`` /
``name==1.2``.  Every file is read only up to :data:`limits.MAX_SIDECAR_BYTES` bytes.
"""

from __future__ import annotations

import os
import re
import stat
from typing import Optional

from envdoctor.modelfiles.limits import MAX_SIDECAR_BYTES
from envdoctor.modelfiles.safe_open import open_regular, read_limited
from envdoctor.types import Sidecar

REQUIREMENTS = "requirements.txt"
CONDA_FILES = ("conda.yaml", "conda.yml", "environment.yml", "environment.yaml")
PYTHON_ENV = "python_env.yaml"
MLMODEL = "MLmodel"
PYTHON_VERSION_FILE = ".python-version"
RUNTIME_TXT = "runtime.txt"
SIDECAR_NAMES = (MLMODEL, PYTHON_ENV, REQUIREMENTS, *CONDA_FILES, PYTHON_VERSION_FILE, RUNTIME_TXT)
"""Files read, in the order their Python version is trusted (most specific first)."""

MLFLOW_SEARCH_LEVELS = 2
"""Directories above the usual ones searched for an ``MLmodel`` (MLflow keeps the model under
``data/``, e.g. ``<model>/data/model.keras``)."""

_BUILD_TOOLS = frozenset({"pip", "setuptools", "wheel"})
_VERSION = re.compile(r"^(?:c?python[-@ ]?)?(\d+\.\d+(?:\.\d+)?)(?:\.\*)?$", re.IGNORECASE)
_MLMODEL_PY = re.compile(r"^\s*python_version:\s*['\"]?([^'\"\s#]+)", re.MULTILINE)
_MLMODEL_FACTS = re.compile(
    r"^\s*(keras_version|mlflow_version|tensorflow_version|keras_backend|loader_module):"
    r"\s*['\"]?([^'\"\s#]+)",
    re.MULTILINE,
)
_CONDA_NAME = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*(.*)$")


# --------------------------------------------------------------------------- small parsers


def _strip_comment(line: str) -> str:
    """Drop a ``#`` comment that starts the line or follows whitespace (pip and YAML rule)."""
    if line.lstrip().startswith("#"):
        return ""
    match = re.search(r"\s#", line)
    return line[: match.start()] if match else line


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def normalize_python_version(text: str) -> Optional[str]:
    """Return ``"3.10.12"`` / ``"3.10"`` from ``3.10.12``, ``python-3.10.12``, ``3.10.*``...

    Args:
        text: a version as a sidecar file writes it (quotes allowed).

    Returns:
        The dotted version, or None when ``text`` is not a plain version pin.
    """
    match = _VERSION.match(_unquote(text))
    return match.group(1) if match else None


def parse_requirement_line(line: str, source: str) -> tuple[Optional[str], Optional[str]]:
    """Parse one pip requirement line.

    Args:
        line: the line, comments already removed.
        source: the file name, for notes.

    Returns:
        ``(PEP 508 requirement string or None, note or None)``.
    """
    text = line.strip()
    if not text:
        return None, None
    if text.startswith("-"):
        option = text.split()[0]
        return None, f"{source}: option line {option!r} skipped"
    text = re.split(r"\s+--?[A-Za-z]", text, maxsplit=1)[0].strip()  # per-requirement options
    if ("://" in text and "@" not in text.split("://")[0]) or text.startswith((".", "/", "~")):
        return None, f"{source}: URL or path requirement {text[:60]!r} skipped"
    if text.lower().endswith((".whl", ".tar.gz", ".zip")) and "@" not in text:
        return None, f"{source}: archive requirement {text[:60]!r} skipped"
    from packaging.requirements import InvalidRequirement, Requirement  # noqa: PLC0415  (startup: packaging costs ~30 ms, only when a requirement is parsed)

    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return None, f"{source}: unparsable requirement {text[:60]!r} skipped"
    if requirement.url:
        return None, f"{source}: URL requirement {requirement.name!r} skipped"
    return str(requirement), None


def parse_requirements(text: str, source: str) -> tuple[list[str], list[str], list[str]]:
    """Parse a ``requirements.txt``.

    Args:
        text: the file's text.
        source: the file name, for notes.

    Returns:
        ``(PEP 508 requirements, notes, files named by -r/--requirement)``.
    """
    requirements: list[str] = []
    notes: list[str] = []
    includes: list[str] = []
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        logical.append(pending + raw)
        pending = ""
    if pending:
        logical.append(pending)
    for raw in logical:
        line = _strip_comment(raw).strip()
        if not line:
            continue
        include = re.match(r"^(?:-r|--requirement)(?:\s+|=)(\S+)", line)
        if include:
            includes.append(include.group(1))
            continue
        requirement, note = parse_requirement_line(line, source)
        if requirement:
            requirements.append(requirement)
        if note:
            notes.append(note)
    return requirements, notes, includes


def conda_spec_to_pep508(spec: str) -> Optional[str]:
    """Convert a conda match spec to a PEP 508 requirement string.

    ``numpy=1.24`` → ``numpy==1.24.*`` (conda's single ``=`` is a prefix match),
    ``numpy==1.24.3`` → ``numpy==1.24.3``, ``numpy=1.24.3=py310h...`` → ``numpy==1.24.3.*``
    (build string dropped), ``numpy 1.24.*`` → ``numpy==1.24.*``, ``numpy>=1.2,<2`` kept,
    ``conda-forge::numpy`` → ``numpy``.

    Args:
        spec: one conda dependency.

    Returns:
        The requirement, or None when the spec cannot be expressed in PEP 508 (``|`` ORs,
        bracket syntax, unparsable names).
    """
    text = _unquote(spec)
    if "::" in text:
        text = text.split("::", 1)[1]
    if "[" in text or "|" in text:
        return None
    match = _CONDA_NAME.match(text)
    if not match:
        return None
    name, rest = match.group(1), match.group(2).strip()
    if not rest:
        result = name
    elif rest.startswith("=="):
        result = f"{name}=={rest[2:].split('=')[0].strip()}"
    elif rest.startswith("="):
        version = rest[1:].split("=")[0].strip()
        if version in ("", "*"):
            result = name  # any version (the rest is a build-string pattern)
        else:
            result = f"{name}=={version}" if version.endswith("*") else f"{name}=={version}.*"
    elif rest[0] in "<>!~":
        result = name + rest.replace(" ", "")
    else:
        version = rest.split()[0]
        result = name + version if version[0] in "<>!~=" else f"{name}=={version}"
    from packaging.requirements import InvalidRequirement, Requirement  # noqa: PLC0415  (startup: packaging costs ~30 ms, only when a requirement is parsed)

    try:
        return str(Requirement(result))
    except InvalidRequirement:
        return None


def _yaml_lines(text: str) -> list[tuple[int, str]]:
    """``(indent, stripped content)`` of the non-empty, non-comment lines of a YAML file."""
    out = []
    for raw in text.splitlines():
        line = _strip_comment(raw.replace("\t", "    ")).rstrip()
        if line.strip() and line.strip() not in ("---", "..."):
            out.append((len(line) - len(line.lstrip(" ")), line.strip()))
    return out


def _flow_list(value: str) -> list[str]:
    inner = value.strip()[1:-1]
    return [_unquote(item) for item in inner.split(",") if item.strip()]


def _yaml_top_level(text: str) -> dict[str, tuple[str, list[tuple[int, str]]]]:
    """Split a YAML file into its top-level keys: ``{key: (inline value, nested lines)}``."""
    sections: dict[str, tuple[str, list[tuple[int, str]]]] = {}
    current: Optional[str] = None
    for indent, content in _yaml_lines(text):
        if indent == 0 and not content.startswith("-") and ":" in content:
            key, _, value = content.partition(":")
            current = _unquote(key)
            sections[current] = (value.strip(), [])
        elif current is not None:
            sections[current][1].append((indent, content))
    return sections


def _yaml_list(inline: str, lines: list[tuple[int, str]]) -> list[tuple[str, list[str]]]:
    """Return the items of a block (or flow) list as ``(item, sub-list items)``.

    A ``- pip:`` item comes back as ``("pip:", [its sub-list])``.
    """
    if inline.startswith("[") and inline.endswith("]"):
        return [(item, []) for item in _flow_list(inline)]
    items: list[tuple[str, list[str]]] = []
    item_indent: Optional[int] = None
    for indent, content in lines:
        if content.startswith("-") and (item_indent is None or indent <= item_indent):
            item_indent = indent
            items.append((_unquote(content[1:].strip()), []))
        elif items and content.startswith("-"):
            items[-1][1].append(_unquote(content[1:].strip()))
    expanded: list[tuple[str, list[str]]] = []
    for item, sub in items:
        key, sep, value = item.partition(":")
        if sep and value.strip().startswith("["):
            expanded.append((key.strip() + ":", _flow_list(value)))
        else:
            expanded.append((item, sub))
    return expanded


def parse_conda_yaml(text: str, source: str) -> tuple[Optional[str], list[str], list[str]]:
    """Parse a conda environment file.

    Args:
        text: the file's text.
        source: the file name, for notes.

    Returns:
        ``(python version pinned by a python spec or None, PEP 508 requirements (the pip
        sub-list first, then the converted conda specs), notes)``.
    """
    sections = _yaml_top_level(text)
    notes: list[str] = []
    python: Optional[str] = None
    pip_requirements: list[str] = []
    conda_requirements: list[str] = []
    if "dependencies" not in sections:
        return None, [], [f"{source}: no dependencies: list"]
    inline, lines = sections["dependencies"]
    for item, sub in _yaml_list(inline, lines):
        if item.rstrip().endswith(":"):
            if item.rstrip(": ").lower() == "pip":
                for line in sub:
                    requirement, note = parse_requirement_line(_strip_comment(line), source)
                    if requirement:
                        pip_requirements.append(requirement)
                    if note:
                        notes.append(note)
            continue
        spec = item.split("::", 1)[-1]
        name_match = _CONDA_NAME.match(spec)
        name = name_match.group(1).lower() if name_match else ""
        if name == "python":
            rest = name_match.group(2).strip() if name_match else ""
            version = normalize_python_version(rest.lstrip("=").split("=")[0].strip())
            if version and not rest.startswith(("<", ">", "!", "~")):
                python = version
            elif rest:
                notes.append(f"{source}: python spec {item!r} is not a version pin")
            continue
        if name in _BUILD_TOOLS:
            continue
        converted = conda_spec_to_pep508(item)
        if converted is None:
            notes.append(f"{source}: conda spec {item!r} not converted")
        else:
            conda_requirements.append(converted)
    return python, pip_requirements + conda_requirements, notes


def parse_python_env(
    text: str, source: str
) -> tuple[Optional[str], list[str], list[str], list[str]]:
    """Parse MLflow's ``python_env.yaml``.

    Args:
        text: the file's text.
        source: the file name, for notes.

    Returns:
        ``(python version or None, requirements from dependencies:, notes, files named by -r)``.
    """
    sections = _yaml_top_level(text)
    notes: list[str] = []
    python: Optional[str] = None
    if "python" in sections:
        value = sections["python"][0]
        python = normalize_python_version(value)
        if python is None and value:
            notes.append(f"{source}: python {value!r} is not a version")
    requirements: list[str] = []
    includes: list[str] = []
    if "dependencies" in sections:
        inline, lines = sections["dependencies"]
        body = "\n".join(item for item, _ in _yaml_list(inline, lines))
        requirements, more_notes, includes = parse_requirements(body, source)
        notes.extend(more_notes)
    return python, requirements, notes, includes


def parse_mlmodel(text: str, source: str) -> tuple[Optional[str], list[str]]:
    """Parse an MLflow ``MLmodel`` file for ``python_version`` and flavor facts.

    Args:
        text: the file's text.
        source: the file name, for notes.

    Returns:
        ``(python version or None, notes naming the versions it records)``.
    """
    notes: list[str] = []
    python: Optional[str] = None
    match = _MLMODEL_PY.search(text)
    if match:
        python = normalize_python_version(match.group(1))
        if python is None:
            notes.append(f"{source}: python_version {match.group(1)!r} is not a version")
    facts = dict.fromkeys(f"{k} {v}" for k, v in _MLMODEL_FACTS.findall(text))
    if facts:
        notes.append(f"{source} records " + ", ".join(facts))
    return python, notes


def parse_version_file(text: str, source: str) -> tuple[Optional[str], list[str]]:
    """Parse ``.python-version`` (``3.10.12``) or ``runtime.txt`` (``python-3.10.12``).

    Args:
        text: the file's text.
        source: the file name, for notes.

    Returns:
        ``(the first line's Python version or None, notes)``.
    """
    for raw in text.splitlines():
        line = _strip_comment(raw).strip()
        if not line:
            continue
        version = normalize_python_version(line)
        if version is None:
            return None, [f"{source}: {line[:40]!r} is not a plain Python version"]
        return version, []
    return None, [f"{source}: empty"]


# --------------------------------------------------------------------------- file search


def _read_text(path: str) -> tuple[Optional[str], Optional[str]]:
    """Return ``(text, None)`` or ``(None, note)``; at most ``MAX_SIDECAR_BYTES`` bytes."""
    name = os.path.basename(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return None, f"{name}: not a regular file, skipped"
        if info.st_size > MAX_SIDECAR_BYTES:
            return None, f"{name}: {info.st_size} bytes, over the {MAX_SIDECAR_BYTES}-byte limit"
        with open_regular(path) as handle:
            data = read_limited(handle, MAX_SIDECAR_BYTES)
    except OSError as exc:
        return None, f"{name}: cannot be read ({exc.strerror or type(exc).__name__})"
    if len(data) > MAX_SIDECAR_BYTES:
        return None, f"{name}: over the {MAX_SIDECAR_BYTES}-byte limit"
    return data.decode("utf-8-sig", errors="replace"), None


def _search_dirs(model_path: str) -> list[str]:
    """Return the directories to look in, nearest first.

    The model's directory (for a directory model: itself and its parent), plus the nearest
    ancestor holding an ``MLmodel`` within ``MLFLOW_SEARCH_LEVELS`` more levels.
    """
    path = os.path.abspath(model_path)
    dirs = [path, os.path.dirname(path)] if os.path.isdir(path) else [os.path.dirname(path)]
    if not any(os.path.isfile(os.path.join(d, MLMODEL)) for d in dirs):
        above = dirs[-1]
        for _ in range(MLFLOW_SEARCH_LEVELS):
            above = os.path.dirname(above)
            if os.path.isfile(os.path.join(above, MLMODEL)):
                dirs.append(above)
                break
    unique: list[str] = []
    for d in dirs:
        if d and d not in unique:
            unique.append(d)
    return unique


def read_sidecars(model_path: str) -> Optional[Sidecar]:
    """Collect the training environment recorded in files beside a model.

    Args:
        model_path: the model file or directory (or checkpoint prefix) as given.

    Returns:
        A :class:`Sidecar` with the files read, the training Python version (MLmodel, then
        python_env.yaml, conda files, ``.python-version``, ``runtime.txt``; disagreements are
        noted) and the PEP 508 requirements (first mention of a project wins, in the order
        requirements.txt, python_env.yaml, conda pip list, conda specs); None when no such
        file exists.  Never raises for bad file contents: problems become notes.
    """
    files: list[str] = []
    notes: list[str] = []
    pythons: list[tuple[str, str]] = []
    ordered: list[list[str]] = [[], [], []]  # requirements.txt, python_env.yaml, conda files
    for directory in _search_dirs(model_path):
        try:
            present = set(os.listdir(directory))
        except OSError:
            continue
        for name in SIDECAR_NAMES:
            if name not in present or any(os.path.basename(f) == name for f in files):
                continue
            full = os.path.join(directory, name)
            text, note = _read_text(full)
            if note:
                notes.append(note)
            if text is None:
                continue
            files.append(full)
            if name == MLMODEL:
                version, more = parse_mlmodel(text, name)
                notes.extend(more)
                if version:
                    pythons.append((name, version))
            elif name == PYTHON_ENV:
                version, reqs, more, includes = parse_python_env(text, name)
                notes.extend(more)
                ordered[1].extend(reqs)
                if version:
                    pythons.append((name, version))
                for include in includes:
                    if os.path.basename(include) not in present:
                        notes.append(f"{name}: -r {include} not found beside it")
            elif name == REQUIREMENTS:
                reqs, more, includes = parse_requirements(text, name)
                notes.extend(more)
                ordered[0].extend(reqs)
                for include in includes:
                    notes.append(f"{name}: -r {include} not followed")
            elif name in CONDA_FILES:
                version, reqs, more = parse_conda_yaml(text, name)
                notes.extend(more)
                ordered[2].extend(reqs)
                if version:
                    pythons.append((name, version))
            else:
                version, more = parse_version_file(text, name)
                notes.extend(more)
                if version:
                    pythons.append((name, version))
    if not files and not notes:
        return None
    python = pythons[0][1] if pythons else None
    for source, version in pythons[1:]:
        if python and not (version.startswith(python) or python.startswith(version)):
            notes.append(f"{source} says Python {version}, {pythons[0][0]} says {python}")
    from packaging.requirements import Requirement  # noqa: PLC0415  (startup: packaging costs ~30 ms, only when a requirement is parsed)
    from packaging.utils import canonicalize_name  # noqa: PLC0415  (startup: packaging only when a requirement is parsed)

    requirements: list[str] = []
    seen: set[str] = set()
    for group in ordered:
        for requirement in group:
            key = canonicalize_name(Requirement(requirement).name)
            if key not in seen:
                seen.add(key)
                requirements.append(requirement)
    return Sidecar(
        files=tuple(files),
        python_version=python,
        requirements=tuple(requirements),
        notes=tuple(dict.fromkeys(notes)),
    )
