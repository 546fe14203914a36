"""Moved to :mod:`envdoctor.repair.lock` (issue 16); this path stays importable.

``envdoctor.envlock`` is the same module object as ``envdoctor.repair.lock`` (so a name
set on one is seen through the other); import from ``envdoctor.repair.lock`` in new code.
"""

import sys
from typing import TYPE_CHECKING

from envdoctor.repair import lock as _moved

if TYPE_CHECKING:  # the names, for type checkers; at run time the module itself
    from envdoctor.repair.lock import *  # noqa: F403

sys.modules[__name__] = _moved
