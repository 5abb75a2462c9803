"""Who may call the service: students and instructors, each with random tokens stored only as hashes.

A token reads `KEY.SECRET`: the key finds its row, the SECRET's SHA-256 is compared in constant time with the
stored one (SHA-256 suffices for 256 random bits; a slow password hash protects guessable secrets, not these).
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import secrets
from dataclasses import dataclass

from autograder.service.store import Store, now, timestamp

INSTRUCTOR = "@instructor"
"""The user name behind instructor tokens; no student name can start with "@"."""
STUDENT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_UNKNOWN_KEY_HASH = hashlib.sha256(b"no such token").hexdigest()


class RosterError(Exception):
    """A student name that cannot be used, or a roster file that cannot be read."""


@dataclass(frozen=True)
class Caller:
    """Whoever sent a request with a valid token."""

    name: str
    role: str

    @property
    def is_instructor(self) -> bool:
        return self.role == "instructor"


def add_student(store: Store, student: str) -> str:
    """Enrol a student (or keep them enrolled) and return their new token; any older token stops working."""
    _check_name(student)
    return _issue(store, student, "student", replace=True)


def add_instructor(store: Store) -> str:
    """A new instructor token (older instructor tokens keep working: one per instructor or assistant)."""
    return _issue(store, INSTRUCTOR, "instructor", replace=False)


def import_roster(store: Store, roster_csv: str) -> list[tuple[str, str]]:
    """Enrol every student of a CSV with a `student` column; (student, new token) in file order.

    Raises:
        RosterError: no `student` column, or a name that cannot be used (nothing is enrolled then).
    """
    reader = csv.DictReader(io.StringIO(roster_csv))
    if "student" not in (reader.fieldnames or []):
        raise RosterError(f"the roster has no 'student' column (columns: {', '.join(reader.fieldnames or []) or 'none'})")
    students = list(dict.fromkeys(row["student"].strip() for row in reader if (row["student"] or "").strip()))
    for student in students:
        _check_name(student)
    return [(student, add_student(store, student)) for student in students]


def caller_for(store: Store, token: str) -> Caller | None:
    """The owner of a token, or None for a missing, malformed or unknown one (same work either way)."""
    key, _, secret = token.partition(".")
    rows = store.execute("SELECT tokens.secret_sha256, users.name, users.role FROM tokens JOIN users ON "
                         "users.name = tokens.user WHERE tokens.key = ?", (key,)) if key and secret else []
    stored = rows[0]["secret_sha256"] if rows else _UNKNOWN_KEY_HASH
    matches = hmac.compare_digest(hashlib.sha256(secret.encode()).hexdigest(), stored)
    return Caller(rows[0]["name"], rows[0]["role"]) if rows and matches else None


def _check_name(student: str) -> None:
    if not STUDENT_NAME.match(student):
        raise RosterError(f"{student!r} cannot be a student name: use 1–64 letters, digits, '_', '.' or '-', "
                          "not starting with '.' or '-'")


def _issue(store: Store, name: str, role: str, replace: bool) -> str:
    key, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    created = timestamp(now())
    store.execute("INSERT INTO users (name, role, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                  (name, role, created))
    if replace:
        store.execute("DELETE FROM tokens WHERE user = ?", (name,))
    store.execute("INSERT INTO tokens (key, user, secret_sha256, created_at) VALUES (?, ?, ?, ?)",
                  (key, name, hashlib.sha256(secret.encode()).hexdigest(), created))
    return f"{key}.{secret}"
