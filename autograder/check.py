"""Grade one notebook: sandbox run → probes → hidden graders → a Result.

The sandbox starts first; the graders (pytest, torch, the key and its reference results) are imported and loaded in
a thread while the student's cells run in the sandbox, another process. So this module imports them, and the notebook
reader, only after the sandbox has been launched.
"""
from __future__ import annotations

import json
import os
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from assignments import MANUAL_QUESTIONS, questions_of
from autograder.result import ErrorRecord, Result
from autograder.sandbox.session import Limits, Sandbox

if TYPE_CHECKING:
    from autograder.graders.evidence import Evidence


OTHER_ASSIGNMENT = ("这个笔记本看起来是 {looks} 的，按要求的 {asked} 评分：请交 {asked} 的笔记本 / This notebook looks like "
                    "{looks}'s; it was graded as {asked}, as asked: submit the {asked} notebook")
"""The note on a notebook of another assignment than the one asked for (the result's errors, cell -1)."""
_GRADERS = threading.Lock()
"""pytest keeps process-wide state, and CPython 3.11's `ast` is not safe from two threads at once (pytest parses the
graders as it imports them, the scan parses notebooks): one notebook at a time prepares or runs its graders in a
process (warm batch workers are threads of one process; their sandboxes and everything else still run in parallel)."""


def check(notebook: str | Path, *, assignment: str | None = None, lang: str = "en",
          limits: Limits = Limits(), isolation: str = "auto", evidence: Evidence | None = None,
          warm: bool = False) -> Result:
    """Grade one notebook in a sandbox against the hidden graders.

    Args:
        notebook: path to the submitted .ipynb.
        assignment: the assignment id; inferred from the notebook when None.
        lang: "zh" or "en", the language of feedback.
        limits: sandbox resource limits.
        isolation: "bwrap", "process" or "auto" (bwrap when available).
        evidence: when given, filled with the student's own values that the graders keep for pictures.
        warm: fork the interpreter from this process's warm zygote (sandbox/warm.py) instead of starting one;
            the same result, less time per notebook from the second one on. Needs bubblewrap (else cold).
    Returns:
        The Result; grading problems inside the submission are recorded in it, never raised.
    Raises:
        SubmissionError: the notebook is missing, unreadable or invalid, or the assignment is unknown.
    """
    return _check(notebook, assignment, (lang,), limits, isolation, warm, evidence)[0][lang]


def _check(notebook, assignment, langs, limits, isolation, warm, evidence, keep_evidence: bool = False):
    """`check` in each of `langs`, returning ({lang: Result}, Evidence): with `keep_evidence`, a new Evidence when
    none is given. The sandbox run and the graders' outcomes are language-free (their texts carry both languages):
    only the scoring is done once per language."""
    started = time.monotonic()
    starter = _warm_starter(limits) if warm and isolation in ("auto", "bwrap") else None
    with Sandbox([], limits, "bwrap" if starter else isolation, starter).launch() as sandbox:
        from autograder.submission import load_submission  # nbformat: after the launch
        submission = load_submission(notebook, assignment)
        sandbox.cells = submission.cells
        graders = threading.Thread(target=prepare_graders, args=(submission.assignment,), daemon=True)
        graders.start()
        cell_errors = sandbox.run_cells()
        graders.join()
        startup = time.monotonic() - started - sandbox.cell_seconds  # not hidden behind the cells
        from autograder.graders.framework import run_graders
        from autograder.probes import Student
        if keep_evidence and evidence is None:
            from autograder.graders.evidence import Evidence
            evidence = Evidence()
        with _GRADERS:
            outcomes = run_graders(Student(sandbox, submission), submission.assignment, evidence)
        isolation_used, cell_seconds = sandbox.isolation, sandbox.cell_seconds
    from autograder.scoring import score_question
    points = questions_of(submission.assignment)
    manual = MANUAL_QUESTIONS.get(submission.assignment, ())
    scored = {lang: [score_question(q, p, [o for o in outcomes if o.question == q], lang, manual=q in manual)
                     for q, p in points.items()] for lang in langs}
    duration = round(time.monotonic() - started, 2)
    results = {lang: Result(
        assignment=submission.assignment, notebook=str(notebook),
        score=round(sum(q.score for q in questions), 4), max_score=float(sum(points.values())),
        isolation=isolation_used, duration_s=duration, questions=questions,
        errors=_assignment_notes(submission, assignment) + cell_errors + _grader_errors(outcomes))
        for lang, questions in scored.items()}
    _log_timing(results[langs[0]], time.monotonic() - started, cell_seconds, startup, warm=starter is not None)
    return results, evidence


