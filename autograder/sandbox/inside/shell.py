"""Runs inside the sandbox: `get_ipython()` for the IPython syntax of a notebook's cells, which the grader translated
into calls (autograder/submission/ipython.py). Nothing here reaches a shell or the network."""
from __future__ import annotations

import importlib
import io
import os
import re
import sys


class Shell:
    """`get_ipython()` for the magics the grader translated into calls (autograder/submission/ipython.py): what runs
    Python in a kernel runs (%time, %prun, %%capture's variable), %env and %%writefile do their small part, and the
    rest (the shell, pip, help, plots, %timeit, anything unknown) does nothing. Nothing reaches a shell."""

    def __init__(self, user_ns: dict):
        self.user_ns = user_ns

    def run_line_magic(self, name: str, line: str, _stack_depth: int = 1):
        frame = sys._getframe(1)  # a kernel runs %time in the caller's scope: the notebook's, or a function's
        if name in ("time", "prun"):
            code = PRUN_OPTIONS.sub("", line) if name == "prun" else line
            try:  # an expression gives its value (`y = %time f()`), a statement runs
                compiled, run = compile(code, "<cell magic>", "eval"), eval
            except SyntaxError:
                compiled, run = compile(code, "<cell magic>", "exec"), exec
            return run(compiled, frame.f_globals, frame.f_locals)
        elif name == "env":
            key, _, value = line.strip().replace("=", " ", 1).partition(" ")
            if not value.strip():
                return os.environ.get(key) if key else dict(os.environ)
            os.environ[key] = value.strip()
        return None

    def run_cell_magic(self, name: str, line: str, cell: str) -> None:
        words = line.split()
        if name == "capture" and words and not words[-1].startswith("-"):
            captured = _from_ipython("IPython.utils.capture", "CapturedIO", io.StringIO(), io.StringIO(), [])
            self.user_ns[words[-1]] = captured  # empty: the sandbox drops output
        elif name in ("writefile", "file") and words:
            with open(words[-1], "a" if "-a" in words[:-1] else "w", encoding="utf-8") as handle:
                handle.write(cell)

    def system(self, command: str) -> None:
        return None

    def getoutput(self, command: str, split: bool = True):
        return _from_ipython("IPython.utils.text", "SList") or []


PRUN_OPTIONS = re.compile(r"^\s*(?:-[rq]\s+|-[sTDl]\s*\S+\s+)*")
"""%prun's own options, before the statement it profiles."""


def _from_ipython(module: str, name: str, *args):
    """IPython's own `name(*args)` (an empty captured output, an empty SList); None without IPython."""
    try:
        return getattr(importlib.import_module(module), name)(*args)
    except ImportError:
        return None
