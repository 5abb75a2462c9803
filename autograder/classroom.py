"""Example notebooks made from the course's own: one student's answers written into a notebook, for the demo class,
the tests and the benchmarks."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat

from autograder.files import PROJECT

SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)
STOCK_CONFIG = '''c = get_config()  # noqa: F821  stock nbgrader: notebooks run in a Jupyter kernel, hidden tests included
c.CourseDirectory.course_id = "transformer-attention"
c.ClearSolutions.code_stub = {"python": "# 在这里作答 / YOUR CODE HERE\\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "在这里作答 / YOUR ANSWER HERE"
'''
"""A course configuration without this repo's engine: what an instructor gets from nbgrader alone."""


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def grade_ids(notebook: Path) -> set[str]:
    """The nbgrader grade_ids of a notebook's cells."""
    return {_grade_id(c) for c in nbformat.read(notebook, as_version=4).cells} - {None}


def solutions(source: Path) -> dict[str, str]:
    """The instructor notebook's answers: grade_id → the solution cell's source without its nbgrader markers."""
    return {_grade_id(c): SOLUTION_MARKERS.sub("", c.source) for c in nbformat.read(source, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def edited(base: Path, *, replace: dict[str, str] | None = None, append: list[str] = (), drop: tuple[str, ...] = (),
           rename: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The notebook `base` as a student changed it.

    Args:
        replace: grade_id → the new source of that cell (every one must exist).
        append: code cells inserted after the first code cell, in order.
        drop: grade_ids of cells deleted.
        rename: grade_id → a new grade_id for that cell.
    """
    nb = nbformat.read(base, as_version=4)
    replace = dict(replace or {})
    cells = []
    for cell in nb.cells:
        if _grade_id(cell) in drop:
            continue
        if _grade_id(cell) in replace:
            cell.source = replace.pop(_grade_id(cell))
        if _grade_id(cell) in (rename or {}):
            cell.metadata.nbgrader["grade_id"] = rename[_grade_id(cell)]
        cells.append(cell)
    assert not replace, f"no cells with grade_id {sorted(replace)} in {base}"
    first_code = next(i for i, c in enumerate(cells) if c.cell_type == "code")
    for offset, source in enumerate(append):
        cells.insert(first_code + 1 + offset, nbformat.v4.new_code_cell(source))
    nb.cells = cells
    return nb


def answered(release: Path, source: Path, answers: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The released notebook with every answer cell filled: the instructor's solution unless `answers` (grade_id →
    source) gives another."""
    return edited(release, replace=solutions(source) | (answers or {}))


def stock_course(home: Path) -> Path:
    """A scratch nbgrader course at `home` with this repo's source/ and STOCK_CONFIG (no engine: the grade cells'
    own hidden tests score the notebook in a Jupyter kernel)."""
    shutil.copytree(PROJECT / "source", home / "source")
    (home / "nbgrader_config.py").write_text(STOCK_CONFIG, encoding="utf-8")
    return home


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    """Save a notebook, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
