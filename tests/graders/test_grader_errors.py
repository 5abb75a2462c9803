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


@pytest.mark.parametrize("kind, detail", [
    ("cell-failed", "cell 30, exception: ModuleNotFoundError: No module named 'plotly.express'"),
    ("exception", "ModuleNotFoundError: No module named 'plotly'")])
def test_an_import_the_grading_environment_lacks_is_named_with_what_to_do(kind, detail):
    """A cell or a call that imports a module not installed where notebooks are graded: does the feedback say so, in
    both languages, naming the top-level module, rather than leave the student to guess?"""
    from autograder.probes import StudentFailure
    from autograder.sandbox.session import Reply
    with pytest.raises(StudentFailure) as raised:
        raise StudentFailure("plot_attention", Reply(False, kind=kind, message=detail))
    message = _outcome("plot_attention", Text("名字", "name"), 1.0, raised).message
    assert "`plotly` is not installed where notebooks are graded" in message.en and "instructor" in message.en
    assert "没有安装 `plotly`" in message.zh and detail in message.en


@pytest.mark.slow
def test_a_notebook_importing_what_is_not_installed_loses_only_that_answer(tmp_path):
    """A real notebook whose sdpa cell imports an uninstalled module: only `sdpa` is lost, its feedback names the
    module, and the instructor's error record shows the import."""
    from support.notebooks import make_submission
    cell = "import surely_not_installed_here\n\n\ndef scaled_dot_product_attention(Q, K, V, mask=None):\n    return Q, K\n"
    notebook = make_submission(source_notebook("attention_by_hand"), tmp_path / "attention_by_hand.ipynb",
                               replace={"answer_scaled_dot_product_attention": cell})
    result = check(notebook, warm=True, lang="en")
    assert result.score == result.max_score - 5
    assert "`surely_not_installed_here` is not installed" in result.question("sdpa").feedback
    assert any("No module named 'surely_not_installed_here'" in e.message for e in result.errors)
