"""Does a Canvas gradebook export come back with the assignment's scores filled in and nothing else changed?

The gradebook is built as Canvas's GradebookExporter writes it (instructure/canvas-lms lib/gradebook_exporter.rb):
a header of Student, ID, SIS User ID, SIS Login ID, Section, a custom column, `Title (id)` assignment columns and
read-only totals; a `Manual Posting` row; the `    Points Possible` row; one row per student, names quoted
where they hold a comma, the test student with no login. Both a comma file with LF line ends and a semicolon file
with a BOM and CRLF line ends (Canvas's other export settings) must round-trip.
"""
from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from autograder.cli import main
from autograder.result import QuestionResult, Result

ID = "masked_attention"
HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Notes", "Homework 1 (1001)",
          f"{ID} (1002)", "Current Points", "Final Points", "Current Score", "Unposted Current Score",
          "Final Score", "Unposted Final Score"]
ROWS = [
    ["", "", "", "", "", "", "", "Manual Posting", "", "", "", "", "", ""],
    ["    Points Possible", "", "", "", "", "", "10.00", "14.00", "(read only)", "(read only)", "(read only)",
     "(read only)", "(read only)", "(read only)"],
    ["Doe, Jane", "101", "S001", "jdoe", "Section A", 'likes "quotes"', "8.00", "", "8.00", "8.00", "80.00",
     "80.00", "33.33", "33.33"],
    ["Li, Wei", "102", "S002", "wli", "Section A; B", "", "9.50", "3.00", "12.50", "12.50", "52.08", "52.08",
     "52.08", "52.08"],
    ["Roe, Richard", "103", "S003", "rroe", "Section B", "", "EX", "", "", "", "", "", "", ""],
    ["Student, Test", "104", "", "", "Section A", "", "", "", "", "", "", "", "", ""],
]
SCORES = {"jdoe": 13.5, "wli": 7.25, "stranger": 2.0}
"""Student (as nbgrader names them) → auto-graded score: rroe has no result, `stranger` no gradebook row."""


def canvas_export(delimiter: str, newline: str, bom: bool) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows([HEADER, *ROWS])
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def write_results(out_dir, scores: dict[str, float]) -> None:
    out_dir.mkdir()
    lines = [json.dumps(dict(Result(ID, f"{s}.ipynb", score, 14.0, "bwrap", 1.0,
                                    [QuestionResult("causal_mask", score, 14.0, "partial")]).to_dict(), student=s))
             for s, score in scores.items()]
    (out_dir / "results.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def cells(data: bytes, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def export(tmp_path, *extra: str, delimiter=",", newline="\n", bom=False):
    roster, out = tmp_path / "canvas.csv", tmp_path / "import.csv"
    roster.write_bytes(canvas_export(delimiter, newline, bom))
    if not (tmp_path / "grades").exists():
        write_results(tmp_path / "grades", SCORES)
    run = CliRunner().invoke(main, ["export", "canvas", str(tmp_path / "grades"), "--roster", str(roster),
                                    "--out", str(out), *extra])
    return run, roster.read_bytes(), out.read_bytes() if out.exists() else b""


@pytest.mark.parametrize("delimiter, newline, bom", [(",", "\n", False), (";", "\r\n", True)])
def test_scores_fill_the_assignment_column_and_nothing_else_changes(tmp_path, delimiter, newline, bom):
    """Are the matched students' cells of `masked_attention (1002)` the scores, every other cell, the line ends
    and the BOM byte-identical, and are the unmatched students reported (exit 1, on stderr)?"""
    run, before, after = export(tmp_path, delimiter=delimiter, newline=newline, bom=bom)
    assert run.exit_code == 1 and "stranger" in run.stderr and "rroe" in run.stderr
    assert after.startswith(b"\xef\xbb\xbf") == bom and after.count(newline.encode()) == before.count(newline.encode())
    old, new = cells(before, delimiter), cells(after, delimiter)
    column = HEADER.index(f"{ID} (1002)")
    filled = {row[3]: row[column] for row in new[3:]}
    assert filled == {"jdoe": "13.5", "wli": "7.25", "rroe": "", "": ""}
    for old_row, new_row in zip(old, new, strict=True):
        assert old_row[:column] + old_row[column + 1:] == new_row[:column] + new_row[column + 1:]
    assert new[1] == old[1] and new[2] == old[2]  # Manual Posting and Points Possible rows as exported
    untouched = [line for line in before.split(newline.encode()) if b"jdoe" not in line and b"wli" not in line]
    assert untouched == [line for line in after.split(newline.encode()) if b"jdoe" not in line and b"wli" not in line]


def test_a_mapping_file_matches_other_names_and_everyone_placed_exits_0(tmp_path):
    """With --map student,login for names that are not SIS Login IDs, and a title given without its id, is every
    graded student placed (exit 0)?"""
    write_results(tmp_path / "grades", {"jane-d": 14.0, "wei-l": 0.0})
    (tmp_path / "map.csv").write_text("student,login\njane-d,jdoe\nwei-l,wli\n", encoding="utf-8")
    run, _, after = export(tmp_path, "--map", str(tmp_path / "map.csv"), "--column", ID)
    assert run.exit_code == 0, run.output
    new = cells(after, ",")
    column = HEADER.index(f"{ID} (1002)")
    assert {row[3]: row[column] for row in new[3:5]} == {"jdoe": "14", "wli": "0"}


def test_a_new_column_name_adds_an_assignment_with_its_points_possible(tmp_path):
    """Does --column with a name no column has append a new assignment column, its Points Possible the
    assignment's maximum, leaving every exported column as it was?"""
    run, before, after = export(tmp_path, "--column", "Attention lab")
    assert run.exit_code == 1  # `stranger` is still not in the gradebook
    old, new = cells(before, ","), cells(after, ",")
    assert [row[:-1] for row in new] == old
    assert [row[-1] for row in new] == ["Attention lab", "", "14", "13.5", "7.25", "", ""]


def test_unusable_input_exits_2_with_one_line(tmp_path):
    """Does a gradebook without SIS Login ID, or an output folder without results.jsonl, exit 2 with one line?"""
    (tmp_path / "grades").mkdir()
    (tmp_path / "canvas.csv").write_text("Student,ID\nx,1\n", encoding="utf-8")
    for grades in (tmp_path / "grades", tmp_path / "nowhere"):
        run = CliRunner().invoke(main, ["export", "canvas", str(grades), "--roster", str(tmp_path / "canvas.csv"),
                                        "--out", str(tmp_path / "out.csv")])
        assert run.exit_code == 2 and len(run.stderr.strip().splitlines()) == 1 and "results.jsonl" in run.stderr
    write_results(tmp_path / "ok", {"jdoe": 1.0})
    run = CliRunner().invoke(main, ["export", "canvas", str(tmp_path / "ok"), "--roster", str(tmp_path / "canvas.csv"),
                                    "--out", str(tmp_path / "out.csv")])
    assert run.exit_code == 2 and "SIS Login ID" in run.stderr
