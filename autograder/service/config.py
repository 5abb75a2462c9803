"""How one service runs: its data folder, workers, limits and policies (the options of `attn-grade serve`)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from assignments import ASSIGNMENT_IDS
from autograder.sandbox.session import Limits


@dataclass(frozen=True)
class ServiceConfig:
    """Everything the app needs; how it is served (TCP host and port, a Unix socket) is not part of it."""

    data: Path
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    executor: str | None = None
    """None for warm local workers, or "dask://HOST:PORT"."""
    max_upload_mb: float = 5.0
    per_hour: int = 30
    """Submissions per student per assignment in any hour."""
    deadlines: dict[str, datetime] = field(default_factory=dict)
    limits: Limits = Limits()
    shutdown_grace_s: float = 30.0
    """On SIGTERM, how long notebooks being graded may take to finish before they are put back in the queue."""


def parse_deadline(text: str) -> tuple[str, datetime]:
    """`ID=ISO8601` → (assignment id, aware time); a time without a zone is the server's local time.

    Raises:
        ValueError: with a one-line reason.
    """
    assignment, _, moment = text.partition("=")
    if assignment not in ASSIGNMENT_IDS:
        raise ValueError(f"--deadline {text!r}: unknown assignment {assignment!r} (known: {', '.join(ASSIGNMENT_IDS)})")
    try:
        deadline = datetime.fromisoformat(moment)
    except ValueError:
        raise ValueError(f"--deadline {text!r}: not an ISO 8601 time (e.g. {assignment}=2026-12-01T23:59+08:00)") \
            from None
    return assignment, deadline if deadline.tzinfo else deadline.astimezone()


def config_from_options(data: str | Path, *, workers: int | None, executor: str | None, max_upload_mb: float,
                        per_hour: int, deadlines: tuple[str, ...], cell_timeout: float | None,
                        call_timeout: float | None) -> ServiceConfig:
    """The config of `attn-grade serve`'s options (None: the default).

    Raises:
        ValueError: a deadline that cannot be read, with a one-line reason.
    """
    timeouts = {k: v for k, v in (("cell_timeout", cell_timeout), ("call_timeout", call_timeout)) if v}
    config = ServiceConfig(Path(data), executor=executor, max_upload_mb=max_upload_mb, per_hour=per_hour,
                           deadlines=dict(parse_deadline(d) for d in deadlines), limits=replace(Limits(), **timeouts))
    return replace(config, workers=workers) if workers else config
