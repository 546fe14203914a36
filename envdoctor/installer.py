"""Moved to :mod:`envdoctor.repair.installer` (issue 16); this path stays importable.

``envdoctor.installer`` is the same module object as ``envdoctor.repair.installer`` (so a name
set on one is seen through the other); import from ``envdoctor.repair.installer`` in new code.
"""

import sys
from typing import TYPE_CHECKING

from envdoctor.repair import installer as _moved

if TYPE_CHECKING:  # the names, for type checkers; at run time the module itself
    from envdoctor.repair.installer import *  # noqa: F403

sys.modules[__name__] = _moved
