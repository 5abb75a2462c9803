"""Does `attn-grade check` keep its promises: exit codes, one-line reasons, JSON that round-trips?"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from autograder.result import STATUSES, Result
from support.notebooks import make_submission, release_notebook, source_notebook


def _attn_grade(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize("args, reason", [
    (["check", "no/such/notebook.ipynb"], "no such notebook"),
    (["check", str(source_notebook("attention_by_hand")), "--assignment", "transformers_101"], "unknown assignment"),
])
def test_bad_input_exits_2_with_one_line(args, reason):
    """Does a missing notebook or an unknown assignment exit 2 with a one-line reason on stderr?"""
    run = _attn_grade(*args)
    assert run.returncode == 2 and run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1 and reason in run.stderr


@pytest.mark.slow
def test_json_output_follows_the_result_schema():
    """Does `check --json` of a blank notebook exit 0 and print a Result with SPEC §5's fields?"""
    run = _attn_grade("check", str(release_notebook("masked_attention")), "--json", "--lang", "zh")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert list(data)[:6] == ["assignment", "notebook", "score", "max_score", "isolation", "duration_s"]
    assert data["assignment"] == "masked_attention" and data["score"] == 0 and data["max_score"] == 14
    assert {q["status"] for q in data["questions"]} <= set(STATUSES)
    assert set(data["questions"][0]) == {"id", "score", "max_score", "status", "mistakes", "feedback", "checks"}
    assert Result.from_dict(data).to_dict() == data


@pytest.mark.slow
def test_table_names_every_question_and_the_total():
    """Does the default table list every question of the assignment and the total score?"""
    run = _attn_grade("check", str(source_notebook("attention_by_hand")), "--lang", "en")
    assert run.returncode == 0, run.stderr
    for question in ("by_hand_scores", "sdpa", "love_example", "quiz_why_scale"):
        assert question in run.stdout
    assert "total: 15/15" in run.stdout


@pytest.mark.slow
def test_table_lists_the_failed_checks_of_a_question_in_its_language(tmp_path):
    """Under a question that lost points, does the table name each failed check, in Chinese with --lang zh?"""
    from autograder.reports.terminal import render_table
    notebook = make_submission(source_notebook("masked_attention"), tmp_path / "masked_attention.ipynb", replace={
        "answer_causal_mask": "def causal_mask(seq_len):\n    return torch.ones(seq_len, seq_len).triu().bool()\n"})
    result = Result.from_dict(json.loads(_attn_grade("check", str(notebook), "--json", "--lang", "zh").stdout))
    table = render_table(result, "zh")
    failed = [c.name for c in result.question("causal_mask").checks if not c.passed]
    assert "causal_mask(4) 恰好在 j ≤ i 处为 True。" in failed and all(f"  ✗ {name}" in table for name in failed)
    blank = render_table(Result.from_dict(json.loads(_attn_grade(
        "check", str(release_notebook("masked_attention")), "--json").stdout)), "en")
    assert "✗" not in blank.split("total:")[1], "an unanswered question lists no checks: its feedback says it all"
