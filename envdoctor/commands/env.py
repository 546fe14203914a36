"""``envdoctor env create|restore|snapshots``: build an environment for a model; undo a fix.

* ``envdoctor env create MODEL --path DIR`` builds a new environment that loads and runs
  MODEL (:mod:`envdoctor.envcreate`): the Python among the interpreters present, the
  TensorFlow/Keras/tf-keras/NumPy versions that fit the model, uv when available (else
  venv + pip), then a real load and forward pass.  It prints how to use it from a shell and
  from R.  ``--dry-run`` only chooses and resolves.
* ``envdoctor env restore SNAPSHOT [--yes]`` puts an environment back exactly as a snapshot
  taken by ``envdoctor fix --yes`` lists it (without ``--yes`` it says what it would run).
* ``envdoctor env snapshots [--python PATH]`` lists the snapshots of an environment.

Exit codes: 0 done; 1 no environment fits / a build, the verification or a restore failed /
the environment is locked; 2 bad input; 3 internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

from envdoctor.render.env import (
    create_json,
    render_create,
    render_restore,
    render_snapshots,
    restore_json,
)

__all__ = ["NAME", "create_json", "register", "render_create", "run"]

NAME = "env"


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``env`` subcommand and its ``create`` / ``restore`` / ``snapshots`` actions."""
    p = sub.add_parser(
        "env",
        help="create an environment that loads a model; restore a snapshot",
        description="'env create MODEL --path DIR' builds a new environment that really loads "
        "and runs MODEL. 'env restore SNAPSHOT --yes' undoes 'envdoctor fix --yes' exactly. "
        "'env snapshots' lists an environment's snapshots.",
    )
    actions = p.add_subparsers(dest="env_action", metavar="ACTION", required=True,
                               parser_class=type(p))
    create = actions.add_parser(
        "create", help="build a new environment that loads and runs MODEL",
        description="Choose a Python among the interpreters present and the TensorFlow/Keras/"
        "tf-keras/NumPy versions that fit MODEL, create the environment (uv, else venv + pip), "
        "install, and verify by really loading MODEL and running a forward pass.",
    )
    create.add_argument("model", metavar="MODEL")
    create.add_argument("--path", required=True, metavar="DIR",
                        help="where to create it (must not exist, or be empty)")
    create.add_argument("--python", metavar="VERSION|PATH",
                        help="use this Python version (3.11) or interpreter")
    create.add_argument("--tf-dist", default="tensorflow", metavar="NAME",
                        help="TensorFlow distribution: tensorflow (default), tensorflow-cpu, ...")
    create.add_argument("--backend", default="tensorflow", choices=("tensorflow", "jax", "torch"),
                        help="Keras 3 backend (default tensorflow)")
    create.add_argument("--with", dest="extra", action="append", default=[], metavar="REQ",
                        help="also install REQ (e.g. the package that defines custom layers)")
    create.add_argument("--dry-run", action="store_true",
                        help="only choose and resolve; create nothing")
    create.add_argument("--no-verify", action="store_true",
                        help="do not load the model in the new environment")
    create.add_argument("--attempts", type=int, default=2, metavar="N",
                        help="candidates to build before giving up (default 2)")
    create.add_argument("--verify-timeout", type=float, default=300.0, metavar="SECONDS",
                        help="seconds allowed to load the model and run it (default 300)")
    common(create)

    restore = actions.add_parser(
        "restore", help="put an environment back exactly as a snapshot lists it",
        description="Restore a snapshot taken by 'envdoctor fix --yes'. Without --yes, say "
        "what would run.",
    )
    restore.add_argument("snapshot", metavar="SNAPSHOT")
    restore.add_argument("--yes", action="store_true", help="restore (default: only show)")
    restore.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                         help="wait this long for another envdoctor run on the environment")
    common(restore)

    snaps = actions.add_parser("snapshots", help="list the snapshots of an environment")
    snaps.add_argument("--python", metavar="PATH", help="interpreter or prefix; default: this one")
    common(snaps)


def run(args: argparse.Namespace) -> int:
    """Run ``envdoctor env ACTION``; return the exit code.

    Raises:
        UsageError: an unsupported ``--format`` or bad arguments.
    """
    from envdoctor.errors import UsageError

    if args.format not in ("text", "json"):
        raise UsageError(f"env {args.env_action} supports --format text or json")
    if args.env_action == "create":
        return _create(args)
    if args.env_action == "restore":
        return _restore(args)
    return _snapshots(args)


def _progress(line: str) -> None:
    """Progress goes to stderr, and only on a terminal."""
    if sys.stderr.isatty():
        sys.stderr.write(f"envdoctor: {line}\n")
        sys.stderr.flush()


def _create(args: argparse.Namespace) -> int:
    from envdoctor.envcreate import NoFit, create

    text = args.format == "text"

    def echo(line: str) -> None:
        if text and sys.stderr.isatty():
            sys.stderr.write(f"    | {line}\n")
            sys.stderr.flush()

    try:
        result = create(
            args.model, args.path, tf_dist=args.tf_dist, backend=args.backend,
            extra=tuple(args.extra), python_spec=args.python, dry_run=args.dry_run,
            verify=not args.no_verify, verify_timeout=args.verify_timeout,
            attempts=args.attempts, progress=_progress, on_line=echo,
        )
    except NoFit as exc:
        if text:
            sys.stderr.write(f"envdoctor: {exc}\n")
        else:
            from envdoctor import __version__

            sys.stdout.write(json.dumps({
                "schema_version": "1", "envdoctor_version": __version__,
                "command": "env create", "ok": False, "error": str(exc),
            }, sort_keys=True, indent=2) + "\n")
        return 1
    if text:
        render_create(result, args.model, sys.stdout)
    else:
        sys.stdout.write(json.dumps(create_json(result), indent=2, sort_keys=True) + "\n")
    return 0 if result.ok else 1


def _restore(args: argparse.Namespace) -> int:
    from envdoctor import installer
    from envdoctor.envlock import LockBusy, environment_lock
    from envdoctor.snapshot import load_snapshot, restore

    snap = load_snapshot(args.snapshot)
    uv = installer.find_uv()
    conda = installer.find_conda() if snap.conda_listing else None
    text = args.format == "text"

    def echo(line: str) -> None:
        if text and sys.stderr.isatty():
            sys.stderr.write(f"    | {line}\n")

    try:
        if not args.yes:
            result = restore(snap, uv=uv, conda=conda, dry_run=True)
        else:
            with environment_lock(snap.prefix, wait=args.wait, command="envdoctor env restore"):
                result = restore(snap, uv=uv, conda=conda, on_line=echo)
    except LockBusy as exc:
        sys.stderr.write(f"envdoctor: {exc}\n")
        return 1
    if text:
        render_restore(snap, result, sys.stdout, applied=args.yes, uv=uv)
    else:
        sys.stdout.write(json.dumps(restore_json(snap, result, applied=args.yes), indent=2,
                                    sort_keys=True) + "\n")
    return 0 if result.ok or not args.yes else 1


def _snapshots(args: argparse.Namespace) -> int:
    from envdoctor import app
    from envdoctor.snapshot import list_snapshots

    env = app.read_env(args.python)
    paths = list_snapshots(env.prefix)
    if args.format == "json":
        sys.stdout.write(json.dumps({"command": "env snapshots", "prefix": env.prefix,
                                     "snapshots": [str(p) for p in paths]}, indent=2,
                                    sort_keys=True) + "\n")
        return 0
    render_snapshots(env.prefix, paths, sys.stdout)
    return 0
