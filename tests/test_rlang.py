"""The R side without R: DESCRIPTION reading, reticulate's order of discovery, R checks, R code.

Everything outside is planted in a temporary directory: an R_HOME with ``library/base``,
``etc/Renviron`` and R packages' DESCRIPTION files; virtualenvs as directories with a
``bin/python`` file, a ``pyvenv.cfg`` and a ``site-packages``.  reticulate's probe is
replaced by a reader that returns hand-made environments, so nothing is run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest

from envdoctor.checks import r_session, run_checks
from envdoctor.rlang import context, explain, facts, rcode, which_cache
from envdoctor.rlang.r_packages import (
    apply_renviron,
    parse_dcf,
    parse_requirements,
    r_version_satisfies,
    read_r_install,
)
from envdoctor.rlang.reticulate import Binding, probe_bug_applies, resolve, shared_libpython
from envdoctor.types import (
    CustomObject,
    Environment,
    InputSpec,
    ModelFormat,
    ModelInfo,
    Package,
)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture(autouse=True)
def _fresh_context() -> Iterator[None]:
    context.reset()
    yield
    context.reset()


# ------------------------------------------------------------------ planting helpers


def description(lib: Path, name: str, version: str, **fields: str) -> Path:
    d = lib / name
    d.mkdir(parents=True, exist_ok=True)
    lines = [f"Package: {name}", f"Version: {version}", "Title: test"]
    lines += [f"{k}: {v}" for k, v in fields.items()]
    (d / "DESCRIPTION").write_text("\n".join(lines) + "\n")
    return d


def r_home(tmp_path: Path, version: str = "4.2.2", renviron: str = "") -> Path:
    home = tmp_path / "R"
    base = home / "library" / "base"
    base.mkdir(parents=True)
    (base / "DESCRIPTION").write_text(
        f"Package: base\nVersion: {version}\nBuilt: R {version}; ; 2023-01-20; unix\n"
    )
    (home / "etc").mkdir()
    (home / "etc" / "Renviron").write_text(
        renviron
        or "R_PLATFORM=${R_PLATFORM-'x86_64-pc-linux-gnu'}\n"
        "R_LIBS_USER=${R_LIBS_USER:-'%U'}\n"
        "R_LIBS_SITE=${R_LIBS_SITE:-'%S'}\n"
    )
    (home / "site-library").mkdir()
    return home


def fake_r_on_path(tmp_path: Path, home: Path) -> Path:
    bindir = tmp_path / "rbin"
    bindir.mkdir()
    script = bindir / "R"
    script.write_text(f"#!/bin/bash\nR_HOME_DIR={home}\nexec true\n")
    script.chmod(0o755)
    return bindir


def plant_env(
    root: Path,
    name: str,
    version: str = "3.11.7",
    *,
    numpy: Optional[str] = "1.26.4",
    keras: Optional[str] = None,
    tensorflow: Optional[str] = None,
    shared: Optional[bool] = None,
) -> Environment:
    prefix = root / name
    bindir = prefix / "bin"
    bindir.mkdir(parents=True)
    python = bindir / "python"
    python.write_text("#!/bin/sh\nexit 0\n")
    python.chmod(0o755)
    xy = ".".join(version.split(".")[:2])
    site = prefix / "lib" / f"python{xy}" / "site-packages"
    site.mkdir(parents=True)
    packages: dict[str, Package] = {}
    for dist, ver in (("numpy", numpy), ("keras", keras), ("tensorflow", tensorflow)):
        if ver:
            (site / dist).mkdir()
            (site / dist / "__init__.py").write_text("")
            packages[dist] = Package(dist, ver, location=str(site))
    if shared is not None:  # a self-contained base install: lib/pythonX.Y and maybe libpython
        (prefix / "lib" / f"python{xy}" / "os.py").write_text("")
        if shared:
            (prefix / "lib" / f"libpython{xy}.so.1.0").write_text("")
    else:
        (prefix / "pyvenv.cfg").write_text(f"home = /nonexistent/bin\nversion_info = {version}\n")
    return Environment(
        python=str(python),
        prefix=str(prefix),
        kind="venv",
        manager="pip",
        python_version=version,
        site_packages=(str(site),),
        packages=packages,
    )


class Machine:
    """A planted HOME with envs, and a reader that returns them without running anything."""

    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.cwd = tmp_path / "work"
        self.cwd.mkdir()
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.envs: dict[str, Environment] = {}

    def venv(self, name: str, **kw: object) -> Environment:
        env = plant_env(self.home / ".virtualenvs", name, **kw)  # type: ignore[arg-type]
        self.envs[env.python] = env
        return env

    def other(self, root: Path, name: str, **kw: object) -> Environment:
        env = plant_env(root, name, **kw)  # type: ignore[arg-type]
        self.envs[env.python] = env
        return env

    def on_path(self, env: Environment, program: str = "python3") -> None:
        link = self.bin / program
        link.symlink_to(env.python)
        self.envs[str(link)] = env

    def reader(self, python: str) -> Optional[Environment]:
        return self.envs.get(python) or self.envs.get(os.path.realpath(python))

    def environ(self, **extra: str) -> dict[str, str]:
        env = {"HOME": str(self.home), "PATH": str(self.bin)}
        env.update(extra)
        return env

    def resolve(
        self,
        version: str = "1.28",
        module: str = "keras",
        r_packages: Optional[dict[str, str]] = None,
        **extra: str,
    ) -> Binding:
        return resolve(
            self.environ(**extra),
            str(self.cwd),
            home=str(self.home),
            required_module=module,
            reticulate_version=version,
            reader=self.reader,
            r_packages=r_packages or {},
        )


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


# ------------------------------------------------------------------ DESCRIPTION / R_HOME


def test_parse_dcf_joins_continuation_lines() -> None:
    text = (
        "Package: keras3\nVersion: 1.5.1\nImports: reticulate (>= 1.42.0),\n"
        "    tensorflow (>= 2.16.0), R6\n\nPackage: other\n"
    )
    dcf = parse_dcf(text)
    assert dcf["Version"] == "1.5.1"
    assert parse_requirements(dcf["Imports"]) == (
        ("reticulate", ">= 1.42.0"),
        ("tensorflow", ">= 2.16.0"),
        ("R6", ""),
    )
    assert parse_requirements("R (>= 3.5), methods") == (("methods", ""),)


def test_r_version_satisfies() -> None:
    assert r_version_satisfies("1.28", ">= 1.42.0") is False
    assert r_version_satisfies("1.42.1", ">= 1.42.0") is True
    assert r_version_satisfies("2.16.0", "") is True
    assert r_version_satisfies("junk", ">= 1") is None


def test_renviron_overrides_and_expands() -> None:
    env = {"R_LIBS_SITE": "/already", "KEEP": "x"}
    apply_renviron(
        "# comment\n"
        "R_LIBS_USER=${R_LIBS_USER:-'%U'}\n"
        'R_LIBS_SITE="/usr/local/lib/R/site-library/:${R_LIBS_SITE}:/usr/lib/R/library"\n'
        "RETICULATE_PYTHON=/opt/py/bin/python\n"
        "EMPTY_DEFAULT=${NOPE-fallback}\n"
        "not a line\n",
        env,
    )
    assert env["R_LIBS_USER"] == "%U"
    assert env["R_LIBS_SITE"] == "/usr/local/lib/R/site-library/:/already:/usr/lib/R/library"
    assert env["RETICULATE_PYTHON"] == "/opt/py/bin/python"
    assert env["EMPTY_DEFAULT"] == "fallback"
    assert env["KEEP"] == "x"


def test_library_paths_and_first_found_wins(tmp_path: Path) -> None:
    home_r = r_home(tmp_path)
    user_home = tmp_path / "u"
    user_lib = user_home / "R" / "x86_64-pc-linux-gnu-library" / "4.2"
    description(home_r / "site-library", "reticulate", "1.28", Imports="Rcpp (>= 1.0.7)")
    description(user_lib, "reticulate", "1.35.0")
    description(
        user_lib, "keras3", "1.5.1", Imports="reticulate (>= 1.42.0), tensorflow (>= 2.16.0)"
    )
    environ = {"PATH": str(fake_r_on_path(tmp_path, home_r)), "HOME": str(user_home)}
    inst = read_r_install(environ, cwd=str(tmp_path), home=str(user_home))
    assert inst.r_home == str(home_r)
    assert inst.r_version == "4.2.2"
    assert inst.platform == "x86_64-pc-linux-gnu"
    assert [p.origin for p in inst.lib_paths] == ["R_LIBS_USER", "R_LIBS_SITE", ".Library"]
    assert inst.lib_paths[0].path == str(user_lib)
    assert inst.version_of("reticulate") == "1.35.0"  # R_LIBS_USER before the site library
    assert inst.packages["keras3"].requires[0] == ("reticulate", ">= 1.42.0")
    assert "jsonlite" not in inst.packages


def test_user_renviron_and_r_libs(tmp_path: Path) -> None:
    home_r = r_home(tmp_path)
    user_home = tmp_path / "u"
    user_home.mkdir()
    extra = tmp_path / "extra-lib"
    description(extra, "keras", "2.15.0")
    (user_home / ".Renviron").write_text(f"R_LIBS={extra}\nRETICULATE_PYTHON=~/py/bin/python\n")
    environ = {"PATH": str(fake_r_on_path(tmp_path, home_r)), "HOME": str(user_home)}
    inst = read_r_install(environ, cwd=str(tmp_path), home=str(user_home))
    assert inst.lib_paths[0].origin == "R_LIBS"
    assert inst.version_of("keras") == "2.15.0"
    assert inst.environ["RETICULATE_PYTHON"] == "~/py/bin/python"


def test_under_r_the_variables_are_already_r_s(tmp_path: Path) -> None:
    home_r = r_home(tmp_path, renviron="R_LIBS_USER=/should/not/apply\n")
    lib = tmp_path / "mylib"
    description(lib, "reticulate", "1.41.0")
    inst = read_r_install(
        {"R_HOME": str(home_r), "R_LIBS_USER": str(lib), "HOME": str(tmp_path)},
        cwd=str(tmp_path),
    )
    assert inst.lib_paths[0].path == str(lib)
    assert inst.version_of("reticulate") == "1.41.0"


def test_no_r_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("envdoctor.rlang.r_packages.R_HOME_GUESSES", ())
    inst = read_r_install({"PATH": str(tmp_path), "HOME": str(tmp_path)})
    assert inst.r_home == ""
    assert inst.notes


# ------------------------------------------------------------------ reticulate 1.28 order


def test_reticulate_python_wins_without_checks(machine: Machine) -> None:
    env = machine.venv("anything", numpy=None)
    machine.venv("r-keras", keras="3.5.0")
    b = machine.resolve(RETICULATE_PYTHON=env.python)
    assert b.python == env.python and b.forced_by == "RETICULATE_PYTHON" and not b.error
    assert any("no NumPy" in n for n in b.notes)
    assert [s.outcome for s in b.steps][-1] == "chosen"


def test_reticulate_python_missing_is_an_error(machine: Machine) -> None:
    b = machine.resolve(RETICULATE_PYTHON="/nope/python")
    assert b.error == "Python specified in RETICULATE_PYTHON (/nope/python) does not exist"
    assert not b.python


def test_reticulate_python_directory_means_dir_python(machine: Machine) -> None:
    env = machine.venv("v")
    b = machine.resolve(RETICULATE_PYTHON=str(Path(env.python).parent))
    assert b.python == env.python


def test_reticulate_python_env_is_a_path_in_1_28(machine: Machine) -> None:
    env = machine.venv("r-keras", keras="3.5.0")
    b = machine.resolve(RETICULATE_PYTHON_ENV=env.prefix)
    assert b.python == env.python and b.forced_by == "RETICULATE_PYTHON_ENV"
    bad = machine.resolve(RETICULATE_PYTHON_ENV="r-keras")  # a name: 1.28 takes it as a path
    assert bad.error.startswith("failed to discover Python binary")


def test_fallback_only_when_nothing_above(machine: Machine) -> None:
    good = machine.venv("good", keras="3.5.0")
    other = machine.venv("other", keras="3.5.0")
    b = machine.resolve(RETICULATE_PYTHON_FALLBACK=good.python)
    assert b.python == good.python and b.forced_by == "RETICULATE_PYTHON_FALLBACK"
    both = machine.resolve(RETICULATE_PYTHON=other.python, RETICULATE_PYTHON_FALLBACK=good.python)
    assert both.python == other.python


def test_scan_prefers_r_reticulate_then_r_module_then_path(machine: Machine) -> None:
    path_env = machine.other(machine.home / "elsewhere", "p", keras="3.5.0")
    machine.on_path(path_env)
    r_keras = machine.venv("r-keras", keras="3.5.0")
    b = machine.resolve()
    assert b.python == r_keras.python and b.forced_by == "scan"
    r_ret = machine.venv("r-reticulate", keras="3.5.0")
    assert machine.resolve().python == r_ret.python


def test_scan_skips_candidates_without_numpy_or_module(machine: Machine) -> None:
    no_numpy = machine.other(machine.home / "a", "x", numpy=None, keras="3.5.0")
    machine.on_path(no_numpy)
    plain = machine.venv("aaa-plain")  # numpy, no keras: listed last (every virtualenv)
    with_keras = machine.venv("zzz", keras="3.5.0")
    b = machine.resolve()
    assert b.python == with_keras.python
    rejected = [s for s in b.steps if s.outcome == "rejected"]
    assert {s.python for s in rejected} >= {str(machine.bin / "python3"), plain.python}
    # without keras anywhere: the first candidate with NumPy
    b2 = machine.resolve(module="tensorflow")
    assert b2.python == plain.python
    assert "first one with NumPy" in b2.reason


def test_scan_without_numpy_takes_the_first(machine: Machine) -> None:
    env = machine.other(machine.home / "a", "x", numpy=None)
    machine.on_path(env)
    b = machine.resolve()
    assert b.python == str(machine.bin / "python3")
    assert "no candidate has NumPy" in b.reason


def test_python_312_probe_crash_stops_r(machine: Machine) -> None:
    jax = machine.venv("r-keras", version="3.12.1", keras="3.15.1")
    b = machine.resolve()
    assert b.error.startswith("Error in python_config_impl(python): Error 1 occurred running")
    assert jax.python in b.error
    fixed = machine.resolve(version="1.34.0")
    assert fixed.python == jax.python and not fixed.error
    forced = machine.resolve(RETICULATE_PYTHON=jax.python)
    assert forced.error and "imp" in forced.error


def test_probe_bug_and_numpy2_rules() -> None:
    assert probe_bug_applies("1.28", "3.12.1")
    assert probe_bug_applies("", "3.13.0")  # unknown reticulate: 1.28 assumed
    assert not probe_bug_applies("1.28", "3.11.7")
    assert not probe_bug_applies("1.34.0", "3.12.1")
    from envdoctor.rlang.reticulate import numpy2_unconverted

    assert numpy2_unconverted("1.28", "2.4.6")
    assert not numpy2_unconverted("1.38.0", "2.4.6")
    assert not numpy2_unconverted("1.28", "1.26.4")


def test_poetry_project_without_poetry_is_skipped(machine: Machine) -> None:
    (machine.cwd / ".git").mkdir()
    (machine.cwd / "pyproject.toml").write_text('[tool.poetry]\nname = "x"\n')
    env = machine.venv("r-keras", keras="3.5.0")
    b = machine.resolve()
    step = next(s for s in b.steps if s.name == "Poetry project")
    assert step.outcome == "skipped" and "not on PATH" in step.detail
    assert b.python == env.python


def test_pipenv_project_with_pipenv_binds_its_env(machine: Machine) -> None:
    (machine.cwd / "Pipfile").write_text("[packages]\n")
    (machine.bin / "pipenv").write_text("#!/bin/sh\n")
    (machine.bin / "pipenv").chmod(0o755)
    inproject = machine.other(machine.cwd, ".venv", keras="3.5.0")
    b = machine.resolve()
    assert b.forced_by == "Pipfile" and b.python == inproject.python


def test_shared_libpython_static_build(tmp_path: Path) -> None:
    static = plant_env(tmp_path, "static", shared=False)
    shared = plant_env(tmp_path, "shared", shared=True)
    venv = plant_env(tmp_path, "venv")
    assert shared_libpython(static) is False
    assert shared_libpython(shared) is True
    assert shared_libpython(venv) is None  # its base is not readable here


def test_documented_order_for_newer_reticulate(machine: Machine) -> None:
    active = machine.other(machine.home / "act", "v", keras="3.5.0")
    r_keras = machine.venv("r-keras", keras="3.5.0")
    b = machine.resolve(version="1.42.0", VIRTUAL_ENV=active.prefix)
    assert b.python == active.python and b.forced_by == "VIRTUAL_ENV"
    assert b.order.startswith("1.46")
    assert machine.resolve(version="1.42.0").python == r_keras.python
    by_name = machine.resolve(version="1.42.0", RETICULATE_PYTHON_ENV="r-keras")
    assert by_name.python == r_keras.python
    managed = machine.resolve(version="1.42.0", module="tensorflow")
    assert not managed.python and "ephemeral" in managed.reason
    assert managed.ephemeral and managed.forced_by == "py_require()"


def test_146_delay_load_r_keras_outranks_the_fallback(machine: Machine) -> None:
    # reticulate 1.46 R/config.R l.275-318: keras3's delay-load environment 'r-keras' (and
    # r-<module>) come before RETICULATE_PYTHON_FALLBACK; under 1.28 the fallback wins.
    r_keras = machine.venv("r-keras", keras="3.5.0")
    good = machine.other(machine.home / "good", "g", keras="3.5.0")
    keras3 = {"keras3": "1.2.0", "tensorflow": "2.20.0"}
    old = machine.resolve(version="1.28", RETICULATE_PYTHON_FALLBACK=good.python)
    assert old.python == good.python
    new = machine.resolve(
        version="1.46.0", r_packages=keras3, RETICULATE_PYTHON_FALLBACK=good.python
    )
    assert new.python == r_keras.python and new.forced_by == 'import("keras")'
    assert any(s.name == "delay-load environment r-keras" for s in new.steps)
    # RETICULATE_PYTHON outranks all of it (step 1), 'managed' means the uv environment
    forced = machine.resolve(version="1.46.0", r_packages=keras3, RETICULATE_PYTHON=good.python)
    assert forced.python == good.python and forced.forced_by == "RETICULATE_PYTHON"
    eph = machine.resolve(version="1.46.0", r_packages=keras3, RETICULATE_PYTHON="managed")
    assert eph.ephemeral and not eph.python
    # RETICULATE_USE_MANAGED_VENV=yes (step 4) beats r-keras and the fallback
    mv = machine.resolve(
        version="1.46.0",
        r_packages=keras3,
        RETICULATE_USE_MANAGED_VENV="yes",
        RETICULATE_PYTHON_FALLBACK=good.python,
    )
    assert mv.ephemeral


def test_146_keras_python_is_copied_over_reticulate_python(machine: Machine) -> None:
    # keras3 1.2.0 / tensorflow 2.20.0 R/package.R .onLoad: Sys.setenv(RETICULATE_PYTHON =
    # KERAS_PYTHON / TENSORFLOW_PYTHON) when the package loads, i.e. after an .Rprofile.
    good = machine.other(machine.home / "good", "g", keras="3.5.0")
    other = machine.other(machine.home / "other", "o", keras="3.5.0")
    tfpy = machine.other(machine.home / "tfpy", "t", keras="3.5.0")
    keras3 = {"keras3": "1.2.0", "tensorflow": "2.20.0"}
    b = machine.resolve(
        version="1.46.0", r_packages=keras3, RETICULATE_PYTHON=good.python,
        KERAS_PYTHON=other.python, TENSORFLOW_PYTHON=tfpy.python,
    )
    assert b.python == other.python and b.forced_by == "RETICULATE_PYTHON"
    assert b.steps[0].number == "0" and b.steps[0].outcome == "forwarded"
    assert "KERAS_PYTHON is set" in b.reason
    only_tf = machine.resolve(
        version="1.46.0", r_packages=keras3, RETICULATE_PYTHON=good.python,
        TENSORFLOW_PYTHON=tfpy.python,
    )
    assert only_tf.python == tfpy.python
    # without keras3/tensorflow installed nothing copies it
    plain = machine.resolve(
        version="1.46.0", RETICULATE_PYTHON=good.python, KERAS_PYTHON=other.python
    )
    assert plain.python == good.python and plain.steps[0].number == "1"


def test_where_set_names_the_renviron_line(tmp_path: Path) -> None:
    from envdoctor.rlang.r_packages import where_set

    home_r = r_home(tmp_path)
    user_home = tmp_path / "u"
    user_home.mkdir()
    (user_home / ".Renviron").write_text("# mine\nFOO=1\nRETICULATE_PYTHON=/x/bin/python\n")
    environ = {"R_HOME": str(home_r), "HOME": str(user_home), "RETICULATE_PYTHON": "/x"}
    where = where_set("RETICULATE_PYTHON", environ, cwd=str(tmp_path), home=str(user_home))
    assert where == f"line 3 of {user_home / '.Renviron'}"
    # a project .Renviron replaces the user's (R reads only one user file)
    work = tmp_path / "proj"
    work.mkdir()
    (work / ".Renviron").write_text("KERAS_PYTHON=/y\n")
    assert where_set("RETICULATE_PYTHON", environ, cwd=str(work), home=str(user_home)).startswith(
        "the environment R was started from"
    )
    assert where_set("KERAS_PYTHON", environ, cwd=str(work)) == f"line 1 of {work / '.Renviron'}"
    assert where_set("NOT_SET_ANYWHERE", environ, cwd=str(work)) == ""


def test_ephemeral_envs_in_uv_cache_are_listed(tmp_path: Path) -> None:
    from envdoctor.rlang.ephemeral import cached_envs

    cache = tmp_path / "cache"
    env = cache / "uv" / "archive-v0" / "AbC123"
    (env / "bin").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text("home = /usr/bin\nversion_info = 3.11.7\n")
    (env / "bin" / "python").symlink_to("/usr/bin/python3")
    wheel = cache / "uv" / "archive-v0" / "wheel1" / "numpy"
    wheel.mkdir(parents=True)
    found = cached_envs({"XDG_CACHE_HOME": str(cache)}, str(tmp_path))
    assert found == [str(env / "bin" / "python")]


# ------------------------------------------------------------------ R checks


def _install(tmp_path: Path, **pkgs: str) -> object:
    home_r = r_home(tmp_path)
    lib = home_r / "site-library"
    for name, version in pkgs.items():
        extra = {"Imports": "reticulate (>= 1.42.0)"} if name == "keras3" else {}
        description(lib, name, version, **extra)
    return read_r_install({"R_HOME": str(home_r), "R_LIBS_SITE": str(lib), "HOME": str(tmp_path)})


def _activate(tmp_path: Path, reticulate: str = "1.28", **pkgs: str) -> None:
    inst = _install(tmp_path, reticulate=reticulate, **pkgs)
    context.set_current(context.RContext(True, inst, reticulate, "test"))  # type: ignore[arg-type]


def codes(findings: list) -> set[str]:  # type: ignore[type-arg]
    return {f.code for f in findings}


def test_r_checks_are_off_for_python_users(tmp_path: Path) -> None:
    env = plant_env(tmp_path, "v", version="3.12.1", numpy="2.4.6", keras="3.15.1")
    context.set_current(context.RContext(False))
    assert not codes(run_checks(None, env)) & {"ED901", "ED902", "ED903"}


def test_ed901_ed902_under_reticulate_1_28(tmp_path: Path) -> None:
    _activate(tmp_path)
    py312 = plant_env(tmp_path, "a", version="3.12.1", numpy="2.4.6", keras="3.15.1")
    f312 = [f for f in run_checks(None, py312) if f.code.startswith("ED9")]
    assert codes(f312) == {"ED901"}
    assert f312[0].severity.value == "error" and "1.34" in f312[0].detail
    np2 = plant_env(tmp_path, "b", version="3.11.7", numpy="2.4.6", keras="3.15.1")
    f2 = [f for f in run_checks(None, np2) if f.code == "ED902"]
    assert f2 and any("aperm" in x.text for x in f2[0].fixes)
    ok = plant_env(tmp_path, "c", version="3.11.7", numpy="1.26.4", keras="3.3.3")
    assert not [f for f in run_checks(None, ok) if f.code.startswith("ED9")]


def test_ed903_static_python_build(tmp_path: Path) -> None:
    _activate(tmp_path)
    env = plant_env(tmp_path, "pyenv-static", shared=False)
    assert "ED903" in codes(run_checks(None, env))


def test_ed904_r_keras_with_keras3(tmp_path: Path) -> None:
    _activate(tmp_path, keras="2.15.0")
    env = plant_env(tmp_path, "k3", keras="3.3.3", tensorflow="2.16.1")
    found = [f for f in run_checks(None, env) if f.code == "ED904"]
    assert found
    texts = " ".join(x.text for x in found[0].fixes)
    assert "tf-keras==2.16.*" in texts and "TF_USE_LEGACY_KERAS" in texts


def test_ed905_ed906_keras3_with_keras2_and_old_reticulate(tmp_path: Path) -> None:
    _activate(tmp_path, keras3="1.5.1")
    env = plant_env(tmp_path, "k2", keras="2.15.0", tensorflow="2.15.1")
    found = codes(run_checks(None, env))
    assert {"ED905", "ED906"} <= found
    ed906 = next(f for f in run_checks(None, env) if f.code == "ED906")
    assert "reticulate (>= 1.42.0)" in ed906.detail and "1.28" in ed906.detail


def test_ed907_r_defined_objects(tmp_path: Path) -> None:
    _activate(tmp_path, keras3="1.5.1")
    env = plant_env(tmp_path, "k3", keras="3.3.3", tensorflow="2.16.1")
    model = ModelInfo(
        path="m.keras",
        format=ModelFormat.KERAS_ARCHIVE,
        loadable=True,
        summary="",
        custom_objects=(
            CustomObject("layer", "Scale", "<r-globalenv>", "Custom>Scale", "layers/scale"),
        ),
    )
    found = [f for f in run_checks(model, env) if f.code in ("ED303", "ED907")]
    assert codes(found) == {"ED303", "ED907"}
    ed907 = next(f for f in found if f.code == "ED907")
    lines = [x.text for x in ed907.fixes]
    assert any("register_keras_serializable(Scale" in t for t in lines)
    assert lines[-1] == (
        'model <- keras3::load_model("m.keras", custom_objects = '
        'list("Custom>Scale" = Scale, "Scale" = Scale))'
    )


def test_ed701_gets_r_fixes_only_for_r(tmp_path: Path) -> None:
    env = plant_env(tmp_path, "v", numpy="2.4.6", keras="3.15.1")
    model = ModelInfo(
        path="lstm.keras",
        format=ModelFormat.KERAS_ARCHIVE,
        loadable=True,
        summary="",
        inputs=(InputSpec("x", (None, 5, 3), "float32"),),
    )
    context.set_current(context.RContext(False))
    plain = next(f for f in run_checks(model, env) if f.code == "ED701")
    assert not plain.fixes
    _activate(tmp_path)
    r = next(f for f in run_checks(model, env) if f.code == "ED701")
    text = rcode.script(r.fixes)
    assert "dim = c(2, 5, 3)" in text and "batch, timesteps, features" in text
    assert "np$asarray(" in text  # NumPy 2 under reticulate 1.28: no np_array(x)
    assert text.strip().endswith("y <- model$predict(x_py, verbose = 0L)")


def test_rcode_inputs_and_load_lines() -> None:
    specs = (InputSpec("a", (None, 8), "float32"), InputSpec("b", (None, None, 4), "int32"))
    lines = rcode.input_lines(specs)
    assert lines[0].startswith("x1 <- array(runif(2 * 8), dim = c(2, 8))")
    assert lines[1] == 'x1_py <- reticulate::np_array(x1, dtype = "float32")'
    assert "dim = c(2, 10, 4)" in lines[2] and "sample.int" in lines[2]
    assert rcode.predict_line(specs) == "y <- model$predict(list(x1_py, x2_py), verbose = 0L)"
    model = ModelInfo(path="m.h5", format=ModelFormat.KERAS_H5, loadable=True, summary="")
    assert 'tensorflow")$keras$models$load_model' in rcode.load_line(model, keras_generation=2)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_generated_r_code_parses_in_r() -> None:
    specs = (InputSpec("x", (None, 5, 3), "float32"),)
    model = ModelInfo(
        path='we"ird.keras',
        format=ModelFormat.KERAS_ARCHIVE,
        loadable=True,
        summary="",
        inputs=specs,
    )
    for converts in (True, False):
        code = rcode.script(rcode.input_fixes(model, numpy_converts=converts))
        proc = subprocess.run(
            ["Rscript", "-e", "invisible(parse(text = readLines('stdin')))"],
            input=code,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_flat_vector_code_builds_c_order_arrays_in_base_r() -> None:
    # aperm(array(v, rev(d)), rev(seq_along(d))) == array_reshape(v, d) (C order)
    proc = subprocess.run(
        [
            "Rscript",
            "-e",
            "v <- 1:24; d <- c(2, 3, 4); x <- aperm(array(v, rev(d)), 3:1);"
            "cat(x[1, 1, ], x[1, 2, 1], x[2, 1, 1],"
            " as.numeric(aperm(x, rev(seq_along(dim(x)))))[1:5])",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout.split() == ["1", "2", "3", "4", "5", "13", "1", "2", "3", "4", "5"]


# ------------------------------------------------------------------ ED908 / ED909 / explain


def test_binding_and_already_initialized_findings() -> None:
    b = Binding("1.28", "1.28", "keras", "/p/bin/python3", "scan", "python3 on PATH")
    f = r_session.binding_finding("m.h5", b, [], "/good/bin/python")
    assert f.code == "ED908" and "/good/bin/python can" in f.detail
    assert f.fixes[0].text == "RETICULATE_PYTHON=/good/bin/python"
    g = r_session.already_initialized_finding(
        "/p/bin/python3", "RETICULATE_PYTHON", "m.h5", "/good"
    )
    assert g.code == "ED909"
    assert [x.text for x in g.fixes][:2] == ["RETICULATE_PYTHON=/good", 'envdoctor_use("m.h5")']


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "ERROR: The requested version of Python ('/a/python') cannot be used, as another "
            "version of Python ('/b/python') has already been initialized.",
            "ED909",
        ),
        (
            "Error in python_config_impl(python) :\n  Error 1 occurred running /x/bin/python:",
            "ED901",
        ),
        ("Python shared library not found, Python bindings not loaded.", "ED903"),
        (
            "Required version of NumPy not available: incompatible NumPy binary version 33554432",
            "ED902",
        ),
        ("Valid installation of TensorFlow not found.", "ED908"),
        ("ValueError: Unrecognized keyword arguments: ['batch_shape']", "ED101"),
        ("TypeError: Could not locate class 'Scale'. Make sure custom classes", "ED301"),
        (
            'Input 0 of layer "dense" is incompatible with the layer: expected axis -1 of '
            "input shape to have value 8, but received input with shape (1, 4)",
            "ED701",
        ),
    ],
)
def test_explain_signatures(text: str, code: str) -> None:
    found = explain.explain_error(text)
    assert found and found[0].code == code
    assert found[0].source


def test_explain_already_initialized_names_the_bound_python() -> None:
    text = (
        "ERROR: The requested version of Python ('/a/python') cannot be used, as another "
        "version of Python ('/b/python') has already been initialized."
    )
    f = explain.explain_error(text, model="m.keras")[0]
    assert "/b/python" in f.detail


def test_explain_unknown_text() -> None:
    assert explain.explain_error("something else entirely") == []


def test_every_r_fact_and_signature_has_a_source() -> None:
    data = facts.load()
    assert data["schema"] == 1
    for name, row in data["facts"].items():
        assert str(row.get("source", "")).strip(), name
    for sig in facts.error_signatures():
        assert sig["source"] and sig["code"].startswith("ED"), sig["id"]
    from envdoctor.knowledge import tables

    for sig in facts.error_signatures():
        tables.code_doc(sig["code"])  # every signature names a documented code


# ------------------------------------------------------------------ which cache, CLI


def test_which_cache_key_changes_with_the_machine(tmp_path: Path) -> None:
    home = tmp_path / "h"
    env = plant_env(home / ".virtualenvs", "r-keras", keras="3.5.0")
    model = FIXTURES / "tf221" / "mlp.keras"
    environ = {"HOME": str(home), "PATH": "/nonexistent"}
    k1 = which_cache.key(
        [str(model)], prefer=None, reticulate_version="1.28", environ=environ, cwd=str(tmp_path)
    )
    k2 = which_cache.key(
        [str(model)], prefer=None, reticulate_version="1.28", environ=environ, cwd=str(tmp_path)
    )
    assert k1 == k2
    site = Path(env.site_packages[0])
    (site / "newpkg-1.0.dist-info").mkdir()
    os.utime(site, ns=(1, 1))
    k3 = which_cache.key(
        [str(model)], prefer=None, reticulate_version="1.28", environ=environ, cwd=str(tmp_path)
    )
    assert k3 != k1
    k4 = which_cache.key(
        [str(model)], prefer=None, reticulate_version="1.34.0", environ=environ, cwd=str(tmp_path)
    )
    assert k4 != k3
    k5 = which_cache.key(
        [str(model)],
        prefer=None,
        reticulate_version="1.34.0",
        environ={**environ, "KERAS_BACKEND": "jax"},
        cwd=str(tmp_path),
    )
    assert k5 != k4


def test_which_cache_fast_key_replays_the_walk_and_sees_every_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warm R start computes the key without walking (issue 13/14: R start time); any
    change discovery would see (a new environment, a package installed, a link retargeted)
    makes the replay fail or the key differ, never a stale answer."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    home = tmp_path / "h"
    env = plant_env(home / ".virtualenvs", "r-keras", keras="3.5.0")
    model = FIXTURES / "tf221" / "mlp.keras"
    environ = {"HOME": str(home), "PATH": "/nonexistent"}
    args = {"prefer": None, "reticulate_version": "1.46.0", "environ": environ,
            "cwd": str(tmp_path)}
    assert which_cache.fast_key([str(model)], **args) is None  # nothing recorded yet
    k1 = which_cache.key([str(model)], **args)
    assert which_cache.fast_key([str(model)], **args) == k1
    assert which_cache.fast_key([str(model)], **{**args, "r_sets": "RETICULATE_PYTHON"}) is None
    # a package installed: the walk still holds, the stamps differ
    site = Path(env.site_packages[0])
    (site / "newpkg-1.0.dist-info").mkdir()
    os.utime(site, ns=(1, 1))
    k2 = which_cache.fast_key([str(model)], **args)
    assert k2 is not None and k2 != k1 and k2 == which_cache.key([str(model)], **args)
    # a new environment in a place discovery walks: the replay fails
    plant_env(home / ".virtualenvs", "r-tensorflow", keras="3.5.0")
    assert which_cache.fast_key([str(model)], **args) is None
    k3 = which_cache.key([str(model)], **args)
    assert k3 != k2 and which_cache.fast_key([str(model)], **args) == k3


def run_cli(
    tmp_path: Path, *args: str, extra: Optional[dict[str, str]] = None
) -> subprocess.CompletedProcess[str]:
    env = {
        "HOME": str(tmp_path / "home"),
        "PATH": "/usr/bin:/bin",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    env.update(extra or {})
    (tmp_path / "home").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "envdoctor", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=300,
        check=False,
    )


def test_cli_envs_reticulate_json(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "envs", "--reticulate", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["command"] == "envs"
    ret = data["reticulate"]
    assert set(ret) == {"r", "binding", "cwd"}
    assert {"python", "forced_by", "reason", "error", "steps", "order"} <= set(ret["binding"])
    assert ret["binding"]["steps"][0]["number"] == "1"
    text = run_cli(tmp_path, "envs", "--reticulate")
    assert "R and reticulate" in text.stdout and "order of discovery" in text.stdout


def test_cli_r_explain(tmp_path: Path) -> None:
    proc = run_cli(
        tmp_path, "r", "explain", "--error", "Python shared library not found", "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["recognized"] is True and data["findings"][0]["code"] == "ED903"
    unknown = run_cli(tmp_path, "r", "explain", "--error", "zzz")
    assert unknown.returncode == 1 and "does not recognise" in unknown.stdout


def test_cli_which_for_r_caches_its_answer(tmp_path: Path) -> None:
    # No environment here can load the model; the answer is cached and replayed identically.
    model = str(FIXTURES / "tf221" / "lambda.keras")
    first = run_cli(tmp_path, "which", "--for-r", "--reticulate-version", "1.28", "--model", model)
    second = run_cli(tmp_path, "which", "--for-r", "--reticulate-version", "1.28", "--model", model)
    assert first.returncode == second.returncode == 1
    assert first.stderr == second.stderr and first.stdout == second.stdout == ""
    assert list((tmp_path / "cache" / "envdoctor" / "which").glob("*.json"))


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_envdoctor_r_strips_r_s_library_path_entries() -> None:
    # R's etc/ldpaths puts R_HOME/lib, /usr/lib/<triplet> and Java's lib/server first; the
    # user's own entries stay.
    code = (
        f'source("{REPO / "scripts" / "envdoctor.R"}"); '
        "cat(.envdoctor_ld_path(paste(file.path(R.home(), 'lib'), '/usr/lib/x86_64-linux-gnu',"
        " '/opt/cuda/lib64', '/usr/lib/jvm/default-java/lib/server', '', '/home/me/lib',"
        " sep = ':')))"
    )
    proc = subprocess.run(
        ["Rscript", "-e", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "/opt/cuda/lib64:/home/me/lib"


def test_cli_check_for_r_prints_py_require_under_reticulate_146(tmp_path: Path) -> None:
    # This test venv has no TensorFlow: the Keras 3 model fails here; for an R user with
    # reticulate >= 1.41 check adds the py_require() declaration of reticulate's uv env.
    model = str(FIXTURES / "tf221" / "lstm.keras")
    extra = {"ENVDOCTOR_RETICULATE_VERSION": "1.46.0"}
    proc = run_cli(
        tmp_path, "check", model, "--python", sys.executable, "--for-r", "--format", "json",
        extra=extra,
    )
    assert proc.returncode == 1, proc.stderr
    req = json.loads(proc.stdout)["r_py_require"]
    assert any(p.startswith("keras==3.") for p in req["packages"])
    assert any(p.startswith("tensorflow==") for p in req["packages"])
    assert req["r_lines"][-1].startswith("reticulate::py_require(c(")
    assert 'RETICULATE_PYTHON = "managed"' in req["r_lines"][0]
    text = run_cli(tmp_path, "check", model, "--python", sys.executable, "--for-r", extra=extra)
    assert "For R (reticulate 1.46.0)" in text.stdout and "py_require(c(" in text.stdout
    # reticulate 1.28 has no py_require(): nothing added; Python users see nothing either
    old = run_cli(
        tmp_path, "check", model, "--python", sys.executable, "--for-r", "--format", "json",
        extra={"ENVDOCTOR_RETICULATE_VERSION": "1.28"},
    )
    assert "r_py_require" not in json.loads(old.stdout)
    plain = run_cli(tmp_path, "check", model, "--python", sys.executable, "--format", "json")
    assert "r_py_require" not in json.loads(plain.stdout)
