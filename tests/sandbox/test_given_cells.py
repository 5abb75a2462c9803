"""When a given cell of the notebook (nbgrader: locked, not a solution) rebinds a global that the student's own cells
bound, do the graders still see the student's value, as stock nbgrader does (it runs each question's tests right
after the answer, before the given cells below) — while the given cells themselves run on their own values?

The sandbox test runs the same cells cold, warm (forked from the zygote) and in the `process` fallback; the notebooks
are graded once each, warm, through `autograder.check.check`.
"""
from __future__ import annotations

import pytest

from autograder.check import check
from autograder.sandbox.session import Sandbox
from autograder.sandbox.warm import warm_start
from autograder.submission import Cell
from support import saved
from support.hostile import FAST

pytestmark = pytest.mark.slow

MASKED, BERT = "masked_attention", "bert_heads"
CELLS = [
    Cell(0, "import os\ndef scores(q, k):\n    return q * k\ntemporary = 1\nkept = 'mine'\n"
            "def crash():\n    os.kill(os.getpid(), 9)"),
    Cell(1, "scores = 'given'\nseen = scores\ndel kept", given=True),
    Cell(2, "shouted = scores.upper()", given=True),
    Cell(3, "def twice(q, k):\n    return 2 * scores(q, k)\ndel temporary\nglobals()['written'] = 'mine'\n"
            "for looped in range(3):\n    pass\nfrom math import sqrt as root"),
    Cell(4, "temporary = written = looped = root = 'given'", given=True),
    Cell(5, "root = 'mine again'"),
]
"""A student's helper `scores` and other globals (def, for target, import, globals() write, del) that given cells
rebind; the second given cell reads the first one's value; the last cell is the student's again."""
BLOCKED = '''import math
import torch

blocked = float("-inf")   # the score of a key that may not be attended: exp(-inf) = 0


def masked_self_attention(Q, K, V, padding_mask=None):
    L, d_k = Q.shape[-2], Q.shape[-1]
    allowed = causal_mask(L)                                     # (L, L)
    if padding_mask is not None:
        allowed = allowed & padding_mask.bool()[..., None, :]   # (..., L, L)
    scores = (Q @ K.transpose(-2, -1) / math.sqrt(d_k)).masked_fill(~allowed, blocked)
    weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)     # a row with no key: zeros
    return weights @ V, weights
'''
"""A right answer whose constant `blocked` the given cell demo_float16, after both of its grade cells, rebinds to a
float16 tensor (masked_fill with it then fails)."""
TRIED = "\n\ntokens, attn = get_attentions(model, tokenizer, 'The cat sat.')   # trying it out"
"""Appended to bert_heads' get_attentions answer: globals that the given cell demo_tokens rebinds next, and that
the given cells after it read (demo_find_head looks up "it" and "animal" in `tokens`)."""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Form → its Result, each notebook graded once."""
    tmp = tmp_path_factory.mktemp("given")
    blocked = saved.replaced(saved.filled(MASKED), "answer_masked_self_attention", BLOCKED)
    tried = saved.replaced(saved.filled(BERT), "answer_get_attentions",
                           saved.key_answer(BERT, "answer_get_attentions") + TRIED)
    notebooks = {
        "blocked": saved.save(tmp / "blocked" / f"{MASKED}.ipynb", blocked),
        "stripped": saved.save(tmp / "stripped" / f"{MASKED}.ipynb", saved.without_metadata(blocked)),
        "tried": saved.save(tmp / "tried" / f"{BERT}.ipynb", tried),
    }
    return {form: check(path, limits=FAST, warm=True) for form, path in notebooks.items()}


@pytest.mark.parametrize("path", ["cold", "warm", "process"])
def test_the_graders_see_the_students_globals_on_every_path(path):
    """Cold, warm and in the process fallback: does a call see the student's `scores`, `temporary` (deleted by the
    student, then bound by a given cell), `written`, `looped` and `root` as the student's cells left them, and
    given-only or given-deleted names as the rule says — also after a crash, when the cells are replayed?"""
    starter = warm_start(FAST) if path == "warm" else None
    with Sandbox(CELLS, FAST, "process" if path == "process" else "bwrap", starter) as sandbox:
        assert [e for e in sandbox.run_cells() if e.kind != "no-privilege-drop"] == []
        for attempt in ("first", "after a crash and a replay"):
            assert sandbox.call("twice", 2, 3).value == 12, attempt
            values = {name: sandbox.get(name).value for name in
                      ("seen", "shouted", "kept", "temporary", "written", "looped", "root")}
            assert values == {"seen": "given", "shouted": "GIVEN", "kept": "mine", "temporary": "given",
                              "written": "mine", "looped": 2, "root": "mine again"}, attempt
            if attempt == "first":
                assert sandbox.call("crash").kind == "crash"
        assert sandbox.restarts == 1


def test_a_global_rebound_by_a_given_cell_after_its_grade_cells_costs_nothing(graded):
    """masked_attention with a `blocked = float("-inf")` constant that demo_float16 rebinds at the end: full marks
    on masked_self_attention and padding_mask, as stock nbgrader gives, and no cell failed (the given demo cells
    that call the answer run with the student's constant)?"""
    result = graded["blocked"]
    assert (result.question("masked_self_attention").score, result.question("padding_mask").score) == (5, 3)
    assert (result.score, result.max_score) == (14, 14) and result.errors == []


def test_without_nbgrader_metadata_every_cell_is_the_students_and_kernel_order_decides(graded):
    """The same notebook with every nbgrader metadata stripped (Colab): no cell is given, so as in a kernel run to
    the end `blocked` is demo_float16's tensor when the graders call masked_self_attention, and both of its
    questions score 0 (its visible grade cells, run as plain cells before that, pass); the rest full marks."""
    result = graded["stripped"]
    assert result.assignment == MASKED
    assert (result.question("masked_self_attention").score, result.question("padding_mask").score) == (0, 0)
    assert result.score == 14 - 5 - 3 and result.errors == []


def test_given_cells_run_on_the_values_they_set(graded):
    """bert_heads whose get_attentions answer tries itself out as `tokens, attn = …` on another sentence: the given
    cells after demo_tokens read demo_tokens' `tokens` and `attn` (no cell failed), and full marks?"""
    result = graded["tried"]
    assert result.errors == []
    assert result.score == sum(q.max_score for q in result.questions if q.status != "manual")
