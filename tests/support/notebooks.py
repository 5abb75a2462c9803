"""Scenario notebooks for tests: the instructor and release notebooks, and submissions built from them."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from autograder.classroom import edited, write

ROOT = Path(__file__).resolve().parents[2]


def source_notebook(assignment: str) -> Path:
    """The instructor notebook of an assignment."""
    return ROOT / "source" / assignment / f"{assignment}.ipynb"


def release_notebook(assignment: str) -> Path:
    """The committed student notebook of an assignment."""
    return ROOT / "release" / assignment / f"{assignment}.ipynb"


def make_submission(base: Path, out: Path, replace: dict[str, str] | None = None,
                    append: list[str] | None = None, drop: tuple[str, ...] = (),
                    rename: dict[str, str] | None = None) -> Path:
    """Write a submission built from `base` (see `autograder.classroom.edited`) to `out`."""
    return write(edited(base, replace=replace, append=append or [], drop=drop, rename=rename), out)


def blank_answers(assignment: str) -> dict[str, str]:
    """Every solution code cell of the instructor notebook with its solution replaced by
    `raise NotImplementedError()`, as nbgrader releases it (grade_id → source)."""
    nb = nbformat.read(source_notebook(assignment), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: re.sub(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION",
                                                       r"\1raise NotImplementedError()", c.source, flags=re.S)
            for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
