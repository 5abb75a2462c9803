"""A submitted notebook: read and validate it, pick the cells to run, infer its assignment."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

# jsonschema (under nbformat) builds an RFC 3987 parser at import when rfc3987_syntax is installed: 3 s of CPU for an
# IRI format that no notebook schema uses, so it is left out.
sys.modules.setdefault("rfc3987_syntax", None)
import nbformat  # noqa: E402

from assignments import ASSIGNMENT_IDS, questions_of

MAX_NOTEBOOK_BYTES = 50 * 2**20
SELF_CHECK_ID = "self_check"
"""The grade_id of the notebook's self-check cell, which runs the grader from Jupyter and is never graded."""


@dataclass
class Cell:
    """A code cell to run: its index in the notebook and its source."""

    index: int
    source: str


class SubmissionError(Exception):
    """A notebook that cannot be graded at all: missing, unreadable, not a notebook, unknown assignment."""


@dataclass
class Submission:
    """The parts of a notebook that grading needs."""

    path: Path
    notebook: nbformat.NotebookNode
    assignment: str

    @property
    def cells(self) -> list[Cell]:
        """Every code cell except nbgrader grade (test) cells, in order, with its notebook index."""
        return [Cell(i, _source(c)) for i, c in enumerate(self.notebook.cells)
                if c.get("cell_type") == "code" and not _is_test_cell(c) and _grade_id(c) != SELF_CHECK_ID]


def load_submission(path: str | Path, assignment: str | None = None) -> Submission:
    """Read and validate a notebook; infer its assignment unless given.

    Raises:
        SubmissionError: with a one-line reason, for a missing, unreadable or invalid notebook, or an unknown
            assignment.
    """
    path = Path(path)
    if assignment is not None and assignment not in ASSIGNMENT_IDS:
        raise SubmissionError(f"unknown assignment {assignment!r} (known: {', '.join(ASSIGNMENT_IDS)})")
    if not path.is_file():
        raise SubmissionError(f"{path}: no such notebook")
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{path}: larger than {MAX_NOTEBOOK_BYTES // 2**20} MB, not graded")
    try:
        notebook = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SubmissionError(f"{path}: not a readable notebook ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # nbformat raises several unrelated types for malformed documents
        raise SubmissionError(f"{path}: not a valid notebook ({type(exc).__name__})") from None
    if not isinstance(notebook.get("cells"), list):
        raise SubmissionError(f"{path}: not a valid notebook (no cells)")
    assignment = assignment or infer_assignment(path, notebook)
    return Submission(path, notebook, assignment)


def infer_assignment(path: Path, notebook: nbformat.NotebookNode) -> str:
    """The assignment id from the file name, its folder, or the grade ids the notebook contains."""
    for candidate in (path.stem, path.parent.name):
        if candidate in ASSIGNMENT_IDS:
            return candidate
    grade_ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in notebook.cells}
    best = max(ASSIGNMENT_IDS, key=lambda a: len(grade_ids & set(questions_of(a))))
    if not grade_ids & set(questions_of(best)):
        raise SubmissionError(f"{path}: cannot tell which assignment this is; pass --assignment")
    return best


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")
