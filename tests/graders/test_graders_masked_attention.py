"""Does the `masked_attention` hidden grader give full marks to right answers and name every catalogued mistake?"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from assignments import masked_attention as key
from autograder.check import check
from support.answers import CAUSAL_MASK, MSA_TEMPLATE, RIGHT
from support.notebooks import blank_answers, make_submission, source_notebook
from autograder.graders.diagnosis import weight_signatures

SOURCE = source_notebook("masked_attention")
AUTO_QUESTIONS = list(key.POINTS)

# ---------------------------------------------------------------- answer cells, as a student would write them


MSA_BUGS = {  # mistake id -> the part of the function that is written wrong
    "triu-instead-of-tril": {"causal": "torch.triu(torch.ones(L, L, dtype=torch.bool))"},
    "no-tril": {"causal": "torch.ones(L, L, dtype=torch.bool)"},
    "mask-inverted": {"causal": "~torch.tril(torch.ones(L, L, dtype=torch.bool))"},
    "missing-scale": {"scores": "Q @ K.transpose(-2, -1)"},
    "scale-by-dk": {"scores": "Q @ K.transpose(-2, -1) / d_k"},
    "transposed-scores": {"scores": "K @ Q.transpose(-2, -1) / math.sqrt(d_k)"},
    "softmax-wrong-dim": {"softmax": 'torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-2)'
                                     '.masked_fill(~allowed, 0.0)'},
    "mask-after-softmax": {"softmax": "torch.softmax(scores, dim=-1).masked_fill(~allowed, 0.0)"},
    "mask-filled-with-zero": {"softmax": "torch.softmax(scores.masked_fill(~allowed, 0.0), dim=-1)"},
}
PADDING_BUGS = {
    "padding-ignored": {"padding": "torch.ones_like(allowed)"},
    "nan-on-fully-masked-row": {"softmax": 'torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)'},
    "mask-inverted": {"padding": "~padding_mask.bool()[..., None, :]"},
}

ALTERNATIVE_CAUSAL_MASK = '''\
def causal_mask(seq_len):
    positions = torch.arange(seq_len)
    return positions[:, None] >= positions[None, :]   # query i may see key j when j <= i
'''
ALTERNATIVE_MSA = '''\
def masked_self_attention(Q, K, V, padding_mask=None):
    L, d_k = Q.shape[-2], Q.shape[-1]
    mask = torch.tril(torch.ones(L, L))                         # 1 = may attend
    if padding_mask is not None:
        mask = mask * padding_mask.double().unsqueeze(-2)
    q, k, v = Q.double(), K.double(), V.double()
    scores = torch.einsum("...id,...jd->...ij", q, k) / d_k ** 0.5
    scores = scores.masked_fill(mask == 0, -1e9)                # the seed's convention
    weights = torch.softmax(scores, dim=-1)
    weights = weights * (mask.sum(-1, keepdim=True) > 0)        # a row with no key: all zeros
    output = torch.einsum("...ij,...jd->...id", weights, v)
    return output.to(Q.dtype), weights.to(Q.dtype)
'''
FORBIDDEN_MSA = '''\
import torch.nn.functional as F

def masked_self_attention(Q, K, V, padding_mask=None):
    L = Q.shape[-2]
    allowed = torch.tril(torch.ones(L, L, dtype=torch.bool))
    if padding_mask is not None:
        allowed = allowed & padding_mask.bool()[..., None, :]
    eye = torch.eye(L, dtype=Q.dtype).expand(*Q.shape[:-1], L)
    weights = F.scaled_dot_product_attention(Q, K, eye, attn_mask=allowed).nan_to_num(0.0)
    return weights @ V, weights
'''


def quiz_answer(quiz_id: str) -> str:
    """The key's letter for one quiz (options may be reshuffled, so tests never hard-code it)."""
    return next(q.answer for q in key.QUIZZES if q.id == quiz_id)


WRONG_MASK_QUIZ = next(letter for letter in "ABCD" if letter != quiz_answer("quiz_mask_before_softmax"))


def msa_source(**parts) -> str:
    """masked_self_attention with some of its parts written wrong."""
    return MSA_TEMPLATE.format(**{**RIGHT, **parts})


# ---------------------------------------------------------------- notebooks

def notebook_with(tmp_path: Path, answers: dict[str, str], name: str) -> Path:
    """The instructor notebook with the answer cells of `answers` (grade_id → source) replaced."""
    return make_submission(SOURCE, tmp_path / name / "masked_attention.ipynb", replace=answers)


def grade(tmp_path: Path, answers: dict[str, str], name: str):
    return check(notebook_with(tmp_path, dict(answers), name), warm=True)


# ---------------------------------------------------------------- scenarios

@pytest.mark.slow
def test_instructor_notebook_scores_full_marks():
    """Does the instructor notebook get every point, with no mistake named?"""
    result = check(SOURCE, warm=True)
    assert result.score == result.max_score == sum(key.POINTS.values()), result.to_json(indent=1)
    assert all(q.status == "passed" and not q.mistakes for q in result.questions)
    assert not result.errors


