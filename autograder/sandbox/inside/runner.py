"""Runs inside the sandbox: executes a submission's code cells and answers the grader's calls over a JSON-lines pipe.

Started as `python runner.py`; the grader writes one request per line on stdin and reads one reply per line.
Only plain data leaves this process (see wire.py). Student output is dropped, never sent.
"""
from __future__ import annotations

import os
import signal
import sys
import traceback

import wire
from pretrained import load_model
from shell import Shell


class Discard:
    """A write-only text stream that drops everything: student output never leaves the sandbox."""

    def write(self, text) -> int:
        return len(str(text))

    def flush(self):
        pass

    def isatty(self) -> bool:
        return False


class SoftTimeout(BaseException):
    """Raised inside student code when a cell or call overruns its time (the grader kills harder later)."""


def _on_alarm(signum, frame):
    raise SoftTimeout("time limit exceeded")


class Runner:
    """The sandbox side of the protocol: a namespace, the cells run into it, and calls into it."""

    def __init__(self):
        self.namespace = {"__name__": "__main__", "display": lambda *a, **k: None, "get_ipython": lambda: shell}
        shell = Shell(self.namespace)
        self.output = Discard()
        self.recorder = None
        """Records torch's attention kernels during a call (set up by main() once torch is imported)."""
        self.model = self.tokenizer = None
        self.student_globals: dict[str, object] = {}
        """Each global as the student's own cells last left it (not a given cell's): what the graders will see."""

    def handle(self, request: dict) -> dict:
        """Answer one request: exec, call or get."""
        op = request.get("op")
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.alarm(max(int(request.get("timeout", 0)), 0))
        try:
            if op in ("call", "get"):  # the cells ran: undo a given cell's rebinding of a global of the student's
                self.namespace.update(self.student_globals)
                self.student_globals.clear()
            if op == "exec":
                reply = self.exec_cell(str(request["source"]), int(request.get("cell", -1)),
                                       given=request.get("given") is True)
            elif op == "call":
                reply = self.call(str(request["name"]), request.get("args", []), request.get("kwargs", {}),
                                  record=request.get("record") is True)
            elif op == "get":
                reply = self.get(str(request["name"]))
            else:
                reply = {"ok": False, "kind": "protocol", "message": f"unknown op {op!r}"}
        except SoftTimeout:
            reply = {"ok": False, "kind": "timeout", "message": "time limit exceeded"}
        finally:
            signal.alarm(0)
        return reply

    def exec_cell(self, source: str, cell: int, given: bool = False) -> dict:
        """Run one code cell's source, plain Python (the grader translated its IPython syntax), in the namespace."""
        before = dict(self.namespace)
        try:
            code = compile(source, f"<cell {cell}>", "exec")
            self._with_student_streams(exec, code, self.namespace)
        except SoftTimeout:
            raise
        except BaseException as exc:  # noqa: BLE001 — student code may raise anything, SystemExit included
            return _error_reply(exc)
        finally:  # a student's cell (not `given`: read-only in the notebook): what it bound or deleted is graded
            if not given:
                self.student_globals = {k: v for k, v in self.student_globals.items()
                                        if k in self.namespace or k not in before}
                self.student_globals.update((k, v) for k, v in self.namespace.items() if before.get(k, before) is not v)
        return {"ok": True}

    def call(self, name: str, args: list, kwargs: dict, record: bool = False) -> dict:
        """Call the student's function `name` on decoded arguments; reply with its encoded return value
        (and, with `record`, the names of torch's attention kernels that ran during the call)."""
        func = self.namespace.get(name)
        if func is None:
            return {"ok": False, "kind": "missing", "message": f"{name} is not defined"}
        if not callable(func):
            return {"ok": False, "kind": "not-callable", "message": f"{name} is not a function"}
        args = [self._argument(a) for a in args]
        kwargs = {k: self._argument(v) for k, v in kwargs.items()}
        seen: set[str] = set()
        listed = lambda: {"kernels": sorted(seen)[:MAX_KERNELS]} if record else {}  # noqa: E731 — read after the call
        try:
            if record and self.recorder is not None:
                value = self.recorder(seen, self._with_student_streams, func, *args, **kwargs)
            else:
                value = self._with_student_streams(func, *args, **kwargs)
        except SoftTimeout:
            raise
        except BaseException as exc:  # noqa: BLE001
            return dict(_error_reply(exc), **listed())
        return self._value_reply(value, **listed())

    def get(self, name: str) -> dict:
        """Reply with the encoded value of a global the student defined."""
        if name not in self.namespace:
            return {"ok": False, "kind": "missing", "message": f"{name} is not defined"}
        return self._value_reply(self.namespace[name])

    def _value_reply(self, value, **extra) -> dict:
        try:
            return {"ok": True, "value": wire.encode(value), **extra}
        except SoftTimeout:
            raise
        except BaseException as exc:  # noqa: BLE001 — a hostile object may raise while being read
            return {"ok": False, "kind": "unencodable", "message": f"{type(exc).__name__}: {exc}"[:500], **extra}

    def _with_student_streams(self, func, *args, **kwargs):
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self.output
        try:
            return func(*args, **kwargs)
        finally:
            sys.stdout, sys.stderr = saved

    def _argument(self, data):
        if data == {"$model": None}:
            return self._load_model()[0]
        if data == {"$tokenizer": None}:
            return self._load_model()[1]
        return wire.decode(data)

    def _load_model(self):
        if self.model is None:
            self.model, self.tokenizer = load_model()
        return self.model, self.tokenizer


