"""Does `attn-grade grade` grade a class once, resumably, with every export, and carry on past bad input?"""
from __future__ import annotations

import csv
import html
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from assignments.mistakes import explain
from autograder.batch import BatchError, grade, read_ledger
from autograder.cli import main
from assignments import questions_of
from support.classes import (CLASS, ID, LIMITS, build_class, class_base, copy_students, graded_class, ledger_students,
                           tree_digest)

ATTN_GRADE = Path(sys.executable).parent / "attn-grade"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The shared class, its digest before grading, and the summary of grading it with local processes."""
    submitted = build_class(class_base(tmp_path_factory))
    before = tree_digest(submitted)
    return (*graded_class(tmp_path_factory), before)


@pytest.mark.slow
def test_each_student_is_graded_once_with_the_verdict_their_notebook_deserves(graded):
    """Right, blank, partial, forbidden, hostile, broken and wrong notebooks: one line each, sensible scores?"""
    submitted, summary, before = graded
    assert sorted(ledger_students(summary.out)) == sorted(CLASS)
    by = {r.student: r for r in summary.results}
    assert by["01-right"].score == by["01-right"].max_score == 15
    assert by["02-blank"].score == 0 and {q.status for q in by["02-blank"].questions} == {"failed"}
    partial = by["03-partial"]
    assert partial.question("sdpa").status == "partial" and "missing-scale" in partial.question("sdpa").mistakes
    assert "not-a-softmax" in partial.question("love_example").mistakes
    assert "forbidden-api" in by["04-forbidden"].question("sdpa").mistakes
    assert by["04-forbidden"].question("sdpa").score == 0
    hostile = by["05-hostile"]
    assert "timeout" in {e.kind for e in hostile.errors} and hostile.question("sdpa").status == "passed"
    assert by["06-syntax-error"].question("by_hand_scores").score == 0 and by["06-syntax-error"].score == 14
    assert tree_digest(submitted) == before, "grading modified the submissions"


@pytest.mark.slow
def test_exports_say_the_same_as_the_results(graded):
    """Do grades.csv, the Gradescope files, the feedback pages and report.html all agree with results.jsonl?"""
    _, summary, _ = graded
    out, results = summary.out, {r.student: r for r in summary.results}
    with open(out / "grades.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["student", "score", "max_score", *questions_of(ID)]
    assert [r["student"] for r in rows] == sorted(CLASS)
    for row in rows:
        result = results[row["student"]]
        assert float(row["score"]) == pytest.approx(result.score)
        assert all(float(row[q.id]) == pytest.approx(q.score) for q in result.questions)
    for student, result in results.items():
        assert (out / "feedback" / student / f"{ID}.html").is_file()
        scope = json.loads((out / "gradescope" / student / "results.json").read_text(encoding="utf-8"))
        assert scope["score"] == pytest.approx(sum(t["score"] for t in scope["tests"])) == pytest.approx(result.score)
        assert {"name", "score", "max_score", "output", "visibility", "status"} <= set(scope["tests"][0])
        assert sum(t["max_score"] for t in scope["tests"]) == 15 and "max_score" not in scope  # not in the schema
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.count("data:image/png;base64,") >= 2
    assert "http://" not in report and "https://" not in report and "<script" not in report
    assert "missing-scale" in report and html.escape(explain("missing-scale")) in report


@pytest.mark.slow
def test_a_rerun_reuses_unchanged_notebooks_and_regrades_a_changed_one(graded, tmp_path):
    """Re-running over a finished class grades nothing; after one notebook changes, only that one is graded."""
    submitted, summary, _ = graded
    copy = shutil.copytree(submitted, tmp_path / "submitted")
    out = shutil.copytree(summary.out, tmp_path / "out")
    again = grade(copy, assignment=ID, out=out, limits=LIMITS, workers=1)
    assert (again.graded, again.reused) == (0, len(CLASS))
    shutil.copy(copy / "01-right" / ID / f"{ID}.ipynb", copy / "02-blank" / ID / f"{ID}.ipynb")
    changed = grade(copy, assignment=ID, out=out, limits=LIMITS, workers=1)
    assert (changed.graded, changed.reused) == (1, len(CLASS) - 1)
    assert sorted(ledger_students(out)) == sorted(CLASS)
    assert read_ledger(out / "results.jsonl")["02-blank"]["score"] == 15


@pytest.mark.slow
def test_bad_submissions_get_error_rows_and_the_batch_goes_on(tmp_path_factory, tmp_path):
    """Empty folder, a PDF, no assignment folder, two notebooks, invalid JSON, renamed or extra notebooks?"""
    right = build_class(class_base(tmp_path_factory), ["01-right"]) / "01-right" / ID / f"{ID}.ipynb"
    submitted = tmp_path / "submitted"
    for student, files in {"a-empty": {}, "b-pdf": {f"{ID}.pdf": b"%PDF-1.4"},
                           "c-other-assignment": {"masked_attention.ipynb": b"{}"},
                           "d-two-notebooks": {"a.ipynb": right.read_bytes(), "b.ipynb": right.read_bytes()},
                           "e-invalid-json": {f"{ID}.ipynb": b'{"cells": ['},
                           "f-renamed": {f"{ID} (1).ipynb": right.read_bytes()},
                           "g-extra-notebook": {f"{ID}.ipynb": right.read_bytes(), "Untitled.ipynb": b"{}"}}.items():
        folder = submitted / student / ("masked_attention" if student == "c-other-assignment" else ID)
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
    (submitted / "README.txt").write_text("not a student")
    before = tree_digest(submitted)
    summary = grade(submitted, assignment=ID, out=tmp_path / "out", workers=2, limits=LIMITS)
    by = {r.student: r for r in summary.results}
    kinds = {s: r.errors[0].kind for s, r in by.items()}
    assert kinds == {"a-empty": "no-notebook", "b-pdf": "no-notebook", "c-other-assignment": "no-submission",
                     "d-two-notebooks": "several-notebooks", "e-invalid-json": "invalid-notebook",
                     "f-renamed": "renamed-notebook", "g-extra-notebook": "extra-notebook"}
    assert "the folder is empty" in by["a-empty"].errors[0].message and f"{ID}.pdf" in by["b-pdf"].errors[0].message
    for student in ("a-empty", "b-pdf", "c-other-assignment", "d-two-notebooks", "e-invalid-json"):
        assert by[student].score == 0 and {q.status for q in by[student].questions} == {"error"}
    assert by["f-renamed"].score == by["g-extra-notebook"].score == 15
    with open(tmp_path / "out" / "grades.csv", encoding="utf-8") as handle:
        assert [row["student"] for row in csv.DictReader(handle)] == sorted(by)
    assert tree_digest(submitted) == before, "grading modified the submissions"
    again = grade(submitted, assignment=ID, out=tmp_path / "out", workers=2, limits=LIMITS)
    assert again.graded == 0 and sorted(ledger_students(tmp_path / "out")) == sorted(by)


@pytest.mark.parametrize("layout, message", [
    ("missing", "no such directory"), ("empty", "no student folders"), ("flat", "contains attention_by_hand/"),
    ("out-inside", "is inside"), ("bad-executor", "unknown executor"), ("bad-assignment", "unknown assignment")])
def test_what_cannot_be_graded_at_all_is_refused_with_one_line(tmp_path, layout, message):
    """Missing or empty directory, the wrong level, --out inside it, a bad executor or assignment: exit 2?"""
    submitted = tmp_path / "submitted"
    if layout != "missing":
        (submitted / "alice").mkdir(parents=True) if layout != "empty" else submitted.mkdir()
    if layout not in ("flat", "missing", "empty"):
        (submitted / "alice" / ID).mkdir()
    args = ["grade", str(submitted), "--assignment", "nope" if layout == "bad-assignment" else ID,
            "--out", str(submitted / "out" if layout == "out-inside" else tmp_path / "out")]
    result = CliRunner().invoke(main, args + (["--executor", "ray://x"] if layout == "bad-executor" else []))
    assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1
    with pytest.raises(BatchError, match=message):
        grade(submitted, assignment=args[3], out=args[5], executor="ray://x" if layout == "bad-executor" else None)


def _wait_for_lines(path: Path, count: int, proc: subprocess.Popen, timeout: float = 180) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists() and path.read_text(encoding="utf-8").count("\n") >= count:
            return path.read_text(encoding="utf-8").count("\n")
        time.sleep(0.2)
    raise AssertionError(f"no {count} result lines within {timeout} s (exit code {proc.poll()})")


def _start(submitted: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([str(ATTN_GRADE), "grade", str(submitted), "--assignment", ID, "--out", str(out),
                             "--workers", "2", "--lang", "en"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, env=dict(os.environ, CI=""))


@pytest.mark.slow
def test_an_interrupted_or_killed_batch_resumes_with_every_student_exactly_once(tmp_path_factory, tmp_path):
    """Ctrl-C, then kill -9, then a full run: is each submission in results.jsonl and grades.csv exactly once?"""
    students = ["01-right", "02-blank", "03-partial", "07-wrong"]
    submitted = copy_students(build_class(class_base(tmp_path_factory), students), tmp_path / "submitted", students)
    out, procs = tmp_path / "out", []
    try:
        procs.append(_start(submitted, out))
        _wait_for_lines(out / "results.jsonl", 1, procs[-1])
        os.killpg(procs[-1].pid, signal.SIGINT)  # Ctrl-C on a terminal reaches the whole process group
        _, stderr = procs[-1].communicate(timeout=60)
        assert procs[-1].returncode == 130 and "run the same command again to resume" in stderr
        assert "notebook/s" not in stderr, "a progress bar was drawn although stderr is not a terminal"
        interrupted = len(read_ledger(out / "results.jsonl"))
        procs.append(_start(submitted, out))
        _wait_for_lines(out / "results.jsonl", interrupted + 1, procs[-1])
        procs[-1].kill()  # kill -9 of the batch process alone
        procs[-1].communicate(timeout=60)
        done = len(read_ledger(out / "results.jsonl"))
        final = grade(submitted, assignment=ID, out=out, workers=2)
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert final.reused == done and final.graded == len(students) - done
    assert sorted(ledger_students(out)) == students
    with open(out / "grades.csv", encoding="utf-8") as handle:
        assert [row["student"] for row in csv.DictReader(handle)] == students


@pytest.mark.slow
def test_the_graders_leave_the_processs_stdout_and_stderr_alone_while_they_run():
    """Warm workers grade in threads of one process: while one grades, do file descriptors 1 and 2 and sys.stdout and
    sys.stderr stay where they were, so what the other threads print (the summary, a Ctrl-C's message) is seen?"""
    import threading
    from autograder.check import check
    from support.notebooks import source_notebook

    def streams():
        return (os.readlink("/proc/self/fd/1"), os.readlink("/proc/self/fd/2"), id(sys.stdout), id(sys.stderr))
    before, seen, results = streams(), set(), []
    grading = threading.Thread(target=lambda: results.append(check(source_notebook(ID), warm=True)))
    grading.start()
    while grading.is_alive():
        seen.add(streams())
        time.sleep(0.001)
    assert results and results[0].score == results[0].max_score
    assert seen == {before} and streams() == before


def test_a_second_run_on_the_same_output_is_refused_while_the_first_holds_it(tmp_path):
    """Two `attn-grade grade` runs writing one results.jsonl at once would interleave: is the second refused?"""
    from autograder.batch.ledger import exclusive_lock as _exclusive
    (tmp_path / "submitted" / "alice" / ID).mkdir(parents=True)
    (tmp_path / "out").mkdir()
    with _exclusive(tmp_path / "out" / ".lock"):
        with pytest.raises(BatchError, match="another"):
            grade(tmp_path / "submitted", assignment=ID, out=tmp_path / "out")


def test_a_worker_that_dies_gives_an_error_row_that_the_next_run_retries():
    """A crashed worker or engine: is the row an error row, marked to be graded again rather than reused?"""
    from concurrent.futures import Future
    from autograder.batch.ledger import still_valid as _still_valid
    from autograder.batch.submissions import Task
    from autograder.batch.workers import _row
    future = Future()
    future.set_exception(RuntimeError("worker lost"))
    task = Task("alice", Path(f"{ID}.ipynb"), b"{}", "abc")
    row = _row(future, task, ID) | {"student": "alice"}
    assert row["retry"] and row["errors"][0]["kind"] == "grader-crash" and "re-run" in row["errors"][0]["message"]
    assert {q["status"] for q in row["questions"]} == {"error"}
    assert not _still_valid(row, task, stamp="any")


def test_the_grade_command_has_help_with_an_example():
    """Does `attn-grade grade --help` explain the layout and give an example?"""
    result = CliRunner().invoke(main, ["grade", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output and "--executor" in result.output
