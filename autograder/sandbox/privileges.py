"""The `process` fallback as root: the student's interpreter runs as an unprivileged user that cannot read the key.

Without bubblewrap nothing is hidden by a mount namespace, and the repository is world-readable (the package is
installed in the venv, editable or not). So when the grader is root, each sandbox runs under a uid of its own
(no other process has it: sandboxes cannot signal, trace or read one another) in the group `attn-sandbox`
(created with useradd, else `nogroup`), with no supplementary groups, no_new_privs (setuid programs give nothing
back) and no IPv4/IPv6 sockets (seccomp.py). The group gets, through POSIX ACL entries that change nothing for anyone else:
  - no access to the answer key and the grader package (wherever they are installed), every entry of the
    project directory but the venv, the grader's working directory (the course: source/, gradebook, submitted/,
    results) and any path named in ATTN_GRADE_PROTECT or passed to protect() (the results path);
  - read-only access to the shared scratch directories (/tmp, /var/tmp, /dev/shm), so that nothing a student
    leaves there reaches the grader or the next student;
  - the right to pass through (not list) a directory on the way to the interpreter that others may not enter
    (root's home, where pyenv keeps Python).
Where a file system has no ACLs, the "other" permission bits of those paths are removed instead. A probe run as
the sandbox's identity then checks that every protected path is really unreadable; what is not is reported.
"""
from __future__ import annotations

import functools
import grp
import importlib.util
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from autograder.files import PROJECT
from autograder.sandbox import acl, seccomp

GROUP = "attn-sandbox"
UID_BASE, UID_SPAN = 0x60000000, 1 << 24
"""Sandbox uids are drawn from [UID_BASE, UID_BASE + UID_SPAN): far above any account's."""
SCRATCH = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))
PROTECT_ENV = "ATTN_GRADE_PROTECT"
NO_ACCESS, TRAVERSE, READ_ONLY = 0, 1, 5
NOT_ROOT = ("没有 bubblewrap,评分进程又不是 root,无法换成无权限用户:学生代码能读到答案和评分程序,此分数不可信。 / "
            "No bubblewrap, and the grader is not root: the student's code ran as the grader's user and could "
            "read the answer key and the graders, so do not trust this score (install bubblewrap, or grade as root).")
STILL_READABLE = ("无法对沙箱用户隐藏答案({paths}):此分数不可信。 / The sandbox's user can still read {paths}: the "
                  "answer key is not hidden, so do not trust this score.")
_PROBE = ("import os, sys\n"
          "for path in sys.argv[1:]:\n"
          "    try:\n"
          "        os.listdir(path) if os.path.isdir(path) else open(path, 'rb').close()\n"
          "        print(path)\n"
          "    except OSError:\n"
          "        pass\n")
_extra: set[Path] = set()
_verified: dict[frozenset, list[str]] = {}


@dataclass(frozen=True)
class Identity:
    """Who a sandbox runs as: a uid no other process has, the sandbox group, nothing else."""

    uid: int
    gid: int

    def become(self) -> None:
        """Drop to this identity for good (run in the child, after the limits and the cgroup, before exec)."""
        os.setgroups([])
        os.setresgid(self.gid, self.gid, self.gid)
        os.setresuid(self.uid, self.uid, self.uid)
        _no_new_privileges()
        seccomp.forbid_network()

    def processes(self) -> list[int]:
        """Pids of the live processes running as this uid (zombies excluded)."""
        found = []
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    status = Path(entry.path, "status").read_text()
                except OSError:
                    continue
                uid_line = next((line for line in status.splitlines() if line.startswith("Uid:")), "")
                if uid_line.split()[1:2] == [str(self.uid)] and "\nState:\tZ" not in status:
                    found.append(int(entry.name))
        return found


def can_drop() -> bool:
    """True when the grader may change the sandbox's user (it is root)."""
    return os.geteuid() == 0


def new_identity() -> Identity:
    """A fresh identity for one sandbox."""
    return Identity(UID_BASE + secrets.randbelow(UID_SPAN), sandbox_group())


@functools.cache
def sandbox_group() -> int:
    """The gid of `attn-sandbox`, created (as a system user and its group) if missing; `nogroup` when it cannot be."""
    for attempt in range(2):
        try:
            return grp.getgrnam(GROUP).gr_gid
        except KeyError:
            if attempt == 0 and shutil.which("useradd"):
                subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                                "/nonexistent", "--shell", "/usr/sbin/nologin", GROUP], capture_output=True)
    return grp.getgrnam("nogroup").gr_gid


