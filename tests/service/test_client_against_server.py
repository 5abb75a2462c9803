"""Does the released self-check cell get the server's verdict in an interpreter with nothing of this project, show
it in a real Jupyter kernel without importing the key there, and say what is wrong in one sentence otherwise?

One server for the module (one worker); the cell's code is taken from the committed release notebook.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.client import say
from autograder.release import self_check_source
from support.cell import released_cell, run_bare, student_folder

pytestmark = pytest.mark.slow
ASSIGNMENT = "attention_by_hand"
ATTN_GRADE = str(Path(sys.executable).parent / "attn-grade")
NOTHING_LISTENS = "http://127.0.0.1:9"  # the discard port: refused


@pytest.fixture(scope="module")
def served(start_server):
    return start_server("--workers", "1", students=("carol", "dave"))


def test_the_bare_interpreter_has_nothing_of_the_project(tmp_path):
    """Is neither the answer key nor the engine importable where the cell is run below?"""
    for package in ("assignments", "autograder"):
        run = run_bare(f"import {package}", tmp_path)
        assert run.returncode == 1 and "ModuleNotFoundError" in run.stderr


def test_the_cell_gets_the_score_from_the_server(served, tmp_path):
    """Does the released cell, with ATTN_GRADE_SERVER and ATTN_GRADE_TOKEN, print the status lines and the score?"""
    server, tokens = served
    run = run_bare(released_cell(ASSIGNMENT), student_folder(tmp_path, ASSIGNMENT), ATTN_GRADE_SERVER=server.url,
                   ATTN_GRADE_TOKEN=tokens["carol"])
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert "attention_by_hand: 15 / 15" in run.stdout and "sdpa" in run.stdout
    assert "Sending attention_by_hand.ipynb" in run.stderr and ("Queued" in run.stderr or "Grading" in run.stderr)
    assert "This checks the copy saved on disk" in run.stdout


def test_a_baked_server_and_a_saved_token_need_no_variable(served, tmp_path):
    """Does the cell as `make release SERVER=URL` writes it send with the token of ~/.config/attn-grade/token?"""
    server, tokens = served
    folder = student_folder(tmp_path, ASSIGNMENT)
    (folder / ".config" / "attn-grade").mkdir(parents=True)
    (folder / ".config" / "attn-grade" / "token").write_text(tokens["dave"] + "\n")
    run = run_bare(self_check_source(server.url), folder)
    assert run.returncode == 0 and "attention_by_hand: 15 / 15" in run.stdout, run.stderr


def test_without_server_or_engine_one_bilingual_line(tmp_path):
    """With no server and no engine, is the only output the message saying how to get one or the other?"""
    run = run_bare(released_cell(ASSIGNMENT), student_folder(tmp_path, ASSIGNMENT))
    assert run.returncode == 0 and run.stderr == ""
    assert run.stdout == say("neither") + "\n" and "ATTN_GRADE_SERVER" in run.stdout and "make demo" in run.stdout


def test_server_errors_are_one_sentence(served, tmp_path):
    """A bad token (401), a file that is not a notebook (422) and no server at all: one line each, no traceback."""
    server, tokens = served
    folder = student_folder(tmp_path, ASSIGNMENT)
    cases = {"Unknown or revoked token": dict(ATTN_GRADE_SERVER=server.url, ATTN_GRADE_TOKEN="nope.nope"),
             "Cannot reach the class server": dict(ATTN_GRADE_SERVER=NOTHING_LISTENS,
                                                   ATTN_GRADE_TOKEN=tokens["carol"])}
    for expected, env in cases.items():
        run = run_bare(released_cell(ASSIGNMENT), folder, **env)
        assert run.returncode == 0 and "Traceback" not in run.stderr
        assert expected in run.stdout.splitlines()[-1] and " / " in run.stdout.splitlines()[-1], run.stdout
    (folder / f"{ASSIGNMENT}.ipynb").write_text("{not json", encoding="utf-8")
    run = run_bare(released_cell(ASSIGNMENT), folder, ATTN_GRADE_SERVER=server.url, ATTN_GRADE_TOKEN=tokens["carol"])
    assert "not a readable notebook (JSON, line 1" in run.stdout.splitlines()[-1] and "Traceback" not in run.stderr


def test_in_a_real_kernel_the_verdict_is_shown_and_the_key_never_imported(served, tmp_path, monkeypatch):
    """In a Jupyter kernel, does the cell's one display turn into the feedback page (table, pictures), with neither
    the key nor the engine imported into the kernel?"""
    server, tokens = served
    monkeypatch.setenv("ATTN_GRADE_SERVER", server.url)
    monkeypatch.setenv("ATTN_GRADE_TOKEN", tokens["carol"])
    folder = student_folder(tmp_path, ASSIGNMENT)
    runner = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(released_cell(ASSIGNMENT)), nbformat.v4.new_code_cell(
        "import sys; print(sorted(m for m in ('assignments', 'autograder') if m in sys.modules))")])
    NotebookClient(runner, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    shown = [o for o in runner.cells[0].outputs if o.output_type == "display_data"]
    assert len(shown) == 1, json.dumps(runner.cells[0].outputs, default=str)[:2000]
    page = shown[0].data["text/html"]
    assert 'class="attn-fb"' in page and 'id="q-sdpa"' in page and "data:image/svg+xml;base64," in page
    assert runner.cells[1].outputs[0].text.strip() == "[]"


def test_attn_grade_check_sends_to_the_server(served, tmp_path):
    """Does `attn-grade check NB --server URL --token T --json` print the server's Result?"""
    server, tokens = served
    folder = student_folder(tmp_path, ASSIGNMENT)
    run = subprocess.run([ATTN_GRADE, "check", str(folder / f"{ASSIGNMENT}.ipynb"), "--server", server.url,
                          "--token", tokens["dave"], "--json", "--html", str(folder / "page.html")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["score"] == 15 and 'class="attn-fb"' in (folder / "page.html").read_text()
    refused = subprocess.run([ATTN_GRADE, "check", str(folder / f"{ASSIGNMENT}.ipynb"), "--server", server.url,
                              "--token", "nope.nope"], capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "Unknown or revoked token" in refused.stderr
