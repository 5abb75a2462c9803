"""The grader framework: a `question` marker, CheckFailed, and the pytest plugin that collects outcomes."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assignments.quiz import Text
from autograder.graders import key_module
from autograder.probes import Student, StudentFailure

HERE = Path(__file__).resolve().parent


class CheckFailed(AssertionError):
    """A hidden check failed: a student-facing message (never the expected value) and diagnosed mistake ids."""

    def __init__(self, message: Text, mistakes=(), zero_question: bool = False):
        super().__init__(message.en)
        self.text = message
        self.mistakes = list(mistakes)
        self.zero_question = zero_question
        """True when this failure costs the whole question (e.g. `forbidden-api`)."""


def question(question_id: str, weight: float = 1.0):
    """Mark a grader test as one weighted check of `question_id`."""
    return pytest.mark.question(question_id, weight)


@dataclass
class Outcome:
    """What one grader test found."""

    question: str
    name: str
    weight: float
    passed: bool
    message: Text = Text("", "")
    mistakes: list[str] = field(default_factory=list)
    errored: bool = False
    """True when the student's code raised, hung or crashed (rather than returning a wrong value)."""
    zero_question: bool = False


class GraderPlugin:
    """Gives grader tests the `student` and `key` fixtures and records each test's outcome."""

    def __init__(self, student: Student, assignment: str):
        self._student = student
        self._key = key_module(assignment)
        self.outcomes: list[Outcome] = []

    @pytest.fixture
    def student(self) -> Student:
        """The submission under test, reached only through the sandbox."""
        return self._student

    @pytest.fixture
    def key(self):
        """The answer-key module of this assignment."""
        return self._key

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        marker = item.get_closest_marker("question")
        if marker is None or report.when != "call" and not report.failed:
            return
        qid, weight = marker.args[0], marker.args[1] if len(marker.args) > 1 else 1.0
        name = (item.function.__doc__ or item.name).strip().splitlines()[0]
        self.outcomes.append(_outcome(qid, name, weight, call.excinfo))


def _outcome(qid: str, name: str, weight: float, excinfo) -> Outcome:
    if excinfo is None:
        return Outcome(qid, name, weight, passed=True)
    exc = excinfo.value
    if isinstance(exc, CheckFailed):
        return Outcome(qid, name, weight, False, exc.text, exc.mistakes, zero_question=exc.zero_question)
    if isinstance(exc, StudentFailure):
        return Outcome(qid, name, weight, False, exc.message, exc.mistakes,
                       errored=exc.kind not in ("not-implemented", "missing"))
    text = f"{type(exc).__name__}: {str(exc)[:300]}"
    return Outcome(qid, name, weight, False,
                   Text(f"无法检查你的返回值({text})。请检查返回类型。", f"Your return value could not be checked ({text}). "
                        "Check the return type."), ["wrong-type"])


def run_graders(student: Student, assignment: str) -> list[Outcome]:
    """Run `test_<assignment>.py` with pytest in this process and return every check's outcome."""
    plugin = GraderPlugin(student, assignment)
    args = [str(HERE / f"test_{assignment}.py"), "-p", "no:cacheprovider", "-p", "no:terminal",
            "-o", "addopts=", "-o", "python_files=test_*.py", "--rootdir", str(HERE), "-W", "ignore",
            "--import-mode=importlib", "-c", str(HERE / "pytest.ini")]
    pytest.main(args, plugins=[plugin])
    return plugin.outcomes
