"""Moved to :mod:`envdoctor.repair.create` (issue 16); this path stays importable.

``envdoctor.envcreate`` is the same module object as ``envdoctor.repair.create`` (so a name
set on one is seen through the other); import from ``envdoctor.repair.create`` in new code.
"""

import sys
from typing import TYPE_CHECKING

from envdoctor.repair import create as _moved

if TYPE_CHECKING:  # the names, for type checkers; at run time the module itself
    from envdoctor.repair.create import *  # noqa: F403

sys.modules[__name__] = _moved
