"""Does the class service give students the verdict `attn-grade check` gives, and each student only their own?

One server for the module (default limits, a deadline already past for attention_by_hand); three students hand in
a perfect, a buggy and a blank notebook of every assignment.
"""
from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from assignments import ASSIGNMENT_IDS
from autograder.check import check

pytestmark = pytest.mark.slow
KINDS = ("perfect", "buggy", "blank")
STUDENTS = {kind: f"{kind}-student" for kind in KINDS}
PAST = "attention_by_hand=2000-01-01T00:00+00:00"


@pytest.fixture(scope="module")
def served(start_server):
    return start_server("--deadline", PAST, students=STUDENTS.values())


@pytest.fixture(scope="module")
def graded(served, scenario):
    """(assignment, kind) → (the server's final answer, the Result of `check` on the same notebook)."""
    server, tokens = served
    notebooks = {(a, k): scenario(a, k) for a in ASSIGNMENT_IDS for k in KINDS}
    accepted = {key: server.submit(tokens[STUDENTS[key[1]]], path) for key, path in notebooks.items()}
    assert {r.status_code for r in accepted.values()} == {202}, [r.text for r in accepted.values()]
    with ThreadPoolExecutor(1) as cold:  # `attn-grade check` meanwhile, in this process
        checked = {key: cold.submit(check, path) for key, path in notebooks.items()}
        answers = {key: server.verdict(tokens[STUDENTS[key[1]]], r.json()["id"]) for key, r in accepted.items()}
        return {key: (answers[key], checked[key].result()) for key in notebooks}


def comparable(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("duration_s", "notebook", "student")}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("assignment", ASSIGNMENT_IDS)
def test_the_verdict_is_the_one_attn_grade_check_gives(graded, assignment, kind):
    """Does a perfect / buggy / blank notebook get, over HTTP, exactly the Result of `attn-grade check`?"""
    answer, checked = graded[(assignment, kind)]
    assert answer["status"] == "done" and answer["student"] == STUDENTS[kind] and answer["assignment"] == assignment
    assert comparable(answer["result"]) == comparable(checked.to_dict()), (answer["result"]["errors"], checked.errors)
    assert answer["result"]["notebook"] == f"{assignment}.ipynb"


def test_students_see_only_their_own_submissions(served, graded):
    """Does each student list exactly their own, and get 404 for anyone else's submission and feedback?"""
    server, tokens = served
    ids = {kind: {a["id"] for (_, k), (a, _) in graded.items() if k == kind} for kind in KINDS}
    for kind, student in STUDENTS.items():
        listed = server.get("/api/submissions", tokens[student]).json()
        assert {s["id"] for s in listed} == ids[kind] and all("result" not in s for s in listed)
        assert [s["received_at"] for s in listed] == sorted((s["received_at"] for s in listed), reverse=True)
        someone_else = next(iter(ids[KINDS[(KINDS.index(kind) + 1) % 3]]))
        for path in (f"/api/submissions/{someone_else}", f"/api/submissions/{someone_else}/feedback"):
            answer = server.get(path, tokens[student])
            assert answer.status_code == 404 and answer.json()["error"] == "no-such-submission"
        assert server.get("/api/submissions", tokens[student], params={"student": "perfect-student"}).json() == \
            ([] if kind != "perfect" else listed)


def test_the_instructor_sees_everyone_and_filters(served, graded):
    """Does the instructor's list hold every submission, filtered by ?student= and ?assignment=?"""
    server, tokens = served
    everyone = server.get("/api/submissions", tokens["instructor"]).json()
    assert len(everyone) == len(graded)
    only = server.get("/api/submissions", tokens["instructor"],
                      params={"student": "buggy-student", "assignment": "masked_attention"}).json()
    assert [(s["student"], s["assignment"]) for s in only] == [("buggy-student", "masked_attention")]


def test_exports_hold_each_students_latest_verdict(served, graded):
    """Are grades.csv, results.jsonl (one row per student) and report.html the batch exports, instructor only?"""
    server, tokens = served
    base = "/api/assignments/masked_attention"
    rows = [json.loads(l) for l in server.get(f"{base}/results.jsonl", tokens["instructor"]).text.splitlines()]
    assert sorted(r["student"] for r in rows) == sorted(STUDENTS.values())
    scores = {r["student"]: r["score"] for r in rows}
    assert scores == {STUDENTS[k]: graded[("masked_attention", k)][1].score for k in KINDS}
    grades = list(csv.DictReader(io.StringIO(server.get(f"{base}/grades.csv", tokens["instructor"]).text)))
    assert {g["student"]: float(g["score"]) for g in grades} == scores
    report = server.get(f"{base}/report.html", tokens["instructor"])
    assert report.status_code == 200 and "triu-instead-of-tril" in report.text
    for name in ("grades.csv", "results.jsonl", "report.html"):
        refused = server.get(f"{base}/{name}", tokens["perfect-student"])
        assert refused.status_code == 403 and refused.json()["error"] == "instructor-only"


def test_identical_bytes_return_the_existing_submission(served, graded, scenario):
    """Does resending the same notebook answer 200 with the graded submission, without grading it again?"""
    server, tokens = served
    first, _ = graded[("attention_by_hand", "perfect")]
    again = server.submit(tokens["perfect-student"], scenario("attention_by_hand", "perfect"))
    assert again.status_code == 200 and again.json()["id"] == first["id"] and again.json()["result"] == first["result"]
    assert [e["id"] for e in server.events("graded")].count(first["id"]) == 1


def test_late_submissions_are_graded_and_marked(graded):
    """After an assignment's deadline, are submissions still graded, and marked late (and only those)?"""
    for (assignment, _), (answer, _) in graded.items():
        assert answer["late"] == (assignment == "attention_by_hand") and answer["status"] == "done"


def test_the_feedback_page_is_the_one_of_check(served, graded):
    """Is the feedback page HTML, naming the diagnosed mistake, with the student's pictures?"""
    server, tokens = served
    answer, _ = graded[("masked_attention", "buggy")]
    page = server.get(f"/api/submissions/{answer['id']}/feedback", tokens["buggy-student"])
    assert page.headers["content-type"].startswith("text/html") and "triu-instead-of-tril" in page.text
    assert "<svg" in page.text or "data:image" in page.text


def test_one_log_line_per_graded_submission_without_tokens_or_code(served, graded):
    """Does the log have one `graded` line per submission with its facts, and never a token or the code?"""
    server, tokens = served
    lines = {e["id"]: e for e in server.events("graded")}
    for answer, _ in graded.values():
        line = lines[answer["id"]]
        assert (line["student"], line["assignment"], line["score"]) == \
            (answer["student"], answer["assignment"], answer["result"]["score"])
        assert len(line["sha256"]) == 64 and line["seconds"] > 0
    log = server.log.read_text(encoding="utf-8")
    assert not any(token.split(".")[1] in log for token in tokens.values())
    assert "def scaled_dot_product_attention" not in log


def test_healthz_answers_without_a_token(served, graded):
    """Does /healthz report an idle queue and the live workers?"""
    server, _ = served
    assert server.get("/healthz").json() == {"ok": True, "queued": 0, "grading": 0, "workers": 2}
