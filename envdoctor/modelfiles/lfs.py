"""git-lfs pointer files: the few lines git-lfs leaves in place of a model it did not fetch.

A leaf module (standard library only) shared by ``detect.py`` and ``savedmodel.py``.
Format: https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md
"""

from __future__ import annotations

import re
from typing import Optional

#: First line of every git-lfs pointer (spec v1).
GIT_LFS_PREFIX = b"version https://git-lfs.github.com/spec/v1"
#: What loading needs instead of the pointer.
LFS_NEEDS = "`git lfs pull` (or `git lfs fetch && git lfs checkout`) in the repository"

_LFS_OID = re.compile(rb"^oid ([a-z0-9]+):([0-9a-f]+)$", re.MULTILINE)
_LFS_SIZE = re.compile(rb"^size (\d{1,20})$", re.MULTILINE)


def lfs_pointer_info(data: bytes) -> tuple[Optional[str], Optional[int]]:
    """Parse a git-lfs pointer file.

    Args:
        data: the file's bytes (a pointer is under 1024 bytes).

    Returns:
        ``(oid as "sha256:<hex>" or None, size of the real object in bytes or None)``.
    """
    oid_match = _LFS_OID.search(data)
    size_match = _LFS_SIZE.search(data)
    oid = (
        f"{oid_match.group(1).decode('ascii')}:{oid_match.group(2).decode('ascii')}"
        if oid_match
        else None
    )
    return oid, int(size_match.group(1)) if size_match else None
