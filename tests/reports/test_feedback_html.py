"""The HTML feedback page: what it shows, that it is self-contained, and that it renders in real headless Chromium."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from assignments.mistakes import MISTAKES
from autograder.cli import main
from autograder.reports.html import render_feedback_page
from autograder.result import Result
from support.notebooks import make_submission, source_notebook
from support.pages import assert_drawn, assert_self_contained

SOURCE = source_notebook("attention_by_hand")
WRONG_ANSWERS = {  # a student who forgot √d_k, copied the seed's s/Σs and picked a wrong quiz option
    "ex1_weights": "ex1_weights = [[0.6225, 0.3775], [0.3775, 0.6225]]\n",
    "love_weights": "love_weights = [2.1 / 18.6, 3.5 / 18.6, 7.2 / 18.6, 5.8 / 18.6]\n",
    "quiz_why_scale": 'quiz_why_scale = "A"\n',
    "scaled_dot_product_attention": (
        "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
        "    scores = Q @ K.transpose(-2, -1)\n"
        "    if mask is not None:\n"
        "        scores = scores.masked_fill(mask == 0, -1e9)\n"
        "    weights = scores.softmax(-1)\n"
        "    return weights @ V, weights\n"),
}
CAUSAL_RESULT = {
    "assignment": "masked_attention", "notebook": "a <b>bold</b> name.ipynb", "score": 3.0, "max_score": 13.0,
    "isolation": "process", "duration_s": 1.5,
    "questions": [
        {"id": "causal_mask", "score": 0.0, "max_score": 2.0, "status": "failed", "mistakes": ["triu-instead-of-tril"],
         "feedback": "`causal_mask(5)` differs", "checks": [{"name": "lower triangle", "passed": False,
                                                           "message": "`causal_mask(5)` differs"}]},
        {"id": "masked_self_attention", "score": 3.0, "max_score": 5.0, "status": "partial",
         "mistakes": ["no-tril"], "feedback": "weights differ", "checks": []},
        {"id": "padding_mask", "score": 0.0, "max_score": 3.0, "status": "error", "mistakes": ["not-implemented"],
         "feedback": "", "checks": []},
        {"id": "quiz_mask_order", "score": 0.0, "max_score": 1.0, "status": "manual", "feedback": "", "checks": []}],
    "errors": [{"cell": 4, "kind": "timeout", "message": "<script>alert(1)</script>"}]}


def notebook_with(tmp_path: Path, answers: dict[str, str]) -> Path:
    """A copy of the instructor notebook whose solution cells `answer_<name>` hold the given sources."""
    return make_submission(SOURCE, tmp_path / "attention_by_hand.ipynb",
                           replace={f"answer_{name}": source for name, source in answers.items()})


def test_page_shows_status_score_mistake_messages_and_checks():
    """Does each question show its status, score, feedback, catalogue messages and checks, in zh and en?"""
    result = Result.from_dict(CAUSAL_RESULT)
    for lang in ("zh", "en"):
        page = render_feedback_page(result, lang)
        for q in result.questions:
            assert f'id="q-{q.id}"' in page
        assert MISTAKES["triu-instead-of-tril"].in_lang(lang) in page
        assert MISTAKES["not-implemented"].in_lang(lang) in page
        assert "lower triangle" in page and "3 / 13" in page
    assert "未通过" in render_feedback_page(result, "zh") and "failed" in render_feedback_page(result, "en")


def test_page_escapes_student_text():
    """Can a notebook name or an error message inject markup into the page?"""
    page = render_feedback_page(Result.from_dict(CAUSAL_RESULT), "en")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>bold</b>" not in page


def test_causal_mistakes_get_an_illustration_and_figures_are_embedded():
    """Is a mask mistake drawn beside the allowed pattern, and is a caller's picture embedded as a data URI?"""
    result = Result.from_dict(CAUSAL_RESULT)
    page = render_feedback_page(result, "zh")
    assert page.count("<svg class=\"grid\"") == 4  # two grids for causal_mask, two for masked_self_attention
    picture = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    page = render_feedback_page(result, "en", figures={"masked_self_attention": picture})
    assert page.count('src="data:image/svg+xml;base64,') == 1 and page.count("<svg class=\"grid\"") == 2
    assert_self_contained(page)


@pytest.fixture(scope="module")
def wrong_submission(tmp_path_factory) -> tuple[Result, str]:
    """A wrong notebook graded through `attn-grade check --json --html` (zh): its Result and its page."""
    tmp_path = tmp_path_factory.mktemp("wrong")
    page = tmp_path / "feedback" / "page.html"
    run = CliRunner().invoke(main, ["check", str(notebook_with(tmp_path, WRONG_ANSWERS)), "--json",
                                    "--html", str(page), "--lang", "zh"])
    assert run.exit_code == 0, run.output
    return Result.from_dict(json.loads(run.stdout)), page.read_text(encoding="utf-8")


@pytest.mark.slow
def test_real_result_page_names_the_misconceptions(wrong_submission):
    """Does the page of a really graded wrong notebook name each diagnosed mistake with its message?"""
    result, page = wrong_submission
    assert result.question("by_hand_weights").mistakes == ["missing-scale"]
    assert "not-a-softmax" in result.question("love_example").mistakes
    for mistake in ("missing-scale", "not-a-softmax"):
        assert MISTAKES[mistake].zh in page
    assert result.question("quiz_why_scale").feedback in page
    assert_self_contained(page)


@pytest.mark.slow
def test_page_renders_in_headless_chromium(wrong_submission, tmp_path):
    """Does real headless Chromium draw the page (a screenshot that is not blank), with a Chinese font at hand?"""
    page = tmp_path / "page.html"
    page.write_text(wrong_submission[1], encoding="utf-8")
    assert_drawn(page, tmp_path, "text")
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    assert fonts.strip(), "no Chinese font: `make system` installs fonts-noto-cjk"
