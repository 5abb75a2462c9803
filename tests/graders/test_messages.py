"""Student-facing messages: every mistake id is explained in both languages, and none gives away a hidden answer."""
from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from assignments import attention_by_hand as key
from assignments.mistakes import MISTAKES, explain
from assignments.quiz import Text
from autograder.check import check
from assignments import key_module
from autograder.graders import texts
from autograder.graders.framework import ZH_NAME
from autograder.reports.html import render_feedback_page
from support.notebooks import ROOT, make_submission, source_notebook

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


TEXTS = {name: value for name, value in vars(texts).items() if isinstance(value, (Text, dict)) and name.isupper()}
"""Every named text of the graders (a dict: texts by kind)."""
GRADING = sorted(p for p in (ROOT / "autograder" / "graders").glob("*.py") if p.name != "texts.py")
GRADING += [ROOT / "autograder" / "scoring.py"]
"""The modules that raise or score checks: their messages live in graders/texts.py."""


def placeholders(text: Text) -> dict[str, set[str]]:
    """The `{names}` of a text, per language."""
    return {lang: {field.split(".")[0].split("[")[0] for _, field, _, _ in string.Formatter().parse(text.in_lang(lang))
                   if field is not None} for lang in ("zh", "en")}


def texts_of(value) -> list[Text]:
    return list(value.values()) if isinstance(value, dict) else [value]


def is_docstring(node: ast.AST, parents: dict) -> bool:
    return isinstance(parents.get(node), ast.Expr)


@pytest.mark.parametrize("path", GRADING + [ROOT / "autograder" / "probes.py"], ids=lambda p: p.stem)
def test_grading_modules_write_no_message_of_their_own(path):
    """Does this grader, scoring or probe module take every message from graders/texts.py (no `Text("…")` written
    here, no Chinese outside docstrings but the `中文:` marker: a check's Chinese name is in its docstring)?"""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    built = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", "") ==
             "Text" and any(isinstance(a, ast.JoinedStr) or isinstance(a, ast.Constant) and a.value for a in node.args)]
    assert not built, f"{path.name} builds a message itself at lines {built}: name it in autograder/graders/texts.py"
    if path.name != "probes.py":  # its one bilingual sentence is an instructor's error record (like the sandbox's)
        chinese = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Constant)
                   and isinstance(node.value, str) and _is_chinese(node.value) and not is_docstring(node, parents)
                   and node.value != ZH_NAME]
        assert not chinese, f"{path.name} has Chinese text at lines {chinese}: name it in autograder/graders/texts.py"


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_every_check_text_is_bilingual_and_tidy(name):
    """Is each named text Chinese in zh and English in en, without stray whitespace, with the same placeholders in
    both, and whole once they are filled?"""
    for text in texts_of(TEXTS[name]):
        assert _is_chinese(text.zh) and not _is_chinese(text.en), name
        for message in (text.zh, text.en):
            assert message and message == message.strip() and "  " not in message, name
        names = placeholders(text)
        assert names["zh"] == names["en"], name
        filled = text.format(**dict.fromkeys(names["en"], "x"))
        assert "{" not in filled.zh + filled.en and "}" not in filled.zh + filled.en, name


def test_every_placeholder_is_filled_where_the_text_is_used():
    """Is each named text used somewhere, and every use of it fills exactly its placeholders (none shown raw as
    `{what}`, none misspelt)?"""
    used = set()
    for path in GRADING:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        formatted = set()
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                     and n.func.attr == "format"):
            keywords = {k.arg for k in call.keywords}
            refs = [n for n in ast.walk(call.func.value) if _text_ref(n)]
            wanted = [placeholders(t)["en"] for n in refs for t in texts_of(TEXTS[n.attr])]
            for names in wanted:
                assert names <= keywords, f"{path.name}:{call.lineno} leaves {names - keywords} unfilled"
            assert not refs or keywords <= set().union(*wanted), f"{path.name}:{call.lineno}: {keywords} not all used"
            formatted |= set(refs)
        for ref in (n for n in ast.walk(tree) if _text_ref(n)):
            used |= {ref.attr} | {name for name, text in TEXTS.items() if text in texts_of(TEXTS[ref.attr])}
            if ref not in formatted:
                assert not any(placeholders(t)["en"] for t in texts_of(TEXTS[ref.attr])), \
                    f"{path.name}:{ref.lineno} shows {ref.attr} with its placeholders unfilled"
    assert used == set(TEXTS), f"texts no grader uses: {sorted(set(TEXTS) - used)}"


def _text_ref(node: ast.AST) -> bool:
    """Is `node` a `texts.NAME` reference?"""
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "texts" and \
        node.attr in TEXTS


def test_a_gate_message_keeps_each_language_whole():
    """Does a failed gate add why the question scores 0 to its check's message, each language with its own words?"""
    gated = texts.UNTIL_VALID.format(message=texts.NOT_FINITE.format(what="`causal_mask`"))
    assert gated == Text("`causal_mask` 中有 NaN 或 inf。在答案成为有效结果之前,这道题得 0 分。",
                         "`causal_mask` contains NaN or inf. Until it is a valid result, this question scores 0.")


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
    result = check(_notebook_with(tmp_path, ALL_BY_HAND_WRONG), lang=lang, warm=True)
    for question in ("by_hand_scores", "by_hand_weights", "by_hand_output", "love_example"):
        assert result.question(question).status == "failed", question
    assert "missing-scale" in result.question("by_hand_weights").mistakes
    student_facing = result.to_json() + render_feedback_page(result, lang)
    numbers = key_numbers()
    assert "0.5875" in numbers and "0.176" in numbers  # the oracle itself is right
    leaked = sorted(n for n in numbers if n in student_facing)
    assert not leaked, f"expected values shown to the student: {leaked}"