def prepare_graders(assignment: str) -> None:
    """Import the grading stack and `assignment`'s graders and load its reference results (in a thread, beside the
    cells); whatever fails here is done again, and reported, by the graders themselves."""
    with _GRADERS, suppress(Exception):  # pytest parses (ast) as it imports: never beside another thread's graders
        from autograder.graders.framework import prepare_graders as prepare
        import autograder.scoring  # noqa: F401
        prepare(assignment)


def _assignment_notes(submission, asked: str | None) -> list[ErrorRecord]:
    """An `other-assignment` record when the assignment was given and the notebook is clearly another one's."""
    from autograder.submission import other_assignment
    looks = other_assignment(submission.notebook, asked) if asked else None
    return [ErrorRecord(-1, "other-assignment", OTHER_ASSIGNMENT.format(asked=asked, looks=looks))] if looks else []


def _grader_errors(outcomes) -> list[ErrorRecord]:
    """A `grader-error` record per check whose grader raised, so the instructor sees it in every report."""
    return [ErrorRecord(-1, "grader-error", f"{o.question}: {o.name.en} ({o.grader_error})")
            for o in outcomes if o.grader_error]


def _warm_starter(limits: Limits):
    from autograder.sandbox.warm import warm_start
    return warm_start(limits)


def _log_timing(result: Result, seconds: float, cell_seconds: float, startup: float, warm: bool) -> None:
    """With ATTN_GRADE_TIMINGS=FILE set, append where the time went (benchmarks/throughput.py reads it)."""
    path = os.environ.get("ATTN_GRADE_TIMINGS")
    if not path:
        return
    from autograder.sandbox.warm import measure_memory
    line = {"assignment": result.assignment, "notebook": result.notebook, "pid": os.getpid(), "warm": warm,
            "seconds": round(seconds, 3), "cell_seconds": round(cell_seconds, 3),
            "startup_seconds": round(startup, 3), **measure_memory()}
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")


def check_with_figures(notebook: str | Path, *, assignment: str | None = None, lang: str = "en",
                       limits: Limits = Limits(), isolation: str = "auto",
                       warm: bool = False) -> tuple[Result, dict[str, bytes]]:
    """`check`, plus pictures of the student's own values for the feedback page (drawn here, in the grader).

    Arguments as for `check`.
    Returns:
        (the Result, question id → SVG) — the second is `render_feedback_page`'s `figures`; the Result is
        exactly what `check` returns, and carries no picture.
    """
    return check_in_languages(notebook, (lang,), assignment=assignment, limits=limits, isolation=isolation,
                              warm=warm)[lang]


def check_in_languages(notebook: str | Path, langs: tuple[str, ...], *, assignment: str | None = None,
                       limits: Limits = Limits(), isolation: str = "auto",
                       warm: bool = False) -> dict[str, tuple[Result, dict[str, bytes]]]:
    """`check_with_figures` in each of `langs`, grading once: only the scoring and the pictures are per language.

    Arguments as for `check`; `langs`: "zh" and/or "en".
    Returns:
        lang → (the Result, question id → SVG), each what `check_with_figures(..., lang=lang)` returns.
    """
    results, evidence = _check(notebook, assignment, langs, limits, isolation, warm, None, keep_evidence=True)
    from autograder.reports.pictures import evidence_figures
    return {lang: (result, evidence_figures(evidence, lang)) for lang, result in results.items()}
