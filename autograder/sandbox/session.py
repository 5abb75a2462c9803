"""The grader's handle on one sandboxed submission: start it, run its cells, call its functions, kill it."""
from __future__ import annotations

import functools
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.sandbox import wire

RUNNER_FILES = ("runner.py", "wire.py")
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandbox; times in seconds, sizes in bytes."""

    cell_timeout: float = 60.0
    call_timeout: float = 10.0
    startup_timeout: float = 60.0
    memory: int = 6 * 2**30
    processes: int = 256
    file_size: int = 16 * 2**20
    tmp_size: int = 64 * 2**20
    restarts: int = 4


@dataclass
class Reply:
    """What came back from one request: a decoded value, or why there is none."""

    ok: bool
    value: object = None
    kind: str = ""
    message: str = ""
    forbidden_calls: int = 0
    stdout: str = ""


@dataclass
class CellError:
    """A code cell that failed, hung or killed the interpreter."""

    cell: int
    kind: str
    message: str


@dataclass
class Cell:
    """A code cell to run: its index in the notebook and its source."""

    index: int
    source: str


@functools.lru_cache(maxsize=1)
def bwrap_available() -> bool:
    """True when bubblewrap is installed and can create namespaces here (probed once per process)."""
    exe = shutil.which("bwrap")
    if not exe:
        return False
    probe = subprocess.run([exe, "--unshare-all", "--ro-bind", "/", "/", "--", "true"], capture_output=True)
    return probe.returncode == 0


class Sandbox:
    """One submission's sandboxed interpreter, restarted (and its good cells replayed) after a crash or hang.

    Use as a context manager: the whole process tree is killed on exit. `starter` decides how an interpreter is
    started and stopped: a fresh one each time (ColdStart, the default) or a fork of a warm zygote (warm.py).
    """

    def __init__(self, cells: list[Cell], limits: Limits = Limits(), isolation: str = "auto", starter=None):
        self.cells = cells
        self.limits = limits
        self.isolation = ("bwrap" if bwrap_available() else "process") if isolation == "auto" else isolation
        self.starter = starter or ColdStart()
        self.cell_seconds = 0.0
        """Wall time spent running the notebook's cells (replays included): the rest is grading overhead."""
        self.errors: list[CellError] = []
        self.good_cells: list[Cell] = []
        self.restarts = 0
        self._proc: subprocess.Popen | None = None
        self._buffer = bytearray()
        self._dir = Path(tempfile.mkdtemp(prefix="attn-sandbox-"))
        for name in RUNNER_FILES:
            shutil.copy(HERE / name, self._dir / name)
        (self._dir / "work").mkdir()

    # ------------------------------------------------------------ life cycle

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Kill the whole process tree and remove the sandbox's files."""
        self._kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def run_cells(self) -> list[CellError]:
        """Run every cell in order; a failing cell is recorded and skipped, the others still run."""
        for cell in self.cells:
            reply = self._exec(cell)
            if reply.ok:
                self.good_cells.append(cell)
            elif reply.kind != "not-implemented":
                self.errors.append(CellError(cell.index, reply.kind, reply.message))
        return self.errors

    def call(self, name: str, *args, **kwargs) -> Reply:
        """Call the student's function `name` inside the sandbox; arguments are encoded, never shared."""
        request = {"op": "call", "name": name, "args": [_encode_arg(a) for a in args],
                   "kwargs": {k: _encode_arg(v) for k, v in kwargs.items()}}
        return self._request(request, self.limits.call_timeout)

    def get(self, name: str) -> Reply:
        """Read a global the student defined (a hand-typed answer, a quiz letter)."""
        return self._request({"op": "get", "name": name}, self.limits.call_timeout)

    # ------------------------------------------------------------ internals

    def _exec(self, cell: Cell) -> Reply:
        started = time.monotonic()
        try:
            return self._request({"op": "exec", "source": cell.source, "cell": cell.index}, self.limits.cell_timeout)
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
        self._buffer.clear()
        self._proc = self.starter.start(self)
        wire.loads(self._read_line(time.monotonic() + self.limits.startup_timeout))

    def _command(self) -> list[str]:
        python = [sys.executable, "-E", "-s"]
        if self.isolation == "process":
            return python + [str(self._dir / "runner.py")]
        return bwrap_command(self._dir, RUNNER_FILES, self.limits, self._env()) + python + ["/sandbox/runner.py"]

    def _env(self) -> dict[str, str]:
        return sandbox_env(self._dir, self.isolation)

    def _set_limits(self) -> None:
        set_limits(self.limits, self.isolation)

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
        return subprocess.Popen(
            sandbox._command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=sandbox._dir / "work", env=sandbox._env(), preexec_fn=sandbox._set_limits, start_new_session=True)

    def stop(self, sandbox: Sandbox, proc: subprocess.Popen) -> None:
        """SIGKILL the process group, then every process carrying the sandbox's marker, until none is left."""
        kill_tree(proc, sandbox._dir)


def kill_tree(proc: subprocess.Popen, marker_dir: Path) -> None:
    """SIGKILL `proc`'s process group, then every process whose environment carries `marker_dir`'s marker."""
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
    deadline = time.monotonic() + 10
    while (left := _marked_processes(marker_dir)) and time.monotonic() < deadline:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)


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
    if os.environ.get("ATTN_BERT_MODEL"):
        env["ATTN_BERT_MODEL"] = str(Path(os.environ["ATTN_BERT_MODEL"]).resolve())
    return env


def set_limits(limits: Limits, isolation: str, memory: int | None = None) -> None:
    """Apply the resource limits to this process (run between fork and exec); `memory` overrides limits.memory."""
    memory = limits.memory if memory is None else memory
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if isolation == "bwrap":  # counted per user namespace, so only the sandbox's own processes count
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


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
    forbidden = message.get("forbidden_calls", 0)
    return Reply(ok=bool(message.get("ok")), value=value, kind=str(message.get("kind", "")),
                 message=str(text)[:2000], forbidden_calls=forbidden if isinstance(forbidden, int) else 0,
                 stdout=str(message.get("stdout", ""))[:20_000])


def _crash_message(exc: BaseException, returncode) -> str:
    if returncode is not None and returncode < 0:
        return f"the interpreter was killed by signal {signal.Signals(-returncode).name}"
    if returncode is not None:
        return f"the interpreter exited with code {returncode}"
    return f"the sandbox stopped answering ({type(exc).__name__})"
