"""Is every hidden check named in Chinese and in English, and does a result show the name in its own language?"""
from __future__ import annotations

import importlib
import inspect
import re
import warnings

import pytest

from assignments.quiz import Text
from autograder.check import check
from autograder.graders.framework import ZH_NAME, Outcome, check_name
from autograder.scoring import score_question
from support.notebooks import release_notebook

ASSIGNMENTS = ("attention_by_hand", "masked_attention", "bert_heads")
CJK = re.compile(r"[\u4e00-\u9fff]")


def grader_tests() -> list:
    """Every grader test function of the three grader modules, as pytest params."""
    params = []
    for assignment in ASSIGNMENTS:
        with warnings.catch_warnings():  # `question` is registered in the graders' own pytest.ini, not here
            warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
            module = importlib.import_module(f"autograder.graders.test_{assignment}")
        params += [pytest.param(function, id=f"{assignment}.{name}")
                   for name, function in inspect.getmembers(module, inspect.isfunction) if name.startswith("test_")]
    return params


@pytest.mark.parametrize("function", grader_tests())
def test_every_check_has_a_chinese_and_an_english_name(function):
    """Does the grader test's docstring name its check in English (first line) and in Chinese (a `中文:` line)?"""
    lines = (function.__doc__ or "").strip().splitlines()
    assert sum(line.strip().startswith(ZH_NAME) for line in lines) == 1, f"add one line `{ZH_NAME} <Chinese name>`"
    name = check_name(function, function.__name__)
    assert name.en and not name.en.startswith(ZH_NAME)
    assert CJK.search(name.zh) and name.zh != name.en


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_scored_checks_are_named_in_the_results_language(lang):
    """Does a question's result name each check in the language asked for?"""
    outcomes = [Outcome("sdpa", Text("二维输入", "2-D inputs"), 1.0, True),
                Outcome("sdpa", Text("大分数", "Large scores"), 1.0, False, Text("有 NaN。", "NaN."))]
    checks = score_question("sdpa", 5.0, outcomes, lang).checks
    assert [c.name for c in checks] == (["二维输入", "大分数"] if lang == "zh" else ["2-D inputs", "Large scores"])
    assert checks[1].message == ("有 NaN。" if lang == "zh" else "NaN.")


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_graded_notebook_names_checks_in_its_language(lang):
    """Grading the released notebook: is every check named in Chinese with --lang zh, and in English with en?"""
    result = check(release_notebook("masked_attention"), lang=lang, warm=True)
    names = [c.name for q in result.questions for c in q.checks]
    assert names and all(bool(CJK.search(n)) == (lang == "zh") for n in names), names
