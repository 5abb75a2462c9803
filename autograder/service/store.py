"""The service's storage: `DIR/attn-grade.db` (SQLite, WAL) and the notebooks under `DIR/submissions/`.

A submission's one state machine is `queued → grading → done | error`, kept in the database; its notebook is written
and fsynced before its row is committed, so a row always has its file and a crash loses nothing acknowledged.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from autograder.files import write_atomically

DB_NAME = "attn-grade.db"
NOTEBOOKS = "submissions"
STATUSES = ("queued", "grading", "done", "error")
MIGRATIONS = (
    """CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL CHECK (role IN ('student', 'instructor')),
                           created_at TEXT NOT NULL);
       CREATE TABLE tokens (key TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users (name),
                            secret_sha256 TEXT NOT NULL, created_at TEXT NOT NULL);
       CREATE TABLE submissions (
           seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order, which is the queue's order
           id TEXT NOT NULL UNIQUE, student TEXT NOT NULL REFERENCES users (name), assignment TEXT NOT NULL,
           filename TEXT NOT NULL, sha256 TEXT NOT NULL, lang TEXT NOT NULL, received_at TEXT NOT NULL,
           late INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('queued', 'grading', 'done', 'error')),
           attempts INTEGER NOT NULL DEFAULT 0, finished_at TEXT, seconds REAL, result TEXT, figures TEXT,
           UNIQUE (student, assignment, sha256));
       CREATE INDEX submissions_by_status ON submissions (status, seq);
       CREATE INDEX submissions_by_student ON submissions (student, assignment, received_at);""",
    # the same grading's Result and pictures in the languages other than the submission's own `lang`
    """CREATE TABLE translations (submission TEXT NOT NULL REFERENCES submissions (id), lang TEXT NOT NULL,
                                 result TEXT NOT NULL, figures TEXT NOT NULL, PRIMARY KEY (submission, lang));""",
)
"""The schema, one migration per entry; `PRAGMA user_version` counts the ones applied (a DIR made by an earlier
version gets the later ones when it is opened)."""
SELECT_SUBMISSIONS = (
    "SELECT s.seq, s.id, s.student, s.assignment, s.filename, s.sha256, s.lang, s.received_at, s.late, s.status, "
    "s.attempts, s.finished_at, s.seconds, COALESCE(t.result, s.result) AS result, "
    "COALESCE(t.figures, s.figures) AS figures, COALESCE(t.lang, s.lang) AS result_lang "
    "FROM submissions AS s LEFT JOIN translations AS t ON t.submission = s.id AND t.lang = ?")
"""Submissions, each with its Result and pictures in the language of the first parameter, or else (that parameter
None, or a submission graded before translations were kept) in the submission's own `lang`."""


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(timezone.utc)


