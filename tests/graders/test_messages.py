"""Student-facing messages: every mistake id is explained in both languages, and none gives away a hidden answer."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from assignments import attention_by_hand as key
from assignments.mistakes import MISTAKES, explain
from autograder.check import check
from assignments import key_module
from autograder.reports.html import render_feedback_page
from support.notebooks import make_submission, source_notebook

# SPEC §5 "Mistake ids": fixed names that tools, tests and instructors depend on.
SPEC_MISTAKE_IDS = (
    "missing-scale", "scale-by-dk", "softmax-wrong-dim", "transposed-scores", "mask-ignored", "mask-inverted",
    "forbidden-api", "triu-instead-of-tril", "no-tril", "mask-after-softmax", "mask-filled-with-zero",
    "padding-ignored", "nan-on-fully-masked-row", "not-a-softmax", "entropy-log2", "entropy-summed-over-queries",
    "special-tokens-dropped", "offset-direction-swapped", "query-key-swapped", "plot-transposed",
    "not-implemented", "wrong-shape", "wrong-type",
)
ASSIGNMENTS = ("attention_by_hand", "masked_attention", "bert_heads")
CJK = re.compile(r"[\u4e00-\u9fff]")
SOURCE = source_notebook("attention_by_hand")
ALL_BY_HAND_WRONG = {  # every hand-typed answer wrong, each with a diagnosable misconception
    "ex1_scores": "ex1_scores = [[1.0, 0.5], [0.0, 0.5]]\n",
    "ex1_weights": "ex1_weights = [[0.6225, 0.3775], [0.3775, 0.6225]]\n",
    "ex1_output": "ex1_output = [[1.6225, 0.3775], [1.3775, 0.6225]]\n",
    "love_weights": "love_weights = [2.1 / 18.6, 3.5 / 18.6, 7.2 / 18.6, 5.8 / 18.6]\n",
}


def _is_chinese(text: str) -> bool:
    return bool(CJK.search(text))


@pytest.mark.parametrize("mistake", SPEC_MISTAKE_IDS)
def test_every_spec_mistake_id_has_zh_and_en_messages(mistake):
    """Is each mistake id of SPEC §5 in the catalogue with a Chinese and an English explanation?"""
    assert mistake in MISTAKES
    zh, en = explain(mistake, "zh"), explain(mistake, "en")
    assert zh.strip() and en.strip()
    assert _is_chinese(zh) and not _is_chinese(en)


def test_catalogue_entries_are_complete_and_tidy():
    """Does every catalogue entry (SPEC ids and any extra) have both languages, with no stray whitespace?"""
    for mistake, text in MISTAKES.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", mistake), mistake
        for message in (text.zh, text.en):
            assert message and message == message.strip(), mistake
        assert _is_chinese(text.zh) and not _is_chinese(text.en), mistake


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_quiz_feedback_is_bilingual(assignment):
    """Does every quiz question, option and wrong-option feedback read in both languages?"""
    for quiz in key_module(assignment).QUIZZES:
        texts = [quiz.question, *quiz.options.values(), *quiz.feedback.values()]
        for text in texts:
            assert text.zh.strip() and text.en.strip(), quiz.id
        for text in [quiz.question, *quiz.feedback.values()]:
            assert _is_chinese(text.zh), quiz.id


def key_numbers() -> set[str]:
    """The expected values of the hidden by-hand and "爱" checks, as a student would type them (3–4 decimals)."""
    values = [key.ex1_scores, key.ex1_weights, key.ex1_output, key.love_weights]
    numbers = {float(x) for tensor in values for x in tensor.flatten().tolist()}
    return {f"{x:.{d}f}" for x in numbers if x != round(x) for d in (3, 4)}


def _notebook_with(tmp_path: Path, answers: dict[str, str]) -> Path:
    replace = {f"answer_{name}": source for name, source in answers.items()}
    return make_submission(SOURCE, tmp_path / "attention_by_hand.ipynb", replace=replace)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_messages_never_contain_hidden_expected_values(tmp_path, lang):
    """With every hand-typed answer wrong, do the result JSON and page avoid the key's numbers?"""
    result = check(_notebook_with(tmp_path, ALL_BY_HAND_WRONG), lang=lang)
    for question in ("by_hand_scores", "by_hand_weights", "by_hand_output", "love_example"):
        assert result.question(question).status == "failed", question
    assert "missing-scale" in result.question("by_hand_weights").mistakes
    student_facing = result.to_json() + render_feedback_page(result, lang)
    numbers = key_numbers()
    assert "0.5875" in numbers and "0.176" in numbers  # the oracle itself is right
    leaked = sorted(n for n in numbers if n in student_facing)
    assert not leaked, f"expected values shown to the student: {leaked}"
