"""Wording shared by the text renderers (terminal and Markdown)."""

from __future__ import annotations

from envdoctor.types import ModelInfo


def layer_count_text(info: ModelInfo) -> str:
    """Return the layer count in the words of the model's summary line.

    The summary (``"Functional with 4 layers"``) counts top-level layers without
    ``InputLayer``; this says the same number first, then what else the config holds, e.g.
    ``"4 top-level (+2 InputLayer, 3 nested: 9 in all)"``.
    """
    top = sum(1 for x in info.layers if "/" not in x.path and x.class_name != "InputLayer")
    inputs = sum(1 for x in info.layers if "/" not in x.path and x.class_name == "InputLayer")
    nested = sum(1 for x in info.layers if "/" in x.path)
    extra = []
    if inputs:
        extra.append(f"+{inputs} InputLayer")
    if nested:
        extra.append(f"{nested} nested")
    if not extra:
        return f"{top} top-level"
    return f"{top} top-level ({', '.join(extra)}: {len(info.layers)} in all)"
