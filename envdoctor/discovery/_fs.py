"""Discovery's file-system helpers: :mod:`envdoctor.fsread`, under the name its sources use.

:mod:`envdoctor.fsread` is a leaf module; see it for what each helper does and for the
journal of observations that the warm path of ``envdoctor which --for-r`` replays.
"""

from __future__ import annotations

from envdoctor.fsread import (
    MAX_SMALL_FILE_BYTES,
    Observation,
    describe,
    entries,
    isdir,
    isfile,
    islink,
    lexists,
    listdir,
    norm,
    read_head,
    read_small,
    readlink,
    realpath,
    recording,
    stat,
    still_true,
    x_ok,
)

__all__ = [
    "MAX_SMALL_FILE_BYTES",
    "Observation",
    "describe",
    "entries",
    "isdir",
    "isfile",
    "islink",
    "lexists",
    "listdir",
    "norm",
    "read_head",
    "read_small",
    "readlink",
    "realpath",
    "recording",
    "stat",
    "still_true",
    "x_ok",
]
