"""reticulate >= 1.41's order of discovery, as ``py_discover_config()`` of reticulate 1.46.0.

Source: ``R/config.R`` l.169-433 of reticulate 1.46.0 (``shared/r-src/reticulate_1.46.0.tar.gz``,
tag v1.46.0, commit cf729e97); the ephemeral environment ``python_config_ephemeral_uv_venv()``
l.435-447 and ``uv_get_or_create_env()`` in ``R/py_require.R`` l.700-851; ``py_resolve()`` in
``R/install.R`` l.175-217; the delay-load environments registered by ``import(..., delay_load
= list(environment = ...))`` in ``R/import.R`` l.132-158 (sorted by ``priority``, highest
first).  The steps, in order (each ``try(return(python_config(...)))``: an interpreter that
does not run is passed over and the next step is tried):

0. before any of them, the R packages' ``.onLoad`` copy ``TENSORFLOW_PYTHON`` (tensorflow
   2.20.0 ``R/package.R`` ``.onLoad``) and then ``KERAS_PYTHON`` (keras3 1.2.0 ``R/package.R``
   ``.onLoad``, which loads tensorflow first) into ``RETICULATE_PYTHON``: when they are set,
   they overwrite whatever an ``.Rprofile`` put there
1. ``RETICULATE_PYTHON`` (``managed``: the ephemeral uv environment at once)
2. ``RETICULATE_PYTHON_ENV`` (a name or path; stops R when it names nothing)
3. ``use_python(..., required = TRUE)`` (R code; not visible statically)
4. ``RETICULATE_USE_MANAGED_VENV`` true: the ephemeral environment
5. ``VIRTUAL_ENV`` when it is a virtualenv
6. a Poetry project, 7. a Pipenv project (``here::here()`` root)
8. ``./venv``, ``./virtualenv``, ``./.venv``, ``./.virtualenv``
9. the delay-load environments of the R packages loaded: keras3 1.2.0 ``r-keras``
   (priority 10, ``R/package.R`` l.64-70), tensorflow 2.20.0 ``r-tensorflow`` then ``r-keras``
   (priority 5, ``R/package.R`` l.78-86)
10. ``use_python(..., required = FALSE)`` (R code; not visible)
11. ``r-<module>`` for the required module and every delay-load module
12. ``RETICULATE_PYTHON_FALLBACK``
13. a virtualenv named ``r-reticulate``
14. the ephemeral uv environment from ``py_require()`` unless
    ``RETICULATE_USE_MANAGED_VENV`` is false/0/no
15. ``python3``, ``python`` on PATH (first with NumPy and the module, else first with NumPy)

Checked against real R with reticulate 1.46.0 by ``tests/live/test_r_live.py``.
"""

from __future__ import annotations

import os
from typing import Optional

from envdoctor.rlang import _places
from envdoctor.rlang._order128 import _project_step
from envdoctor.rlang._resolver import Binding, _Resolver

DELAY_LOAD = (
    # (R package, module, priority, environments) -- keras3 1.2.0 R/package.R l.64-70,
    # tensorflow 2.20.0 R/package.R l.78-86 (r-keras only with reticulate >= 1.36).
    ("keras3", "keras", 10, ("r-keras",)),
    ("tensorflow", "tensorflow", 5, ("r-tensorflow", "r-keras")),
)
"""What the R packages register with ``import(..., delay_load = ...)`` when they load."""

FORWARDED = (
    # (R package, variable): .onLoad does Sys.setenv(RETICULATE_PYTHON = <variable>) when the
    # variable is set -- tensorflow 2.20.0 R/package.R .onLoad l.60-63, keras3 1.2.0
    # R/package.R .onLoad l.59-62 (after requireNamespace("tensorflow"), so keras3's wins).
    ("tensorflow", "TENSORFLOW_PYTHON"),
    ("keras3", "KERAS_PYTHON"),
)
"""Variables the R packages copy into ``RETICULATE_PYTHON`` when they load, in load order."""

MANAGED_TRUE = ("true", "1", "yes")
MANAGED_FALSE = ("false", "0", "no")


def _virtualenv_root(r: _Resolver) -> str:
    return r.expand(
        r.env.get("RETICULATE_VIRTUALENV_ROOT") or r.env.get("WORKON_HOME") or "~/.virtualenvs"
    )


def _py_resolve(r: _Resolver, value: str, *, virtualenv_only: bool = False) -> str:
    """``py_resolve()``: a path when it has a slash, else a virtualenv, else a conda env."""
    if "/" in value or "\\" in value:
        d = r.expand(value)
    else:
        d = os.path.join(_virtualenv_root(r), value)
        if not os.path.exists(d):
            if virtualenv_only:
                return ""
            named = [p for n, p in _places.conda_envs(r) if n == value]
            return named[0] if named else ""
    if os.path.isfile(d):
        return d
    python = os.path.join(d, "bin", "python")
    return python if os.path.exists(python) else ""


