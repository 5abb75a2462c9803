"""The grader's handle on one sandboxed submission: start it, run its cells, call its functions, kill it."""
from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.sandbox import cgroup, privileges
from autograder.sandbox.inside import wire
from autograder.result import ERROR_KINDS, ErrorRecord
from autograder.sandbox.confinement import Limits, bwrap_available, bwrap_command, kill_tree, sandbox_env, set_limits

if TYPE_CHECKING:  # reading notebooks (nbformat) is not needed to start a sandbox
    from autograder.submission import Cell

RUNNER_FILES = ("runner.py", "shell.py", "wire.py", "pretrained.py")
INSIDE = Path(__file__).resolve().parent / "inside"
"""The files that run inside the sandbox (copied in beside each other; they import nothing of the grader)."""


@dataclass
class Reply:
    """What came back from one request: a decoded value, or why there is none."""

    ok: bool
    value: object = None
    kind: str = ""
    message: str = ""
    kernels: tuple[str, ...] = ()
    """Torch's attention kernels that ran during a recorded call (names as the sandbox saw them)."""


class Sandbox:
    """One submission's sandboxed interpreter, restarted (and its good cells replayed) after a crash or hang.

    Use as a context manager: the whole process tree is killed on exit. `starter` decides how an interpreter is
    started and stopped: a fresh one each time (ColdStart, the default) or a fork of a warm zygote (warm.py).
    `cells` may be set after `launch()`, before `run_cells()`.
    """

    def __init__(self, cells: list[Cell], limits: Limits = Limits(), isolation: str = "auto", starter=None):
        self.cells = cells
        self.limits = limits
        self.isolation = ("bwrap" if bwrap_available() else "process") if isolation == "auto" else isolation
        self.starter = starter or ColdStart()
        self.cell_seconds = 0.0
        """Wall time spent running the notebook's cells (replays included): the rest is grading overhead."""
        self.errors: list[ErrorRecord] = []
        self.good_cells: list[Cell] = []
        self.restarts = 0
        self._proc: subprocess.Popen | None = None
        self._launched = False
        """Started by launch(), its ready line not read yet."""
        self._buffer = bytearray()
        self._dir = Path(tempfile.mkdtemp(prefix="attn-sandbox-"))
        for name in RUNNER_FILES:
            shutil.copy(INSIDE / name, self._dir / name)
        (self._dir / "work").mkdir()
        self.identity = self._unprivileged() if self.isolation == "process" else None
        """Who the interpreter runs as in the process fallback (None: the grader's own user, or bubblewrap's)."""

    # ------------------------------------------------------------ life cycle

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def launch(self) -> "Sandbox":
        """Start the interpreter now without waiting for it, so that its start-up overlaps the grader's own work."""
        if self._proc is None:
            try:
                self._spawn()
                self._launched = True
            except OSError:  # the first request tries again, and reports the failure
                pass
        return self

    def close(self) -> None:
        """Kill the whole process tree and remove the sandbox's files."""
        self._kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def run_cells(self) -> list[ErrorRecord]:
        """Run every cell in order; a failing cell is recorded and skipped, the others still run. The graders then see
        each global as the student's own cells left it, though a later given cell rebound it (see runner.py)."""
        for cell in self.cells:
            reply = self._exec(cell)
            if reply.ok:
                self.good_cells.append(cell)
            elif reply.kind != "not-implemented":
                kind = reply.kind if reply.kind in ERROR_KINDS else "invalid"  # the sandbox's word is not trusted
                self.errors.append(ErrorRecord(cell.index, kind, reply.message))
        return self.errors

    def call(self, name: str, *args, record: bool = False, **kwargs) -> Reply:
        """Call the student's function `name` inside the sandbox; arguments are encoded, never shared.
        With `record`, the reply names torch's attention kernels that ran during the call."""
        request = {"op": "call", "name": name, "args": [_encode_arg(a) for a in args],
                   "kwargs": {k: _encode_arg(v) for k, v in kwargs.items()}, "record": record}
        return self._request(request, self.limits.call_timeout)

    def get(self, name: str) -> Reply:
        """Read a global the student defined (a hand-typed answer, a quiz letter)."""
        return self._request({"op": "get", "name": name}, self.limits.call_timeout)

    # ------------------------------------------------------------ internals

    def _unprivileged(self) -> privileges.Identity | None:
        """As root, a fresh unprivileged identity owning the sandbox's directory, with the key out of its reach;
        otherwise (or where the key stays readable) a `no-privilege-drop` error record, and a warning."""
        if not privileges.can_drop():
            _exposed(self.errors, privileges.NOT_ROOT)
            return None
        identity = privileges.new_identity()
        for path in (self._dir, self._dir / "work"):
            os.chown(path, identity.uid, identity.gid)
        readable = privileges.guard(identity, [self._dir])
        if readable:
            _exposed(self.errors, privileges.STILL_READABLE.format(paths=", ".join(readable[:3])))
        return identity

    def _exec(self, cell: Cell) -> Reply:
        started = time.monotonic()
        try:
            request = {"op": "exec", "source": cell.source, "cell": cell.index, "given": cell.given}
            return self._request(request, self.limits.cell_timeout)
        finally:
            self.cell_seconds += time.monotonic() - started

    def _request(self, request: dict, timeout: float) -> Reply:
        if not self._ensure_running():
            return Reply(False, kind="crash", message="the sandbox could not be (re)started")
        request["timeout"] = int(timeout)
        try:
            self._proc.stdin.write(wire.dumps(request))
            self._proc.stdin.flush()
            raw = self._read_line(time.monotonic() + timeout + 3)
        except TimeoutError:
            self._kill()
            return Reply(False, kind="timeout", message=f"no answer within {timeout:.0f} s")
        except (OSError, EOFError, wire.WireError) as exc:
            self._kill()
            return Reply(False, kind="crash", message=_crash_message(exc, self._returncode()))
        return _reply(raw)

    def _ensure_running(self) -> bool:
        if self._launched:
            self._launched = False
            try:
                self._await_ready()
                return True
            except (OSError, TimeoutError, EOFError, wire.WireError):
                self._kill()
                return False
        if self._proc is not None and self._proc.poll() is None:
            return True
        if self._proc is not None:
            if self.restarts >= self.limits.restarts:
                return False
            self.restarts += 1
        try:
            self._start()
        except (OSError, TimeoutError, EOFError, wire.WireError):
            self._kill()
            return False
        replay, self.good_cells = self.good_cells, []
        for cell in replay:
            if self._exec(cell).ok:
                self.good_cells.append(cell)
        return self._proc is not None and self._proc.poll() is None

    def _start(self) -> None:
        self._spawn()
        self._await_ready()

    def _spawn(self) -> None:
        self._buffer.clear()
        self._proc = self.starter.start(self)

    def _await_ready(self) -> None:
        wire.loads(self._read_line(time.monotonic() + self.limits.startup_timeout))

    def _command(self) -> list[str]:
        python = [sys.executable, "-E", "-s"]
        if self.isolation == "process":
            return python + [str(self._dir / "runner.py")]
        return bwrap_command(self._dir, RUNNER_FILES, self.limits, self._env()) + python + ["/sandbox/runner.py"]

    def _env(self) -> dict[str, str]:
        return sandbox_env(self._dir, self.isolation)

    def _read_line(self, deadline: float) -> bytes:
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise EOFError("the sandbox process ended")
            self._buffer += chunk
            if len(self._buffer) > wire.MAX_MESSAGE_BYTES:
                raise wire.WireError("the sandbox sent an oversized message")
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer[:] = rest
        return line

    def _returncode(self):
        return None if self._proc is None else self._proc.poll()

    def _kill(self) -> None:
        """Kill the interpreter's whole process tree (how depends on the starter)."""
        if self._proc is not None:
            self.starter.stop(self, self._proc)


