"""`nbgrader autograde` through the engine: a preprocessor that grades in the sandbox and writes the scores."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Unicode

from assignments import ASSIGNMENT_IDS
from autograder.result import STATUSES, QuestionResult, Result
from autograder.sandbox.session import Limits

HIDDEN_TESTS = re.compile(r"^[^\n]*BEGIN HIDDEN TESTS.*?END HIDDEN TESTS[^\n]*(\n|$)", re.S | re.M)


class GradeInSandbox(NbGraderPreprocessor):
    """Replaces nbgrader's `Execute` in `Autograde.autograde_preprocessors`.

    The sanitized notebook is graded by `autograder.check` (student code in the sandbox, hidden graders
    outside it). Each auto-graded test cell then gets the engine's verdict as outputs: the feedback as stdout
    and the score as an `execute_result`, which `nbgrader.utils.determine_grade` reads as the (partial)
    credit; its hidden-test region, which the engine does not run, is removed so that feedback never shows
    it. Manual cells, and every cell's source other than hidden tests, are left as they are.
    """

    lang = Unicode("en", help='Language of the feedback written into the notebook: "en" or "zh".').tag(config=True)
    cell_timeout = Float(Limits.cell_timeout, help="Seconds a notebook cell may run in the sandbox.").tag(config=True)
    call_timeout = Float(Limits.call_timeout, help="Seconds one call of a student function may take.").tag(config=True)
    isolation = Unicode("auto", help='"bwrap", "process" or "auto" (bwrap when available).').tag(config=True)

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict):
        """Grade `nb` with the engine and record the result in its test cells (nbgrader's entry point)."""
        info = resources.get("nbgrader", {})
        assignment = next((a for a in (info.get("notebook"), info.get("assignment")) if a in ASSIGNMENT_IDS), None)
        limits = Limits(cell_timeout=self.cell_timeout, call_timeout=self.call_timeout)
        result, figures = grade_notebook_node(nb, assignment, self.lang, limits, self.isolation)
        self.log.info("attn-grade: %s scored %g/%g (isolation: %s)", info.get("student", "?"), result.score,
                      result.max_score, result.isolation)
        record_result(nb, result, figures)
        return nb, resources


def grade_notebook_node(nb: nbformat.NotebookNode, assignment: str | None, lang: str = "en",
                        limits: Limits = Limits(), isolation: str = "auto") -> tuple[Result, dict[str, bytes]]:
    """Grade an in-memory notebook with `autograder.check` (through a temporary copy).

    Returns:
        (the Result, question id → SVG of the student's own values) as `check_with_figures` gives them.

    Raises:
        SubmissionError: the notebook cannot be graded at all (nbgrader then reports it for this student).
    """
    from autograder.check import check_with_figures
    with tempfile.TemporaryDirectory(prefix="attn-nbgrader-") as tmp:
        path = Path(tmp) / f"{assignment or 'submission'}.ipynb"
        nbformat.write(nb, path)
        return check_with_figures(path, assignment=assignment, lang=lang, limits=limits, isolation=isolation)


def record_result(nb: nbformat.NotebookNode, result: Result, figures: dict[str, bytes] | None = None) -> None:
    """Write the engine's verdict into the notebook's cells, in place.

    Auto-graded test cells get the feedback, a picture of the student's own values where one was drawn, and the
    score (a question the engine does not know scores 0); cells that failed, hung or crashed get a note saying
    so. Solution and manual cells keep their source.
    """
    figures = figures or {}
    scores = {q.id: q for q in result.questions}
    failures = {e.cell: e for e in result.errors if e.cell >= 0}
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if meta.get("grade") and not meta.get("solution"):
            cell.source = HIDDEN_TESTS.sub("", cell.source)
            grade_id = meta.get("grade_id", "?")
            cell.outputs = question_outputs(scores.get(grade_id), grade_id, float(meta.get("points", 0)),
                                            figures.get(grade_id))
        elif index in failures:
            error = failures[index]
            cell.outputs = [_stdout(f"[attn-grade] {error.kind}: {error.message}\n")]


def question_outputs(question: QuestionResult | None, grade_id: str, points: float,
                     picture: bytes | None = None) -> list:
    """The outputs of one test cell: the feedback (stdout, never stderr), the student's picture if any, then the
    score as an execute_result (the output nbgrader reads the grade from)."""
    if question is None:
        return [_stdout(f"[attn-grade] {grade_id}: not a question the engine grades; scored 0\n"), _score(0.0)]
    mistakes = f" — {', '.join(question.mistakes)}" if question.mistakes else ""
    header = (f"[attn-grade] {STATUSES[question.status].mark} {question.id}: {question.score:g}/{question.max_score:g} "
              f"({question.status}){mistakes}")
    outputs = [_stdout(f"{header}\n{question.feedback}\n".replace("\n\n", "\n"))]
    if picture:
        outputs.append(nbformat.v4.new_output("display_data", data={
            "image/svg+xml": picture.decode("utf-8"), "text/plain": f"<你的数值的图 / a picture of your values: {question.id}>"}))
    return outputs + [_score(min(question.score, points))]


def _stdout(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def _score(score: float):
    return nbformat.v4.new_output("execute_result", data={"text/plain": repr(float(score))}, execution_count=None)
