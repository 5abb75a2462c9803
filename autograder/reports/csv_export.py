"""grades.csv: one row per student (student, score, max_score, one column per question), for a spreadsheet or LMS."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from autograder.files import write_atomically
from autograder.result import Result

FIXED_COLUMNS = ("student", "score", "max_score")


def grade_rows(results: list[Result], questions: list[str] | None = None) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of grades.csv, students in name order.

    Args:
        results: one Result per student (`student` set); error rows included, with their zeros.
        questions: the question columns, in order; by default those of the first result.
    Returns:
        (header, rows); numbers are written without trailing zeros (`7.5`, `15`).
    """
    if questions is None:
        questions = [q.id for q in results[0].questions] if results else []
    header = [*FIXED_COLUMNS, *questions]
    rows = []
    for result in sorted(results, key=lambda r: r.student or ""):
        scores = {q.id: q.score for q in result.questions}
        rows.append([result.student or "", _number(result.score), _number(result.max_score),
                     *(_number(scores[q]) if q in scores else "" for q in questions)])
    return header, rows


def write_grades_csv(results: list[Result], path: str | Path, questions: list[str] | None = None) -> Path:
    """Write grades.csv (UTF-8, comma-separated, one header line) atomically.

    Args:
        results: one Result per student.
        path: where to write.
        questions: the question columns, in order; by default those of the first result.
    Returns:
        The path written.
    """
    header, rows = grade_rows(results, questions)
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return write_atomically(path, text.getvalue())


def _number(value: float) -> str:
    return f"{value:g}"
