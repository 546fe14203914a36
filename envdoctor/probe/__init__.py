"""Running a target interpreter, only when static reading is not enough.

:func:`run_probe` runs ``_script.py`` (standard library only, Python 2.7 and 3.6+) in
the target with bounds on time and output; :func:`probe_interpreter` adds an on-disk
cache so that an interpreter is run at most once while it is unchanged.

Here: ``runner`` (spawn with capped output pumps, timeout, ``kill_tree``,
``clean_child_env``; :mod:`envdoctor.verify` and :mod:`envdoctor.repair.installer` reuse
the latter two), ``cache`` and ``_script.py`` (run as a file by the target, never imported
by envdoctor).  May import :mod:`envdoctor.errors` only.
"""

from __future__ import annotations

from envdoctor.probe.cache import (
    cache_dir,
    cache_key,
    load_cached,
    probe_interpreter,
    store_cached,
)
from envdoctor.probe.runner import (
    MAX_STDOUT_BYTES,
    PROBE_FLAGS,
    REQUIRED_KEYS,
    SCRIPT_PATH,
    check_probe_answer,
    clean_child_env,
    parse_probe_output,
    run_probe,
)

__all__ = [
    "MAX_STDOUT_BYTES",
    "PROBE_FLAGS",
    "REQUIRED_KEYS",
    "SCRIPT_PATH",
    "cache_dir",
    "cache_key",
    "check_probe_answer",
    "clean_child_env",
    "load_cached",
    "parse_probe_output",
    "probe_interpreter",
    "run_probe",
    "store_cached",
]
