"""Moved to :mod:`envdoctor.repair.snapshot` (issue 16); this path stays importable.

``envdoctor.snapshot`` is the same module object as ``envdoctor.repair.snapshot`` (so a name
set on one is seen through the other); import from ``envdoctor.repair.snapshot`` in new code.
"""

import sys
from typing import TYPE_CHECKING

from envdoctor.repair import snapshot as _moved

if TYPE_CHECKING:  # the names, for type checkers; at run time the module itself
    from envdoctor.repair.snapshot import *  # noqa: F403

sys.modules[__name__] = _moved
