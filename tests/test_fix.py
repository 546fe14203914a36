"""envdoctor fix / env restore / env create, without real TensorFlow environments.

Plan building, requirement merging, the dry-run readers (on outputs recorded from uv 0.13,
pip 23 and conda), tool choice, snapshots and restores, the environment lock across two
processes, and the whole ``fix`` command against a venv laid out on disk with a fake ``uv``
that edits its dist-info directories.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from knowledge_support import newest_keras, newest_tf

from envdoctor import envcreate, fixes, installer, snapshot
from envdoctor.envlock import LockBusy, environment_lock, lock_path, prefix_key
from envdoctor.fix import build_plan, fold_tensorflow, merge_requirements, report_plans
from envdoctor.installer import Change, Tool, ToolChoice
from envdoctor.types import Environment, Finding, Fix, Package, Severity

REPO = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------- recorded tool outputs

UV_DRY_RUN = """\
Using Python 3.10.13 environment at: /tmp/edfix/broken
Resolved 3 packages in 141ms
Would uninstall 1 package
Would install 1 package
 - numpy==2.1.3
 + numpy==1.26.4
"""

UV_DRY_RUN_NO_CHANGE = """\
Using Python 3.10.13 environment at: broken
Checked 1 package in 3ms
Would make no changes
"""

UV_SYNC = """\
Using Python 3.10.13 environment at: broken
Resolved 42 packages in 364ms
Uninstalled 6 packages in 333ms
Installed 2 packages in 58ms
 - markdown-it-py==4.3.0
 - mdurl==0.1.2
 - numpy==1.26.4
 + numpy==2.1.3
 - rich==15.0.0
 - six==1.16.0
 + six==1.17.0
 ~ tf-keras==2.15.1
 + tensorflow-cpu[and-cuda]==2.16.2 (from file:///wheels/tensorflow_cpu.whl)
"""

UV_UNSATISFIABLE = """\
Using Python 3.10.13 environment at: broken
error: No solution found when resolving dependencies
  cause: Because only numpy<=2.5.5 is available and you require numpy>=5, we can conclude that your requirements are unsatisfiable.
"""  # noqa: E501 (recorded output)

# pip 23.0.1 `install --dry-run --quiet --report -` (trimmed: descriptions removed), with
# a warning line before it as pip prints with some configurations.
PIP_REPORT = """\
WARNING: Location 'file:///opt/pypi-more/simple/six/' is ignored
{
  "version": "1",
  "pip_version": "23.0.1",
  "install": [
    {"download_info": {"url": "https://files.pythonhosted.org/six-1.16.0-py2.py3-none-any.whl"},
     "is_direct": false, "requested": true,
     "metadata": {"metadata_version": "2.1", "name": "six", "version": "1.16.0"}},
    {"download_info": {"url": "https://files.pythonhosted.org/packaging-23.2-py3-none-any.whl"},
     "is_direct": false, "requested": true,
     "metadata": {"metadata_version": "2.1", "name": "Packaging", "version": "23.2"}}
  ],
  "environment": {"python_version": "3.10"}
}
"""

CONDA_DRY_RUN = json.dumps(
    {
        "actions": {
            "FETCH": [],
            "LINK": [
                {
                    "name": "numpy",
                    "version": "1.26.4",
                    "build_string": "py310h",
                    "channel": "conda-forge",
                }
            ],
            "UNLINK": [
                {
                    "name": "numpy",
                    "version": "2.1.3",
                    "build_string": "py310h",
                    "channel": "conda-forge",
                },
                {
                    "name": "jax",
                    "version": "0.4.30",
                    "build_string": "pyhd8",
                    "channel": "conda-forge",
                },
            ],
            "PREFIX": "/opt/conda/envs/tf",
        },
        "dry_run": True,
        "success": True,
    }
)

CONDA_OLD_STYLE = json.dumps(
    {
        "actions": {
            "LINK": ["conda-forge::numpy-1.26.4-py310h", "conda-forge::tf-keras-2.15.1-pyhd8"],
            "UNLINK": ["conda-forge::numpy-2.1.3-py310h"],
        },
        "success": True,
    }
)

CONDA_NOTHING = json.dumps(
    {"message": "All requested packages already installed.", "success": True}
)


def make_env(
    manager: str = "uv", kind: str = "venv", prefix: str = "/envs/t", **versions: str
) -> Environment:
    packages = {n.replace("_", "-"): Package(n.replace("_", "-"), v) for n, v in versions.items()}
    return Environment(
        python=f"{prefix}/bin/python",
        prefix=prefix,
        kind=kind,
        manager=manager,
        python_version="3.10.13",
        packages=packages,
    )


def finding(code: str, *fix_list: Fix, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(code=code, severity=severity, title=f"title {code}", detail="", fixes=fix_list)


# ---------------------------------------------------------------- dry-run readers


def test_uv_dry_run_is_read_as_from_to() -> None:
    changes = installer.parse_uv_changes(UV_DRY_RUN)
    assert changes == (Change("numpy", "2.1.3", "1.26.4"),)
    assert changes[0].action == "downgrade"
    assert changes[0].text() == "numpy 2.1.3 → 1.26.4"
    assert installer.parse_uv_changes(UV_DRY_RUN_NO_CHANGE) == ()
    assert installer.parse_uv_changes(UV_UNSATISFIABLE) == ()


def test_uv_sync_output_with_removals_reinstalls_extras_and_urls() -> None:
    changes = {c.name: c for c in installer.parse_uv_changes(UV_SYNC)}
    assert changes["numpy"].action == "upgrade"
    assert changes["rich"] == Change("rich", "15.0.0", None)
    assert changes["rich"].action == "remove"
    assert changes["tf-keras"].action == "reinstall"
    assert changes["tensorflow-cpu"] == Change("tensorflow-cpu", None, "2.16.2")
    assert changes["tensorflow-cpu"].text() == "tensorflow-cpu (new) 2.16.2"
    assert list(changes) == sorted(changes)


def test_pip_report_is_read_against_the_installed_versions() -> None:
    changes = installer.parse_pip_report(PIP_REPORT, {"six": "1.17.0"})
    assert changes == (Change("packaging", None, "23.2"), Change("six", "1.17.0", "1.16.0"))
    assert installer.parse_pip_report("ERROR: no such option: --dry-run", {}) is None
    assert installer.parse_pip_report('{"version": "1"}', {}) is None


def test_conda_json_both_styles_and_nothing_to_do() -> None:
    assert installer.parse_conda_json(CONDA_DRY_RUN) == (
        Change("jax", "0.4.30", None),
        Change("numpy", "2.1.3", "1.26.4"),
    )
    assert installer.parse_conda_json(CONDA_OLD_STYLE) == (
        Change("numpy", "2.1.3", "1.26.4"),
        Change("tf-keras", None, "2.15.1"),
    )
    assert installer.parse_conda_json(CONDA_NOTHING) == ()
    assert installer.parse_conda_json("CondaError: nope") is None


def test_diff_versions() -> None:
    assert installer.diff_versions({"a": "1", "b": "2"}, {"b": "3", "c": "1"}) == (
        Change("a", "1", None),
        Change("b", "2", "3"),
        Change("c", None, "1"),
    )


# ---------------------------------------------------------------- requirements and plans


def test_install_requirements_inverts_install_command_for_every_manager() -> None:
    reqs = ("numpy<2", "keras==3.6.*", 'odd"name')
    for env in (make_env("uv"), make_env("pip"), make_env("conda", kind="conda")):
        fix = fixes.install_command(env, *reqs)
        assert fixes.install_requirements(env, fix) == reqs, fix.text
    other = make_env("uv", prefix="/envs/other")
    assert fixes.install_requirements(other, fixes.install_command(make_env("uv"), "x")) is None
    assert fixes.install_requirements(make_env(), Fix("command", "envdoctor verify M")) is None
    assert fixes.install_requirements(make_env(), Fix("env", "export A=1")) is None


def test_install_requirements_reads_conda_specs_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        fixes.shutil, "which", lambda name: "/opt/bin/mamba" if name == "mamba" else None
    )
    env = make_env("conda", kind="conda")
    fix = fixes.install_command(env, "keras==3.6.*", "numpy<2")
    assert fix.text.startswith("mamba install -y -p")
    assert fixes.install_requirements(env, fix) == ("keras==3.6.*", "numpy<2")


def test_merge_requirements_intersects_per_distribution() -> None:
    merged = merge_requirements(
        ["numpy<2", "keras==3.6.*", "NumPy>=1.23.5", "jax[cpu]", "jax[cuda]>0.4"]
    )
    assert merged == ("numpy<2,>=1.23.5", "keras==3.6.*", "jax[cpu,cuda]>0.4")
    assert merge_requirements(["not a requirement!"]) == ("not a requirement!",)


def test_plan_merges_install_fixes_and_lists_the_rest_as_manual_steps() -> None:
    env = make_env("uv", tensorflow_cpu="2.15.1", numpy="2.1.3")
    uv = Tool("uv", ("/usr/bin/uv",))
    findings = [
        finding("ED404", fixes.install_command(env, "numpy<2")),
        finding("ED408", fixes.note("see the other findings")),
        finding("ED402", *fixes.env_unset("TF_USE_LEGACY_KERAS")),
        finding("ED401", fixes.install_command(env, "tf-keras==2.15.*"), fixes.note("or not")),
        finding("ED404", fixes.install_command(env, "numpy<2")),  # reported twice: once
        finding("ED601", fixes.install_command(env, "keras==3.13.1"), severity=Severity.WARNING),
    ]
    plan = build_plan(env, findings, choice=ToolChoice(uv))
    assert [f.code for f in plan.findings] == ["ED404", "ED408", "ED402", "ED401"]
    assert len(plan.steps) == 1
    step = plan.steps[0]
    assert step.requirements == ("numpy<2", "tf-keras==2.15.*")
    assert step.codes == ("ED404", "ED401")
    assert step.argv == (
        "/usr/bin/uv",
        "pip",
        "install",
        "--python",
        "/envs/t/bin/python",
        "numpy<2",
        "tf-keras==2.15.*",
    )
    assert [m.code for m in plan.manual] == ["ED408", "ED402"]
    assert plan.manual[1].fixes[0].text == "unset TF_USE_LEGACY_KERAS"
    # Warnings join with --severity warning.
    plan_w = build_plan(env, findings, severity=Severity.WARNING, choice=ToolChoice(uv))
    assert "keras==3.13.1" in plan_w.steps[0].requirements
    # Nothing to install: no installer needed.
    manual_only = build_plan(env, findings[1:3], choice=None)
    assert manual_only.steps == () and manual_only.tool is None
    with pytest.raises(installer.InstallerMissing):
        build_plan(env, findings[:1], choice=None)


def test_one_tensorflow_distribution_in_the_merged_plan() -> None:
    """``tensorflow==2.21.*`` (a check's fix) and ``tensorflow-cpu==2.21.0`` (a pinned
    requirements file beside the model) install the same package: one requirement."""
    env = make_env("pip", tensorflow_cpu="2.15.1", numpy="1.26.4", pip="24.0")
    reqs = ["tensorflow==2.21.*", "numpy<2", "tensorflow-cpu==2.21.0"]
    assert fold_tensorflow(env, reqs) == ["tensorflow-cpu==2.21.*", "numpy<2",
                                          "tensorflow-cpu==2.21.0"]
    assert merge_requirements(fold_tensorflow(env, reqs)) == (
        "tensorflow-cpu==2.21.*,==2.21.0", "numpy<2")
    bare = make_env("pip", numpy="1.26.4", pip="24.0")  # no TensorFlow yet: the first named
    assert merge_requirements(fold_tensorflow(bare, reqs))[0] == "tensorflow==2.21.*,==2.21.0"
    assert fold_tensorflow(env, ["tensorflow==2.21.*"]) == ["tensorflow==2.21.*"]
    findings = [
        finding("ED409", fixes.install_command(env, "tensorflow==2.21.*")),
        finding("ED801", fixes.install_command(env, "tensorflow-cpu==2.21.0")),
    ]
    plan = build_plan(env, findings, choice=ToolChoice(installer.pip_tool(env)))
    assert len(plan.steps) == 1
    assert plan.steps[0].requirements == ("tensorflow-cpu==2.21.*,==2.21.0",)
    assert plan.steps[0].codes == ("ED409", "ED801")


def test_plan_items_are_one_ordered_list() -> None:
    """Installs, then variables, then code lines, then words; one line per remedy."""
    env = make_env("uv", tensorflow_cpu="2.16.2", keras="3.3.3", numpy="1.26.4")
    uv = Tool("uv", ("/usr/bin/uv",))
    findings = [
        finding("ED103", fixes.python_fix('layer = keras.layers.TFSMLayer("/m")'),
                fixes.r_fix('layer <- keras$layers$TFSMLayer("/m")')),
        finding("ED408", fixes.note("see the other findings")),
        finding("ED402", *fixes.env_fix("TF_USE_LEGACY_KERAS", "1")),
        finding("ED401", fixes.install_command(env, "tf-keras==2.16.*")),
        finding("ED405", *fixes.env_fix("TF_USE_LEGACY_KERAS", "1")),
    ]
    items = build_plan(env, findings, choice=ToolChoice(uv)).items()
    assert [i.kind for i in items] == ["command", "env", "python", "note"]
    assert items[0].codes == ("ED401",) and "tf-keras==2.16.*" in items[0].text
    assert items[1].text == "export TF_USE_LEGACY_KERAS=1"
    assert items[1].codes == ("ED402", "ED405")  # the same line once
    assert items[1].r_text == 'Sys.setenv(TF_USE_LEGACY_KERAS = "1")'
    assert items[2].r_text.startswith("layer <- keras$layers$TFSMLayer")


def test_report_plans_one_per_environment_with_errors() -> None:
    from envdoctor.types import Report

    env = make_env("pip", tensorflow_cpu="2.15.1", numpy="2.1.3", pip="24.0")
    ok_env = make_env("pip", prefix="/envs/ok", numpy="1.26.4", pip="24.0")
    bad = dataclasses.replace(finding("ED404", fixes.install_command(env, "numpy<2")),
                              python=env.python)
    warn = dataclasses.replace(
        finding("ED601", fixes.install_command(ok_env, "keras==3.13.1"),
                severity=Severity.WARNING), python=ok_env.python)
    report = Report(models=(), environments=(env, ok_env), findings=(bad, warn), verdicts=())
    plans = report_plans(report)
    assert [p.env.prefix for p in plans] == [env.prefix]
    assert plans[0].items()[0].text == plans[0].steps[0].text
    assert [p.env.prefix for p in report_plans(report, Severity.WARNING)] == [
        env.prefix, ok_env.prefix]


def test_tool_choice_per_manager() -> None:
    uv = ("/usr/bin/uv",)
    conda = Tool("micromamba", ("/opt/bin/micromamba",))
    assert installer.choose_tool(make_env("uv"), uv=uv).tool.name == "uv"
    assert installer.choose_tool(make_env("pip", pip="24.0"), uv=uv).tool.name == "pip"
    assert installer.choose_tool(make_env("pip"), uv=uv).tool.name == "uv"  # no pip inside
    assert installer.choose_tool(make_env("uv", pip="24.0"), uv=None).tool.name == "pip"
    with pytest.raises(installer.InstallerMissing):
        installer.choose_tool(make_env("pip"), uv=None)
    conda_env = make_env("conda", kind="conda", pip="24.0")
    assert installer.choose_tool(conda_env, uv=uv, conda=conda).tool == conda
    fallback = installer.choose_tool(conda_env, uv=uv, conda=None)
    assert fallback.tool.name == "pip" and "no conda, mamba or micromamba" in fallback.warning


def test_install_argv_for_each_tool() -> None:
    env = make_env("pip")
    reqs = ["keras==3.6.*", "numpy<2"]
    assert installer.install_argv(Tool("uv", ("uv",)), env, reqs, dry_run=True) == [
        "uv",
        "pip",
        "install",
        "--python",
        "/envs/t/bin/python",
        "--dry-run",
        *reqs,
    ]
    pip = installer.install_argv(installer.pip_tool(env), env, reqs, dry_run=True)
    assert pip[:3] == ["/envs/t/bin/python", "-m", "pip"]
    assert pip[-6:] == ["--dry-run", "--quiet", "--report", "-", *reqs]
    conda = installer.install_argv(Tool("conda", ("conda",)), env, reqs, dry_run=True)
    assert conda == [
        "conda",
        "install",
        "-y",
        "-p",
        "/envs/t",
        "-c",
        "conda-forge",
        "--dry-run",
        "--json",
        "keras=3.6",
        "numpy<2",
    ]


# ---------------------------------------------------------------- the lock


LOCK_HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from envdoctor.envlock import environment_lock
    with environment_lock(sys.argv[1], root=Path(sys.argv[2]), command="holder"):
        print("locked", flush=True)
        sys.stdin.readline()
    print("released", flush=True)
""")


