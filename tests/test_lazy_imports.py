"""``check`` in a pipe imports only what it needs (no timing here: see benchmarks/bench_check.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "lstm.keras"

PROBE = """
import io, sys, contextlib
from envdoctor.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["check", sys.argv[1]])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("rich", "jsonschema", "tensorflow",
               "keras", "jax", "torch") or m == "envdoctor.verify")
print(code, " ".join(heavy) or "-", "will NOT load" in out.getvalue() or "should load" in out.getvalue())
"""


def test_check_in_a_pipe_does_not_import_rich_or_the_verifier() -> None:
    # The closing plan (envdoctor.fix) is built for this error report: allowed.
    proc = subprocess.run([sys.executable, "-c", PROBE, str(EXAMPLE)], capture_output=True,
                          text=True, check=True, cwd=REPO, timeout=120)
    code, heavy, reported = proc.stdout.split()
    assert code in ("0", "1") and reported == "True", proc.stdout
    assert heavy == "-", f"check in a pipe imported {heavy}"


def test_verify_timeout_default_matches_the_verifier() -> None:
    from envdoctor.commands.verify import DEFAULT_TIMEOUT as cli_default
    from envdoctor.verify import DEFAULT_TIMEOUT

    assert cli_default == DEFAULT_TIMEOUT
