"""Runs inside the zygote's sandbox: a snapshot of its writable tmpfs mounts, to restore after each child."""
from __future__ import annotations

import os
import stat


class FileSystems:
    """The sandbox's writable tmpfs mounts (/, /tmp, /dev in bwrap's layout) as they were before any child ran."""

    def __init__(self):
        self.mounts = _writable_mounts()
        self.entries = self._scan()

    def restore(self) -> bool:
        """Delete what was added, put back what was removed or changed; False when it cannot be done."""
        try:
            for top in self.mounts:
                self._prune(top, os.lstat(top).st_dev)
            for path, (kind, mode, extra) in sorted(self.entries.items()):
                if kind == "mount":
                    continue
                if not os.path.lexists(path):
                    if kind == stat.S_IFDIR:
                        os.mkdir(path)
                    elif kind == stat.S_IFLNK:
                        os.symlink(extra, path)
                if kind == stat.S_IFDIR:
                    os.chmod(path, mode)
            return self._scan() == self.entries
        except (OSError, RecursionError):
            return False

    def _prune(self, directory: str, dev: int) -> None:
        os.chmod(directory, stat.S_IRWXU)  # a child may have locked us out of it; its mode is restored after
        for entry in list(os.scandir(directory)):
            info = entry.stat(follow_symlinks=False)
            if info.st_dev != dev:
                continue  # a mount point: never entered, cannot be removed
            kept = self.entries.get(entry.path)
            if stat.S_ISDIR(info.st_mode):
                self._prune(entry.path, dev)
                if kept is None or kept[0] != stat.S_IFDIR:
                    os.rmdir(entry.path)
            elif kept != _describe(entry.path, info):
                os.unlink(entry.path)

    def _scan(self) -> dict[str, tuple]:
        entries = {}
        for top in self.mounts:
            dev = os.lstat(top).st_dev
            entries[top] = _describe(top, os.lstat(top))
            pending = [top]
            while pending:
                for entry in os.scandir(pending.pop()):
                    info = entry.stat(follow_symlinks=False)
                    if info.st_dev != dev:
                        entries[entry.path] = ("mount", 0, None)
                        continue
                    entries[entry.path] = _describe(entry.path, info)
                    if stat.S_ISDIR(info.st_mode):
                        pending.append(entry.path)
        return entries


def _describe(path: str, info: os.stat_result) -> tuple:
    kind = stat.S_IFMT(info.st_mode)
    extra = os.readlink(path) if kind == stat.S_IFLNK else None if kind == stat.S_IFDIR else (info.st_size,
                                                                                            info.st_mtime_ns)
    return kind, stat.S_IMODE(info.st_mode), extra


def _writable_mounts() -> list[str]:
    mounts = []
    with open("/proc/self/mountinfo") as table:
        for line in table:
            fields, _, rest = line.partition(" - ")
            fields = fields.split()
            if rest.split()[0] == "tmpfs" and "rw" in fields[5].split(","):
                mounts.append(fields[4])
    return mounts
