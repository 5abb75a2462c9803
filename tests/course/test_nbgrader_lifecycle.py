"""Does `nbgrader autograde` in this course grade through the engine, with the same scores as `attn-grade grade`?"""
from __future__ import annotations

import csv
import html
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import determine_grade

from autograder.nbgrader_plugin import record_result
from autograder.result import ErrorRecord, QuestionResult, Result
from support.classes import ID, graded_class, tree_digest

NBGRADER = Path(sys.executable).parent / "nbgrader"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def nbgrader(course: Path, *args: str) -> None:
    """Run one nbgrader command in the course directory; fail the test if it fails."""
    subprocess.run([str(NBGRADER), *args, "--log-level=ERROR"], cwd=course, check=True)


@pytest.fixture(scope="module")
def autograded(tmp_path_factory):
    """The class graded twice: by `attn-grade grade`, then by `nbgrader autograde` (with feedback and export)."""
    submitted, summary = graded_class(tmp_path_factory)
    course, before = submitted.parent, tree_digest(submitted)
    nbgrader(course, "autograde", ID)
    nbgrader(course, "generate_feedback", ID)
    nbgrader(course, "export")
    assert tree_digest(submitted) == before, "nbgrader autograde modified the submissions"
    return course, summary


@pytest.mark.slow
def test_the_gradebook_holds_the_engines_per_question_scores(autograded):
    """Is every student's per-question score in nbgrader's gradebook the one `attn-grade grade` gave, partial
    credit included, and does `nbgrader export` give the same totals?"""
    from nbgrader.api import Gradebook
    course, summary = autograded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for result in summary.results:
            notebook = gradebook.find_submission_notebook(ID, ID, result.student)
            recorded = {grade.name: grade.score for grade in notebook.grades}
            assert recorded == pytest.approx({q.id: q.score for q in result.questions}), result.student
    assert any(0 < q.score < q.max_score for r in summary.results for q in r.questions), "no partial credit tested"
    with open(course / "grades.csv", encoding="utf-8") as handle:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    assert exported == pytest.approx({r.student: r.score for r in summary.results})


@pytest.mark.slow
def test_feedback_shows_the_engines_verdict_and_no_hidden_test(autograded):
    """Does each student's nbgrader feedback page show the public checks, the verdict and a picture of their own
    sdpa weights, but no hidden test?"""
    course, summary = autograded
    source = nbformat.read(course / "source" / ID / f"{ID}.ipynb", as_version=4)
    hidden = {line.strip() for c in source.cells for block in HIDDEN.findall(c.source)
              for line in block.splitlines() if len(line.strip()) > 12}
    for result in summary.results:
        page = (course / "feedback" / result.student / ID / f"{ID}.html").read_text(encoding="utf-8")
        text = html.unescape(re.sub(r"<[^>]+>", "", page))
        assert "[attn-grade]" in text and 'print("✓ 已作答 / answered")' in text
        assert not [line for line in hidden if line in text], result.student
        assert "HIDDEN TESTS" not in text
        pictures = page.count('src="data:image/svg+xml;base64,PHN2Zy')  # "<svg": the student's own sdpa weights
        assert pictures == (0 if result.student == "02-blank" else 1), result.student


def _cell(grade_id: str, cell_type: str = "code", solution: bool = False, source: str = "") -> nbformat.NotebookNode:
    new = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    cell = new(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": solution, "grade_id": grade_id, "points": 2.0,
                                 "locked": not solution, "schema_version": 3}
    return cell


def test_record_result_writes_partial_credit_and_leaves_manual_cells_alone():
    """Does nbgrader read 0.5/2 from a test cell, 0 from an unknown one, and keep a manual answer untouched?"""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1"),
        _cell("sdpa", source="assert x\n### BEGIN HIDDEN TESTS\nassert x == 42\n### END HIDDEN TESTS\nprint('ok')"),
        _cell("unknown"), _cell("interpretation", "markdown", solution=True, source="my answer")])
    result = Result(ID, "nb.ipynb", 0.5, 4.0, "process", 1.0, [
        QuestionResult("sdpa", 0.5, 2.0, "partial", ["missing-scale"], "Scale the scores."),
        QuestionResult("interpretation", 0.0, 2.0, "manual")], [ErrorRecord(0, "timeout", "time limit exceeded")])
    manual_before = dict(nb.cells[3])
    record_result(nb, result)
    assert [determine_grade(c)[0] for c in nb.cells[1:3]] == [0.5, 0.0]
    assert "42" not in nb.cells[1].source and "print('ok')" in nb.cells[1].source
    assert "missing-scale" in nb.cells[1].outputs[0].text and nb.cells[1].outputs[0].name == "stdout"
    assert "timeout" in nb.cells[0].outputs[0].text
    assert dict(nb.cells[3]) == manual_before
