"""When the grader itself fails, is it said plainly — to the student without blame or hidden values, to the
instructor as a `grader-error` record — instead of being passed off as the student's mistake?"""
from __future__ import annotations

import pytest

from assignments import attention_by_hand as key
from assignments.quiz import Text
from autograder.check import check
from autograder.graders.framework import _outcome
from autograder.scoring import score_question
from support.notebooks import source_notebook

SECRET = "0.7071"
"""A number the grader's own exception message happens to hold (as an assertion's repr could)."""


def test_grader_exception_is_an_error_without_mistake_ids_or_its_message():
    """Does an unexpected exception in a check give an `error` check, no mistake id, and no exception text?"""
    with pytest.raises(KeyError) as raised:
        {}[SECRET]
    outcome = _outcome("sdpa", Text("名字", "name"), 1.0, raised)
    assert (outcome.passed, outcome.errored, outcome.mistakes, outcome.grader_error) == (False, True, [], "KeyError")
    for lang in ("zh", "en"):
        result = score_question("sdpa", 5.0, [outcome], lang)
        assert (result.status, result.score, result.mistakes) == ("error", 0.0, [])
        assert SECRET not in result.feedback and "KeyError" not in result.feedback
    assert "instructor" in score_question("sdpa", 5.0, [outcome], "en").feedback


@pytest.mark.slow
def test_a_broken_grader_costs_only_its_question_and_is_reported(monkeypatch):
    """With the key's sdpa raising inside the graders, is only `sdpa` affected (its checks that do not call the
    key still count), and does the result say so?"""
    def broken(*args, **kwargs):
        raise RuntimeError(f"the key's weights were {SECRET}")
    monkeypatch.setattr(key, "scaled_dot_product_attention", broken)
    result = check(source_notebook("attention_by_hand"), warm=True)
    sdpa = result.question("sdpa")
    assert sdpa.score < sdpa.max_score and not sdpa.mistakes and "instructor" in sdpa.feedback
    assert all(q.status in ("passed", "manual") for q in result.questions if q.id != "sdpa")
    records = [e for e in result.errors if e.kind == "grader-error"]
    assert records and all(e.message.startswith("sdpa: ") and "RuntimeError" in e.message for e in records)
    assert SECRET not in str(result.to_dict())
