"""Probes: the graders' view of a student, calling their functions through the sandbox and getting plain data back."""
from __future__ import annotations

import ast
import re

from assignments.quiz import Text
from autograder.sandbox.session import MODEL, TOKENIZER, Reply, Sandbox
from autograder.submission import Submission

__all__ = ["Student", "StudentFailure", "MODEL", "TOKENIZER"]

FORBIDDEN_NAMES = ("scaled_dot_product_attention", "MultiheadAttention", "multi_head_attention_forward",
                   "_scaled_dot_product")


class StudentFailure(Exception):
    """The student's code did not give back a value: it raised, hung, crashed, or is not written yet."""

    def __init__(self, name: str, reply: Reply):
        self.name, self.kind = name, reply.kind
        self.mistakes = ["not-implemented"] if reply.kind in ("not-implemented", "missing") else []
        detail = reply.message.strip()
        self.message = {
            "not-implemented": Text(f"`{name}` 还没有实现(仍然 raise NotImplementedError)。",
                                    f"`{name}` is not implemented yet (it still raises NotImplementedError)."),
            "missing": Text(f"找不到 `{name}`:定义它的单元格没有运行成功,或名字被改了。",
                            f"`{name}` is not defined: the cell defining it failed or the name was changed."),
            "cell-failed": Text(f"定义 `{name}` 的单元格运行失败:{detail}",
                                f"The cell defining `{name}` failed: {detail}"),
            "timeout": Text(f"调用 `{name}` 超时(死循环或太慢?)。", f"Calling `{name}` timed out (an endless loop?)."),
            "crash": Text(f"调用 `{name}` 时解释器崩溃或退出了:{detail}",
                          f"The interpreter crashed or exited while calling `{name}`: {detail}"),
        }.get(reply.kind, Text(f"调用 `{name}` 时出错:{detail}", f"Calling `{name}` raised an error: {detail}"))
        super().__init__(self.message.en)


class Student:
    """One submission as the graders see it: call(), get() and the source of its answers."""

    def __init__(self, sandbox: Sandbox, submission: Submission):
        self.sandbox = sandbox
        self.submission = submission
        self.forbidden: set[str] = set()
        """Names of functions seen calling library attention (at run time or in their source)."""
        self.broken: dict[str, Reply] = {}
        """Functions that hung or killed the interpreter once: later calls fail at once, costing no restart."""

    def call(self, name: str, *args, **kwargs):
        """The return value of the student's `name(*args, **kwargs)`, as plain data; raises StudentFailure."""
        if name in self.broken:
            raise StudentFailure(name, self.broken[name])
        reply = self._explain_missing(name, self.sandbox.call(name, *args, **kwargs))
        if reply.kind in ("timeout", "crash"):
            self.broken[name] = reply
        if reply.forbidden_calls:
            self.forbidden.add(name)
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
            if defines.search(sources.get(error.cell, "")):
                return Reply(False, kind="cell-failed", message=f"cell {error.cell}, {error.kind}: {error.message}")
        return reply

    def uses_forbidden_api(self, name: str) -> bool:
        """Did `name` call torch's own attention, seen at run time or named in the function's source?"""
        return name in self.forbidden or _names_forbidden(self.submission.definition_source(name), name)


def _names_forbidden(source: str, own_name: str) -> bool:
    """True when the source mentions library attention other than by defining a function of the same name."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            return True
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES and node.id != own_name:
            return True
        if isinstance(node, ast.alias) and node.name.split(".")[-1] in FORBIDDEN_NAMES:
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in FORBIDDEN_NAMES:
            return True
    return False
