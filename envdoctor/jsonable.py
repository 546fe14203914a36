"""Plain JSON values of envdoctor's frozen results (a leaf module: standard library only).

The one converter: verify results, repair outcomes and the JSON envelope of
:mod:`envdoctor.render.json_out` (which re-exports it) all use it.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """Turn dataclasses, enums, tuples and dicts into plain JSON values.

    Args:
        obj: any value built from envdoctor's types (dataclass instances, enums, dicts,
            lists, tuples, strings, numbers, booleans, None).

    Returns:
        The same data as dicts (keys made strings), lists, strings, numbers, booleans and
        None; a dataclass becomes a dict of its fields in declaration order, an enum its
        value.
    """
    if isinstance(obj, Enum):
        return obj.value
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.metadata.get("json", True)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj
