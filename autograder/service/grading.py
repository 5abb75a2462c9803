"""The grading queue: workers take the oldest queued submission, grade it as `attn-grade grade` does, record it.

The queue is the database (store.py): on start, submissions left `grading` by a crash go back to `queued`, and every
queued one is graded in arrival order. A verdict is written only while its submission is still `grading`, so none is
graded twice: work cut short by a shutdown is put back in the queue and its late verdict, if any, is dropped.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

from autograder.batch import Task
from autograder.batch.workers import executor_for, start_warm_workers
from autograder.service.config import ServiceConfig
from autograder.service.logs import log_event
from autograder.service.policies import LANGS
from autograder.service.store import Store, Submission

PREWARMED_ASSIGNMENT = "bert_heads"
"""The assignment whose key (a pretrained model) the warm workers load while they start."""
IDLE_POLL_S = 1.0
RETRY_PAUSE_S = 5.0
"""How long a worker waits after grading itself failed (not the notebook: the executor) before taking work again."""


class GradingQueue:
    """`config.workers` threads, each grading one submission at a time on the warm workers (or Dask)."""

    def __init__(self, store: Store, config: ServiceConfig):
        self.store, self.config = store, config
        self.local = config.executor in (None, "", "local")
        self._run = executor_for(config.executor, config.workers, warm=True, translations=LANGS)
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._grading: set[str] = set()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Requeue what a crash left `grading`, start the warm workers and the threads that feed them."""
        requeued = self.store.requeue()
        orphans = self.store.remove_orphans()
        log_event("started", workers=self.config.workers, executor=self.config.executor or "local",
                  requeued=requeued, orphans_removed=len(orphans), **self.store.counts())
        if self.local:
            start_warm_workers(self.config.workers, self.config.limits, PREWARMED_ASSIGNMENT)
        for number in range(self.config.workers):
            thread = threading.Thread(target=self._feed, name=f"attn-serve-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """A submission was queued: let an idle thread take it now."""
        with self._wake:
            self._wake.notify()

    def stop(self) -> None:
        """Take no more work; give what is being graded `shutdown_grace_s` to finish, then put it back in the queue."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        deadline = time.monotonic() + self.config.shutdown_grace_s
        while self._grading and time.monotonic() < deadline:
            time.sleep(0.1)
        unfinished = list(self._grading)
        requeued = self.store.requeue(unfinished) if unfinished else 0
        if self.local:
            from autograder.sandbox.warm import stop_all
            stop_all()  # notebooks still running fail fast; their verdicts are dropped (no longer `grading`)
        log_event("stopped", requeued=requeued, **self.store.counts())

    def _feed(self) -> None:
        while not self._stopping.is_set():
            submission = self.store.claim_next()
            if submission is None:
                with self._wake:
                    self._wake.wait(IDLE_POLL_S)
                continue
            self._grading.add(submission.id)
            try:
                self._grade(submission)
            except Exception as exc:  # e.g. the Dask scheduler is unreachable: back in the queue, try again later
                log_event("grading-failed", id=submission.id, reason=f"{type(exc).__name__}: {exc}")
                self.store.requeue([submission.id])
                self._stopping.wait(RETRY_PAUSE_S)
            finally:
                self._grading.discard(submission.id)

    def _grade(self, submission: Submission) -> None:
        started = time.monotonic()
        task = Task(submission.student, Path(submission.filename), self.store.notebook_bytes(submission),
                    submission.sha256)
        log_event("grading", id=submission.id, student=submission.student, assignment=submission.assignment,
                  sha256=submission.sha256, attempt=submission.attempts)
        rows = list(self._run([task], (submission.assignment, submission.lang, self.config.limits)))
        row = rows[0][1]
        failed = bool(row.pop("retry", False)) or row.get("isolation") == "none"
        translations = {lang: stored_form(other, submission.filename)
                        for lang, other in row.pop("translations", {}).items()}
        result, figures = stored_form(row, submission.filename)
        seconds = round(time.monotonic() - started, 3)
        if self.store.finish(submission.id, "error" if failed else "done", result, figures, seconds, translations):
            log_event("graded", id=submission.id, student=submission.student, assignment=submission.assignment,
                      sha256=submission.sha256, seconds=seconds, score=row.get("score"),
                      status="error" if failed else "done", late=submission.late)

    def live_workers(self) -> int:
        """How many of the threads feeding the workers are running (for /healthz)."""
        return sum(t.is_alive() for t in self._threads)


def stored_form(row: dict, filename: str) -> tuple[dict, dict]:
    """A worker's row as the store keeps it: (the Result, named after the file the student sent; its pictures)."""
    pictures = row.pop("figures", {})
    return row | {"notebook": filename}, pictures
