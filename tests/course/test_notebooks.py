"""Do the instructor notebooks run, and is the committed release current and free of answers?"""
from __future__ import annotations

import base64
import re

import nbformat
import pytest
from nbclient import NotebookClient

from assignments import ASSIGNMENT_IDS
from assignments import questions_of
from autograder.release import copy_course, generate_release
from autograder.submission import SELF_CHECK_ID
from support.notebooks import release_notebook, source_notebook

SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
SHOW_CALL = re.compile(r"^\s*show\(", re.M)


def _solution_regions(assignment: str) -> list[str]:
    nb = nbformat.read(source_notebook(assignment), as_version=4)
    return [m.strip() for c in nb.cells for m in SOLUTION.findall(c.source) if m.strip()]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENT_IDS)
def test_source_notebook_runs_offline_in_a_real_kernel(assignment, tmp_path):
    """Does every instructor notebook run top to bottom in a Jupyter kernel with no network and no error, showing
    its figures as PNGs?

    The self-check cell is left out: it grades the saved file (tests/test_selfcheck.py covers it)."""
    nb = nbformat.read(source_notebook(assignment), as_version=4)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != SELF_CHECK_ID]
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    for cell in (c for c in nb.cells if c.cell_type == "code" and SHOW_CALL.search(c.source)):  # what a learner sees
        pictures = [o.data for o in cell.outputs if o.output_type == "display_data" and "image/png" in o.data]
        assert pictures and all(base64.b64decode(p["image/png"]).startswith(b"\x89PNG") for p in pictures)
        assert all(p["text/plain"].startswith("<Figure size") for p in pictures)


@pytest.mark.parametrize("assignment", ASSIGNMENT_IDS)
def test_every_question_is_one_grade_cell_with_its_points(assignment):
    """Does each question id appear as exactly one nbgrader grade cell carrying the key's points?"""
    nb = nbformat.read(source_notebook(assignment), as_version=4)
    graded = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert graded == questions_of(assignment)


@pytest.mark.slow
def test_release_is_current(tmp_path):
    """Does regenerating release/ with nbgrader give exactly the committed student notebooks?"""
    course = copy_course(tmp_path / "course")
    for assignment, fresh in zip(ASSIGNMENT_IDS, generate_release(course)):
        committed = nbformat.read(release_notebook(assignment), as_version=4)
        regenerated = nbformat.read(fresh, as_version=4)
        assert [c.source for c in committed.cells] == [c.source for c in regenerated.cells], (
            f"release/{assignment} is stale: run `make release`")


@pytest.mark.parametrize("assignment", ASSIGNMENT_IDS)
def test_release_contains_no_answers(assignment):
    """Is every solution, hidden test and quiz letter absent from the student notebook?"""
    text = "\n".join(c.source for c in nbformat.read(release_notebook(assignment), as_version=4).cells)
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    for region in _solution_regions(assignment):
        assert region not in text
    assert not re.search(r"^quiz_\w+\s*=\s*['\"][A-D]['\"]", text, re.M)
