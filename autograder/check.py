"""Grade one notebook: sandbox run → probes → hidden graders → a Result."""
from __future__ import annotations

import time
from pathlib import Path

from autograder.graders import MANUAL_QUESTIONS, questions_of
from autograder.graders.framework import run_graders
from autograder.probes import Student
from autograder.result import ErrorRecord, Result
from autograder.sandbox.session import Limits, Sandbox
from autograder.scoring import score_question
from autograder.submission import load_submission


def check(notebook: str | Path, *, assignment: str | None = None, lang: str = "en",
          limits: Limits = Limits(), isolation: str = "auto") -> Result:
    """Grade one notebook in a sandbox against the hidden graders.

    Args:
        notebook: path to the submitted .ipynb.
        assignment: the assignment id; inferred from the notebook when None.
        lang: "zh" or "en", the language of feedback.
        limits: sandbox resource limits.
        isolation: "bwrap", "process" or "auto" (bwrap when available).
    Returns:
        The Result; grading problems inside the submission are recorded in it, never raised.
    Raises:
        SubmissionError: the notebook is missing, unreadable or invalid, or the assignment is unknown.
    """
    started = time.monotonic()
    submission = load_submission(notebook, assignment)
    with Sandbox(submission.cells, limits, isolation) as sandbox:
        cell_errors = sandbox.run_cells()
        outcomes = run_graders(Student(sandbox, submission), submission.assignment)
        isolation_used = sandbox.isolation
    points = questions_of(submission.assignment)
    manual = MANUAL_QUESTIONS.get(submission.assignment, ())
    questions = [score_question(q, p, [o for o in outcomes if o.question == q], lang, manual=q in manual)
                 for q, p in points.items()]
    return Result(
        assignment=submission.assignment, notebook=str(notebook),
        score=round(sum(q.score for q in questions), 4), max_score=float(sum(points.values())),
        isolation=isolation_used, duration_s=round(time.monotonic() - started, 2), questions=questions,
        errors=[ErrorRecord(e.cell, e.kind, e.message) for e in cell_errors])
