"""Runs inside the sandbox: a warm interpreter that forks a fresh runner per submission and cleans up after it.

Started as `python zygote.py` in the same bubblewrap sandbox as a cold runner (plus `--as-pid-1`), it imports
what the notebooks import and loads the pretrained model once, then answers its grader on the Unix socket at fd 0,
one JSON message per datagram:
    spawn  (a socket attached)  fork a child that becomes runner.py's main() on that socket; the reply carries a
                                pidfd of the child (readable once it has exited), where the kernel has them
    poll                        the child's exit status, or null while it runs
    reset                       SIGKILL every other process of the pid namespace, restore the writable file systems
    stats                       peak memory of the zygote and of its children
The zygote never runs student code and never reads what a child writes. As pid 1 of the namespace it gets no
signal from its children; it is not dumpable, so they can neither ptrace it nor read or write its memory. Each
child gets its own user and IPC namespace (no SysV/POSIX IPC or keyring outlives it), no capabilities, the
runner's limits and fresh random state.
"""
from __future__ import annotations

import ctypes
import gc
import io
import json
import os
import random
import resource
import signal
import socket
import sys
import threading
import time

import pretrained
import runner
from filesystems import FileSystems

LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_DUMPABLE = 4
CLONE_NEWUSER, CLONE_NEWIPC = 0x10000000, 0x08000000
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)
KEYCTL_JOIN_SESSION_KEYRING = 1
UID = GID = 1000
WORK = "/tmp/work"


class Zygote:
    """The warm state (libraries, model, a snapshot of the file systems) and the one child alive at a time."""

    def __init__(self, control: socket.socket):
        self.control = control
        self.files = FileSystems()
        self.memory_extra = 0
        """Address space the warm libraries add to a cold runner's: not counted against a child's memory limit."""
        self.torch_seed = 0
        self.child = 0
        self.statuses: dict[int, int] = {}
        self.outgoing: list[int] = []
        """Descriptors to pass with the next reply (then closed here)."""

    def warm_up(self) -> None:
        """Import what the notebooks import and load the model, so that no child pays for it again."""
        import torch
        torch.set_num_threads(1)
        self.torch_seed = torch.initial_seed()
        cold_size = _address_space()
        import matplotlib.pyplot  # noqa: F401  (MPLBACKEND=Agg)
        import numpy  # noqa: F401
        from matplotlib.figure import Figure
        try:
            import IPython.display  # noqa: F401
        except ImportError:
            pass
        model, tokenizer = pretrained.load_model()
        for thread in threading.enumerate():  # tqdm's progress-bar monitor: fork only a single-threaded process
            if type(thread).__name__ == "TMonitor":
                thread.exit()
                thread.tqdm_cls.monitor = None
        with torch.no_grad():
            model(**tokenizer("warm up", return_tensors="pt"))
        figure = Figure()
        axes = figure.add_subplot()
        figure.colorbar(axes.imshow(numpy.eye(3)))
        axes.set_title("warm up")
        figure.savefig(io.BytesIO(), format="png")
        self.memory_extra = max(_address_space() - cold_size, 0)
        gc.collect()
        gc.freeze()  # a child's garbage collections skip the warm heap: no traversal, no copy-on-write of its pages

    def handle(self, request: dict, fds: list[int]) -> dict:
        """Answer one request from the grader."""
        op = request.get("op")
        if op == "spawn" and len(fds) == 1:
            if self.child and not self.reset()["clean"]:
                return {"ok": False, "clean": False, "message": "the file systems could not be restored"}
            self.child = self.fork(fds[0], request.get("limits", {}))
            return {"ok": True}
        for fd in fds:
            os.close(fd)
        if op == "poll":
            self.reap()
            return {"ok": True, "status": self.statuses.get(self.child)}
        if op == "reset":
            return self.reset()
        if op == "stats":
            return {"ok": True, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                    "children_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}
        return {"ok": False, "message": f"unknown request {op!r}"}

    def fork(self, channel: int, limits: dict) -> int:
        """Fork a child that becomes a runner on `channel`; the zygote keeps none of its descriptors."""
        pid = os.fork()
        if pid == 0:
            try:
                self.become_runner(channel, limits)
            finally:
                os._exit(70)
        os.close(channel)
        self.outgoing = _exit_watch(pid)
        return pid

    def become_runner(self, channel: int, limits: dict) -> None:
        """In the child: isolate, drop to the runner's limits, forget the zygote's descriptors, serve `channel`."""
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        isolate()
        LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # like a cold runner: its own processes may inspect it
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd, source in ((0, channel), (1, channel), (2, devnull)):
            os.dup2(source, fd)
        self.control.detach()
        for fd in map(int, os.listdir("/proc/self/fd")):
            if fd > 2:
                try:
                    os.close(fd)
                except OSError:
                    pass
        memory = int(limits.get("memory", 6 * 2**30)) + self.memory_extra
        for kind, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_CORE, 0),
                            (resource.RLIMIT_FSIZE, limits.get("file_size")),
                            (resource.RLIMIT_NPROC, limits.get("processes"))):
            if value is not None:
                resource.setrlimit(kind, (int(value), int(value)))
        fresh_random_state(self.torch_seed)
        os.chdir(WORK)
        sys.argv[:] = ["/sandbox/runner.py"]
        runner.main()

    def reap(self) -> None:
        """Collect every exited child (orphans of the namespace included), keeping their statuses."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.statuses[pid] = _as_bwrap_status(status)

    def reset(self) -> dict:
        """Kill every process but this one, restore the file systems; the child's status (-9: killed here)."""
        self.reap()
        status = self.statuses.pop(self.child, -9 if self.child else None)
        self.statuses.clear()
        deadline = time.monotonic() + 5
        while True:
            try:
                os.kill(-1, signal.SIGKILL)  # as pid 1: every process of the namespace except this one
            except ProcessLookupError:
                pass
            self.reap()
            alone = [p for p in os.listdir("/proc") if p.isdigit()] == ["1"]
            if alone or time.monotonic() > deadline:
                break
            time.sleep(0.002)
        self.child = 0
        clean = alone and self.files.restore()
        return {"ok": clean, "status": status, "clean": clean}


