"""Does the service hold up: a burst of 40 submissions from 10 students, and hostile notebooks sent through the API?"""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from support.hostile import FAST, SCENARIOS
from support.notebooks import make_submission, source_notebook

pytestmark = pytest.mark.slow
BURST_STUDENTS = [f"burst-{i:02d}" for i in range(10)]
HOSTILE = ("submission-infinite-loop", "submission-function-calls-os-exit", "submission-sys-exit",
           "submission-os-exit", "submission-memory-bomb", "submission-fork-bomb", "submission-monkeypatches-torch",
           "submission-prints-100mb", "submission-kills-parent", "submission-kills-everything",
           "submission-reads-grader-files", "submission-opens-socket")
"""The corpus's crashes, bombs and escapes (tests/support/hostile.py); sleeps-forever and the answer-shape cases,
which time out on every call or only test the graders, are left to the sandbox tests."""


@pytest.fixture(scope="module")
def served(start_server):
    return start_server("--cell-timeout", str(FAST.cell_timeout), "--call-timeout", str(FAST.call_timeout),
                        students=[*BURST_STUDENTS, *(f"hostile-{i}" for i in range(len(HOSTILE)))])


def test_a_burst_of_40_from_10_students_is_all_graded_and_kept_apart(served, scenario):
    """40 submissions at once (4 per student; the 4th waits out its 429): all graded once, each listing its own?"""
    server, tokens = served
    four = [scenario("attention_by_hand", "perfect"), scenario("masked_attention", "buggy"),
            scenario("bert_heads", "blank"), scenario("attention_by_hand", "blank")]
    jobs = [(student, notebook) for student in BURST_STUDENTS for notebook in four]
    with ThreadPoolExecutor(len(jobs)) as clients:
        answers = list(clients.map(lambda job: server.submit_when_allowed(tokens[job[0]], job[1]), jobs))
    assert [a.status_code for a in answers] == [202] * len(jobs)
    ids = [a.json()["id"] for a in answers]
    verdicts = [server.verdict(tokens[student], i) for (student, _), i in zip(jobs, ids)]
    assert [v["status"] for v in verdicts] == ["done"] * len(jobs)
    assert {v["result"]["score"] for v in verdicts[::4]} == {15.0}
    for student in BURST_STUDENTS:
        listed = server.get("/api/submissions", tokens[student]).json()
        assert sorted(s["id"] for s in listed) == sorted(i for (s, _), i in zip(jobs, ids) if s == student)
    graded = Counter(e["id"] for e in server.events("graded"))
    assert all(graded[i] == 1 for i in ids)


def test_hostile_notebooks_leave_the_server_up(served, tmp_path):
    """Do the corpus's attacks, sent through the API, get their usual verdict while /healthz keeps answering?"""
    server, tokens = served
    sent = {}
    for number, name in enumerate(HOSTILE):
        notebook = make_submission(source_notebook("attention_by_hand"), tmp_path / name / "attention_by_hand.ipynb",
                                   **SCENARIOS[name][0])
        answer = server.submit(tokens[f"hostile-{number}"], notebook)
        assert answer.status_code == 202, answer.text
        sent[name] = (f"hostile-{number}", answer.json()["id"])
    for name, (student, submission_id) in sent.items():
        verdict = server.verdict(tokens[student], submission_id)
        assert server.get("/healthz").json()["ok"] is True
        expected = SCENARIOS[name][1]
        assert verdict["status"] == "done", (name, verdict)
        assert expected is None or verdict["result"]["score"] == expected, (name, verdict["result"]["score"])
    assert server.proc.poll() is None
