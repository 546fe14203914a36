"""reticulate 1.28's order of discovery, ``py_discover_config()``, step by step.

rstudio/reticulate ``R/config.R`` l.157-406 at tag v1.28 (identical, deparsed, to Debian
bookworm's r-cran-reticulate 1.28; ``shared/reference/reticulate-1.28.md``).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Optional

from envdoctor.knowledge.versions import key
from envdoctor.rlang import _places
from envdoctor.rlang._resolver import Binding, _Resolver


def discover(r: _Resolver) -> Binding:
    """Run the 1.28 order for ``r`` (see the module docstring)."""
    env = r.env
    r.step(
        "1", "Python already in this process", "skipped", "only when R runs inside Python (rpy2)"
    )
    if "PYTHON_SESSION_INITIALIZED" in env:
        r.step(
            "2",
            "PYTHON_SESSION_INITIALIZED",
            "skipped",
            "set, but it applies only in the process whose pid it names (an embedding Python)",
        )
    else:
        r.step("2", "PYTHON_SESSION_INITIALIZED", "not set", "")
    for number, var in (("3", "RETICULATE_PYTHON"),):
        if var in env:
            python, exists = _places.normalize_python_path(r, env[var])
            if not exists:
                r.step(number, var, "error", f"{var}={env[var]} does not exist", python)
                return r.failure(
                    f"Python specified in {var} ({env[var]}) does not exist",
                    f"{var} names a path that does not exist, and reticulate stops",
                )
            r.step(number, var, "chosen", f"{var}={env[var]}", python)
            return r.binding(python, var, f"{var} is set: reticulate binds it without checks")
        r.step(number, var, "not set", "")
    var = "RETICULATE_PYTHON_ENV"
    if var in env:
        d = r.expand(env[var])
        if os.path.isdir(os.path.join(d, "conda-meta")) or _places.is_virtualenv(d):
            python = os.path.join(d, "bin", "python")
        elif os.path.exists(os.path.join(d, "python")):
            python = os.path.join(d, "python")
        else:
            r.step("4", var, "error", f"{d} is not an environment")
            return r.failure(
                f"failed to discover Python binary associated with path '{d}'",
                f"{var}={env[var]} is not a virtualenv or conda env (reticulate 1.28 takes "
                "a path here, not a name)",
            )
        if not os.path.exists(python):
            r.step("4", var, "error", f"{python} does not exist", python)
            return r.failure(
                f"Python specified in {var} ({env[var]}) does not exist",
                f"{var} names an environment without an interpreter",
            )
        r.step("4", var, "chosen", f"{var}={env[var]}", python)
        return r.binding(python, var, f"{var} is set: reticulate binds its Python without checks")
    r.step("4", var, "not set", "")
    root = _places.here_root(r.cwd)
    chosen = _project_step(r, "5", "poetry", root)
    if chosen is not None:
        return chosen
    chosen = _project_step(r, "6", "pipenv", root)
    if chosen is not None:
        return chosen
    r.step(
        "7",
        "use_python()/use_virtualenv()/use_condaenv() (required = TRUE)",
        "not visible",
        "a call in your R code before Python starts ranks here, above "
        "RETICULATE_PYTHON_FALLBACK (envdoctor cannot see R code)",
    )
    var = "RETICULATE_PYTHON_FALLBACK"
    if var in env:
        python, exists = _places.normalize_python_path(r, env[var])
        if not exists:
            r.step("8", var, "error", f"{var}={env[var]} does not exist", python)
            return r.failure(
                f"Python specified in {var} ({env[var]}) does not exist",
                f"{var} names a path that does not exist, and reticulate stops",
            )
        r.step("8", var, "chosen", f"{var}={env[var]}", python)
        return r.binding(python, var, f"{var} is set and nothing above it is")
    r.step("8", var, "not set", "")
    return _scan_128(r)


def _project_step(r: _Resolver, number: str, kind: str, root: str) -> Optional[Binding]:
    name = "Poetry project" if kind == "poetry" else "Pipenv project"
    marker = "pyproject.toml" if kind == "poetry" else "Pipfile"
    path = os.path.join(root, marker)
    if not os.path.isfile(path) or (kind == "poetry" and not _places.poetry_project(root)):
        r.step(
            number,
            name,
            "not found",
            f"no {marker}" + (" with [tool.poetry]" if kind == "poetry" else "") + f" in {root}",
        )
        return None
    if not r.which(kind):
        r.step(
            number,
            name,
            "skipped",
            f"{path} found, but '{kind}' is not on PATH (reticulate skips it)",
        )
        return None
    tool = "poetry env info --path" if kind == "poetry" else "pipenv --venv"
    found = _places.project_env(r, kind, root)
    if not found:
        r.step(
            number,
            name,
            "chosen",
            f"{path}: reticulate binds what `{tool}` prints (envdoctor did not find it)",
        )
        return replace(
            r.failure("", f"{name} at {root}: reticulate binds what `{tool}` prints"),
            forced_by="Poetry" if kind == "poetry" else "Pipfile",
        )
    r.step(number, name, "chosen", f"{path}: `{tool}` (found statically)", found[0])
    return r.binding(found[0], "Poetry" if kind == "poetry" else "Pipfile", f"{name} at {root}")


def _scan_128(r: _Resolver) -> Binding:
    module = r.module
    listed: list[tuple[str, str]] = []
    r.step("9.1", "use_python(required = FALSE) hints", "not visible", "only R code can add them")
    root = r.expand(r.env.get("WORKON_HOME") or "~/.virtualenvs")
    venvs = _places.virtualenvs(r, root)
    listed += [(p, f"virtualenv r-reticulate in {root}") for n, p in venvs if n == "r-reticulate"]
    if module:
        names = {module, f"r-{module}"}
        listed += [
            (p, f"virtualenv {n} in {root} (for import('{module}'))")
            for n, p in venvs
            if n in names
        ]
    condas = _places.conda_envs(r)
    listed += [(p, "conda env r-reticulate") for n, p in condas if n == "r-reticulate"]
    if module:
        listed += [(p, f"conda env {n}") for n, p in condas if n in (module, f"r-{module}")]
    mini = _places.miniconda_conda(r)
    if os.path.exists(mini):
        env_name = r.env.get("RETICULATE_MINICONDA_ENVNAME", "r-reticulate")
        envpath = r.env.get("RETICULATE_MINICONDA_PYTHON_ENVPATH") or os.path.join(
            _places.miniconda_path(r), "envs", env_name
        )
        python = os.path.join(r.expand(envpath), "bin", "python")
        made = "" if os.path.exists(python) else " (reticulate creates it first)"
        r.step("9.5", "reticulate's Miniconda", "chosen", f"{mini} exists{made}", python)
        return r.binding(
            python, "miniconda", f"reticulate's Miniconda at {_places.miniconda_path(r)}"
        )
    r.step("9.5", "reticulate's Miniconda", "not found", f"no {mini}")
    conda = _places.find_conda(r)
    if conda:
        r.notes.append(
            f"conda found ({conda}): reticulate also lists its environments and base "
            "Pythons (`conda info`), and creates 'r-reticulate' when it has none; envdoctor "
            "does not run conda"
        )
    for program in ("python3", "python"):
        found = r.which(program)
        if found:
            listed.append((found, f"{program} on PATH"))
    if conda:
        base = os.path.dirname(os.path.dirname(conda))
        listed.append((os.path.join(base, "bin", "python"), "conda base"))
    else:
        for suffix in ("bin/python3", "bin/python"):
            listed += [
                (os.path.join(p, suffix), "fallback location") for p in _places.FALLBACK_PREFIXES
            ]
    listed += [(p, f"virtualenv {n} in {root}") for n, p in venvs]
    listed += [(p, f"conda env {n}") for n, p in condas]
    seen: set[str] = set()
    cands: list[tuple[str, str]] = []
    for python, origin in listed:
        if python in seen or not os.path.exists(python):
            continue
        seen.add(python)
        cands.append((python, origin))
    first_numpy = ""
    for i, (python, origin) in enumerate(cands, start=1):
        probe = r.probe(python)
        label = f"9 #{i}"
        if probe.fails:
            r.step(label, origin, "error", probe.fails, python)
            return r.failure(
                f"Error in python_config_impl(python): {probe.fails}",
                f"while scanning candidates, reticulate probed {python} ({origin}) and its "
                "probe crashed; R stops with this error",
            )
        if not probe.readable:
            r.step(label, origin, "rejected", f"envdoctor could not read it ({probe.note})", python)
            continue
        has_numpy = bool(probe.numpy) and key(probe.numpy) >= (1, 6, 0)
        if has_numpy and not first_numpy:
            first_numpy = python
        ok_module = probe.has_module is not False if module else True
        if has_numpy and ok_module:
            r.step(
                label,
                origin,
                "chosen",
                f"Python {probe.version}, NumPy {probe.numpy}"
                + (f", {module} importable" if module else ""),
                python,
            )
            return r.binding(
                python,
                "scan",
                f"first candidate with NumPy{' and ' + module if module else ''} ({origin})",
            )
        missing = "no NumPy" if not has_numpy else f"no {module}"
        extra = f"; {probe.note}" if probe.note else ""
        r.step(label, origin, "rejected", f"Python {probe.version}, {missing}{extra}", python)
    if first_numpy:
        return r.binding(
            first_numpy,
            "scan",
            f"no candidate has {module}; reticulate takes the first one with NumPy",
        )
    if cands:
        return r.binding(
            cands[0][0],
            "scan",
            f"no candidate has NumPy; reticulate takes the first one listed ({cands[0][1]})",
        )
    return r.failure(
        "Installation of Python not found, Python bindings not loaded.",
        "reticulate found no Python at all",
    )
