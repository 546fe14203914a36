"""reticulate >= 1.41's documented order of discovery.

https://rstudio.github.io/reticulate/articles/versions.html#order-of-discovery
(``vignettes/versions.Rmd``; compat-facts §4.1).  Not verified on this machine, which has
reticulate 1.28.
"""

from __future__ import annotations

import os

from envdoctor.rlang import _places
from envdoctor.rlang._order128 import _project_step
from envdoctor.rlang.reticulate import Binding, _Resolver


def _py_resolve(r: _Resolver, value: str) -> str:
    """``py_resolve()``: a path when it has a slash, else a virtualenv, else a conda env."""
    if "/" in value or "\\" in value:
        d = r.expand(value)
    else:
        root = r.expand(
            r.env.get("RETICULATE_VIRTUALENV_ROOT") or r.env.get("WORKON_HOME") or "~/.virtualenvs"
        )
        d = os.path.join(root, value)
        if not os.path.isdir(d):
            named = [p for n, p in _places.conda_envs(r) if n == value]
            return named[0] if named else ""
    python = os.path.join(d, "bin", "python")
    return python if os.path.exists(python) else ""


def discover(r: _Resolver) -> Binding:
    """Run the documented order for ``r`` (see the module docstring)."""
    env = r.env
    value = env.get("RETICULATE_PYTHON")
    if value is not None:
        if value.strip().lower() == "managed":
            r.step("1", "RETICULATE_PYTHON", "chosen", "'managed': an ephemeral uv environment")
            return r.failure(
                "",
                "RETICULATE_PYTHON=managed: reticulate builds an ephemeral uv "
                "environment from py_require() (not predictable statically)",
            )
        python, exists = _places.normalize_python_path(r, value)
        if not exists:
            r.step("1", "RETICULATE_PYTHON", "error", f"{value} does not exist", python)
            return r.failure(
                f"Python specified in RETICULATE_PYTHON ({value}) does not exist",
                "RETICULATE_PYTHON names a path that does not exist",
            )
        r.step("1", "RETICULATE_PYTHON", "chosen", f"RETICULATE_PYTHON={value}", python)
        return r.binding(python, "RETICULATE_PYTHON", "RETICULATE_PYTHON is set")
    r.step("1", "RETICULATE_PYTHON", "not set", "")
    value = env.get("RETICULATE_PYTHON_ENV")
    if value is not None:
        python = _py_resolve(r, value)
        if not python:
            r.step("2", "RETICULATE_PYTHON_ENV", "error", f"{value} not found")
            return r.failure(
                f"Python specified in RETICULATE_PYTHON_ENV ({value}) does not exist",
                "RETICULATE_PYTHON_ENV names no environment",
            )
        r.step("2", "RETICULATE_PYTHON_ENV", "chosen", f"RETICULATE_PYTHON_ENV={value}", python)
        return r.binding(python, "RETICULATE_PYTHON_ENV", "RETICULATE_PYTHON_ENV is set")
    r.step("2", "RETICULATE_PYTHON_ENV", "not set", "")
    r.step("3", "use_python() (required = TRUE)", "not visible", "only R code can say")
    if env.get("RETICULATE_USE_MANAGED_VENV", "").strip().lower() in ("true", "1", "yes"):
        r.step("4", "RETICULATE_USE_MANAGED_VENV", "chosen", "an ephemeral uv environment")
        return r.failure(
            "",
            "RETICULATE_USE_MANAGED_VENV is on: an ephemeral uv environment "
            "from py_require() (not predictable statically)",
        )
    r.step("4", "RETICULATE_USE_MANAGED_VENV", "not set", "")
    if env.get("VIRTUAL_ENV"):
        python = os.path.join(r.expand(env["VIRTUAL_ENV"]), "bin", "python")
        if os.path.exists(python):
            r.step("5", "VIRTUAL_ENV", "chosen", f"VIRTUAL_ENV={env['VIRTUAL_ENV']}", python)
            return r.binding(python, "VIRTUAL_ENV", "an activated virtual environment")
        r.step("5", "VIRTUAL_ENV", "not found", f"no {python}")
    else:
        r.step("5", "VIRTUAL_ENV", "not set", "")
    for number, kind in (("6", "poetry"), ("7", "pipenv")):
        chosen = _project_step(r, number, kind, r.cwd)
        if chosen is not None:
            return chosen
    for sub in ("venv", "virtualenv", ".venv", ".virtualenv"):
        d = os.path.join(r.cwd, sub)
        if _places.is_virtualenv(d) and os.path.exists(os.path.join(d, "bin", "python")):
            python = os.path.join(d, "bin", "python")
            r.step("8", f"./{sub}", "chosen", f"a virtual environment in {r.cwd}", python)
            return r.binding(python, "project venv", f"./{sub} in the working directory")
    r.step("8", "./venv, ./.venv, ...", "not found", f"none in {r.cwd}")
    r.step(
        "9-10",
        "delay_load environments, use_python(required = FALSE)",
        "not visible",
        "only R code can say (keras3 names 'r-keras', tensorflow 'r-tensorflow')",
    )
    if r.module:
        python = _py_resolve(r, f"r-{r.module}")
        if python:
            r.step("11", f"r-{r.module}", "chosen", f"an environment named r-{r.module}", python)
            return r.binding(
                python, f"r-{r.module}", f"import('{r.module}') and r-{r.module} exists"
            )
        r.step("11", f"r-{r.module}", "not found", "")
    value = env.get("RETICULATE_PYTHON_FALLBACK")
    if value is not None:
        python, exists = _places.normalize_python_path(r, value)
        if exists:
            r.step("12", "RETICULATE_PYTHON_FALLBACK", "chosen", f"={value}", python)
            return r.binding(
                python, "RETICULATE_PYTHON_FALLBACK", "RETICULATE_PYTHON_FALLBACK is set"
            )
        r.step("12", "RETICULATE_PYTHON_FALLBACK", "error", f"{value} does not exist", python)
        return r.failure(
            f"Python specified in RETICULATE_PYTHON_FALLBACK ({value}) does not exist",
            "RETICULATE_PYTHON_FALLBACK names a path that does not exist",
        )
    r.step("12", "RETICULATE_PYTHON_FALLBACK", "not set", "")
    python = _py_resolve(r, "r-reticulate")
    if python:
        r.step("13", "r-reticulate", "chosen", "the virtualenv r-reticulate", python)
        return r.binding(python, "r-reticulate", "the r-reticulate virtualenv exists")
    r.step("13", "r-reticulate", "not found", "")
    if env.get("RETICULATE_USE_MANAGED_VENV", "").strip().lower() not in ("no", "false", "0"):
        r.step("14", "ephemeral uv environment", "chosen", "py_require()")
        return r.failure(
            "",
            "nothing earlier applies: reticulate builds an ephemeral uv "
            "environment from py_require() (not predictable statically)",
        )
    for program in ("python3", "python"):
        found = r.which(program)
        if found:
            r.step("15", f"{program} on PATH", "chosen", "", found)
            return r.binding(found, "PATH", f"{program} on PATH")
    return r.failure(
        "Installation of Python not found, Python bindings not loaded.", "no Python found"
    )
