"""Warm sandboxes, grader side: a zygote per worker thread forks each submission's interpreter.

A cold start pays for bwrap, Python, `import torch` and, in `bert_heads`, transformers and the model, once per
submission. A zygote (zygote.py) pays once per worker: it runs inside one bubblewrap sandbox with the same flags
(plus `--as-pid-1`), has everything imported and loaded, and forks a fresh runner for each start. After each
submission it kills every other process of its namespace and restores its file systems, so the next submission
starts from the same state as a cold one. `Sandbox(..., starter=warm_start(limits))` uses it.
"""
from __future__ import annotations

import atexit
import json
import multiprocessing.util
import os
import resource
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from autograder.sandbox import cgroup
from autograder.sandbox.confinement import Limits, bwrap_available, bwrap_command, kill_tree, sandbox_env, set_limits
from autograder.sandbox.session import INSIDE, RUNNER_FILES, ColdStart, Sandbox

ZYGOTE_FILES = RUNNER_FILES + ("zygote.py", "filesystems.py")
STARTUP_TIMEOUT = 180.0
REPLY_TIMEOUT = 10.0
_local = threading.local()
_everyone: list["WarmStart"] = []


class ZygoteError(OSError):
    """The zygote did not start, stopped answering, or could not clean up after a child."""


class Zygote:
    """A warm interpreter in its own bubblewrap sandbox, forking runners on request."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.dir = Path(tempfile.mkdtemp(prefix="attn-zygote-"))
        for name in ZYGOTE_FILES:
            shutil.copy(INSIDE / name, self.dir / name)
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = sandbox_env(self.dir, "bwrap")
        command = bwrap_command(self.dir, ZYGOTE_FILES, limits, env, extra=("--as-pid-1",))
        group = cgroup.create(self.dir, limits.processes)  # the zygote and every child it forks
        with open(self.dir / "zygote.log", "wb") as log:
            self.proc = subprocess.Popen(
                command + [sys.executable, "-E", "-s", "/sandbox/zygote.py"], stdin=theirs,
                stdout=subprocess.DEVNULL, stderr=log, cwd=self.dir, env=env, start_new_session=True,
                preexec_fn=lambda: set_limits(limits, "bwrap", memory=resource.RLIM_INFINITY, group=group))
        theirs.close()
        self.ready: dict | None = None
        self.broken = False

    def alive(self) -> bool:
        """False once it has died, failed a request or could not clean up."""
        return not self.broken and self.proc.poll() is None

    def request(self, message: dict, fds: tuple[int, ...] = (), timeout: float = REPLY_TIMEOUT) -> dict:
        """Send one request (with descriptors to pass) and return the reply; ZygoteError marks it broken."""
        reply, received = self.exchange(message, fds, timeout)
        for fd in received:
            os.close(fd)
        return reply

    def exchange(self, message: dict, fds: tuple[int, ...] = (), timeout: float = REPLY_TIMEOUT) -> tuple[dict, list]:
        """`request`, also returning the descriptors that came with the reply (the caller closes them)."""
        self.wait_ready()
        try:
            socket.send_fds(self._control, [json.dumps(message).encode()], list(fds))
            return self._receive(timeout)
        except (OSError, ValueError) as exc:
            self.broken = True
            raise ZygoteError(f"the zygote stopped answering ({type(exc).__name__}: {exc})") from None

    def wait_ready(self) -> dict:
        """Block until the zygote has warmed up; ZygoteError when it cannot (with the end of its log)."""
        if self.ready is None:
            try:
                self.ready = self._receive(STARTUP_TIMEOUT)[0]
            except (OSError, ValueError) as exc:
                self.broken = True
                raise ZygoteError(f"the zygote did not start ({exc}): {self.log_tail()}") from None
            if not self.ready.get("ok"):
                self.broken = True
                raise ZygoteError(f"the zygote cannot serve: {self.ready.get('message')}")
            shutil.rmtree(self.dir, ignore_errors=True)  # bound into the sandbox already: nothing left to tidy up
        return self.ready

    def stats(self) -> dict:
        """Peak resident memory (kB) of the zygote and of the largest child it has reaped."""
        return self.request({"op": "stats"})

    def close(self) -> None:
        """Kill the zygote's whole sandbox and remove its files."""
        self.broken = True
        self._control.close()
        kill_tree(self.proc, self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self) -> str:
        try:
            return (self.dir / "zygote.log").read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    def _receive(self, timeout: float) -> tuple[dict, list]:
        self._control.settimeout(timeout)
        data, fds, _, _ = socket.recv_fds(self._control, 1 << 16, 1)
        if not data:
            for fd in fds:
                os.close(fd)
            raise EOFError("the zygote ended")
        return json.loads(data), fds


