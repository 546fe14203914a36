"""examples/fleet: the GitHub Actions matrix, the Slurm array and the Kubernetes Job parse, and
every envdoctor command line in them is one the real parser accepts."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ci_support import REPO

from envdoctor.cli import build_parser

FLEET = REPO / "examples" / "fleet"
GHA = FLEET / "github-actions-matrix.yml"
SLURM = FLEET / "slurm-array.sbatch"
K8S = FLEET / "kubernetes-job.yaml"

COMMAND = re.compile(r"(?:(?:^|[\s\"'/(])envdoctor|\"\$ENVDOCTOR\")\s+(check|report)\b([^\n]*)")

try:
    import yaml
except ImportError:  # the test venv has no PyYAML: the line checks below still run
    yaml = None


def envdoctor_lines(path: Path) -> list[str]:
    """Every `envdoctor check|report ...` command in a file (also `"$ENVDOCTOR" check`, the
    Slurm script's configurable path), cut at its redirection or pipe."""
    text = path.read_text().replace("\\\n", " ")
    found = []
    for match in COMMAND.finditer(text):
        command = match.group(1) + match.group(2)
        command = re.split(r"\s(?:>>?|\|\|?|&&|2>)\s|\s>\"|\s>/", command)[0]
        found.append(command.strip().rstrip('"'))
    return found


def parse(command: str) -> Any:
    """Parse an envdoctor command line with the real parser (shell variables as values)."""
    command = re.sub(r"\$\{\{[^}]*\}\}", "X", command)
    words = [w for w in shlex.split(command) if w]
    words = [re.sub(r"\$\(?[A-Za-z_{][^ ]*", "X", w) for w in words]
    return build_parser().parse_args(words)


@pytest.mark.parametrize("path", [GHA, SLURM, K8S], ids=lambda p: p.name)
def test_envdoctor_lines_are_real_commands(path: Path) -> None:
    lines = envdoctor_lines(path)
    checks = [parse(c) for c in lines if c.startswith("check")]
    merges = [parse(c) for c in lines if c.startswith("report")]
    assert checks and all(a.format == "json" for a in checks), lines
    assert merges, lines
    assert all(a.report_action == "merge" for a in merges)


def test_readme_names_the_three_files_and_their_commands() -> None:
    readme = (FLEET / "README.md").read_text()
    for path in (GHA, SLURM, K8S):
        assert f"]({path.name})" in readme
    assert "completionMode: Indexed" in readme
    assert "sbatch --dependency=afterany" in readme
    assert "envdoctor report merge -" in readme


def test_slurm_script_is_valid_bash_with_an_array() -> None:
    bash = shutil.which("bash")
    assert bash
    proc = subprocess.run([bash, "-n", str(SLURM)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    text = SLURM.read_text()
    assert re.search(r"^#SBATCH --array=\d+-\d+$", text, re.M)
    assert "SLURM_ARRAY_TASK_ID" in text and "mv " in text


def _yaml(path: Path) -> Any:
    text = path.read_text()
    assert "\t" not in text
    if yaml is None:
        pytest.skip("PyYAML is not installed in this venv (the command lines are checked)")
    return yaml.safe_load(text)


def test_github_actions_matrix_structure() -> None:
    text = GHA.read_text()
    assert 'report-${{ matrix.runner }}-py${{ matrix.python }}.json' in text
    doc = _yaml(GHA)
    jobs = doc["jobs"]
    matrix = jobs["check"]["strategy"]["matrix"]
    assert matrix["runner"] and matrix["python"]
    steps = jobs["check"]["steps"]
    assert any("envdoctor check" in s.get("run", "") and "--format json" in s.get("run", "")
               for s in steps)
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in steps)
    assert jobs["merge"]["needs"] == "check"
    merge_steps = jobs["merge"]["steps"]
    download = next(s for s in merge_steps if s.get("uses", "").startswith(
        "actions/download-artifact"))
    assert download["with"]["merge-multiple"] is True
    assert any("envdoctor report merge" in s.get("run", "") for s in merge_steps)


def test_kubernetes_indexed_job_structure() -> None:
    doc = _yaml(K8S)
    assert (doc["apiVersion"], doc["kind"]) == ("batch/v1", "Job")
    spec = doc["spec"]
    assert spec["completionMode"] == "Indexed"
    container = spec["template"]["spec"]["containers"][0]
    script = "\n".join(container["args"])
    assert "envdoctor check" in script and "--format json" in script
    assert "JOB_COMPLETION_INDEX" in script
    host = next(e for e in container["env"] if e["name"] == "ENVDOCTOR_HOST")
    assert host["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    mounts = {m["name"] for m in container["volumeMounts"]}
    assert mounts == {v["name"] for v in spec["template"]["spec"]["volumes"]}
