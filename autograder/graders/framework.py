"""The grader framework: a `question` marker, CheckFailed, and the pytest plugin that collects outcomes."""
from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assignments.quiz import Text
from assignments import key_module
from autograder.graders.cache import load_references
from autograder.graders.evidence import Evidence
from autograder.graders import texts
from autograder.probes import Student, StudentFailure

HERE = Path(__file__).resolve().parent
LOG = logging.getLogger(__name__)
ZH_NAME = "中文:"
"""A grader test's docstring names its check in English on the first line and in Chinese on a `中文:` line."""
NOT_INSTALLED = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")
"""How a failed call or cell says that an import found no such module (Python's own wording)."""


class CheckFailed(AssertionError):
    """A hidden check failed: a student-facing message (never the expected value) and diagnosed mistake ids."""

    def __init__(self, message: Text, mistakes=(), zero_question: bool = False):
        super().__init__(message.en)
        self.text = message
        self.mistakes = list(mistakes)
        self.zero_question = zero_question
        """True when this failure costs the whole question (e.g. `forbidden-api`)."""


class CarriedForward(Exception):
    """A check passed on the student's own helper values (error carried forward): the note names the helper to fix."""

    def __init__(self, note: Text):
        super().__init__(note.en)
        self.note = note


def question(question_id: str, weight: float = 1.0, gate: bool = False):
    """Mark a grader test as one weighted check of `question_id`.

    A `gate` check (weight 0) asks whether the answers are valid results at all; when it fails, whatever the
    student's code did (a wrong value, an exception), the whole question scores 0 (SPEC §5 "Fair scores").
    """
    return pytest.mark.question(question_id, 0.0 if gate else weight, gate=gate)


@dataclass
class Outcome:
    """What one grader test found."""

    question: str
    name: Text
    weight: float
    passed: bool
    message: Text = Text("", "")
    """Why it failed; on a passed check, a carried-forward note (which helper of theirs to fix), if any."""
    mistakes: list[str] = field(default_factory=list)
    errored: bool = False
    """True when the student's code raised, hung or crashed (rather than returning a wrong value)."""
    zero_question: bool = False
    grader_error: str = ""
    """The exception's type name when the grader itself raised (a grader bug or a value no check foresaw)."""


class GraderPlugin:
    """Gives grader tests the `student`, `key` and `evidence` fixtures and records each test's outcome."""

    def __init__(self, student: Student, assignment: str, evidence: Evidence | None = None):
        self._student = student
        self._key = key_module(assignment)
        self._evidence = evidence if evidence is not None else Evidence()
        self.outcomes: list[Outcome] = []

    @pytest.fixture
    def student(self) -> Student:
        """The submission under test, reached only through the sandbox."""
        return self._student

    @pytest.fixture
    def key(self):
        """The answer-key module of this assignment."""
        return self._key

    @pytest.fixture
    def evidence(self) -> Evidence:
        """Where a grader test keeps the student's own values for the feedback page's pictures."""
        return self._evidence

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.when == "call":
            self._evidence.settle(report.failed)
        marker = item.get_closest_marker("question")
        if marker is None or report.when != "call" and not report.failed:
            return
        qid, weight = marker.args[0], marker.args[1] if len(marker.args) > 1 else 1.0
        outcome = _outcome(qid, check_name(item.function, item.name), weight, call.excinfo)
        if marker.kwargs.get("gate") and not outcome.passed and not outcome.grader_error:
            outcome.zero_question = True
            outcome.message = texts.UNTIL_VALID.format(message=outcome.message)
        self.outcomes.append(outcome)


def check_name(function, test_id: str) -> Text:
    """A grader test's check name: its docstring's first line in English, its `中文:` line in Chinese.

    Without a `中文:` line the English name stands in (tests/test_check_names.py makes sure none lacks one).
    """
    lines = [line.strip() for line in (function.__doc__ or test_id).strip().splitlines()]
    zh = next((line.removeprefix(ZH_NAME).strip() for line in lines if line.startswith(ZH_NAME)), lines[0])
    return Text(zh, lines[0])


def _outcome(qid: str, name: Text, weight: float, excinfo) -> Outcome:
    if excinfo is None:
        return Outcome(qid, name, weight, passed=True)
    exc = excinfo.value
    if isinstance(exc, CarriedForward):
        return Outcome(qid, name, weight, passed=True, message=exc.note)
    if isinstance(exc, CheckFailed):
        return Outcome(qid, name, weight, False, exc.text, exc.mistakes, zero_question=exc.zero_question)
    if isinstance(exc, StudentFailure):
        message = texts.CALL_FAILED.get(exc.kind, texts.CALL_RAISED).format(name=exc.name, detail=exc.detail)
        if missing := NOT_INSTALLED.search(exc.detail):
            message = texts.NOT_INSTALLED.format(message=message, module=missing.group(1).partition(".")[0])
        return Outcome(qid, name, weight, False, message, exc.mistakes,
                       errored=exc.kind not in ("not-implemented", "missing"))
    LOG.warning("grader error in %s / %s", qid, name.en, exc_info=exc)  # the traceback is for the instructor only
    return Outcome(qid, name, weight, False, texts.GRADER_ERROR, errored=True, grader_error=type(exc).__name__)


def prepare_graders(assignment: str) -> None:
    """Import `test_<assignment>.py` and what it uses, and load its reference results (a thread can do it while a
    submission's cells run: `run_graders` then starts at once)."""
    importlib.import_module(f"autograder.graders.test_{assignment}")
    load_references()


def run_graders(student: Student, assignment: str, evidence: Evidence | None = None) -> list[Outcome]:
    """Run `test_<assignment>.py` with pytest in this process and return every check's outcome.

    Args:
        student: the submission, reached through its sandbox.
        assignment: the assignment id.
        evidence: filled with the student's values that the graders keep for pictures, when given.
    """
    plugin = GraderPlugin(student, assignment, evidence)
    args = [str(HERE / f"test_{assignment}.py"), "-p", "no:cacheprovider", "-p", "no:terminal",
            "-p", "no:unraisableexception", "-p", "no:threadexception",  # their full gc passes: 0.4 s a notebook
            "-p", "no:logging",  # log capture around every test: 0.1 s a notebook
            # warm workers grade in threads of one process: capturing (or faulthandler's copy of) file descriptors
            # 1 and 2 would swallow what the other threads print, a Ctrl-C's message, or leave fd 2 redirected
            "--capture=no", "-p", "no:faulthandler",
            "-o", "addopts=", "-o", "python_files=test_*.py", "--rootdir", str(HERE), "-W", "ignore",
            "--import-mode=importlib", "-c", str(HERE / "pytest.ini")]
    pytest.main(args, plugins=[plugin])
    return plugin.outcomes
