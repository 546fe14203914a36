"""``--format markdown`` and ``--format github``: content, escaping of hostile text, exit codes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ci_support import EXAMPLE, FIXTURES, HOSTILE, cli, fake_env, rewrite_keras

from envdoctor.api import check
from envdoctor.app import inspect_model
from envdoctor.render import github, markdown
from envdoctor.types import Finding, Fix, IgnoredFinding, Report, Severity, Verdict

CUSTOM = FIXTURES / "tf221" / "custom.keras"
LAMBDA_H5 = FIXTURES / "tf215" / "lambda.h5"
COMMAND_LINE = re.compile(r"^::(error|warning|notice)( [^:]*)?::|^::(group::.*|endgroup::)$")


def hostile_model(tmp_path: Path) -> Path:
    """custom.keras whose custom layer has a hostile class name, saved under a hostile name."""

    def mutate(config: dict[str, Any]) -> None:
        layer = config["config"]["layers"][1]
        layer["class_name"] = HOSTILE
        layer["module"] = "evil_module|<b>"
        layer["registered_name"] = f"pkg>{HOSTILE}"

    name = "we|ird <b>`model`\n::warning::x%2C,.keras"
    return rewrite_keras(CUSTOM, tmp_path / name, mutate)


def synthetic_report() -> Report:
    finding = Finding(
        code="ED301",
        severity=Severity.ERROR,
        title=f"Custom layer {HOSTILE}",
        detail=f"# not a heading\n- not a list {HOSTILE}",
        evidence=((HOSTILE, HOSTILE),),
        source="https://example.org/a_b",
        fixes=(
            Fix("command", "pip install 'x' && echo ```fence```", "install it"),
            Fix("note", f"note {HOSTILE}"),
        ),
        model=f"dir/{HOSTILE}.keras",
        python="/opt/py,thon:3/bin/python",
    )
    info_finding = Finding("ED701", Severity.INFO, "Input specification", "rank 2", model="m.keras")
    ignored = Finding("ED802", Severity.WARNING, "Training env", "detail", model="m.keras")
    return Report(
        models=(),
        environments=(),
        findings=(finding, info_finding),
        verdicts=(Verdict(f"dir/{HOSTILE}.keras", "/opt/py,thon:3/bin/python", "error",
                          ("ED301",)),),
        ignored=(IgnoredFinding(ignored, f"accepted | {HOSTILE}"),),
    )


# ------------------------------------------------------------------------------------ markdown


def table_rows(text: str) -> list[list[str]]:
    """Split Markdown table rows into cells the way GitHub does (unescaped ``|`` only)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|"):
            rows.append(re.split(r"(?<!\\)\|", line.strip())[1:-1])
    return rows


CODE_SPAN = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")
FENCED = re.compile(r"^(`{3,})[a-z]*\n.*?^\1$", re.MULTILINE | re.DOTALL)


def assert_markdown_is_safe(text: str) -> None:
    # Raw HTML from the model only ever appears inside code, where it is shown as text.
    outside_code = CODE_SPAN.sub("", FENCED.sub("", text))
    assert "<img" not in outside_code and "<b>" not in outside_code
    # Every row of a table has as many cells as its header.
    widths: list[int] = []
    for block in re.split(r"\n\s*\n", text):
        rows = table_rows(block)
        if rows:
            widths = [len(r) for r in rows]
            assert len(set(widths)) == 1, block
    # Fenced blocks are balanced: each opening fence has its closing fence.
    fences = re.findall(r"^(`{3,})", text, re.MULTILINE)
    assert len(fences) % 2 == 0


def test_markdown_escapes_everything_from_the_model_and_the_environment() -> None:
    text = markdown.render(synthetic_report(), "check")
    assert_markdown_is_safe(text)
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" not in text  # parentheses are not escaped
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "\\# not a heading" in text
    assert "````sh\npip install 'x' && echo ```fence```\n````" in text
    assert "ignored by the project configuration" in text
    assert "ED802" in text and "accepted \\| evil" in text


def test_markdown_of_a_hostile_model_file(tmp_path: Path) -> None:
    model = hostile_model(tmp_path)
    report = check(model, python=str(fake_env(tmp_path)))
    assert any(HOSTILE in f.title + f.detail + str(f.evidence) for f in report.findings)
    text = markdown.render(report, "check")
    assert_markdown_is_safe(text)
    assert markdown.render(report, "check").startswith("## ")
    inspected = markdown.render(Report((inspect_model(str(model)),), (), (), ()), "inspect")
    assert_markdown_is_safe(inspected)


