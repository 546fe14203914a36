"""Wording shared by the text renderers (terminal and Markdown)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envdoctor.types import ModelInfo

if TYPE_CHECKING:
    from envdoctor.fix import PlanItem


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


ITEM_ACTION = {"command": "run", "env": "set before Python starts",
               "python": "change the loading call (Python)", "r": "in R", "note": "by hand"}
"""How a plan line introduces each kind of step (``check`` and ``fix`` print the same)."""


def item_lines(number: int, item: PlanItem) -> list[str]:
    """Return the text lines of step ``number`` of a plan, as ``check`` and ``fix`` print it.

    ``  N. CODES: action`` then the command or line alone, indented by 6 (never wrapped),
    then its R form when the finding gives one.
    """
    lines = [f"  {number}. {', '.join(item.codes)}: {ITEM_ACTION.get(item.kind, item.kind)}",
             f"      {item.text}"]
    if item.r_text:
        lines += ["     or in R:", f"      {item.r_text}"]
    return lines
