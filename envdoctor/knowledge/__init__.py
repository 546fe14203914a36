"""Sourced compatibility knowledge, shipped as JSON data files.

Every rule's numbers live in ``envdoctor/knowledge/*.json`` and every row there carries a
``source`` (a URL, ``repo:path@tag`` or a ground-truth file of the test suite), so that
supporting a new TensorFlow or Keras release is a data change.  The files are read with
:mod:`importlib.resources` once per process and cached.

Files:
    tensorflow.json: one row per TensorFlow minor 2.10-2.21.
    keras.json: Keras 2/3 format and loading facts, known regressions.
    tf_keras.json: tf-keras releases and their TensorFlow pins.
    advisories.json: published Keras advisories.
    addon_ops.json: op names registered by add-on libraries (tensorflow-text, ...).
    codes.json: the documentation of every finding code (used by ``envdoctor explain``).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

DATA_FILES = ("tensorflow", "keras", "tf_keras", "advisories", "addon_ops", "codes", "errors", "r")
"""The names of the data files (without ``.json``)."""


@cache
def load(name: str) -> dict[str, Any]:
    """Return the parsed data file ``name`` (cached; do not mutate the result).

    Args:
        name: one of :data:`DATA_FILES`.

    Returns:
        The JSON object of ``envdoctor/knowledge/<name>.json``.

    Raises:
        KeyError: ``name`` is not a known data file.
        TypeError: the file is not a JSON object (a packaging error).
    """
    if name not in DATA_FILES:
        raise KeyError(name)
    text = resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise TypeError(f"knowledge file {name}.json is not a JSON object")
    return data
