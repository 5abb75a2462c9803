"""A pids cgroup per sandbox: a process cap the kernel enforces even for root, and an exact list of what to kill.

RLIMIT_NPROC does not hold when the grader runs as root (bubblewrap maps the sandbox's user to root outside, and
the kernel exempts root), so a fork bomb could fill the machine with interpreters. Where cgroups can be written
(root, a pids controller: cgroup v1's `pids` hierarchy or v2's unified one) every sandbox gets its own group.
Elsewhere this does nothing and the rlimit applies (an unprivileged grader is not exempt).
"""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
"""cgroup v1's pids hierarchy, then the v2 unified hierarchy."""
PARENT = "attn-grade"


def create(sandbox_dir: Path, max_processes: int) -> Path | None:
    """A new pids cgroup named after this process and the sandbox's directory, capped at `max_processes`; None
    where none can be made. Empty groups left by grading processes that are gone (killed) are removed first."""
    for root in ROOTS:
        group = _group(root, sandbox_dir)
        try:
            if not (root / "cgroup.procs").exists():
                continue
            if (root / "cgroup.subtree_control").exists():  # v2: hand the pids controller down to our groups
                _enable_pids(root, root / PARENT)
            _sweep(root / PARENT)
            group.mkdir(parents=True, exist_ok=True)
            (group / "pids.max").write_text(str(max_processes))
            return group
        except OSError:
            _remove(group)
    return None


def join(group: Path | None) -> None:
    """Move the calling process (a sandbox about to exec) into `group`; its descendants follow."""
    if group is not None:
        (group / "cgroup.procs").write_text(str(os.getpid()))


def kill_all(sandbox_dir: Path, timeout: float = 30.0) -> None:
    """SIGKILL every process of the sandbox's cgroup until it is empty, then remove the group (if there is one)."""
    for root in ROOTS:
        group = _group(root, sandbox_dir)
        if not group.is_dir():
            continue
        kill_until_gone(lambda: _members(group), timeout)
        deadline = time.monotonic() + 5
        while not _remove(group) and time.monotonic() < deadline:  # busy until the killed are reaped
            time.sleep(0.02)


def kill_until_gone(find: Callable[[], list[int]], timeout: float) -> None:
    """SIGKILL the pids `find` lists, again and again, until it lists none or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while (pids := find()) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.02)


def _group(root: Path, sandbox_dir: Path) -> Path:
    return root / PARENT / f"{os.getpid()}-{sandbox_dir.name}"


def _sweep(parent: Path) -> None:
    """Remove the groups of grading processes that no longer exist (rmdir refuses any that still has members)."""
    for group in parent.glob("*-attn-*"):
        owner = group.name.split("-", 1)[0]
        if owner.isdigit() and not Path("/proc", owner).exists():
            _remove(group)


def _members(group: Path) -> list[int]:
    try:
        return [int(pid) for pid in (group / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _enable_pids(*levels: Path) -> None:
    for level in levels:
        level.mkdir(exist_ok=True)
        if "pids" not in (level / "cgroup.subtree_control").read_text().split():
            (level / "cgroup.subtree_control").write_text("+pids")


def _remove(group: Path) -> bool:
    """Remove an empty group; False while it still counts processes (or cannot be removed)."""
    try:
        group.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True