def _runs(r: _Resolver, python: str) -> bool:
    """Whether ``python_config(python)`` succeeds: the interpreter exists and can be read."""
    return bool(python) and os.path.exists(python) and r.read(python) is not None


def delay_loads(r: _Resolver) -> list[tuple[str, str]]:
    """``(module, environment)`` rows of ``.globals$delay_load_imports``, highest priority first.

    Taken from the R packages installed (keras3, tensorflow): envdoctor assumes the session
    loads them before Python starts, as ``library(keras3)`` does.
    """
    rows: list[tuple[int, str, str]] = []
    for package, module, priority, envs in DELAY_LOAD:
        if package in r.r_packages:
            rows.extend((priority, module, e) for e in envs)
    rows.sort(key=lambda t: -t[0])  # order(priority, decreasing = TRUE) is stable
    return [(m, e) for _p, m, e in rows]


def forwarded(r: _Resolver) -> tuple[str, str, str]:
    """``(R package, variable, value)`` that will overwrite ``RETICULATE_PYTHON`` on load.

    The last of :data:`FORWARDED` whose package is installed and whose variable is set
    (envdoctor assumes the session loads the package, as ``library(keras3)`` does);
    ``("", "", "")`` when none.
    """
    out = ("", "", "")
    for package, variable in FORWARDED:
        value = r.env.get(variable)
        if value is not None and package in r.r_packages:
            out = (package, variable, value)
    return out


def _ephemeral(r: _Resolver, number: str, why: str) -> Binding:
    r.step(number, "ephemeral uv environment", "chosen", "built from py_require() by uv")
    return r.ephemeral(why)


def _try(  # noqa: PLR0917 (one positional per Step/Binding field, like r.step)
    r: _Resolver, number: str, name: str, python: str, forced_by: str, reason: str, detail: str
) -> Optional[Binding]:
    if _runs(r, python):
        r.step(number, name, "chosen", detail, python)
        return r.binding(python, forced_by, reason)
    r.step(number, name, "rejected", f"{detail}: the interpreter does not run", python)
    return None