class ColdStart:
    """Starts every interpreter from scratch: a new bwrap (or plain process) running runner.py."""

    def start(self, sandbox: Sandbox) -> subprocess.Popen:
        """A fresh interpreter for `sandbox`, speaking the runner protocol on its stdin and stdout."""
        limits, isolation = sandbox.limits, sandbox.isolation
        group = cgroup.create(sandbox._dir, limits.processes)
        return subprocess.Popen(
            sandbox._command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=sandbox._dir / "work", env=sandbox._env(), start_new_session=True,
            preexec_fn=lambda: set_limits(limits, isolation, group=group, identity=sandbox.identity))

    def stop(self, sandbox: Sandbox, proc: subprocess.Popen) -> None:
        """SIGKILL the process group, then every process carrying the sandbox's marker, until none is left."""
        kill_tree(proc, sandbox._dir, sandbox.identity)


def _exposed(errors: list[ErrorRecord], message: str) -> None:
    """Record that the student's code could read the key, and say so on the terminal (once per process)."""
    global _warned
    errors.append(ErrorRecord(-1, "no-privilege-drop", message))
    if not _warned:
        _warned = True
        print(f"attn-grade: WARNING: {message}", file=sys.stderr)


_warned = False


def _encode_arg(value):
    if isinstance(value, SandboxObject):
        return {value.tag: None}
    return wire.encode(value)


class SandboxObject:
    """A value that lives only inside the sandbox (the pretrained model, its tokenizer), named by a tag."""

    def __init__(self, tag: str):
        self.tag = tag


MODEL = SandboxObject("$model")
TOKENIZER = SandboxObject("$tokenizer")


def _reply(raw: bytes) -> Reply:
    try:
        message = wire.loads(raw)
        value = wire.decode(message["value"]) if message.get("ok") and "value" in message else None
    except (wire.WireError, KeyError, ValueError, TypeError) as exc:
        return Reply(False, kind="invalid", message=f"the sandbox returned data that is not valid: {exc}"[:300])
    text = message.get("message") or ": ".join(str(message[k]) for k in ("ename", "evalue") if message.get(k))
    kernels = message.get("kernels")
    kernels = tuple(str(k)[:200] for k in kernels[:50]) if isinstance(kernels, list) else ()
    return Reply(ok=bool(message.get("ok")), value=value, kind=str(message.get("kind", "")),
                 message=str(text)[:2000], kernels=kernels)


def _crash_message(exc: BaseException, returncode) -> str:
    if returncode is not None and returncode < 0:
        return f"the interpreter was killed by signal {signal.Signals(-returncode).name}"
    if returncode is not None:
        return f"the interpreter exited with code {returncode}"
    return f"the sandbox stopped answering ({type(exc).__name__})"
