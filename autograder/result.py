"""The result of grading one submission, as dataclasses that round-trip through the JSON of SPEC §5."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

STATUSES = ("passed", "partial", "failed", "error", "manual")


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
