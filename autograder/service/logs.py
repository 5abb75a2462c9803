"""The service's log: one JSON object per line on stderr, never a token and never a notebook's code."""
from __future__ import annotations

import json
import os
import threading

from autograder.service.store import now, timestamp

_STDERR = os.fdopen(os.dup(2), "w", encoding="utf-8", buffering=1)
"""The service's own copy of stderr: the graders' pytest captures file descriptors 1 and 2 while it runs, in the
whole process, which would swallow what the other threads log meanwhile."""
_WRITE = threading.Lock()


def log_event(event: str, **fields) -> None:
    """Write `{"time", "event", **fields}` as one line (e.g. "graded": id, student, assignment, sha256, seconds,
    score)."""
    line = json.dumps({"time": timestamp(now()), "event": event, **fields}, ensure_ascii=False)
    with _WRITE:
        _STDERR.write(line + "\n")
        _STDERR.flush()