def _error_reply(exc: BaseException) -> dict:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")]
    kind = {"NotImplementedError": "not-implemented", "SystemExit": "exit",
            "MemoryError": "memory", "KeyboardInterrupt": "interrupt"}.get(type(exc).__name__, "exception")
    return {"ok": False, "kind": kind, "ename": type(exc).__name__, "evalue": str(exc)[:1000],
            "traceback": "".join(traceback.format_list(frames[-5:]))[:3000]}


MAX_KERNELS = 50
"""At most this many kernel names in one reply."""
ATTENTION = "attention"
"""Every attention kernel, function and module of torch has this in its name (aten::scaled_dot_product_attention,
aten::_scaled_dot_product_attention_math, aten::_native_multi_head_attention, multi_head_attention_forward…)."""


def kernel_recorder():
    """A function `record(seen, call, *args)` that runs `call(*args)` and adds to `seen` the attention kernels
    torch ran meanwhile; None without torch. Set up before any student code runs, in the process that runs it.

    Two observers, because each misses what the other sees (see benchmarks/forbidden_api.py):
    - the dispatcher's RecordFunction hooks (the legacy CPU profiler: no thread, no Kineto) see every aten op,
      composite ones such as aten::_scaled_dot_product_attention_math included, whatever called it (Python,
      torch.ops.aten, torch._C._nn, TorchScript, code under DisableTorchFunction);
    - a TorchFunctionMode sees Python-level torch functions, among them F.multi_head_attention_forward, which
      nn.MultiheadAttention runs with matmuls (no attention kernel) when it returns the weights.
    """
    try:
        import torch
        from torch._C import _autograd, _profiler
        from torch.overrides import TorchFunctionMode
    except ImportError:
        return None
    torch.set_num_threads(1)
    config = _profiler.ProfilerConfig(_profiler.ProfilerState.CPU, False, False, False, False, False,
                                      _profiler._ExperimentalConfig())
    enabled, enable, disable = (_autograd._profiler_enabled, _autograd._enable_profiler_legacy,
                                _autograd._disable_profiler_legacy)  # bound now: a cell may patch the module
    options = _autograd._ProfilerDisableOptions(True, True)

    class AttentionFunctions(TorchFunctionMode):
        """Notes the name of every torch function called whose name says attention."""

        def __init__(self, seen: set):
            super().__init__()
            self.seen = seen

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = str(getattr(func, "__name__", ""))
            if ATTENTION in name.lower():
                self.seen.add(f"python:{name}"[:200])
            return func(*args, **(kwargs or {}))

    def record(seen: set, call, *args, **kwargs):
        profiling = not enabled()
        if profiling:
            enable(config)
        try:
            with AttentionFunctions(seen):
                return call(*args, **kwargs)
        finally:
            if profiling:
                try:
                    threads = disable(options)
                except RuntimeError:  # the student's code stopped the profiler: the Python-level record stands
                    threads = []
                seen.update(e.name()[:200] for events in threads for e in events if ATTENTION in e.name().lower())

    return record


def main() -> None:
    """Serve requests until stdin closes."""
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # as in nbgrader's kernel: the self-check cell skips itself
    sys.path.insert(0, "")  # as in a kernel: a module the notebook wrote (%%writefile) imports from its folder
    runner = Runner()
    sys.stdout = sys.stderr = runner.output
    runner.recorder = kernel_recorder()
    proto_out.write(wire.dumps({"ok": True, "ready": True}))
    proto_out.flush()
    for line in proto_in:
        try:
            reply = runner.handle(wire.loads(line))
        except (wire.WireError, KeyError, TypeError, ValueError) as exc:
            reply = {"ok": False, "kind": "protocol", "message": str(exc)[:500]}
        proto_out.write(wire.dumps(reply))
        proto_out.flush()


if __name__ == "__main__":
    main()
