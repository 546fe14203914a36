"""Readers of saved-model files: detect a path's format by content and read its metadata.

Nothing in a model file is executed, imported or unpickled.  The entry point is
:func:`read_model`; sidecar requirement files are read by :func:`read_sidecars`.
"""

from __future__ import annotations

from envdoctor.modelfiles.detect import read_model
from envdoctor.modelfiles.sidecar import read_sidecars

__all__ = ["read_model", "read_sidecars"]
