"""Does every bad request get its status and one bilingual line, and leave nothing graded or half-stored?

One server for the module with small limits (0.1 MB uploads, 2 submissions per student per assignment an hour).
"""
from __future__ import annotations

import json
import re
import sqlite3

import nbformat
import pytest

from support.cell import released_cell, run_bare, student_folder

pytestmark = pytest.mark.slow
BILINGUAL = re.compile(r"^[^\n]*[\u4e00-\u9fff][^\n]* / [A-Z][^\n]*$")
"""One line: Chinese, " / ", English."""


@pytest.fixture(scope="module")
def served(start_server):
    return start_server("--max-upload-mb", "0.1", "--per-hour", "2", "--cell-timeout", "10", "--call-timeout", "5",
                        students=("alice", "bob", "carol", "dave", "erin"))


def assert_refused(response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and BILINGUAL.match(body["message"]), body


def unnamed_notebook() -> bytes:
    """A valid notebook that names no assignment (no grade ids, a neutral file name)."""
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])).encode()


def slow(notebook: bytes, seconds: int = 3) -> bytes:
    """The notebook with a first cell that takes `seconds`, so that it is still being graded a moment later."""
    nb = nbformat.reads(notebook.decode(), as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(f"import time\ntime.sleep({seconds})"))
    return nbformat.writes(nb).encode()


