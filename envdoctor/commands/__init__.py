"""Subcommands beyond check/inspect/envs/which, one module each.

Each module listed in :data:`MODULES` defines ``register(sub, common)`` (add its argparse
subparser; ``common(parser)`` adds ``--format``/``--no-color``) and ``run(args) -> int``
(return an exit code; raise :class:`envdoctor.errors.EnvdoctorError` for bad input).
Modules keep their top-level imports light: R startup scripts run envdoctor often.
"""

from __future__ import annotations

MODULES: tuple[str, ...] = ("r", "verify", "explain", "fix", "env", "report")
"""Module names under ``envdoctor.commands``, in help order."""
