"""Bounds on everything envdoctor reads from a model file.

A hostile or corrupt file must give one clear error, never exhaust memory or time.
All sizes are bytes.
"""

from __future__ import annotations

MAX_JSON_BYTES = 64 * 1024 * 1024
"""Largest config.json / metadata.json / model_config attribute we parse (bytes)."""

MAX_JSON_DEPTH = 200
"""Deepest JSON nesting accepted (objects + arrays)."""

MAX_JSON_VALUES = 5_000_000
"""Most JSON values (objects, arrays, strings, numbers...) accepted in one document.

Parsing costs up to ~40 bytes per value (an int above 256 or a float, plus its list slot), so
a 64 MB document of numbers took 790 MB and 4.7 s; at 5,000,000 values the parse stays near
200 MB.  Real Keras configs hold one value per ~18 bytes of JSON (the fixtures and real
models), so 64 MB of real config is ~3.7 M values."""

MAX_ZIP_MEMBERS = 100_000
"""Most members accepted in a `.keras` zip central directory."""

MAX_ZIP_RATIO = 200
"""Largest compression ratio accepted for a JSON member before it is treated as a zip bomb."""

MAX_PB_BYTES = 512 * 1024 * 1024
"""Largest saved_model.pb we read (bytes); protobuf's own hard limit is 2 GiB."""

MAX_PROTO_DEPTH = 64
"""Deepest protobuf message nesting we follow."""

MAX_PROTO_FIELDS = 5_000_000
"""Budget of protobuf field units for reading one model (all messages together).

A skipped field costs 1 unit, a field handed to the reader 10 (see
``protowire.YIELD_COST``).  Scanning costs ~0.5 us per field, so a ``MAX_PB_BYTES`` file made
of 2-byte fields would take minutes; 5,000,000 units stop it after ~2.5 s.  The real
2.2 MB ``saved_model.pb`` of pm-032 uses 68,000 units (14 ms); large real files are mostly
big constant tensors, one field each."""

MAX_SIDECAR_BYTES = 4 * 1024 * 1024
"""Largest requirements.txt / conda.yaml / MLmodel read (bytes)."""

MAX_LAYERS = 200_000
"""Most layers walked in one config before the walk stops with an error."""

SNIFF_BYTES = 4096
"""Bytes read from the head of a file to detect its format."""

MAX_WALK_ENTRIES = 100_000
"""Most directory entries visited when summing a SavedModel directory's size."""
