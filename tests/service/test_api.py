"""Does the class service give students the verdict `attn-grade check` gives, and each student only their own?

One server for the module (default limits, a deadline already past for attention_by_hand); three students hand in
a perfect, a buggy and a blank notebook of every assignment.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from markupsafe import escape

from assignments import ASSIGNMENT_IDS
from autograder.check import check
from autograder.reports.pictures import TITLES
from autograder.service.errors import ServiceError

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


# ---------------------------------------------------------------- ?lang=: one grading, its Result in zh and in en
# The buggy attention_by_hand notebook: buggy-student sent it above without a language (English); a student enrolled
# here sends the same bytes with lang=zh. `check(..., lang="zh")` on it is what every Chinese Result must be.

ZH_STUDENT = "zh-student"


@pytest.fixture(scope="module")
def in_chinese(served, graded, scenario):
    """(zh-student's token, their graded submission, buggy-student's, `check(..., lang="zh")` as plain data)."""
    server, tokens = served
    token = server.roster("add", ZH_STUDENT).stdout.strip()
    notebook = scenario("attention_by_hand", "buggy")
    accepted = server.submit(token, notebook, lang="zh")
    assert accepted.status_code == 202, accepted.text
    checked = check(notebook, lang="zh").to_dict()
    return token, server.verdict(token, accepted.json()["id"]), graded[("attention_by_hand", "buggy")][0], checked


def check_names(result: dict) -> set[str]:
    """The names of a Result's checks: each in the Result's language."""
    return {c["name"] for q in result["questions"] for c in q["checks"]}


def shows_language_of(page: str, result: dict, other: dict) -> bool:
    """Whether an HTML page shows `result`'s check names and none of `other`'s (the same checks, other language)."""
    ours, theirs = check_names(result), check_names(other) - check_names(result)
    return bool(theirs) and all(escape(n) in page for n in ours) and not any(escape(n) in page for n in theirs)


def picture_texts(page: str) -> str:
    """The SVG pictures of a page (data: URIs), decoded."""
    found = re.findall(r'data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)', page)
    return "".join(base64.b64decode(picture).decode("utf-8") for picture in found)


def test_a_submission_answers_in_the_asked_language_and_is_graded_once(served, graded, in_chinese):
    """Does ?lang= switch the Result between Chinese and English — each exactly what `check` gives in it — default
    to the submission's own language, and is each submission still graded once?"""
    server, tokens = served
    zh_token, zh_answer, en_answer, checked_zh = in_chinese
    checked_en = graded[("attention_by_hand", "buggy")][1].to_dict()
    for token, answer in ((zh_token, zh_answer), (tokens["buggy-student"], en_answer)):
        asked = {lang: server.get(f"/api/submissions/{answer['id']}", token, params={"lang": lang} if lang else {})
                 for lang in (None, "zh", "en")}
        assert {r.status_code for r in asked.values()} == {200}
        assert comparable(asked["zh"].json()["result"]) == comparable(checked_zh)
        assert comparable(asked["en"].json()["result"]) == comparable(checked_en)
        assert asked[None].json() == asked["zh" if answer is zh_answer else "en"].json() == answer
    chinese = re.compile("[\u4e00-\u9fff]")
    assert all(chinese.search(q["feedback"]) for q in zh_answer["result"]["questions"])
    assert not any(chinese.search(q["feedback"]) for q in en_answer["result"]["questions"])
    graded_ids = [e["id"] for e in server.events("graded")]
    assert graded_ids.count(zh_answer["id"]) == graded_ids.count(en_answer["id"]) == 1


def test_identical_bytes_answer_in_the_language_sent_with_them(served, in_chinese, scenario):
    """Does resending the same notebook with lang=en answer 200 with the same submission, its Result in English?"""
    server, _ = served
    zh_token, zh_answer, _, _ = in_chinese
    again = server.submit(zh_token, scenario("attention_by_hand", "buggy"), lang="en")
    in_english = server.get(f"/api/submissions/{zh_answer['id']}", zh_token, params={"lang": "en"}).json()
    assert again.status_code == 200 and again.json() == in_english and in_english["result"] != zh_answer["result"]


def test_the_feedback_pages_follow_the_asked_language(served, in_chinese):
    """Are the feedback page of the API and the student's web page, pictures included, in the asked language?"""
    server, tokens = served
    zh_token, zh_answer, en_answer, checked_zh = in_chinese
    path = f"/api/submissions/{en_answer['id']}"
    results = {lang: server.get(path, tokens["buggy-student"], params={"lang": lang}).json()["result"]
               for lang in ("zh", "en")}
    for lang, other in (("zh", "en"), ("en", "zh")):
        api_page = server.get(f"{path}/feedback", tokens["buggy-student"], params={"lang": lang}).text
        with signed_in_client(server, tokens["buggy-student"]) as browser:
            web_page = browser.get(f"/submissions/{en_answer['id']}", params={"lang": lang}).text
        for page in (api_page, web_page):
            assert shows_language_of(page, results[lang], results[other])
            assert TITLES["yours"].in_lang(lang) in picture_texts(page)
            assert TITLES["yours"].in_lang(other) not in picture_texts(page)
        assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}"' in api_page
    default = server.get(f"/api/submissions/{zh_answer['id']}/feedback", zh_token).text
    assert shows_language_of(default, checked_zh, results["en"])


def test_the_exports_follow_the_asked_language(served, in_chinese):
    """Do results.jsonl and report.html hold each student's latest Result in the asked language?"""
    server, tokens = served
    _, _, en_answer, _ = in_chinese
    base = "/api/assignments/attention_by_hand"
    for lang in ("zh", "en"):
        expected = server.get(f"/api/submissions/{en_answer['id']}", tokens["buggy-student"],
                              params={"lang": lang}).json()["result"]
        rows = [json.loads(l) for l in server.get(f"{base}/results.jsonl", tokens["instructor"],
                                                  params={"lang": lang}).text.splitlines()]
        row = next(r for r in rows if r["student"] == "buggy-student")
        assert row["questions"] == expected["questions"] and row["submission"] == en_answer["id"]
        report = server.get(f"{base}/report.html", tokens["instructor"], params={"lang": lang}).text
        assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}"' in report


def test_a_language_other_than_zh_or_en_is_refused_in_both_languages(served, in_chinese):
    """Does ?lang=fr get the service's one bad-lang answer (422, one bilingual line) from the API, the exports and
    the pages that show Results?"""
    server, tokens = served
    _, _, en_answer, _ = in_chinese
    refusal = ServiceError("bad-lang")
    for path, token in ((f"/api/submissions/{en_answer['id']}", "buggy-student"),
                        (f"/api/submissions/{en_answer['id']}/feedback", "buggy-student"),
                        *((f"/api/assignments/attention_by_hand/{name}", "instructor")
                          for name in ("grades.csv", "results.jsonl", "report.html"))):
        answer = server.get(path, tokens[token], params={"lang": "fr"})
        assert (answer.status_code, answer.json()) == (422, refusal.body()), path
    for path, token in ((f"/submissions/{en_answer['id']}", "buggy-student"), ("/instructor", "instructor")):
        with signed_in_client(server, tokens[token]) as browser:
            page = browser.get(path, params={"lang": "fr"})
        assert page.status_code == 422 and escape(refusal.message) in page.text, path


@contextmanager
def signed_in_client(server, token: str):
    """A browser-like HTTP client holding the session cookie of `token`, through the real sign-in form."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.post("/signin", data={"token": token}).status_code == 303
        yield client
