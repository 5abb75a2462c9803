"""Find a class's submissions: one Task per `submitted/<student>/` folder, or the reason it cannot be graded."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from assignments import ASSIGNMENT_IDS, questions_of
from autograder.result import ErrorRecord, QuestionResult, Result
from autograder.submission import MAX_NOTEBOOK_BYTES


class BatchError(Exception):
    """The batch cannot start: no such directory, no student folders, an unknown assignment or executor."""


@dataclass
class Task:
    """One student's submission: the notebook to grade, or the problem that stops it from being graded."""

    student: str
    path: Path
    data: bytes = b""
    sha256: str = ""
    problem: tuple[str, str] | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)


def find_submissions(submitted: Path, assignment: str, out: Path | None = None) -> dict[str, Task]:
    """Student → Task for every student folder in `submitted`, in name order.

    Raises:
        BatchError: for an unknown assignment, a missing directory, one with no student folders or no
            `<assignment>/` subfolder anywhere, or an output directory inside it.
    """
    if assignment not in ASSIGNMENT_IDS:
        raise BatchError(f"unknown assignment {assignment!r} (known: {', '.join(ASSIGNMENT_IDS)})")
    if not submitted.is_dir():
        raise BatchError(f"{submitted}: no such directory")
    if out is not None and out.resolve().is_relative_to(submitted.resolve()):
        raise BatchError(f"--out {out} is inside {submitted}: write results elsewhere, submissions stay untouched")
    folders = sorted(p for p in submitted.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise BatchError(f"{submitted}: no student folders (expected {submitted}/<student>/{assignment}/"
                         f"{assignment}.ipynb)")
    if not any((f / assignment).is_dir() for f in folders):
        raise BatchError(f"{submitted}: none of its {len(folders)} folders contains {assignment}/; pass nbgrader's "
                         f"submitted/ directory (SUBMITTED/<student>/{assignment}/{assignment}.ipynb)")
    return {f.name: _task(f, assignment) for f in folders}


def _task(folder: Path, assignment: str) -> Task:
    home, expected = folder / assignment, folder / assignment / f"{assignment}.ipynb"
    if not home.is_dir():
        return Task(folder.name, folder, problem=("no-submission", f"no {assignment}/ folder in {folder}"))
    notebooks = sorted(p for p in home.glob("*.ipynb") if p.is_file())
    others = ", ".join(p.name for p in notebooks if p != expected)
    if not notebooks:
        found = ", ".join(sorted(p.name for p in home.iterdir() if not p.name.startswith(".")))
        listing = f"found only: {found}" if found else "the folder is empty"
        return Task(folder.name, home, problem=("no-notebook", f"no .ipynb notebook in {home} ({listing})"))
    if expected not in notebooks and len(notebooks) > 1:
        return Task(folder.name, home, problem=("several-notebooks", f"{len(notebooks)} notebooks in {home} and "
                                                f"none is {expected.name}: {others}; keep one"))
    chosen = expected if expected in notebooks else notebooks[0]
    notes = ([("renamed-notebook", f"graded {chosen.name}, the only notebook; expected {expected.name}")]
             if chosen != expected else [("extra-notebook", f"graded {chosen.name}; ignored {others}")] if others else [])
    if chosen.stat().st_size > MAX_NOTEBOOK_BYTES:
        return Task(folder.name, chosen, problem=("invalid-notebook", f"{chosen}: larger than "
                    f"{MAX_NOTEBOOK_BYTES // 2**20} MB, not graded"))
    data = chosen.read_bytes()
    return Task(folder.name, chosen, data, hashlib.sha256(data).hexdigest(), notes=notes)


def error_result(assignment: str, task: Task, kind: str, message: str) -> Result:
    """An error row: every question `error` with 0 points, and the reason in `errors` (cell -1)."""
    points = questions_of(assignment)
    questions = [QuestionResult(q, 0.0, float(p), "error", feedback=message) for q, p in points.items()]
    return Result(assignment, str(task.path), 0.0, float(sum(points.values())), "none", 0.0,
                  questions, [ErrorRecord(-1, kind, message)], student=task.student or None)