def isolate() -> None:
    """Give this process a user and IPC namespace of its own, a new session keyring, and no capabilities."""
    if LIBC.unshare(CLONE_NEWUSER | CLONE_NEWIPC) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER | CLONE_NEWIPC) failed")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{UID} {UID} 1"), ("gid_map", f"{GID} {GID} 1")):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)
    if SYS_KEYCTL is not None:
        LIBC.syscall(SYS_KEYCTL, KEYCTL_JOIN_SESSION_KEYRING, None)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    if LIBC.capset(header, (ctypes.c_uint32 * 6)()) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def fresh_random_state(torch_seed: int) -> None:
    """Random generators as a freshly started interpreter has them (a fork would share the zygote's)."""
    random.seed()
    for name, reseed in (("numpy", lambda np: np.random.seed()), ("torch", lambda t: t.manual_seed(torch_seed))):
        if name in sys.modules:
            reseed(sys.modules[name])


def _exit_watch(pid: int) -> list[int]:
    """A pidfd of the child for the grader, so that it sees the child end without asking; none without pidfd_open."""
    try:
        return [os.pidfd_open(pid)]
    except (OSError, AttributeError):
        return []


def _as_bwrap_status(status: int) -> int:
    """A wait status as bwrap reports its child's: the exit code, or 128 + the signal that killed it."""
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _address_space() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))


def self_test() -> str:
    """Fork a child that isolates itself the way runners will; '' when that works, else why not."""
    pid = os.fork()
    if pid == 0:
        try:
            isolate()
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return "" if status == 0 else "a child cannot get its own user and IPC namespace here"


def main() -> None:
    """Warm up, then serve the grader until it closes the control socket."""
    control = socket.socket(fileno=os.dup(0))
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.chdir("/")
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    zygote = Zygote(control)
    zygote.warm_up()
    problem = self_test() or ("" if zygote.files.restore() else "the file systems could not be restored")
    threads = len(os.listdir("/proc/self/task"))
    problem = problem or ("" if threads == 1 else f"{threads} threads after warming up: unsafe to fork")
    signal.signal(signal.SIGCHLD, lambda *_: zygote.reap())
    control.send(json.dumps({"ok": not problem, "ready": True, "message": problem}).encode())
    while not problem:
        data, fds, _, _ = socket.recv_fds(control, 1 << 16, 4)
        if not data:
            return
        try:
            reply = zygote.handle(json.loads(data), fds)
        except (ValueError, TypeError, AttributeError) as exc:
            reply = {"ok": False, "message": f"bad request: {exc}"[:300]}
        socket.send_fds(control, [json.dumps(reply).encode()], zygote.outgoing)
        for fd in zygote.outgoing:
            os.close(fd)
        zygote.outgoing = []
        if reply.get("clean") is False:
            return  # tainted: the grader starts a new zygote


if __name__ == "__main__":
    main()
