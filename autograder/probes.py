"""Probes: the graders' view of a student, calling their functions through the sandbox and getting plain data back."""
from __future__ import annotations

import re

from autograder.result import ErrorRecord
from autograder.sandbox.session import MODEL, TOKENIZER, Reply, Sandbox
from autograder.submission import Submission
from autograder.submission.scan import Reach, scan_answer

__all__ = ["Student", "StudentFailure", "MODEL", "TOKENIZER", "LIBRARY_ATTENTION_FORBIDDEN"]

LIBRARY_ATTENTION_FORBIDDEN = frozenset({"scaled_dot_product_attention", "masked_self_attention"})
"""The answer functions whose questions forbid torch's attention (SPEC §5: `sdpa`, `masked_self_attention`,
`padding_mask`): each of their calls runs with the sandbox's kernel recorder on. Other calls (the BERT model's
own eager attention among them) are never recorded."""


class StudentFailure(Exception):
    """The student's code did not give back a value: it raised, hung, crashed, or is not written yet (the graders
    word it for the student: `graders/texts.py` CALL_FAILED)."""

    def __init__(self, name: str, reply: Reply):
        self.name, self.kind = name, reply.kind
        self.detail = reply.message.strip()
        """What the sandbox said (the error raised, why the interpreter stopped), for the student's message."""
        self.mistakes = ["not-implemented"] if reply.kind in ("not-implemented", "missing") else []
        super().__init__(f"`{name}`: {reply.kind}: {self.detail}")


class Student:
    """One submission as the graders see it: call(), get() and the source of its answers."""

    def __init__(self, sandbox: Sandbox, submission: Submission):
        self.sandbox = sandbox
        self.submission = submission
        self.kernels: dict[str, set[str]] = {}
        """Per answer function, torch's attention kernels seen running during its recorded calls."""
        self.scans: dict[str, Reach] = {}
        self.broken: dict[str, Reply] = {}
        """Functions that hung or killed the interpreter once: later calls fail at once, costing no restart."""

    def call(self, name: str, *args, **kwargs):
        """The return value of the student's `name(*args, **kwargs)`, as plain data; raises StudentFailure."""
        if name in self.broken:
            raise StudentFailure(name, self.broken[name])
        record = name in LIBRARY_ATTENTION_FORBIDDEN
        reply = self._explain_missing(name, self.sandbox.call(name, *args, record=record, **kwargs))
        if reply.kind in ("timeout", "crash"):
            self.broken[name] = reply
        if record:
            self.kernels.setdefault(name, set()).update(reply.kernels)
        if not reply.ok:
            raise StudentFailure(name, reply)
        return reply.value

    def get(self, name: str):
        """The value of a global the student assigned; raises StudentFailure."""
        reply = self.sandbox.get(name)
        if not reply.ok:
            raise StudentFailure(name, self._explain_missing(name, reply))
        return reply.value

    def _explain_missing(self, name: str, reply: Reply) -> Reply:
        """A name that is missing because the cell defining it failed (not a stub) reports that cell's error."""
        if reply.kind != "missing":
            return reply
        defines = re.compile(rf"^\s*(def\s+{re.escape(name)}\b|{re.escape(name)}\s*[:=])", re.M)
        sources = {cell.index: cell.source for cell in self.sandbox.cells}
        for error in self.sandbox.errors:
            if error.kind != "dynamic-code" and defines.search(sources.get(error.cell, "")):
                return Reply(False, kind="cell-failed", message=f"cell {error.cell}, {error.kind}: {error.message}")
        return reply

    def uses_forbidden_api(self, name: str) -> bool:
        """Did torch's attention run during a recorded call of `name`, or does the code `name` reaches (names
        resolved across the notebook's cells) refer to it? Dynamic code it reaches is flagged to the instructor
        once, in the submission's errors, and not scored."""
        statically = bool(self.scan(name).forbidden)  # scanned even when the run time decides: flags dynamic code
        return statically or bool(self.kernels.get(name))

    def scan(self, name: str) -> Reach:
        """The static scan of what answer `name` reaches (once per answer; its dynamic code goes to `errors`)."""
        if name not in self.scans:
            self.scans[name] = reach = scan_answer(self.sandbox.cells, name)
            self.sandbox.errors += [ErrorRecord(cell, "dynamic-code", _dynamic_message(name, construct))
                                    for cell, construct in reach.dynamic]
        return self.scans[name]


def _dynamic_message(name: str, construct: str) -> str:
    return (f"`{name}` 用到了运行时生成的代码({construct}),没有据此扣分,请老师人工查看。 / "
            f"`{name}` reaches code built at run time ({construct}): not scored for it; look at it by hand.")
