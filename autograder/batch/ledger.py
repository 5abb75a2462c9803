"""The resumable results.jsonl: read, rewrite, append, lock, and which stored rows a re-run may keep."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

from autograder.files import PROJECT, write_atomically
from autograder.batch.submissions import BatchError, Task

GRADING_CODE = ("assignments", "autograder/submission", "autograder/sandbox", "autograder/probes.py",
                "autograder/graders", "autograder/scoring.py", "autograder/result.py", "autograder/check.py")
"""The code whose change makes every stored result stale (reports and the CLI are not in it)."""


def grading_stamp(lang: str) -> str:
    """A fingerprint of the grading code and the feedback language: stored results with another are stale."""
    digest = hashlib.sha256(lang.encode())
    for entry in GRADING_CODE:
        path = PROJECT / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file.relative_to(PROJECT)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def still_valid(row: dict, task: Task | None, stamp: str) -> bool:
    """Whether a stored row still holds for this task: same notebook bytes and name, same grading stamp."""
    return (task is not None and task.problem is None and bool(row.get("sha256")) and
            row.get("sha256") == task.sha256 and row.get("stamp") == stamp and
            Path(row.get("notebook", "")).name == task.path.name)


def read_ledger(path: Path) -> dict[str, dict]:
    """Student → the last complete line of a results.jsonl (a line cut short by a kill is ignored)."""
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        rows.update({row["student"]: row} if isinstance(row, dict) and row.get("student") else {})
    return rows


def write_ledger(path: Path, rows) -> None:
    """Replace a results.jsonl atomically with `rows`, one JSON object per line."""
    write_atomically(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def append_row(ledger, row: dict) -> None:
    """Append one row to an open results.jsonl, flushed and fsynced so that a kill loses no finished student."""
    ledger.write(json.dumps(row, ensure_ascii=False) + "\n")
    ledger.flush()
    os.fsync(ledger.fileno())


@contextmanager
def exclusive_lock(path: Path):
    """An exclusive lock on a file, so that two runs never write the same results.jsonl."""
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(f"another `attn-grade grade` is writing to {path.parent}") from None
        yield