def protect(*paths: str | Path) -> None:
    """Also keep these paths (a results directory, a roster) from every later sandbox of this process."""
    _extra.update(Path(p).resolve() for p in paths)


def guard(identity: Identity, needed: list[Path]) -> list[str]:
    """Make the protected paths unreadable to the sandbox group and the scratch directories read-only to it.

    Args:
        identity: the sandbox's identity (its group gets the ACL entries; the probe runs as it).
        needed: paths the sandbox must still reach (its own directory, the model); the interpreter's are added.
    Returns:
        The protected paths the probe could still read (empty when the key is safe).
    """
    needed = [Path(p).resolve() for p in needed] + _interpreter_paths()
    protected = sorted(set(_protected_paths(needed)))
    key = frozenset(protected)
    if key not in _verified:
        for path in protected:
            _restrict(path, identity.gid, NO_ACCESS)
        for path in SCRATCH:
            if path.is_dir():
                _restrict(path, identity.gid, READ_ONLY, fallback=False)
        for path in _closed_ancestors(needed):  # e.g. /root, when the interpreter is pyenv's in root's home
            _restrict(path, identity.gid, TRAVERSE, fallback=False)
        _verified[key] = _readable_by(identity, protected)
    return _verified[key]


def _protected_paths(needed: list[Path]) -> list[Path]:
    packages = [Path(location) for name in ("assignments", "autograder")
                if (spec := importlib.util.find_spec(name)) for location in spec.submodule_search_locations or ()]
    roots = [PROJECT, Path.cwd(), *_extra]
    roots += [Path(p) for p in os.environ.get(PROTECT_ENV, "").split(os.pathsep) if p]
    found = [p.resolve() for p in packages]
    for root in roots:
        found += _around(root.resolve(), needed)
    return [p for p in found if p.exists()]


def _around(path: Path, needed: list[Path]) -> list[Path]:
    """`path` itself, or, when a needed path lies inside it, everything in it but the way to what is needed."""
    if not path.exists() or any(_within(shared, path) for shared in _shared_paths()) or \
            any(_within(path, system) for system in _system_trees()):
        return []
    if not any(_within(n, path) for n in needed):
        return [path]
    if path in needed or not path.is_dir():
        return []
    return [p for child in path.iterdir() for p in _around(child, needed)]


def _closed_ancestors(needed: list[Path]) -> set[Path]:
    """Directories on the way to a needed path that others may not pass through."""
    return {parent for path in needed for parent in path.parents if not os.stat(parent).st_mode & 0o001}


def _restrict(path: Path, gid: int, perms: int, fallback: bool = True) -> None:
    try:
        if acl.group_permissions(path, gid) != perms:
            acl.set_group_permissions(path, gid, perms)
    except OSError:
        if fallback:  # no ACLs on this file system: take the "other" permissions away
            os.chmod(path, os.lstat(path).st_mode & 0o7770)


def _readable_by(identity: Identity, paths: list[Path]) -> list[str]:
    """Which of `paths` a process of `identity` can list or open."""
    probe = subprocess.run([sys.executable, "-S", "-c", _PROBE, *map(str, paths)], capture_output=True, text=True,
                           user=identity.uid, group=identity.gid, extra_groups=[], env={}, cwd="/")
    return probe.stdout.split()


def _interpreter_paths() -> list[Path]:
    paths = {sys.prefix, sys.base_prefix, *sysconfig.get_paths().values(), Path(sys.executable).parent}
    if os.environ.get("ATTN_BERT_MODEL"):
        paths.add(os.environ["ATTN_BERT_MODEL"])
    return [Path(p).resolve() for p in paths]


def _shared_paths() -> list[Path]:
    """Never taken away whole, nor entry by entry: the root, the system's trees and the scratch directories."""
    return [Path("/"), *_system_trees(), *SCRATCH]


def _system_trees() -> list[Path]:
    return [Path("/usr"), Path("/etc"), Path("/proc"), Path("/sys"), Path("/dev"), Path(sys.base_prefix).resolve()]


def _within(path: Path, parent: Path) -> bool:
    """True when `path` is `parent` or lies inside it."""
    return path == parent or parent in path.parents


def _no_new_privileges() -> None:
    import ctypes
    PR_SET_NO_NEW_PRIVS = 38
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