class WarmChild:
    """What a Sandbox holds for a forked runner: its socket as stdin and stdout; poll() asks the zygote."""

    def __init__(self, zygote: Zygote, channel: socket.socket, exit_watch: int | None = None):
        self.zygote = zygote
        self.stdout = channel
        self.stdin = channel.makefile("wb")
        self.returncode: int | None = None
        self.exit_watch = exit_watch
        """The runner's pidfd, readable once it has exited: poll() asks the zygote only then (one round trip fewer
        per call into the sandbox), or always when there is none."""

    def poll(self) -> int | None:
        """None while the runner lives, else its status as bwrap would report it (-9: killed by the grader)."""
        if self.returncode is None and (self.exit_watch is None or _readable(self.exit_watch)):
            try:
                self.returncode = self.zygote.request({"op": "poll"}).get("status")
            except ZygoteError:
                self.returncode = -9
        return self.returncode


class WarmStart:
    """A Sandbox starter forking each interpreter from a zygote (started on first use, replaced when it dies).

    Falls back to cold starts for good when a zygote cannot be started at all.
    """

    def __init__(self, limits: Limits):
        self.limits = limits
        self.zygote: Zygote | None = None
        self.cold = False
        self.stopped = False
        """Set by stop_all(): no more runners, so a notebook still being graded fails fast."""

    def start(self, sandbox: Sandbox):
        """A runner for `sandbox`: forked from the zygote, or started cold when there can be no zygote."""
        if self.stopped:
            raise ZygoteError("grading was stopped")
        if self.cold:
            return ColdStart().start(sandbox)
        try:
            zygote = self.warm_up()
        except ZygoteError as exc:
            self.cold = True
            print(f"attn-grade: warm sandboxes unavailable, grading cold: {exc}", file=sys.stderr)
            return ColdStart().start(sandbox)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            limits = sandbox.limits
            reply, received = zygote.exchange({"op": "spawn", "limits": {
                "memory": limits.memory, "processes": limits.processes, "file_size": limits.file_size}},
                (theirs.fileno(),))
        except ZygoteError:
            ours.close()
            raise
        finally:
            theirs.close()
        if not reply.get("ok"):
            for fd in received:
                os.close(fd)
            ours.close()
            self.discard()
            raise ZygoteError(f"the zygote could not start a runner: {reply.get('message')}")
        return WarmChild(zygote, ours, received[0] if received else None)

    def stop(self, sandbox: Sandbox, proc) -> None:
        """Kill the runner's process tree and restore the sandbox's file systems (or discard the zygote)."""
        if not isinstance(proc, WarmChild):
            return ColdStart().stop(sandbox, proc)
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if proc.exit_watch is not None:
            os.close(proc.exit_watch)
            proc.exit_watch = None
        try:
            reply = proc.zygote.request({"op": "reset"})
        except ZygoteError:
            reply = {}
        if proc.returncode is None:
            proc.returncode = reply.get("status", -9)
        if not reply.get("clean") and proc.zygote is self.zygote:
            self.discard()

    def warm_up(self) -> Zygote:
        """The live zygote, started (and waited for) if there is none."""
        if self.zygote is None or not self.zygote.alive():
            self.discard()
            self.zygote = Zygote(self.limits)
        self.zygote.wait_ready()
        return self.zygote

    def discard(self) -> None:
        """Kill the zygote, if any; the next start makes a new one."""
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def warm_start(limits: Limits = Limits()) -> WarmStart | None:
    """This thread's WarmStart for sandboxes with these limits, or None where there is no bubblewrap.

    Its zygote starts in the background now and is kept for the thread's later submissions.
    """
    if not bwrap_available():
        return None
    key = (limits.tmp_size, limits.processes, limits.file_size)  # what the zygote's own sandbox fixes
    starters = _local.__dict__.setdefault("starters", {})
    if key not in starters:
        starters[key] = WarmStart(limits)
        _everyone.append(starters[key])
    starter = starters[key]
    if starter.zygote is None and not starter.cold:
        starter.zygote = Zygote(limits)
    return starter


def stop_all() -> None:
    """Kill every zygote of this process and start no more runners from their starters (an interrupted batch)."""
    for starter in _everyone:
        starter.stopped = True
        starter.discard()


def _close_all() -> None:
    for starter in _everyone:
        starter.discard()


atexit.register(_close_all)
multiprocessing.util.Finalize(None, _close_all, exitpriority=0)  # worker processes exit without atexit


def measure_memory() -> dict[str, float]:
    """Peak resident memory in MB of this grading process and of this thread's zygote (and its largest child)."""
    peaks = {"grader_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "zygote_mb": 0.0,
             "runner_mb": 0.0}
    for starter in _local.__dict__.get("starters", {}).values():  # this thread's: a zygote serves one thread
        if starter.zygote is not None and starter.zygote.alive():
            try:
                stats = starter.zygote.stats()
            except ZygoteError:
                continue
            peaks["zygote_mb"] = max(peaks["zygote_mb"], stats["maxrss_kb"] / 1024)
            peaks["runner_mb"] = max(peaks["runner_mb"], stats["children_maxrss_kb"] / 1024)
    return peaks
