"""The service's log: one JSON object per line on stderr, never a token and never a notebook's code."""
from __future__ import annotations

import json
import sys
import threading

from autograder.service.store import now, timestamp

_WRITE = threading.Lock()


def log_event(event: str, **fields) -> None:
    """Write `{"time", "event", **fields}` as one line (e.g. "graded": id, student, assignment, sha256, seconds,
    score)."""
    line = json.dumps({"time": timestamp(now()), "event": event, **fields}, ensure_ascii=False)
    with _WRITE:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
