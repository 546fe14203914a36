"""Readers of saved-model files: detect a path's format by content and read its metadata.

Nothing in a model file is executed, imported or unpickled.  The entry point is
:func:`read_model`; sidecar requirement files are read by :func:`read_sidecars`.

Here: :mod:`~envdoctor.modelfiles.detect` (format by content, dispatch, the non-Keras
artifacts), one reader per format (``keras_archive``, ``hdf5``, ``savedmodel``,
``config_json``), the Keras-config walker ``config``, ``sidecar``, the protobuf wire reader
``protowire``, and two leaves every reader shares: ``limits`` (every size bound) and
``safe_open`` (non-blocking opens and bounded reads: ``read_bounded``,
``directory_size``).  May import :mod:`envdoctor.errors` and :mod:`envdoctor.types` only
(h5py and packaging lazily, when a file needs them); a reader imports another reader only
from ``detect`` (dispatch) and only inside the function that needs it.
"""

from __future__ import annotations

from envdoctor.modelfiles.detect import read_model
from envdoctor.modelfiles.sidecar import read_sidecars

__all__ = ["read_model", "read_sidecars"]
