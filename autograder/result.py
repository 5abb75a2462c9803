"""The result of grading one submission, as dataclasses that round-trip through the JSON of SPEC §5."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from assignments.quiz import Text


@dataclass(frozen=True)
class Status:
    """How a question's status (SPEC §5) is shown: a terminal mark, a colour, a name in both languages."""

    mark: str
    colour: str
    name: Text


STATUSES = {
    "passed": Status("✓", "#1a7f37", Text("通过", "passed")),
    "partial": Status("◐", "#b35900", Text("部分正确", "partial")),
    "failed": Status("✗", "#c62828", Text("未通过", "failed")),
    "error": Status("!", "#6a1b9a", Text("出错", "error")),
    "manual": Status("✎", "#455a64", Text("人工评分", "graded by hand")),
}
"""The closed list of question statuses, in order from best to needing a person."""

ERROR_KINDS = {
    # a cell (or a call) of the submission
    "exception": "a cell raised an exception",
    "timeout": "a cell ran past its time limit",
    "exit": "a cell called sys.exit / exit()",
    "memory": "a cell ran out of memory (MemoryError or the address-space limit)",
    "interrupt": "a cell raised KeyboardInterrupt",
    "crash": "the interpreter died (a signal, os._exit) and could not be restarted",
    "invalid": "the sandbox sent back data that is not valid",
    "protocol": "the sandbox did not understand a request",
    "unencodable": "a value could not be turned into plain data",
    "dynamic-code": "an answer reaches code built at run time (exec, eval, getattr with a computed name…): "
                    "not scored for it, for the instructor to look at",
    # the whole submission (cell -1)
    "renamed-notebook": "the only notebook in the folder was graded, under another name than released",
    "invalid-notebook": "the notebook is not readable JSON or not a notebook",
    "no-submission": "the student's folder has no folder for this assignment",
    "no-notebook": "the assignment folder has no .ipynb notebook",
    "several-notebooks": "the assignment folder has more than one notebook and none is named as released",
    "extra-notebook": "the notebook named as released was graded; the folder's other notebooks were ignored",
    "other-assignment": "the notebook is clearly another assignment's; it was graded as the one asked for",
    "no-privilege-drop": "no bubblewrap and the student's code could not be run as a user kept from the answer key",
    # the graders (for the instructor)
    "grader-error": "a grader itself failed on this submission (a bug on our side, not the student's)",
    "grader-crash": "the worker grading this submission died; the next run of the batch grades it again",
}
"""The closed list of `errors[].kind` values (SPEC §5), each with what it means."""


@dataclass
class CheckResult:
    """One hidden check: its name, whether it passed, and a student-facing message."""

    name: str
    passed: bool
    message: str = ""


@dataclass
class QuestionResult:
    """One question: score, status, diagnosed mistake ids, feedback and the checks behind them."""

    id: str
    score: float
    max_score: float
    status: str
    mistakes: list[str] = field(default_factory=list)
    feedback: str = ""
    checks: list[CheckResult] = field(default_factory=list)

    def __post_init__(self):
        assert self.status in STATUSES, self.status


@dataclass
class ErrorRecord:
    """A cell (or the whole submission, cell -1) that failed, hung or crashed."""

    cell: int
    kind: str
    message: str

    def __post_init__(self):
        assert self.kind in ERROR_KINDS, self.kind


@dataclass
class Result:
    """Everything known about one graded submission; every renderer reads this."""

    assignment: str
    notebook: str
    score: float
    max_score: float
    isolation: str
    duration_s: float
    questions: list[QuestionResult] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    student: str | None = None

    def question(self, question_id: str) -> QuestionResult:
        """The result of one question by id."""
        return next(q for q in self.questions if q.id == question_id)

    def to_dict(self) -> dict:
        """Plain data, in SPEC §5's field order (`student` only in batch results)."""
        data = asdict(self)
        if self.student is None:
            data.pop("student")
        return data

    def to_json(self, indent: int | None = None) -> str:
        """The result as JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, data: dict) -> "Result":
        """Rebuild a Result from `to_dict()` output."""
        questions = [QuestionResult(**dict(q, checks=[CheckResult(**c) for c in q.get("checks", [])]))
                     for q in data.get("questions", [])]
        errors = [ErrorRecord(**e) for e in data.get("errors", [])]
        fields = {k: data[k] for k in ("assignment", "notebook", "score", "max_score", "isolation", "duration_s")}
        return cls(**fields, questions=questions, errors=errors, student=data.get("student"))
