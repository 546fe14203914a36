"""Every subcommand of ``envdoctor``, one module each (``check.py``, ``envs.py``...).

Each module listed in :data:`MODULES` defines ``register(sub, common)`` (add its argparse
subparser; ``common(parser)`` adds ``--format``/``--no-color``) and ``run(args) -> int``
(return an exit code; raise :class:`envdoctor.errors.EnvdoctorError` for bad input).
:mod:`envdoctor.cli` imports and registers only the module of the subcommand being run
(every module for help and errors), so a module never imports another command module;
what several share (exit codes, colour, the spinner, the serializers, the closing plan)
is in the leaf :mod:`envdoctor.commands._common`.

What a command module may import: the feature modules it runs (``app``, ``api``, ``fix``,
``verify``, ``explain``, ``rlang``...), :mod:`envdoctor.render` for its output, and
``_common``; never :mod:`envdoctor.cli` (which imports the commands).  Output is made by
:mod:`envdoctor.render`, not here.  Modules keep their top-level imports light: R startup
scripts run envdoctor often.
"""

from __future__ import annotations

MODULES: tuple[str, ...] = (
    "check", "envs", "which", "inspect", "r", "verify", "explain", "fix", "env", "report",
)
"""Module names under ``envdoctor.commands``, in help order."""