BAD_UPLOADS = {
    # name: (notebook bytes or None for no file, file name, other form fields, status, error)
    "not-json": (b"{this is not json", "attention_by_hand.ipynb", {}, 422, "invalid-json"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00", "attention_by_hand.ipynb", {}, 422, "invalid-json"),
    "json-not-a-notebook": (b'{"hello": "world"}', "attention_by_hand.ipynb", {}, 422, "not-a-notebook"),
    "unknown-assignment": (None, "attention_by_hand.ipynb", {"assignment": "linear_regression"}, 422,
                           "unknown-assignment"),
    "cannot-tell-which-assignment": ("unnamed", "homework.ipynb", {}, 422, "which-assignment"),
    "bad-lang": (None, "attention_by_hand.ipynb", {"lang": "fr"}, 422, "bad-lang"),
    "too-large": ("large", "attention_by_hand.ipynb", {}, 413, "too-large"),
}


@pytest.mark.parametrize("name", BAD_UPLOADS)
def test_a_bad_upload_is_refused_and_nothing_is_kept(served, scenario, name):
    """Is this bad upload answered with its status and message, with nothing stored, queued or graded?"""
    server, tokens = served
    data, filename, fields, status, error = BAD_UPLOADS[name]
    good = scenario("attention_by_hand", "blank").read_bytes()
    data = {None: good, "unnamed": unnamed_notebook(), "large": good + b" " * 110_000}.get(data, data)
    before = (server.stored_files(), server.get("/api/submissions", tokens["instructor"]).json())
    assert_refused(server.submit(tokens["carol"], data, filename, **fields), status, error)
    assert (server.stored_files(), server.get("/api/submissions", tokens["instructor"]).json()) == before


def test_a_notebook_saved_on_windows_is_accepted_and_graded_as_check_reads_it(served, scenario):
    """Is a notebook with a UTF-8 byte-order mark and CRLF, or saved as UTF-16 (PowerShell), graded in full? (Its
    markdown is left out, so that the UTF-16 file stays under this server's 0.1 MB.)"""
    server, tokens = served
    notebook = nbformat.read(scenario("masked_attention", "perfect"), as_version=4)
    notebook.cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    text = nbformat.writes(notebook)
    for data in ("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8"), text.encode("utf-16"):
        answer = server.submit(tokens["dave"], data, "masked_attention.ipynb")
        assert answer.status_code == 202, answer.text
        result = server.verdict(tokens["dave"], answer.json()["id"])["result"]
        assert result["score"] == result["max_score"] and not result["errors"], result


def test_requests_that_are_not_an_upload_are_refused(served):
    """A form without the notebook, a JSON body, no token, a bad token, an unknown path, a wrong method?"""
    server, tokens = served
    assert_refused(server.request("POST", "/api/submissions", tokens["carol"], data={"assignment": "bert_heads"}),
                   422, "no-notebook")
    assert_refused(server.request("POST", "/api/submissions", tokens["carol"], json={"notebook": "{}"}),
                   422, "no-notebook")
    assert_refused(server.get("/api/submissions"), 401, "no-token")
    assert_refused(server.get("/api/submissions", headers={"Authorization": "Basic abc"}), 401, "no-token")
    assert_refused(server.get("/api/submissions", "0123456789ab.not-the-secret"), 401, "bad-token")
    assert_refused(server.get("/api/nothing-here", tokens["carol"]), 404, "not-found")
    assert_refused(server.get("/api/submissions/0000000000000000", tokens["carol"]), 404, "no-such-submission")
    assert_refused(server.request("DELETE", "/api/submissions", tokens["carol"]), 405, "method-not-allowed")
    assert_refused(server.get("/api/assignments/linear_regression/grades.csv", tokens["instructor"]), 404,
                   "no-such-assignment")


def test_one_submission_in_flight_per_assignment_then_the_hourly_limit(served, scenario):
    """While alice's notebook is being graded, is her next one of that assignment refused (429, Retry-After) but
    another assignment accepted; and after two an hour, is the third refused until the hour has passed?"""
    server, tokens = served
    blank = scenario("attention_by_hand", "blank").read_bytes()
    slow_blank = slow(blank)
    first = server.submit(tokens["alice"], slow_blank)
    assert first.status_code == 202 and first.json()["status"] == "queued" and first.json()["position"] >= 1
    busy = server.submit(tokens["alice"], blank + b"\n")
    assert_refused(busy, 429, "in-flight")
    assert int(busy.headers["Retry-After"]) > 0
    other = server.submit(tokens["alice"], scenario("masked_attention", "blank").read_bytes())
    assert other.status_code == 202
    server.verdict(tokens["alice"], first.json()["id"])
    second = server.submit(tokens["alice"], blank + b"\n")
    assert second.status_code == 202
    server.verdict(tokens["alice"], second.json()["id"])
    third = server.submit(tokens["alice"], blank + b"\n\n")
    assert_refused(third, 429, "rate-limited")
    assert 3500 < int(third.headers["Retry-After"]) <= 3600
    again = server.submit(tokens["alice"], slow_blank)  # the same bytes as before: the old submission, no new one
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert len(server.get("/api/submissions", tokens["alice"]).json()) == 3


def test_roster_tokens_are_shown_once_stored_hashed_and_replaced(served):
    """Does `roster add` print a working token, store only its hash, and make the old one stop working?"""
    server, tokens = served
    missing_column = server.data.parent / "no-student-column.csv"
    missing_column.write_text("name\nzoe\n", encoding="utf-8")
    refused = server.roster("import", str(missing_column))
    assert refused.returncode == 2 and "no 'student' column" in refused.stderr
    old = tokens["bob"]
    new = server.roster("add", "bob").stdout.strip()
    assert server.get("/api/submissions", new).status_code == 200
    assert_refused(server.get("/api/submissions", old), 401, "bad-token")
    with sqlite3.connect(server.data / "attn-grade.db") as db:
        stored = json.dumps(db.execute("SELECT * FROM tokens").fetchall())
    assert new.split(".")[1] not in stored and all(t.split(".")[1] not in stored for t in tokens.values())
    refused = server.roster("add", "../evil")
    assert refused.returncode == 2 and "cannot be a student name" in refused.stderr



def test_the_self_check_cell_says_too_large_and_busy_in_one_sentence(served, scenario, tmp_path):
    """Run as a student runs it (a bare interpreter), does the released cell turn the server's 413 and 429 into the
    server's one bilingual line (with the wait, on the 429), and no traceback?"""
    server, tokens = served
    folder = student_folder(tmp_path, "attention_by_hand")
    saved = folder / "attention_by_hand.ipynb"
    env = {"ATTN_GRADE_SERVER": server.url, "ATTN_GRADE_TOKEN": tokens["erin"]}
    original = saved.read_bytes()
    saved.write_bytes(original + b" " * 110_000)
    too_large = run_bare(released_cell("attention_by_hand"), folder, **env)
    saved.write_bytes(original)
    assert "Traceback" not in too_large.stderr and "0.1 MB limit" in too_large.stdout.splitlines()[-1]
    in_flight = server.submit(tokens["erin"], slow(scenario("attention_by_hand", "blank").read_bytes(), seconds=8))
    assert in_flight.status_code == 202
    busy = run_bare(released_cell("attention_by_hand"), folder, **env).stdout.splitlines()[-1]
    assert "still being graded" in busy and "try again in" in busy and BILINGUAL.match(busy.split(" (")[0]), busy
    server.verdict(tokens["erin"], in_flight.json()["id"])