def discover(r: _Resolver) -> Binding:
    """Run reticulate 1.46's ``py_discover_config()`` for ``r`` (see the module docstring)."""
    package, variable, forced_value = forwarded(r)
    if variable:
        r.env = {**r.env, "RETICULATE_PYTHON": forced_value}
        r.step(
            "0", variable, "forwarded",
            f"the R package {package} copies {variable}={forced_value} into RETICULATE_PYTHON "
            "when it loads",
        )
    env = r.env
    value = env.get("RETICULATE_PYTHON")
    if value is not None:
        if value.strip() == "managed":
            r.step("1", "RETICULATE_PYTHON", "chosen", "'managed': the ephemeral uv environment")
            return r.ephemeral("RETICULATE_PYTHON=managed")
        python, exists = _places.normalize_python_path(r, value)
        if not exists:
            r.step("1", "RETICULATE_PYTHON", "error", f"{value} does not exist", python)
            return r.failure(
                f"Python specified in RETICULATE_PYTHON ({value}) does not exist",
                "RETICULATE_PYTHON names a path that does not exist",
            )
        why = (
            f"{variable} is set ({package} copies it into RETICULATE_PYTHON when it loads)"
            if variable
            else "RETICULATE_PYTHON is set"
        )
        found = _try(
            r, "1", "RETICULATE_PYTHON", python, "RETICULATE_PYTHON", why,
            f"RETICULATE_PYTHON={value}",
        )
        if found is not None:
            return found
    else:
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
        found = _try(
            r, "2", "RETICULATE_PYTHON_ENV", python, "RETICULATE_PYTHON_ENV",
            "RETICULATE_PYTHON_ENV is set", f"RETICULATE_PYTHON_ENV={value}",
        )
        if found is not None:
            return found
    else:
        r.step("2", "RETICULATE_PYTHON_ENV", "not set", "")
    r.step(
        "3",
        "use_python()/use_virtualenv() (required = TRUE)",
        "not visible",
        "a call in R code before Python starts ranks here (envdoctor cannot see R code)",
    )
    if env.get("RETICULATE_USE_MANAGED_VENV", "").strip().lower() in MANAGED_TRUE:
        return _ephemeral(r, "4", "RETICULATE_USE_MANAGED_VENV is true")
    r.step("4", "RETICULATE_USE_MANAGED_VENV", "not set", "")
    venv = env.get("VIRTUAL_ENV")
    if venv and _places.is_virtualenv(r.expand(venv)):
        python = os.path.join(r.expand(venv), "bin", "python")
        found = _try(
            r, "5", "VIRTUAL_ENV", python, "VIRTUAL_ENV", "an activated virtual environment",
            f"VIRTUAL_ENV={venv}",
        )
        if found is not None:
            return found
    else:
        r.step("5", "VIRTUAL_ENV", "not set" if not venv else "not found", venv or "")
    root = _places.here_root(r.cwd)
    for number, kind in (("6", "poetry"), ("7", "pipenv")):
        chosen = _project_step(r, number, kind, root)
        if chosen is not None:
            return chosen
    for sub in ("venv", "virtualenv", ".venv", ".virtualenv"):
        d = os.path.join(r.cwd, sub)
        if os.path.isdir(d) and _places.is_virtualenv(d):
            found = _try(
                r, "8", f"./{sub}", os.path.join(d, "bin", "python"),
                f"'./{sub}' existing in the current working directory",
                f"./{sub} in the working directory", f"a virtual environment in {r.cwd}",
            )
            if found is not None:
                return found
    r.step("8", "./venv, ./.venv, ...", "not found", f"none in {r.cwd}")
    rows = delay_loads(r)
    forced = f'import("{r.module}")'
    for _module, envname in rows:
        python = _py_resolve(r, envname)
        if not python:
            r.step("9", f"delay-load environment {envname}", "not found", "")
            continue
        found = _try(
            r, "9", f"delay-load environment {envname}", python, forced,
            f"the R package that imports {r.module or 'Python'} names {envname}, and it exists",
            "registered by " + ", ".join(
                p for p, _m, _pr, e in DELAY_LOAD if envname in e and p in r.r_packages
            ),
        )
        if found is not None:
            return found
    if not rows:
        r.step("9", "delay-load environments", "not found", "neither keras3 nor tensorflow (R)")
    r.step("10", "use_python(required = FALSE)", "not visible", "only R code can say")
    for module in [m for m in (r.module, *(m for m, _e in rows)) if m]:
        python = _py_resolve(r, f"r-{module}")
        if not python:
            r.step("11", f"r-{module}", "not found", "")
            continue
        found = _try(
            r, "11", f"r-{module}", python, forced,
            f"import('{module}') and r-{module} exists", f"an environment named r-{module}",
        )
        if found is not None:
            return found
    value = env.get("RETICULATE_PYTHON_FALLBACK")
    if value is not None:
        python, exists = _places.normalize_python_path(r, value)
        if not exists:
            r.step("12", "RETICULATE_PYTHON_FALLBACK", "error", f"{value} does not exist", python)
            return r.failure(
                f"Python specified in RETICULATE_PYTHON_FALLBACK ({value}) does not exist",
                "RETICULATE_PYTHON_FALLBACK names a path that does not exist",
            )
        found = _try(
            r, "12", "RETICULATE_PYTHON_FALLBACK", python, "RETICULATE_PYTHON_FALLBACK",
            "RETICULATE_PYTHON_FALLBACK is set and nothing above it is", f"={value}",
        )
        if found is not None:
            return found
    else:
        r.step("12", "RETICULATE_PYTHON_FALLBACK", "not set", "")
    python = _py_resolve(r, "r-reticulate", virtualenv_only=True)
    if python:
        found = _try(
            r, "13", "r-reticulate", python, "", "the r-reticulate virtualenv exists",
            "the virtualenv r-reticulate",
        )
        if found is not None:
            return found
    else:
        r.step("13", "r-reticulate", "not found", "")
    if env.get("RETICULATE_USE_MANAGED_VENV", "").strip().lower() not in MANAGED_FALSE:
        return _ephemeral(r, "14", "nothing earlier applies")
    r.step("14", "ephemeral uv environment", "skipped", "RETICULATE_USE_MANAGED_VENV is off")
    pythons: list[str] = []
    for program in ("python3", "python"):
        found_path = r.which(program)
        if found_path and found_path not in pythons:
            pythons.append(found_path)
    first_numpy = ""
    for python in pythons:
        probe = r.probe(python)
        if not probe.readable:
            r.step("15", "PATH", "rejected", "could not be read", python)
            continue
        if probe.numpy and not first_numpy:
            first_numpy = python
        if probe.numpy and probe.has_module is not False:
            r.step("15", "PATH", "chosen", "NumPy and the module", python)
            return r.binding(python, "PATH", "python3/python on PATH")
        r.step("15", "PATH", "candidate", "no NumPy or no module", python)
    if first_numpy or pythons:
        python = first_numpy or pythons[0]
        return r.binding(python, "PATH", "python3/python on PATH (none has the module)")
    return r.failure(
        "Installation of Python not found, Python bindings not loaded.", "no Python found"
    )
