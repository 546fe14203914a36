"""Bounds on everything envdoctor reads from a model file.

A hostile or corrupt file must give one clear error, never exhaust memory or time.
All sizes are bytes.
"""

from __future__ import annotations

MAX_JSON_BYTES = 64 * 1024 * 1024
"""Largest config.json / metadata.json / model_config attribute we parse (bytes)."""

MAX_JSON_DEPTH = 200
"""Deepest JSON nesting accepted (objects + arrays)."""

MAX_ZIP_MEMBERS = 100_000
"""Most members accepted in a `.keras` zip central directory."""

MAX_ZIP_RATIO = 200
"""Largest compression ratio accepted for a JSON member before it is treated as a zip bomb."""

MAX_PB_BYTES = 512 * 1024 * 1024
"""Largest saved_model.pb we read (bytes); protobuf's own hard limit is 2 GiB."""

MAX_PROTO_DEPTH = 64
"""Deepest protobuf message nesting we follow."""

MAX_SIDECAR_BYTES = 4 * 1024 * 1024
"""Largest requirements.txt / conda.yaml / MLmodel read (bytes)."""

MAX_LAYERS = 200_000
"""Most layers walked in one config before the walk stops with an error."""

SNIFF_BYTES = 4096
"""Bytes read from the head of a file to detect its format."""
