"""Repair: the only code that changes an environment.

* :mod:`~envdoctor.repair.fix` -- ``envdoctor fix``: the plan built from a check's findings
  (requirements merged per distribution, variables, code lines), and applying it: lock,
  snapshot, install, re-check, verify;
* :mod:`~envdoctor.repair.create` -- ``envdoctor env create``: choose a stack from the
  knowledge tables, build it, check it and verify it;
* :mod:`~envdoctor.repair.installer` -- uv / pip / conda: the argv of every install and
  the one place that runs it;
* :mod:`~envdoctor.repair.snapshot` -- freeze / conda listing before a change, and the
  exact restore commands;
* :mod:`~envdoctor.repair.lock` -- one advisory lock per environment prefix.

The old paths (``envdoctor.fix``, ``envdoctor.envcreate``, ``envdoctor.installer``,
``envdoctor.snapshot``, ``envdoctor.envlock``) are the same module objects, kept for
callers not yet moved.

May import the static diagnosis (:mod:`envdoctor.types`, :mod:`envdoctor.fixes`,
:mod:`envdoctor.knowledge`, :mod:`envdoctor.inventory`, :mod:`envdoctor.discovery`), the
pipeline (:mod:`envdoctor.app`, :mod:`envdoctor.checks`) and :mod:`envdoctor.verify`
(to prove a change); never a command, a renderer or the CLI.  Nothing below this package
imports it, except :mod:`envdoctor.render` and :mod:`envdoctor.rlang`, for now.
"""