def timestamp(moment: datetime) -> str:
    """The stored form of a time: ISO 8601 in UTC, fixed width, so that text order is time order."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class Submission:
    """One stored submission, as its row says."""

    seq: int
    id: str
    student: str
    assignment: str
    filename: str
    sha256: str
    lang: str
    received_at: str
    late: bool
    status: str
    attempts: int
    finished_at: str | None
    seconds: float | None
    result: dict | None
    figures: dict | None
    result_lang: str
    """The language of `result` and `figures`."""

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Submission":
        data = dict(row)
        return cls(**data | {"late": bool(data["late"]), "result": _loads(data["result"]),
                             "figures": _loads(data["figures"])})


class Store:
    """The database and the notebook folder of one `--data DIR`; every method is safe to call from any thread."""

    def __init__(self, data: str | Path):
        self.data = Path(data)
        (self.data / NOTEBOOKS).mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.data / DB_NAME, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")  # a committed submission survives a power cut
        self._db.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                self._db.executescript(f"BEGIN IMMEDIATE; {script}; PRAGMA user_version = {number}; COMMIT;")

    @contextmanager
    def _transaction(self):
        """The database, under the lock, inside one write transaction (rolled back if the block raises)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def execute(self, sql: str, parameters=()) -> list[sqlite3.Row]:
        """Run one statement (its own transaction) and return its rows."""
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    # ------------------------------------------------------------ submissions

    def add_submission(self, student: str, assignment: str, filename: str, data: bytes, sha256: str, lang: str,
                       late: bool) -> tuple[Submission, bool]:
        """Store a notebook (file fsynced, then its row committed) unless the same student already sent the same
        bytes for this assignment. Returns (the submission, whether it is new)."""
        existing = self.duplicate_of(student, assignment, sha256)
        if existing:
            return existing, False
        submission_id = secrets.token_hex(8)
        path = self.notebook_path(student, submission_id)
        write_atomically(path, data)
        try:
            self.execute("INSERT INTO submissions (id, student, assignment, filename, sha256, lang, received_at, "
                         "late, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued')",
                         (submission_id, student, assignment, filename, sha256, lang, timestamp(now()), int(late)))
        except sqlite3.IntegrityError:  # the same bytes arrived twice at once: the first one stands
            path.unlink(missing_ok=True)
            return self.duplicate_of(student, assignment, sha256), False
        return self.get(submission_id), True

    def duplicate_of(self, student: str, assignment: str, sha256: str) -> Submission | None:
        rows = self.execute(f"{SELECT_SUBMISSIONS} WHERE s.student = ? AND s.assignment = ? AND s.sha256 = ?",
                            (None, student, assignment, sha256))
        return Submission.from_row(rows[0]) if rows else None

    def notebook_path(self, student: str, submission_id: str) -> Path:
        return self.data / NOTEBOOKS / student / f"{submission_id}.ipynb"

    def notebook_bytes(self, submission: Submission) -> bytes:
        return self.notebook_path(submission.student, submission.id).read_bytes()

    def get(self, submission_id: str, lang: str | None = None) -> Submission | None:
        """A submission, its Result in `lang` where there is one (else in the submission's own language)."""
        rows = self.execute(f"{SELECT_SUBMISSIONS} WHERE s.id = ?", (lang, submission_id))
        return Submission.from_row(rows[0]) if rows else None

    def list(self, student: str | None = None, assignment: str | None = None) -> list[Submission]:
        """Submissions, newest first, optionally of one student and/or one assignment."""
        rows = self.execute(f"{SELECT_SUBMISSIONS} WHERE (? IS NULL OR s.student = ?) AND (? IS NULL OR "
                            "s.assignment = ?) ORDER BY s.seq DESC", (None, student, student, assignment, assignment))
        return [Submission.from_row(r) for r in rows]

    def position(self, submission: Submission) -> int | None:
        """1 for the next queued submission to be graded, 2 for the one after…; None once it is not queued."""
        if submission.status != "queued":
            return None
        return self.execute("SELECT COUNT(*) FROM submissions WHERE status = 'queued' AND seq <= ?",
                            (submission.seq,))[0][0]

    def counts(self) -> dict[str, int]:
        """How many submissions are in each state."""
        found = dict(self.execute("SELECT status, COUNT(*) FROM submissions GROUP BY status"))
        return {status: found.get(status, 0) for status in STATUSES}

    def received_since(self, student: str, assignment: str, hours: float) -> list[str]:
        """When this student's submissions of this assignment within the last `hours` arrived, oldest first."""
        since = timestamp(now() - timedelta(hours=hours))
        return [r[0] for r in self.execute("SELECT received_at FROM submissions WHERE student = ? AND assignment = ? "
                                           "AND received_at > ? ORDER BY received_at", (student, assignment, since))]

    def in_flight(self, student: str, assignment: str) -> int:
        return self.execute("SELECT COUNT(*) FROM submissions WHERE student = ? AND assignment = ? AND status IN "
                            "('queued', 'grading')", (student, assignment))[0][0]

    def latest_graded(self, assignment: str, lang: str | None = None) -> list[Submission]:
        """Each student's latest graded (done) submission of an assignment, by student name (not instructors'),
        its Result in `lang` where there is one."""
        rows = self.execute(f"{SELECT_SUBMISSIONS} WHERE s.seq IN (SELECT MAX(seq) FROM submissions JOIN users ON "
                            "users.name = submissions.student WHERE assignment = ? AND status = 'done' AND "
                            "users.role = 'student' GROUP BY student) ORDER BY s.student", (lang, assignment))
        return [Submission.from_row(r) for r in rows]

    # ------------------------------------------------------------ the state machine

    def claim_next(self) -> Submission | None:
        """The oldest queued submission, now `grading` (atomically: two workers never claim the same one)."""
        with self._transaction() as db:
            row = db.execute("SELECT id FROM submissions WHERE status = 'queued' ORDER BY seq LIMIT 1").fetchone()
            if row is not None:
                db.execute("UPDATE submissions SET status = 'grading', attempts = attempts + 1 WHERE id = ?",
                           (row["id"],))
        return None if row is None else self.get(row["id"])

    def finish(self, submission_id: str, status: str, result: dict, figures: dict, seconds: float,
               translations: dict[str, tuple[dict, dict]] | None = None) -> bool:
        """Record a verdict for a submission being graded; False (and nothing written) when it is not `grading`
        any more — e.g. it was put back in the queue at shutdown — so that no submission gets two verdicts.

        Args:
            result, figures: the Result and pictures in the submission's own language.
            translations: lang → (the Result, the pictures) of the same grading in another language.
        """
        assert status in ("done", "error"), status
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE submissions SET status = ?, result = ?, figures = ?, seconds = ?, finished_at = ? "
                "WHERE id = ? AND status = 'grading'", (status, json.dumps(result, ensure_ascii=False),
                                                        json.dumps(figures), seconds, timestamp(now()), submission_id))
            finished = cursor.rowcount == 1
            if finished:
                db.executemany("INSERT OR REPLACE INTO translations (submission, lang, result, figures) VALUES "
                               "(?, ?, ?, ?)", [(submission_id, lang, json.dumps(other, ensure_ascii=False),
                                                 json.dumps(pictures))
                                                for lang, (other, pictures) in (translations or {}).items()])
        return finished

    def requeue(self, submission_ids=None) -> int:
        """Put submissions being graded (these, or all of them) back in the queue; how many were."""
        with self._lock:
            if submission_ids is None:
                cursor = self._db.execute("UPDATE submissions SET status = 'queued' WHERE status = 'grading'")
            else:
                cursor = self._db.executemany("UPDATE submissions SET status = 'queued' WHERE id = ? AND "
                                              "status = 'grading'", [(i,) for i in submission_ids])
            return cursor.rowcount

    def remove_orphans(self) -> list[Path]:
        """Delete notebook files without a row (a crash between writing the file and committing its row)."""
        known = {r[0] for r in self.execute("SELECT id FROM submissions")}
        orphans = [p for p in (self.data / NOTEBOOKS).glob("*/*") if p.stem not in known or p.suffix != ".ipynb"]
        for path in orphans:
            path.unlink(missing_ok=True)
        return orphans


def _loads(text: str | None):
    return None if text is None else json.loads(text)
