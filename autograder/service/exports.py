"""The instructor's downloads: the exports of `attn-grade grade`, over each student's latest graded submission."""
from __future__ import annotations

import tempfile
from pathlib import Path

from autograder.batch import write_exports, write_ledger
from autograder.result import Result
from autograder.service.store import Store

EXPORTS = {"grades.csv": "text/csv; charset=utf-8", "results.jsonl": "application/x-ndjson; charset=utf-8",
           "report.html": "text/html; charset=utf-8"}
"""File name → media type of each download."""


def export(store: Store, assignment: str, name: str, lang: str) -> bytes:
    """One export file of an assignment, written by the same code as `attn-grade grade` writes it.

    results.jsonl has one row per student: their latest graded Result with `student`, `sha256` and `submission`.
    Every Result is in `lang`, but for submissions graded before the service kept both languages (in their own).
    """
    latest = store.latest_graded(assignment, lang)
    rows = [s.result | {"student": s.student, "sha256": s.sha256, "submission": s.id} for s in latest]
    with tempfile.TemporaryDirectory(prefix="attn-export-") as tmp:
        out = Path(tmp)
        if name == "results.jsonl":
            write_ledger(out / name, rows)
        else:
            results = [Result.from_dict(row) for row in rows]
            write_exports(results, assignment, out, lang, {s.student: {} for s in latest})
        return (out / name).read_bytes()
