"""What a submission must pass before it is stored: size, a readable notebook of a known assignment, the rate limit."""
from __future__ import annotations

import hashlib
import math
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path

from assignments import ASSIGNMENT_IDS
from autograder.service.config import ServiceConfig
from autograder.service.errors import ServiceError
from autograder.service.store import Store, Submission, now
from autograder.submission import SubmissionError, infer_assignment, load_submission

LANGS = ("zh", "en")
IN_FLIGHT_RETRY_S = 5
"""Retry-After while a student's previous submission of the same assignment is still queued or being graded."""
DEFAULT_FILENAME = "notebook.ipynb"
_ADMISSION = threading.Lock()
"""Checking the rate limit and storing happen as one step, so that two requests at once cannot both slip through."""


def upload_limit_bytes(config: ServiceConfig) -> int:
    return int(config.max_upload_mb * 2**20)


def check_size(size: int, config: ServiceConfig) -> None:
    if size > upload_limit_bytes(config):
        raise ServiceError("too-large", limit_mb=config.max_upload_mb)


def check_lang(lang: str | None) -> str | None:
    if lang not in (None, *LANGS):
        raise ServiceError("bad-lang")
    return lang


def read_notebook(filename: str | None, data: bytes, assignment: str | None) -> tuple[str, str]:
    """Validate an uploaded notebook as `attn-grade check` would; (its assignment, a safe file name).

    The assignment, when not given, is inferred the same way: from the file name, then the grade ids inside.

    Raises:
        ServiceError: unknown-assignment, invalid-json, not-a-notebook or which-assignment.
    """
    known = ", ".join(ASSIGNMENT_IDS)
    if assignment is not None and assignment not in ASSIGNMENT_IDS:
        raise ServiceError("unknown-assignment", assignment=assignment, known=known)
    name = _safe_filename(filename)
    with tempfile.TemporaryDirectory(prefix="attn-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            submission = load_submission(path, assignment or ASSIGNMENT_IDS[0])
        except SubmissionError as exc:  # read as `attn-grade check` reads it: a byte-order mark, UTF-16, CRLF…
            kind = "invalid-json" if exc.kind == "invalid-json" else "not-a-notebook"
            raise ServiceError(kind, zh=exc.zh, en=exc.en) from None
        try:
            return assignment or infer_assignment(path, submission.notebook), name
        except SubmissionError:
            raise ServiceError("which-assignment", known=known) from None


def admit(store: Store, config: ServiceConfig, student: str, assignment: str, filename: str, data: bytes,
          lang: str) -> tuple[Submission, bool]:
    """Store a validated notebook, or return the same student's earlier identical one; (submission, is new).

    Raises:
        ServiceError: in-flight or rate-limited, each with its Retry-After.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    with _ADMISSION:
        existing = store.duplicate_of(student, assignment, sha256)
        if existing:
            return existing, False
        if store.in_flight(student, assignment):
            raise ServiceError("in-flight", IN_FLIGHT_RETRY_S, assignment=assignment)
        recent = store.received_since(student, assignment, hours=1)
        if len(recent) >= config.per_hour:
            frees_up = datetime.fromisoformat(recent[-config.per_hour]) + timedelta(hours=1)
            retry_after = max(1, math.ceil((frees_up - now()).total_seconds()))
            raise ServiceError("rate-limited", retry_after, assignment=assignment, per_hour=config.per_hour)
        return store.add_submission(student, assignment, filename, data, sha256, lang, is_late(config, assignment))


def is_late(config: ServiceConfig, assignment: str) -> bool:
    """Whether a submission of this assignment arriving now is after its deadline (none: never late)."""
    deadline = config.deadlines.get(assignment)
    return deadline is not None and now() > deadline


def _safe_filename(filename: str | None) -> str:
    """The uploaded file's own name (no folders), which `check` also uses to infer the assignment."""
    name = Path((filename or "").replace("\\", "/")).name.strip()[:120]
    return name if name and not name.startswith(".") and "\0" not in name else DEFAULT_FILENAME