@pytest.mark.slow
def test_blank_notebook_scores_zero_without_crashing(tmp_path):
    """Does a released (blank) notebook score 0 with `not-implemented` on every question?"""
    result = grade(tmp_path, blank_answers("masked_attention"), "blank")
    assert result.score == 0
    for q in result.questions:
        assert q.status == "failed" and "not-implemented" in q.mistakes, (q.id, q.status, q.mistakes)
    assert not result.errors


@pytest.mark.slow
def test_alternative_style_scores_full_marks(tmp_path):
    """Do einsum, a -1e9 fill with empty rows zeroed, float64 inside and a lower-case letter get full marks?"""
    lower_case = f'quiz_why_causal = "{quiz_answer("quiz_why_causal").lower()}"\n'
    result = grade(tmp_path, {"answer_causal_mask": ALTERNATIVE_CAUSAL_MASK,
                              "answer_masked_self_attention": ALTERNATIVE_MSA,
                              "answer_quiz_why_causal": lower_case}, "alternative")
    assert result.score == result.max_score, result.to_json(indent=1)
    assert all(not q.mistakes for q in result.questions)


@pytest.mark.slow
def test_library_attention_scores_zero(tmp_path):
    """Does an answer calling F.scaled_dot_product_attention lose both attention questions as `forbidden-api`?"""
    result = grade(tmp_path, {"answer_masked_self_attention": FORBIDDEN_MSA}, "forbidden")
    for qid in ("masked_self_attention", "padding_mask"):
        q = result.question(qid)
        assert q.score == 0 and "forbidden-api" in q.mistakes, (qid, q.score, q.mistakes)
    assert result.question("causal_mask").score == 2


BUGGY_NOTEBOOKS = [  # one notebook per buggy masked_self_attention; causal_mask bugs and a wrong quiz ride along
    *[(("masked_self_attention", mistake), parts) for mistake, parts in MSA_BUGS.items()],
    *[(("padding_mask", mistake), parts) for mistake, parts in PADDING_BUGS.items()],
]
CAUSAL_BUGS = list(CAUSAL_MASK)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BUGGY_NOTEBOOKS)),
                         ids=[f"{q}:{m}" for (q, m), _ in BUGGY_NOTEBOOKS])
def test_each_catalogued_mistake_is_named(tmp_path, index):
    """Does each buggy variant lose points on its question and get its mistake id named?"""
    (qid, mistake), parts = BUGGY_NOTEBOOKS[index]
    answers = {"answer_masked_self_attention": msa_source(**parts)}
    causal_bug = CAUSAL_BUGS[index] if index < len(CAUSAL_BUGS) else None
    if causal_bug:
        answers["answer_causal_mask"] = CAUSAL_MASK[causal_bug]
    if index == 0:
        answers["answer_quiz_mask_before_softmax"] = f'quiz_mask_before_softmax = "{WRONG_MASK_QUIZ}"\n'
    result = grade(tmp_path, answers, f"bug-{index}")
    q = result.question(qid)
    assert q.score < q.max_score and mistake in q.mistakes, (qid, mistake, q.score, q.mistakes, q.feedback)
    if causal_bug:
        c = result.question("causal_mask")
        assert c.score < c.max_score and causal_bug in c.mistakes, (causal_bug, c.score, c.mistakes)
    else:
        assert result.question("causal_mask").score == 2
    if index == 0:
        assert result.question("quiz_mask_before_softmax").score == 0
    if qid == "padding_mask":  # a padding-only bug leaves the causal question whole
        assert result.question("masked_self_attention").score == 5, result.question("masked_self_attention")


# ---------------------------------------------------------------- signatures, without the variants

SIGNATURE_CASES = [(q, m, padded) for q in ("masked_self_attention", "padding_mask") for m in key.VARIANTS[q]
                   for padded in ((False, True) if q == "masked_self_attention" else (True,))]


@pytest.mark.parametrize("question_id, mistake, padded", SIGNATURE_CASES,
                         ids=[f"{q}:{m}:{'padded' if p else 'causal'}" for q, m, p in SIGNATURE_CASES])
def test_signatures_name_each_bug_without_its_variant(question_id, mistake, padded):
    """Do the weight signatures alone (as for a student with several bugs) name each buggy variant's mistake?"""
    gen = torch.Generator().manual_seed(0)
    Q, K, V = (torch.randn(3, 6, 8, generator=gen, dtype=torch.float64) for _ in range(3))
    padding = torch.tensor([[0, 0, 1, 1, 1, 1], [1] * 6, [0, 1, 1, 1, 1, 1]]).bool() if padded else None
    args = (Q, K, V) if padding is None else (Q, K, V, padding)
    weights = key.VARIANTS[question_id][mistake](*args)[1]
    context = {"kind": "weights", "scores": key.attention_scores(Q, K), "d_k": 8, "causal": True, "padding": padding}
    assert mistake in weight_signatures(weights, context)
    assert weight_signatures(key.masked_self_attention(*args)[1], context) == []
