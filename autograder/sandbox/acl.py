"""POSIX access ACLs, read and written as the kernel stores them (the `system.posix_acl_access` xattr, no setfacl).

Used to give one group (the sandbox's) its own permissions on a path without touching what the owner, the owning
group or anyone else may do: a named-group entry with no permissions denies that group even where "other" may
read, and it survives a later chmod.
"""
from __future__ import annotations

import errno
import os
import stat
import struct
from functools import reduce
from operator import or_
from pathlib import Path

XATTR = "system.posix_acl_access"
VERSION = 2
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
UNDEFINED = 0xFFFFFFFF
_HEADER, _ENTRY = struct.Struct("<I"), struct.Struct("<HHI")


def set_group_permissions(path: Path, gid: int, perms: int) -> None:
    """Give group `gid` exactly `perms` (an octal digit, 0 = nothing) on `path`, keeping every other entry; the mask
    becomes the union of the group class, as setfacl makes it. Raises OSError where the file system has no ACLs."""
    entries = _read(path)
    entries[(GROUP, gid)] = perms
    entries[(MASK, UNDEFINED)] = reduce(or_, (p for (tag, _), p in entries.items() if tag in (USER, GROUP_OBJ, GROUP)), 0)
    os.setxattr(path, XATTR, _encode(entries), follow_symlinks=False)


def group_permissions(path: Path, gid: int) -> int | None:
    """The permissions of group `gid`'s own entry on `path`, or None when it has none."""
    return _read(path).get((GROUP, gid))


def _read(path: Path) -> dict[tuple[int, int], int]:
    try:
        raw = os.getxattr(path, XATTR, follow_symlinks=False)
    except OSError as exc:
        if exc.errno != errno.ENODATA:
            raise
        mode = stat.S_IMODE(os.lstat(path).st_mode)
        return {(USER_OBJ, UNDEFINED): mode >> 6 & 7, (GROUP_OBJ, UNDEFINED): mode >> 3 & 7,
                (OTHER, UNDEFINED): mode & 7}
    (version,) = _HEADER.unpack_from(raw)
    if version != VERSION:
        raise OSError(errno.EINVAL, f"unknown ACL version {version}", str(path))
    return {(tag, ident): perm for tag, perm, ident in _ENTRY.iter_unpack(raw[_HEADER.size:])}


def _encode(entries: dict[tuple[int, int], int]) -> bytes:
    """Entries in the kernel's order: by tag (owner, users, owning group, groups, mask, other), then by id."""
    return _HEADER.pack(VERSION) + b"".join(_ENTRY.pack(tag, perm, ident)
                                            for (tag, ident), perm in sorted(entries.items()))
