"""How a sandboxed interpreter is confined and killed: limits, bubblewrap's command line, environment, rlimits."""
from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox import cgroup
from autograder.sandbox.privileges import Identity


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandbox; times in seconds, sizes in bytes."""

    cell_timeout: float = 60.0
    """A cell: loading the pretrained model and running it over a few sentences takes a few seconds on one core."""
    call_timeout: float = 10.0
    """One grader call: the slowest honest one (a model forward with attentions) takes well under a second."""
    startup_timeout: float = 60.0
    """Starting an interpreter that imports torch and transformers, on a busy machine."""
    memory: int = 6 * 2**30
    """Address space: torch reserves much more than it touches; 6 GiB holds a BERT-size model with room to spare."""
    processes: int = 256
    """Torch's and tokenizers' threads count as processes here; a fork bomb stops at this many."""
    file_size: int = 16 * 2**20
    """Largest file a student may write (a saved figure or array), so the disk cannot be filled."""
    tmp_size: int = 64 * 2**20
    """The sandbox's private /tmp, in memory."""
    restarts: int = 4
    """Fresh interpreters after crashes or hangs, before the rest of a submission is given up."""


@functools.lru_cache(maxsize=1)
def bwrap_available() -> bool:
    """True when bubblewrap is installed and can create namespaces here (probed once per process)."""
    exe = shutil.which("bwrap")
    if not exe:
        return False
    probe = subprocess.run([exe, "--unshare-all", "--ro-bind", "/", "/", "--", "true"], capture_output=True)
    return probe.returncode == 0


def bwrap_command(directory: Path, files: tuple[str, ...], limits: Limits, env: dict[str, str],
                  extra: tuple[str, ...] = ()) -> list[str]:
    """The bubblewrap command line up to `--`: `files` of `directory` read-only in /sandbox, /tmp/work as cwd."""
    binds = {Path(sys.prefix), Path(sys.base_prefix)}
    if os.environ.get("ATTN_BERT_MODEL"):
        binds.add(Path(os.environ["ATTN_BERT_MODEL"]).resolve())
    command = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", *extra, "--clearenv",
               "--uid", "1000", "--gid", "1000", "--hostname", "sandbox",
               "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
               "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
               "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
               "--proc", "/proc", "--dev", "/dev",
               "--size", str(limits.tmp_size), "--tmpfs", "/tmp"]
    for name in files:
        command += ["--ro-bind", str(directory / name), f"/sandbox/{name}"]
    command += ["--dir", "/tmp/work", "--chdir", "/tmp/work"]
    for path in sorted(binds):
        command += ["--ro-bind", str(path), str(path)]
    for key, value in env.items():
        command += ["--setenv", key, value]
    return command + ["--"]


def sandbox_env(directory: Path, isolation: str) -> dict[str, str]:
    """The whole environment of a sandboxed interpreter; ATTN_SANDBOX=`directory` marks its processes."""
    home = "/tmp/work" if isolation == "bwrap" else str(directory / "work")
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{home}/.mpl",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "TOKENIZERS_PARALLELISM": "false", "LANG": "C.UTF-8",
           "ATTN_SANDBOX": str(directory)}  # marks every process of this sandbox (tests look for leftovers)
    if isolation == "process":  # the shared scratch directories are read-only to an unprivileged sandbox
        env["TMPDIR"] = home
    if os.environ.get("ATTN_BERT_MODEL"):
        env["ATTN_BERT_MODEL"] = str(Path(os.environ["ATTN_BERT_MODEL"]).resolve())
    return env


def set_limits(limits: Limits, isolation: str, memory: int | None = None, group: Path | None = None,
               identity: Identity | None = None) -> None:
    """Apply the resource limits to this process (run between fork and exec): its pids cgroup `group` (see
    cgroup.py), then `identity` (an unprivileged sandbox, see privileges.py), then rlimits; `memory` overrides
    limits.memory."""
    memory = limits.memory if memory is None else memory
    cgroup.join(group)
    if identity is not None:
        identity.become()
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if isolation == "bwrap" or identity is not None:  # only the sandbox's own processes count (root: cgroup.py)
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


def kill_tree(proc: subprocess.Popen, marker_dir: Path, identity: Identity | None = None) -> None:
    """SIGKILL `proc`'s process group, then its sandbox's cgroup, then every process whose environment carries
    `marker_dir`'s marker, then every process running as the sandbox's own `identity`."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for stream in (proc.stdin, proc.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
    proc.wait()
    cgroup.kill_all(marker_dir)
    cgroup.kill_until_gone(lambda: _marked_processes(marker_dir), timeout=10)
    if identity is not None:
        cgroup.kill_until_gone(identity.processes, timeout=10)


def _marked_processes(sandbox_dir: Path) -> list[int]:
    """Pids of live processes whose environment carries this sandbox's marker (zombies excluded)."""
    marker = f"ATTN_SANDBOX={sandbox_dir}".encode()
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if marker in Path(entry.path, "environ").read_bytes() and b"\nState:\tZ" not in Path(entry.path, "status").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids
