"""Expected versions derived from the knowledge tables, by rule (not a test module).

Tests use these instead of typing today's newest release ("2.21.0", "3.15.1"): the answer
"the newest known Keras that runs on Python 3.10" keeps its meaning when a new upstream
release is added to the tables, so a release day cannot break the suite.
"""

from __future__ import annotations

from typing import Optional

from packaging.version import Version

from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import satisfies

NEWEST_TF = tables.tf_releases()[-1]
"""The newest TensorFlow row (its ``minor`` and ``latest``)."""

NEWEST_KERAS = max(tables.keras_releases(), key=Version)
"""The newest Keras 3 release in the tables."""


def newest_tf(python: Optional[str], keras3: bool = True) -> Optional[tables.TFRelease]:
    """The newest TensorFlow row whose tested Python range holds ``python``."""
    rows = [
        r
        for r in tables.tf_releases()
        if (r.keras_generation == 3) == keras3 and (python is None or r.python_tested(python))
    ]
    return rows[-1] if rows else None


def newest_keras(python: Optional[str], tf: Optional[tables.TFRelease] = None) -> Optional[str]:
    """The newest Keras 3 release whose Requires-Python holds ``python`` (and ``tf``'s pin)."""
    out = [
        v
        for v in tables.keras_releases()
        if (python is None or satisfies(python, tables.keras_requires_python(v)) is not False)
        and (tf is None or satisfies(v, tf.keras.removeprefix("keras")) is not False)
    ]
    return max(out, key=Version) if out else None


def recommended_keras(python: str) -> str:
    """The first hardened Keras of ``advisories.json`` ``recommended`` for ``python``."""
    for row in tables.recommended_keras():
        if satisfies(python, row["python"]) is not False:
            return str(row["version"])
    raise LookupError(python)


def tf_keras_pin(tf_minor: str) -> str:
    """The newest tf-keras release for a TensorFlow minor (``tf_keras.json``)."""
    row = tables.tf_keras_release(tf_minor)
    assert row is not None, tf_minor
    return str(row["versions"][-1])
