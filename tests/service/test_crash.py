"""Does the queue survive the server: a SIGKILL loses nothing and grades nothing twice; SIGTERM stops cleanly?"""
from __future__ import annotations

import signal
import sqlite3
import time
from collections import Counter

import nbformat
import pytest

pytestmark = pytest.mark.slow
STUDENTS = [f"student-{i}" for i in range(8)]


@pytest.fixture(scope="module")
def served(start_server):
    return start_server("--cell-timeout", "10", "--call-timeout", "5", students=STUDENTS)


def slow_notebooks(blank: bytes, count: int, seconds: float) -> list[bytes]:
    """`count` different notebooks, each the blank one with a first cell that takes `seconds`."""
    notebooks = []
    for i in range(count):
        nb = nbformat.reads(blank.decode(), as_version=4)
        nb.cells.insert(0, nbformat.v4.new_code_cell(f"import time\ntime.sleep({seconds})  # {i}"))
        notebooks.append(nbformat.writes(nb).encode())
    return notebooks


def statuses(server) -> dict[str, str]:
    with sqlite3.connect(server.data / "attn-grade.db") as db:
        return dict(db.execute("SELECT id, status FROM submissions"))


def wait_until(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_killed_server_grades_every_accepted_submission_exactly_once(served, scenario):
    """SIGKILL with 8 submissions queued or being graded, restart: is each graded once, none lost, bytes intact?"""
    server, tokens = served
    sent = dict(zip(STUDENTS, slow_notebooks(scenario("attention_by_hand", "blank").read_bytes(), 8, 2)))
    ids = {student: server.submit(tokens[student], data).json()["id"] for student, data in sent.items()}
    wait_until(lambda: server.get("/healthz").json()["grading"] >= 1)
    health = server.get("/healthz").json()
    assert health["queued"] + health["grading"] >= 6
    server.stop(signal.SIGKILL)
    before = statuses(server)
    assert set(before) == set(ids.values())
    assert sum(status in ("queued", "grading") for status in before.values()) >= 6
    for student, submission_id in ids.items():
        assert (server.data / "submissions" / student / f"{submission_id}.ipynb").read_bytes() == sent[student]
    server.start()
    for student, submission_id in ids.items():
        assert server.verdict(tokens[student], submission_id)["status"] == "done"
    unfinished = {i for i, status in before.items() if status != "done"}
    assert Counter(e["id"] for e in server.events("graded", run=-1)) == Counter(unfinished)
    assert {e["id"] for e in server.events("grading", run=-1)} == unfinished
    assert server.events("started", run=-1)[0]["requeued"] == list(before.values()).count("grading")
    for student, submission_id in ids.items():
        assert (server.data / "submissions" / student / f"{submission_id}.ipynb").read_bytes() == sent[student]


def test_sigterm_finishes_what_is_being_graded_and_keeps_the_queue(served, scenario):
    """On SIGTERM, does the server stop gracefully, leaving nothing half-graded, and grade the rest after a restart?"""
    server, tokens = served
    blank = scenario("masked_attention", "blank").read_bytes()
    sent = dict(zip(STUDENTS[:4], slow_notebooks(blank, 4, 3)))
    ids = {student: server.submit(tokens[student], data).json()["id"] for student, data in sent.items()}
    wait_until(lambda: server.get("/healthz").json()["grading"] >= 1)
    assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has stopped
    assert server.events("stopped", run=-1), "no graceful stop"
    left = {i: s for i, s in statuses(server).items() if i in ids.values()}
    assert "grading" not in left.values() and "queued" in left.values()
    server.start()
    for student, submission_id in ids.items():
        assert server.verdict(tokens[student], submission_id)["status"] == "done"
    finished = {i for i, status in left.items() if status == "done"}
    assert Counter(e["id"] for e in server.events("graded", run=-1)) == Counter(set(ids.values()) - finished)
