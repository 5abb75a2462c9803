"""Does the attention_by_hand grader give full marks to right answers in any style, and name each bug?"""
from __future__ import annotations

import pytest

from autograder.check import check

pytestmark = pytest.mark.slow
SDPA_CELL = "answer_scaled_dot_product_attention"

SEED_SDPA = '''import torch
import torch.nn.functional as F
import math
def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.size(-1)
    scores = torch.matmul(Q, K.transpose(-2, -1)) / math.sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)
    attention_weights = F.softmax(scores, dim=-1)
    output = torch.matmul(attention_weights, V)
    return output, attention_weights
'''
EINSUM_STABLE_SDPA = '''import torch
def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = torch.einsum("...qd,...kd->...qk", Q.double(), K.double()) / Q.shape[-1] ** 0.5
    if mask is not None:
        scores = scores.masked_fill(~mask.bool(), float("-inf"))
    scores = scores - scores.amax(-1, keepdim=True)
    w = scores.exp() / scores.exp().sum(-1, keepdim=True)
    return torch.einsum("...qk,...kd->...qd", w, V.double()).to(Q.dtype), w.to(Q.dtype)
'''
HAND_AS_NUMPY = {
    "answer_ex1_scores": "import numpy as np\nex1_scores = np.array([[0.7071, 0.3536], [0.0, 0.3536]])",
    "answer_ex1_weights": "ex1_weights = ((0.5875, 0.4125), (0.4125, 0.5875))",
}
BUGGY = {  # mistake id → the body of a buggy sdpa
    "missing-scale": "scores = Q @ K.transpose(-2, -1)",
    "scale-by-dk": "scores = Q @ K.transpose(-2, -1) / Q.size(-1)",
    "transposed-scores": "scores = K @ Q.transpose(-2, -1) / math.sqrt(Q.size(-1))",
}


def _sdpa_with(scores_line: str) -> str:
    return ("import math, torch\ndef scaled_dot_product_attention(Q, K, V, mask=None):\n"
            f"    {scores_line}\n    if mask is not None:\n        scores = scores.masked_fill(mask == 0, -1e9)\n"
            "    w = torch.softmax(scores, dim=-1)\n    return w @ V, w")


@pytest.mark.parametrize("style", ["seed", "einsum-stable-float64"])
def test_correct_styles_get_full_marks_and_no_mistake(style, submission):
    """Do the seed's own code pasted in, and an einsum + manual stable softmax in float64, earn full marks?"""
    source = SEED_SDPA if style == "seed" else EINSUM_STABLE_SDPA
    result = check(submission("attention_by_hand", style, replace={SDPA_CELL: source, **HAND_AS_NUMPY}), warm=True)
    assert result.score == result.max_score, result.to_json(indent=1)
    assert not any(q.mistakes for q in result.questions)


@pytest.mark.parametrize("mistake", sorted(BUGGY))
def test_buggy_sdpa_is_diagnosed(mistake, submission):
    """Does each classic sdpa bug lose marks and get named by its mistake id?"""
    result = check(submission("attention_by_hand", mistake, replace={SDPA_CELL: _sdpa_with(BUGGY[mistake])}), warm=True)
    sdpa = result.question("sdpa")
    assert sdpa.score < sdpa.max_score and mistake in sdpa.mistakes


def test_released_notebook_scores_zero_as_not_implemented():
    """Does the blank student notebook grade to 0 with not-implemented everywhere, without crashing?"""
    from support.notebooks import release_notebook
    result = check(release_notebook("attention_by_hand"), warm=True)
    assert result.score == 0
    assert all(q.mistakes == ["not-implemented"] for q in result.questions)


def test_a_broken_answer_cell_is_reported_as_its_error_not_as_unanswered(submission):
    """Does a SyntaxError in an answer cell give status error naming the SyntaxError, not `not-implemented`?"""
    notebook = submission("attention_by_hand", "syntax-error", replace={"answer_ex1_scores": "ex1_scores = [[1, 0],"})
    scores = check(notebook, warm=True).question("by_hand_scores")
    assert scores.status == "error" and "not-implemented" not in scores.mistakes
    assert "SyntaxError" in scores.feedback