def test_markdown_of_a_real_report_lists_verdicts_findings_and_fixes(tmp_path: Path) -> None:
    report = check([EXAMPLE, LAMBDA_H5, FIXTURES / "tf221" / "mlp.keras"],
                   python=str(fake_env(tmp_path)))
    text = markdown.render(report, "check")
    assert text.startswith("## ❌ envdoctor: 1 of 3 model check(s) will fail")
    assert "| `tests/fixtures/tf215/lambda.h5`" in text or str(LAMBDA_H5) in text
    assert "### Findings" in text and "#### ❌ ED203" in text
    assert '```python\nmodel = keras.saving.load_model(' in text
    assert "<details><summary>" in text  # notes are folded
    assert_markdown_is_safe(text)


# ------------------------------------------------------------------------------------ github


def assert_workflow_commands_are_safe(text: str) -> None:
    """Every line is one command we meant to print, or a plain line that is no command."""
    for line in text.splitlines():
        if line.startswith("::"):
            assert COMMAND_LINE.match(line), line
            assert "::add-mask::" not in line.split("::", 2)[1]
        assert "\r" not in line


def test_github_annotations_escape_properties_and_data() -> None:
    text = github.render(synthetic_report(), "check")
    assert_workflow_commands_are_safe(text)
    first = text.splitlines()[0]
    assert first.startswith("::error file=dir/evil|<img src=x onerror=alert(1)>`x`**b**%0A%3A%3A")
    assert "title=ED301 Custom layer" in first
    assert "%0A::add-mask::secret %250A" in first  # data: LF and % escaped, ':' kept
    assert "::group::envdoctor: 1 note(s), 1 ignored" in text
    assert "ignored ED802 Training env (m.keras): accepted | evil" in text
    assert text.splitlines()[-1].startswith("envdoctor: 1 error(s), 0 warning(s), 1 note(s)")


def test_github_annotations_for_a_hostile_model_file(tmp_path: Path) -> None:
    model = hostile_model(tmp_path)
    report = check(model, python=str(fake_env(tmp_path)))
    text = github.render(report, "check")
    assert_workflow_commands_are_safe(text)
    assert text.count("\n") == len(text.splitlines())
    annotations = [line for line in text.splitlines() if line.startswith(("::error", "::warn"))]
    assert annotations and all("file=" in a and "%0A%3A%3Awarning%3A%3Ax%252C%2C" in a
                               for a in annotations)
    assert_workflow_commands_are_safe(github.render(Report((inspect_model(str(model)),), (), (),
                                                           ()), "inspect"))


def test_github_environment_findings_have_no_file() -> None:
    f = Finding("ED409", Severity.ERROR, "No Keras", "none installed", python="/usr/bin/python3")
    text = github.render(Report((), (), (f,), (Verdict("", "/usr/bin/python3", "error",
                                                          ("ED409",)),)), "check")
    assert text.startswith(
        "::error title=ED409 No Keras::none installed%0APython: /usr/bin/python3"
    )


# ------------------------------------------------------------------------------------ CLI


@pytest.mark.parametrize("fmt", ["markdown", "github"])
def test_cli_formats_keep_the_exit_codes(fmt: str, tmp_path: Path) -> None:
    env = fake_env(tmp_path)
    bad = cli("check", str(LAMBDA_H5), "--python", str(env), "--format", fmt)
    assert bad.returncode == 1, bad.stderr
    good = cli("check", str(FIXTURES / "tf221" / "mlp.keras"), "--python", str(env),
               "--format", fmt)
    assert good.returncode == 0, good.stderr
    strict = cli("check", str(FIXTURES / "tf221" / "mlp.keras"), "--python", str(env),
                 "--format", fmt, "--fail-on", "info")
    assert strict.returncode == 1
    assert "\x1b[" not in bad.stdout + good.stdout
    if fmt == "github":
        assert bad.stdout.startswith("::error file=")
        assert_workflow_commands_are_safe(bad.stdout)
    else:
        assert good.stdout.startswith("## ✅ envdoctor: every model check passed")
        assert_markdown_is_safe(bad.stdout)
    missing = cli("check", "/nonexistent.keras", "--format", fmt)
    assert missing.returncode == 2 and missing.stdout == ""
    assert "Traceback" not in missing.stderr


@pytest.mark.parametrize("fmt", ["markdown", "github"])
def test_cli_inspect_and_envs_in_ci_formats(fmt: str) -> None:
    proc = cli("inspect", str(EXAMPLE), "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    assert "3.15.1" in proc.stdout
    envs = cli("envs", "--format", fmt)
    assert envs.returncode == 0, envs.stderr
    assert "environment(s)" in envs.stdout
