"""The output of ``envdoctor env create|restore|snapshots``, for people and as JSON.

:func:`render_create` / :func:`create_json`: what ``env create`` chose, tried and built,
and how to use it from a shell and from R (:func:`envdoctor.envcreate.usage_lines`);
:func:`render_restore` / :func:`restore_json`: a snapshot's differences and what restoring
ran; :func:`render_snapshots`: the snapshots of an environment.  They compute nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, TextIO

if TYPE_CHECKING:
    from envdoctor.envcreate import CreateResult
    from envdoctor.snapshot import RestoreResult, Snapshot


def render_create(result: CreateResult, model: str, out: TextIO) -> None:
    """Write what ``env create`` chose and built, and how to use it."""
    from envdoctor.envcreate import usage_lines

    w = out.write
    cand = result.chosen
    if result.missing:
        w(f"note: {result.missing}\n")
    for attempt in result.attempts:
        c = attempt.candidate
        where = c.interpreter.python if c.interpreter else "?"
        if attempt.stage == "ok":
            continue
        w(f"tried {c.stack.label} on Python {c.python_version} ({where}): failed at "
          f"{attempt.stage}\n")
        for line in attempt.detail.splitlines():
            w(f"    {line}\n")
        if attempt.verify is not None:
            for m in attempt.verify.models:
                fail = m.failure
                if fail is not None:
                    w(f"    {m.path}: {fail.error_type}: {fail.error}\n")
    if cand is None:
        w("no candidate\n")
        return
    interp = cand.interpreter
    w(f"{'Plan' if result.dry_run else 'Environment'} for {model}:\n")
    w(f"  Python {interp.version if interp else cand.python_version}"
      f" ({interp.python if interp else 'not installed'}, {interp.source if interp else ''})\n")
    w(f"  {cand.stack.label}\n")
    w(f"  requirements: {' '.join(cand.stack.requirements)}\n")
    for k, v in cand.stack.env_vars.items():
        w(f"  needs {k}={v} when it runs\n")
    last = result.attempts[-1] if result.attempts else None
    if last is not None and last.resolved:
        key = [line for line in last.resolved if _key_line(line)]
        w(f"  resolves (uv pip compile, {len(last.resolved)} packages): "
          + ", ".join(key) + "\n")
    if result.dry_run:
        w(f"Nothing was created. Run again without --dry-run to create {result.path}.\n")
        return
    if not result.ok:
        w(f"Could not build an environment at {result.path} that loads the model.\n")
        return
    w(f"Created {result.path}\n")
    if last is not None:
        for f in last.findings:
            if f.severity.value == "error":
                w(f"  check: ✗ {f.code} {f.title}\n")
    if last is not None and last.verify is not None:
        for m in last.verify.models:
            load = m.step("load")
            pred = m.step("predict_float32")
            w(f"  verified: {m.path} loads ({load.seconds if load else 0:.1f} s) and runs a "
              f"forward pass ({pred.seconds if pred else 0:.1f} s)\n")
    usage = usage_lines(result)
    w("\nFrom a shell:\n")
    for line in usage["shell"]:
        w(f"  {line}\n")
    w("From R (before reticulate starts Python):\n")
    for line in usage["r"]:
        w(f"  {line}\n")


_KEY_PACKAGES = ("tensorflow", "tf-keras", "tf_keras", "keras", "numpy", "protobuf", "h5py",
                 "ml-dtypes", "jax", "jaxlib", "torch")


def _key_line(line: str) -> bool:
    """True for the resolved lines worth showing (the ML stack)."""
    name = line.split("==", 1)[0].strip().lower()
    return name in _KEY_PACKAGES or name.startswith("tensorflow")


def create_json(result: CreateResult) -> dict[str, Any]:
    """The JSON answer of ``env create``."""
    from envdoctor import __version__
    from envdoctor.envcreate import usage_lines

    cand = result.chosen

    def one(a: Any) -> dict[str, Any]:
        c = a.candidate
        data: dict[str, Any] = {
            "stack": c.stack.label,
            "requirements": list(c.stack.requirements),
            "python_version": c.python_version,
            "interpreter": c.interpreter.python if c.interpreter else None,
            "env_vars": dict(c.stack.env_vars),
            "stage": a.stage,
            "detail": a.detail,
            "resolved": list(a.resolved),
            "verify": None,
        }
        if a.verify is not None:
            from envdoctor.verify import to_jsonable

            data["verify"] = to_jsonable(a.verify)
        return data

    return {
        "schema_version": "1",
        "envdoctor_version": __version__,
        "command": "env create",
        "ok": result.ok,
        "dry_run": result.dry_run,
        "path": result.path,
        "python": result.python,
        "missing": result.missing,
        "stack": cand.stack.label if cand else None,
        "requirements": list(cand.stack.requirements) if cand else [],
        "env_vars": dict(cand.stack.env_vars) if cand else {},
        "attempts": [one(a) for a in result.attempts],
        "usage": usage_lines(result) if result.ok and not result.dry_run else {},
    }


def restore_json(snap: Snapshot, result: RestoreResult, *, applied: bool) -> dict[str, Any]:
    """The JSON answer of ``env restore`` (``applied``: ``--yes`` was given)."""
    return {
        "command": "env restore", "snapshot": str(snap.path), "python": snap.python,
        "applied": applied, "ok": result.ok, "commands": list(result.planned),
        "differences": list(result.differences),
    }


def render_restore(snap: Snapshot, result: RestoreResult, out: TextIO, *, applied: bool,
                   uv: Optional[Sequence[str]]) -> None:
    """Write what ``env restore`` would run (``applied`` false) or ran, for a person."""
    from envdoctor import installer

    w = out.write
    w(f"snapshot {snap.path} of {snap.python} ({snap.created})\n")
    if not applied:
        if not result.planned and not result.differences:
            w("The environment already matches the snapshot.\n")
            return
        w("Differences (- in the snapshot, + installed now):\n")
        for line in result.differences:
            w(f"  {line}\n")
        w("Would run:\n")
        for line in result.planned:
            w(f"  {line}\n")
        w("Nothing was changed; add --yes to restore.\n")
        return
    for run in result.commands:
        w(f"ran: {installer.display(run.argv, uv)} ({'ok' if run.ok else 'FAILED'})\n")
        if not run.ok:
            w(installer.tail(run.error or run.output, 20) + "\n")
    if result.ok:
        w("Restored: the environment matches the snapshot exactly.\n")
        return
    w("Not restored exactly; still different (- in the snapshot, + installed now):\n")
    for line in result.differences:
        w(f"  {line}\n")


def render_snapshots(prefix: str, paths: Sequence[Path], out: TextIO) -> None:
    """Write the snapshot files of the environment at ``prefix``, one a line."""
    if not paths:
        out.write(f"no snapshot of {prefix}\n")
    for p in paths:
        out.write(f"{p}\n")
