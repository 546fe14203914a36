"""Moved to :mod:`envdoctor.repair.fix` (issue 16); this path stays importable.

``envdoctor.fix`` is the same module object as ``envdoctor.repair.fix`` (so a name
set on one is seen through the other); import from ``envdoctor.repair.fix`` in new code.
"""

import sys
from typing import TYPE_CHECKING

from envdoctor.repair import fix as _moved

if TYPE_CHECKING:  # the names, for type checkers; at run time the module itself
    from envdoctor.repair.fix import *  # noqa: F403

sys.modules[__name__] = _moved