def _holder(prefix: Path, root: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(prefix), str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(REPO),
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_lock_refuses_a_second_process_at_once_and_names_the_holder(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    prefix.mkdir()
    link = tmp_path / "link"
    link.symlink_to(prefix, target_is_directory=True)
    root = tmp_path / "data"
    proc = _holder(prefix, root)
    try:
        started = time.monotonic()
        with pytest.raises(LockBusy) as info:  # noqa: SIM117
            with environment_lock(str(link), root=root):  # same env through a symlink
                pytest.fail("got the lock held by another process")
        assert time.monotonic() - started < 2.0
        assert f"pid {proc.pid}" in str(info.value)
        assert "`holder`" in str(info.value)
        assert "nothing was changed" in str(info.value)
    finally:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(10)
    assert prefix_key(str(link)) == prefix_key(str(prefix))
    with environment_lock(str(prefix), root=root) as path:
        assert path == lock_path(str(prefix), root)


def test_lock_waits_for_the_holder_with_wait(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    prefix.mkdir()
    root = tmp_path / "data"
    proc = _holder(prefix, root)
    assert proc.stdin is not None
    import threading

    def release() -> None:
        time.sleep(1.0)
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()

    threading.Thread(target=release, daemon=True).start()
    started = time.monotonic()
    with environment_lock(str(prefix), root=root, wait=30):
        waited = time.monotonic() - started
    proc.wait(10)
    assert 0.5 < waited < 20


def test_lock_is_released_when_the_holder_dies(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    prefix.mkdir()
    root = tmp_path / "data"
    proc = _holder(prefix, root)
    proc.kill()
    proc.wait(10)
    with environment_lock(str(prefix), root=root, wait=5):
        pass


# ---------------------------------------------------------------- snapshots


def write_exe(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


# A stand-in for uv (and for `python -m pip`) over a venv laid out on disk: freeze lists the
# dist-info directories; install/sync rewrite them; dry runs print uv's lines. Every call is
# logged; FAKE_FAIL=1 makes installs fail.
FAKE_TOOL = textwrap.dedent("""\
    #!{python}
    import os, re, sys
    from pathlib import Path
    args = sys.argv[1:]
    site = Path(os.environ["FAKE_SITE"])
    with open(site.parent / "calls.log", "a") as log:
        log.write(" ".join(args) + "\\n")
    if args[:2] == ["-m", "pip"]:
        args = ["pip", *args[2:]]
    def installed():
        out = {{}}
        for d in site.glob("*.dist-info"):
            name, version = d.name[: -len(".dist-info")].rsplit("-", 1)
            out[name.replace("_", "-").lower()] = (version, d)
        return out
    def put(name, version):
        old = installed().get(name)
        if old:
            for f in old[1].iterdir():
                f.unlink()
            old[1].rmdir()
        if version is None:
            return
        d = site / f"{{name.replace('-', '_')}}-{{version}}.dist-info"
        d.mkdir()
        meta = f"Metadata-Version: 2.1\\nName: {{name}}\\nVersion: {{version}}\\n"
        (d / "METADATA").write_text(meta)
        (d / "INSTALLER").write_text("uv\\n")
    cmd = args[1] if len(args) > 1 else ""
    if cmd == "freeze":
        for name, (version, _) in sorted(installed().items()):
            print(f"{{name}}=={{version}}")
        sys.exit(0)
    if cmd == "install":
        reqs = [a for a in args[2:] if not a.startswith("-") and a != os.environ.get("FAKE_PY")]
        want = {{}}
        for r in reqs:
            if r == "numpy<2":
                want["numpy"] = "1.26.4"
            elif "==" in r:
                n, v = r.split("==")
                want[n] = v
        if "--dry-run" in args:
            print("Resolved 1 package in 1ms", file=sys.stderr)
            for n, v in want.items():
                old = installed().get(n)
                if old:
                    print(f" - {{n}}=={{old[0]}}", file=sys.stderr)
                print(f" + {{n}}=={{v}}", file=sys.stderr)
            sys.exit(0)
        if os.environ.get("FAKE_FAIL") == "1":
            put("numpy", None)  # half-done: the old one is gone, the new one never came
            print("error: Failed to download `numpy==1.26.4`", file=sys.stderr)
            sys.exit(2)
        for n, v in want.items():
            put(n, v)
        sys.exit(0)
    if cmd == "sync":
        lines = Path(args[-1]).read_text().split()
        want = dict(line.split("==") for line in lines)
        for n in list(installed()):
            if n not in want:
                put(n, None)
        for n, v in want.items():
            if installed().get(n, (None,))[0] != v:
                put(n, v)
        sys.exit(0)
    sys.exit(f"fake tool: unexpected {{args}}")
""")


@pytest.fixture()
def broken_env(tmp_path: Path) -> dict[str, Path]:
    """A uv venv on disk with TensorFlow 2.15.1 and NumPy 2.1.3, and a fake uv on PATH."""
    prefix = tmp_path / "broken"
    site = prefix / "lib" / "python3.10" / "site-packages"
    site.mkdir(parents=True)
    (prefix / "pyvenv.cfg").write_text(
        "home = /usr/bin\nimplementation = CPython\nuv = 0.13.9\nversion_info = 3.10.13\n"
        "include-system-site-packages = false\n"
    )
    write_exe(prefix / "bin" / "python", "#!/bin/sh\nexit 1\n")
    for name, version in {
        "tensorflow-cpu": "2.15.1",
        "keras": "2.15.0",
        "numpy": "2.1.3",
        "h5py": "3.10.0",
        "protobuf": "4.25.9",
        "six": "1.17.0",
    }.items():
        d = site / f"{name.replace('-', '_')}-{version}.dist-info"
        d.mkdir()
        requires = "Requires-Dist: numpy<2.0.0,>=1.23.5\n" if name == "tensorflow-cpu" else ""
        (d / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requires}"
        )
        (d / "INSTALLER").write_text("uv\n")
    bindir = tmp_path / "tools"
    write_exe(bindir / "uv", FAKE_TOOL.format(python=sys.executable))
    return {"prefix": prefix, "site": site, "bin": bindir, "data": tmp_path / "data"}


def run_cli(
    env: dict[str, Path], *args: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "KERAS_BACKEND", "TF_USE_LEGACY_KERAS")
    }
    full.update(
        {
            "PATH": f"{env['bin']}:/usr/bin:/bin",
            "XDG_DATA_HOME": str(env["data"]),
            "FAKE_SITE": str(env["site"]),
            "FAKE_PY": str(env["prefix"] / "bin" / "python"),
            "PYTHONPATH": str(REPO),
        }
    )
    full.update(extra or {})
    return subprocess.run(
        [sys.executable, "-m", "envdoctor", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=str(REPO),
        timeout=120,
        check=False,
    )


def freeze_of(env: dict[str, Path]) -> list[str]:
    out = []
    for d in sorted(env["site"].glob("*.dist-info")):
        name, version = d.name[: -len(".dist-info")].rsplit("-", 1)
        out.append(f"{name.replace('_', '-').lower()}=={version}")
    return sorted(out)


MODEL = str(REPO / "tests" / "fixtures" / "tf215" / "mlp.keras")


def test_fix_without_yes_shows_the_plan_and_changes_nothing(broken_env: dict[str, Path]) -> None:
    before = freeze_of(broken_env)
    proc = run_cli(broken_env, "fix", MODEL, "--python", str(broken_env["prefix"]))
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert "ED404" in out and "Plan (run once, in order" in out
    assert "uv pip install --python" in out and "'numpy<2'" in out
    assert "numpy 2.1.3 → 1.26.4 (downgrade)" in out
    assert "Nothing was changed" in out and "--yes" in out
    assert freeze_of(broken_env) == before
    calls = (broken_env["site"].parent / "calls.log").read_text()
    assert "--dry-run" in calls and "sync" not in calls
    assert all("--dry-run" in line for line in calls.splitlines() if " install " in f" {line} ")
    assert not (broken_env["data"] / "envdoctor" / "snapshots").exists()
    # `check` ends with the same numbered plan (issue 11: one plan; fix agrees with it)
    check = run_cli(broken_env, "check", MODEL, "--python", str(broken_env["prefix"]))
    def steps(text: str) -> list[str]:
        lines = text.splitlines()
        start = next(i for i, ln in enumerate(lines) if ln.startswith("  1. "))
        return [ln for ln in lines[start:start + 2]]

    assert steps(check.stdout) == steps(out)
    assert steps(out)[0] == "  1. ED404: run"
    assert "uv pip install --python" in steps(out)[1] and "'numpy<2'" in steps(out)[1]
    assert f"Plan for {broken_env['prefix']}" in check.stdout


def test_fix_json_plan(broken_env: dict[str, Path]) -> None:
    proc = run_cli(
        broken_env, "fix", MODEL, "--python", str(broken_env["prefix"]), "--format", "json"
    )
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["command"] == "fix"
    fix = data["fix"]
    assert fix["status"] == "planned" and fix["tool"] == "uv"
    assert fix["steps"][0]["requirements"] == ["numpy<2"]
    assert fix["steps"][0]["dry_run"]["changes"] == [
        {"name": "numpy", "from": "2.1.3", "to": "1.26.4", "action": "downgrade"}
    ]
    assert [m["code"] for m in fix["manual"]] == ["ED408"]


def test_fix_yes_applies_snapshots_and_restore_is_exact(broken_env: dict[str, Path]) -> None:
    before = freeze_of(broken_env)
    proc = run_cli(broken_env, "fix", MODEL, "--python", str(broken_env["prefix"]), "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "numpy 2.1.3 → 1.26.4" in proc.stdout
    assert "ED404, ED408 → none" in proc.stdout
    assert "Fixed." in proc.stdout
    assert "numpy==1.26.4" in freeze_of(broken_env)
    snaps = list((broken_env["data"] / "envdoctor" / "snapshots").glob("*/*.txt"))
    assert len(snaps) == 1
    assert sorted(snaps[0].read_text().split()) == before
    meta = json.loads(snaps[0].with_suffix(".json").read_text())
    assert meta["freeze_tool"] == "uv" and meta["prefix"] == str(broken_env["prefix"])
    assert f"env restore {snaps[0]} --yes" in proc.stdout
    # env restore without --yes: says what it would do.
    shown = run_cli(broken_env, "env", "restore", str(snaps[0]))
    assert (
        shown.returncode == 0
        and "- numpy==2.1.3" in shown.stdout
        and "Nothing was changed" in shown.stdout
    )
    assert "numpy==1.26.4" in freeze_of(broken_env)
    restored = run_cli(broken_env, "env", "restore", str(snaps[0]), "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "matches the snapshot exactly" in restored.stdout
    assert freeze_of(broken_env) == before
    listed = run_cli(broken_env, "env", "snapshots", "--python", str(broken_env["prefix"]))
    assert str(snaps[0]) in listed.stdout


def test_fix_failed_step_stops_and_prints_the_restore(broken_env: dict[str, Path]) -> None:
    before = freeze_of(broken_env)
    proc = run_cli(
        broken_env,
        "fix",
        MODEL,
        "--python",
        str(broken_env["prefix"]),
        "--yes",
        extra={"FAKE_FAIL": "1"},
    )
    assert proc.returncode == 1
    assert "FAILED (exit 2)" in proc.stdout
    assert "Failed to download" in proc.stdout
    assert "A step failed" in proc.stdout
    assert "numpy 2.1.3 removed" in proc.stdout
    snap = next((broken_env["data"] / "envdoctor" / "snapshots").glob("*/*.txt"))
    assert f"env restore {snap} --yes" in proc.stdout
    assert "uv pip sync --python" in proc.stdout
    assert all(line.split("==")[0] != "numpy" for line in freeze_of(broken_env))
    restored = run_cli(broken_env, "env", "restore", str(snap), "--yes")
    assert restored.returncode == 0, restored.stdout
    assert freeze_of(broken_env) == before


def test_fix_refuses_while_another_run_holds_the_lock(broken_env: dict[str, Path]) -> None:
    root = broken_env["data"] / "envdoctor"
    proc = _holder(broken_env["prefix"], root)
    try:
        result = run_cli(broken_env, "fix", MODEL, "--python", str(broken_env["prefix"]), "--yes")
    finally:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(10)
    assert result.returncode == 1
    assert "being changed by another envdoctor run" in result.stderr
    assert "numpy==2.1.3" in freeze_of(broken_env)
    calls = broken_env["site"].parent / "calls.log"
    assert not calls.exists() or "install" not in calls.read_text()


def test_fix_nothing_to_do_exits_0(broken_env: dict[str, Path]) -> None:
    d = next(broken_env["site"].glob("numpy-*.dist-info"))
    d.rename(d.with_name("numpy-1.26.4.dist-info"))
    (broken_env["site"] / "numpy-1.26.4.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.4\n"
    )
    proc = run_cli(broken_env, "fix", MODEL, "--python", str(broken_env["prefix"]), "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Nothing to fix" in proc.stdout


def test_fix_rejects_bad_input(broken_env: dict[str, Path]) -> None:
    assert (
        run_cli(
            broken_env, "fix", "/no/such.keras", "--python", str(broken_env["prefix"])
        ).returncode
        == 2
    )
    assert (
        run_cli(
            broken_env, "fix", "--python", str(broken_env["prefix"]), "--format", "github"
        ).returncode
        == 2
    )


def test_snapshot_compare_and_pip_restore_commands(tmp_path: Path) -> None:
    snap = snapshot.Snapshot(
        path=tmp_path / "s.txt",
        python="/envs/t/bin/python",
        prefix="/envs/t",
        freeze_tool="pip",
        freeze=(
            "numpy==2.1.3",
            "six==1.17.0",
            "pkg @ file:///gone/pkg.whl",
            "-e git+https://x/y.git@abc#egg=yy",
        ),
        created="now",
    )
    current = ["numpy==1.26.4", "six==1.17.0", "rich==15.0.0", "pkg @ file:///gone/other.whl"]
    assert snapshot.compare(snap.freeze, current) == (
        "- numpy==2.1.3",
        "+ numpy==1.26.4",
        "- pkg @ file:///gone/pkg.whl",
        "+ pkg @ file:///gone/other.whl",
        "+ rich==15.0.0",
        "- -e git+https://x/y.git@abc#egg=yy",
    )
    argvs = snapshot.pip_restore_argvs(snap, current, ["py", "-m", "pip"])
    assert argvs[0] == ["py", "-m", "pip", "uninstall", "-y", "rich"]
    assert argvs[1][-3:] == ["numpy==2.1.3", "-e", "git+https://x/y.git@abc#egg=yy"]
    lines = snapshot.restore_commands(snap, uv=None, extras=["rich"])
    assert lines[0].endswith(f"env restore {tmp_path / 's.txt'} --yes")
    assert lines[1] == (
        f"/envs/t/bin/python -m pip uninstall -y rich && /envs/t/bin/python -m pip "
        f"install --no-deps -r {tmp_path / 's.txt'}"
    )
    uv_lines = snapshot.restore_commands(snap, uv=("/opt/uv",))
    sync = "/opt/uv pip sync --python /envs/t/bin/python --allow-empty-requirements"
    assert uv_lines[1] == f"{sync} {tmp_path / 's.txt'}"
    assert snapshot.line_name("Typing_Extensions==4.16.0") == "typing-extensions"
    assert snapshot.line_name("jax[cpu]==0.4") == "jax"


def test_conda_listing_and_revision(tmp_path: Path) -> None:
    meta = tmp_path / "conda-meta"
    meta.mkdir()
    (meta / "numpy-1.26.4-py310h.json").write_text(
        json.dumps(
            {
                "name": "numpy",
                "version": "1.26.4",
                "build": "py310h",
                "url": "https://conda.anaconda.org/conda-forge/linux-64/numpy-1.26.4-py310h.conda",
            }
        )
    )
    (meta / "local-1.0-0.json").write_text(
        json.dumps({"name": "local", "version": "1.0", "build": "0"})
    )
    (meta / "history").write_text(
        "==> 2024-01-01 00:00:00 <==\n# cmd: conda create\n+numpy\n"
        "==> 2024-01-02 00:00:00 <==\n# cmd: conda install\n"
    )
    lines, revision = snapshot.conda_listing(str(tmp_path))
    assert lines[0] == "@EXPLICIT"
    assert "https://conda.anaconda.org/conda-forge/linux-64/numpy-1.26.4-py310h.conda" in lines
    assert any(line.startswith("# local==1.0=0") for line in lines)
    assert revision == 1
    snap = snapshot.Snapshot(
        tmp_path / "s.txt", "/p/bin/python", str(tmp_path), "pip", (), "now", lines, revision
    )
    assert snapshot.conda_restore_argv(snap, Tool("conda", ("conda",))) == [
        "conda",
        "install",
        "-y",
        "-p",
        str(tmp_path),
        "--revision",
        "1",
    ]


def test_load_snapshot_rejects_foreign_files(tmp_path: Path) -> None:
    from envdoctor.errors import UsageError

    (tmp_path / "x.txt").write_text("numpy==1\n")
    with pytest.raises(UsageError):
        snapshot.load_snapshot(str(tmp_path / "x.txt"))


# ---------------------------------------------------------------- env create (choice only)


def test_env_create_choices_follow_the_model_and_the_interpreters() -> None:
    from envdoctor import app

    interps = [
        envcreate.Interpreter(f"/py/{v}/bin/python", v, "pyenv")
        for v in ("3.13.0", "3.12.1", "3.11.7", "3.10.13")
    ]
    keras2 = app.inspect_model(MODEL)
    best = envcreate.rank(keras2, interps, target="/tmp/x", tf_dist="tensorflow-cpu")[0]
    assert best.stack.kind == "tf-keras2" and best.stack.requirements == (
        "tensorflow-cpu==2.15.1",
        "numpy<2",
    )
    assert best.interpreter is not None and best.interpreter.version == "3.11.7"
    keras3 = app.inspect_model(str(REPO / "tests" / "fixtures" / "tf221" / "mlp.keras"))
    best3 = envcreate.rank(keras3, interps, target="/tmp/x")[0]
    assert best3.stack.kind == "keras3-tf"
    tf313 = newest_tf("3.13.0")  # by rule: the newest rows that fit Python 3.13
    assert tf313 is not None
    want = (f"tensorflow=={tf313.latest}", f"keras=={newest_keras('3.13.0', tf313)}")
    assert best3.stack.requirements == want
    assert best3.python_version == "3.13"
    # Only Python 3.12+: TF 2.15 cannot be installed; tf-keras with TF_USE_LEGACY_KERAS is.
    new_only = interps[:2]
    ranked = envcreate.rank(keras2, new_only, target="/tmp/x")
    usable = [c for c in ranked if c.interpreter is not None and not c.errors]
    assert usable[0].stack.kind == "tf-keras-legacy"
    assert usable[0].stack.env_vars == {"TF_USE_LEGACY_KERAS": "1"}
    assert "Python 3.9, 3.10, 3.11" in envcreate.missing_python(ranked)
    assert "uv python install 3.11" in envcreate.missing_python(ranked)
    # A user-wide KERAS_BACKEND=jax is overridden for a TensorFlow stack.
    jaxed = envcreate.rank(keras3, interps, target="/tmp/x", environ={"KERAS_BACKEND": "jax"})[0]
    assert jaxed.stack.env_vars == {"KERAS_BACKEND": "tensorflow"}
    assert not jaxed.errors


def test_env_create_refuses_a_non_empty_target_and_non_models(tmp_path: Path) -> None:
    from envdoctor.errors import UsageError

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(UsageError):
        envcreate.check_target(str(tmp_path / "full"))
    with pytest.raises(UsageError):
        envcreate.create(
            str(REPO / "tests" / "fixtures" / "tf215" / "mlp.weights.h5"), str(tmp_path / "n")
        )
    assert not (tmp_path / "n").exists()


def test_env_create_usage_lines_for_shell_and_r() -> None:
    interp = envcreate.Interpreter("/py/bin/python", "3.11.7", "pyenv")
    stack = envcreate.Stack("s", "tf-keras-legacy", ("x",), {}, {"TF_USE_LEGACY_KERAS": "1"})
    cand = envcreate.Candidate(stack, "3.11", interp, ())
    result = envcreate.CreateResult(
        "/envs/new", "/envs/new/bin/python", True, (envcreate.Attempt(cand, "ok"),), (cand,)
    )
    usage = envcreate.usage_lines(result)
    assert usage["shell"][:2] == ["source /envs/new/bin/activate", "export TF_USE_LEGACY_KERAS=1"]
    assert 'Sys.setenv(TF_USE_LEGACY_KERAS = "1")' in usage["r"]
    assert 'Sys.setenv(RETICULATE_PYTHON = "/envs/new/bin/python")' in usage["r"]
    assert any('use_virtualenv("/envs/new", required = TRUE)' in line for line in usage["r"])


def test_conda_prefix_restore_uses_the_revision_then_pip_never_uv_sync(tmp_path: Path) -> None:
    prefix = tmp_path / "conda"
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True)
    (meta / "numpy-2.1.3-py310h.json").write_text(
        json.dumps({"name": "numpy", "version": "2.1.3", "url": "https://c/numpy-2.1.3.conda"})
    )
    python = write_exe(
        prefix / "bin" / "python",
        "#!/bin/sh\necho 'numpy @ file:///home/conda/feedstock/numpy'\necho 'rich==15.0.0'\n",
    )
    snap = snapshot.Snapshot(
        path=tmp_path / "s.txt",
        python=str(python),
        prefix=str(prefix),
        freeze_tool="pip",
        freeze=("numpy @ file:///home/conda/feedstock/numpy",),
        created="now",
        conda_listing=("@EXPLICIT", "https://c/numpy-1.26.4.conda"),
        conda_revision=0,
    )
    conda = Tool("conda", ("conda",))
    result = snapshot.restore(snap, uv=("/opt/uv",), conda=conda, dry_run=True)
    assert result.planned == (
        f"conda install -y -p {prefix} --revision 0",
        f"{python} -m pip uninstall -y rich",
    )
    assert not result.ok
    lines = snapshot.restore_commands(snap, uv=("/opt/uv",), conda=conda)
    assert len(lines) == 2 and lines[1] == f"conda install -y -p {prefix} --revision 0"


def test_damaged_distributions_are_found_from_their_record(broken_env: dict[str, Path]) -> None:
    site = broken_env["site"]
    info = site / "tensorflow_cpu-2.15.1.dist-info"
    (site / "tensorflow").mkdir()
    (site / "tensorflow" / "__init__.py").write_text("")
    (info / "RECORD").write_text(
        "tensorflow/__init__.py,sha256=x,1\n"
        '"tensorflow/odd,name.py",sha256=y,2\n'
        "tensorflow/__pycache__/__init__.cpython-310.pyc,,\n"
        "../../../bin/toco,sha256=z,3\n"
        "tensorflow_cpu-2.15.1.dist-info/RECORD,,\n"
    )
    (site / "tensorflow" / "odd,name.py").write_text("")
    write_exe(broken_env["prefix"] / "bin" / "toco", "#!/bin/sh\n")
    python = str(broken_env["prefix"] / "bin" / "python")
    assert snapshot.damaged(python) == []
    # Uninstalling `tensorflow` (which shares these files) deletes them:
    (site / "tensorflow" / "__init__.py").unlink()
    assert snapshot.damaged(python) == ["tensorflow-cpu==2.15.1"]
    assert snapshot.repair_argv(python, ["tensorflow-cpu==2.15.1"], ("uv",)) == [
        "uv",
        "pip",
        "install",
        "--python",
        python,
        "--reinstall",
        "--no-deps",
        "tensorflow-cpu==2.15.1",
    ]
    assert snapshot.repair_argv(python, ["x==1"], None)[-3:] == [
        "--force-reinstall",
        "--no-deps",
        "x==1",
    ]
    assert snapshot.repair_argv(python, ["x==1"], ("uv",), conda=True) is None
    assert snapshot.repair_argv(python, [], ("uv",)) is None


def test_check_plan_is_one_command_for_the_error_and_the_pins_beside_the_model() -> None:
    """Issue 11's case: ED409 asks for ``tensorflow==<minor>.*`` and the requirements file
    beside the model (ED801, a warning) pins ``tensorflow-cpu==X.Y.Z``: the report ends with
    one install command holding both, for this environment's real interpreter, and names the
    ``fix`` command whose dry run shows the same plan."""
    proc = subprocess.run(
        [sys.executable, "-m", "envdoctor", "check", str(REPO / "examples" / "lstm.keras")],
        capture_output=True, text=True, cwd=str(REPO), timeout=120, check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("Plan for "))
    steps = [ln for ln in lines[start:] if ln[:5].strip()[:2].rstrip(".").isdigit()]
    assert len(steps) == 1 and "ED409" in steps[0] and "ED801" in steps[0], lines[start:]
    command = lines[lines.index(steps[0]) + 1].strip()
    assert command.startswith(f"{sys.executable} -m pip install") or "pip install" in command
    tf = [w for w in command.split() if "tensorflow" in w]
    assert len(tf) == 1 and ".*" in tf[0] and "==" in tf[0].split(",")[-1], command
    assert any("--severity warning" in ln for ln in lines[start:])


def test_plan_takes_install_requirements_as_data_not_from_the_text() -> None:
    """Issue 16 item 4: a fix carries what it installs (Fix.requirements, Fix.target); the
    plan uses that data, and a command for another environment stays a manual step."""
    from envdoctor.fix import requirements_of

    env = make_env("uv", tensorflow_cpu="2.15.1", numpy="2.1.3")
    made = fixes.install_command(env, "numpy<2", "tf-keras==2.15.*")
    assert made.requirements == ("numpy<2", "tf-keras==2.15.*") and made.target == env.prefix
    odd = Fix("command", "a command text nothing could parse", "x",
              requirements=("numpy<2",), target=env.prefix)
    other = Fix("command", "elsewhere", "x", requirements=("keras==3.6.*",), target="/other")
    assert requirements_of(env, odd) == ("numpy<2",)
    assert requirements_of(env, other) is None
    plan = build_plan(env, [finding("ED404", odd), finding("ED601", other)],
                      choice=ToolChoice(Tool("uv", ("/usr/bin/uv",))))
    assert plan.steps[0].requirements == ("numpy<2",)
    assert [m.code for m in plan.manual] == ["ED601"]
    # the data is not part of the JSON a fix serializes to
    from envdoctor.render.json_out import to_jsonable

    assert set(to_jsonable(made)) == {"kind", "text", "description"}
