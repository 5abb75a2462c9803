"""The fallback without this repo's engine: stock `nbgrader autograde` runs the hidden tests kept in the grade cells.

An instructor who grades with nbgrader alone (another course directory, no `nbgrader_config.py` of ours) still gets
scores: the instructor's answers earn every automatic point, a notebook handed in blank earns none.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from assignments import ASSIGNMENT_IDS, MANUAL_QUESTIONS, questions_of
from autograder.classroom import answered, edited, stock_course, write
from autograder.release import generate_release

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory) -> Path:
    """A stock course where `right` handed in the instructor's answers and `blank` the released notebook, graded."""
    home = stock_course(tmp_path_factory.mktemp("stock") / "course")
    generate_release(home, ASSIGNMENT_IDS)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for assignment in ASSIGNMENT_IDS:
        release = home / "release" / assignment / f"{assignment}.ipynb"
        write(answered(release, home / "source" / assignment / f"{assignment}.ipynb"),
              home / "submitted" / "right" / assignment / f"{assignment}.ipynb")
        write(edited(release), home / "submitted" / "blank" / assignment / f"{assignment}.ipynb")
        subprocess.run([Path(sys.executable).parent / "nbgrader", "autograde", assignment, "--log-level=ERROR"],
                       cwd=home, env=env, check=True, capture_output=True, timeout=900)
    return home / "gradebook.db"


@pytest.mark.parametrize("assignment", ASSIGNMENT_IDS)
def test_stock_nbgrader_gives_the_instructor_answers_every_automatic_point(gradebook, assignment):
    """Do the hidden tests in the grade cells give the instructor's answers full automatic marks, and blank none?"""
    automatic = sum(p for q, p in questions_of(assignment).items() if q not in MANUAL_QUESTIONS.get(assignment, ()))
    with Gradebook(f"sqlite:///{gradebook}") as book:
        right = book.find_submission(assignment, "right")
        blank = book.find_submission(assignment, "blank")
        assert right.score == pytest.approx(automatic)
        assert blank.score == 0
