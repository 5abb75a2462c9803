"""Hidden graders for `attention_by_hand`: the 2×2 table by hand, the "爱" row, scaled_dot_product_attention, quizzes."""
from __future__ import annotations

import pytest
import torch

from assignments import attention_by_hand as key_module
from autograder.graders.checks import expect_close, expect_letter, expect_own_attention, expect_pair, variant_outputs
from autograder.graders.framework import CheckFailed, question
from autograder.graders.gates import expect_attention, expect_some_valid
from autograder.graders import texts, tolerances

SDPA = "scaled_dot_product_attention"


def _hand(student, name: str, question_id: str, want: torch.Tensor, kind_context: dict):
    got = student.get(name)
    return expect_close(got, want, f"`{name}`", atol=tolerances.HAND_TYPED, rtol=0,
                        variants=key_module.VARIANTS[question_id], context=kind_context)


# ---------------------------------------------------------------- by hand

@question("by_hand_scores")
def test_by_hand_scores(student, key):
    """ex1_scores equals QKᵀ/√d_k for the exercise's 2×2 matrices.
    中文: ex1_scores 等于练习中 2×2 矩阵的 QKᵀ/√d_k。"""
    _hand(student, "ex1_scores", "by_hand_scores", key.ex1_scores, {})


@question("by_hand_weights")
def test_by_hand_weights(student, key):
    """ex1_weights is the row-softmax of the scores.
    中文: ex1_weights 是分数按行做的 softmax。"""
    _hand(student, "ex1_weights", "by_hand_weights", key.ex1_weights,
          {"kind": "weights", "scores": key.ex1_scores, "d_k": key.D_K})


@question("by_hand_output")
def test_by_hand_output(student, key):
    """ex1_output equals weights · V.
    中文: ex1_output 等于 weights · V。"""
    _hand(student, "ex1_output", "by_hand_output", key.ex1_output, {})


@question("love_example")
def test_love_weights(student, key):
    """love_weights is the true softmax of the seed's "爱" row, scaled by √64.
    中文: love_weights 是教程中“爱”那一行除以 √64 后真正的 softmax。"""
    got = student.get("love_weights")
    expect_close(got, key.love_weights, "`love_weights`", atol=tolerances.LOVE_WEIGHTS, rtol=0,
                 variants=key.VARIANTS["love_example"],
                 context={"kind": "distribution", "raw": key.LOVE_QK, "d_k": key.LOVE_D_K})


# ---------------------------------------------------------------- scaled_dot_product_attention

def _inputs(shape_q, shape_k, dv, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    Q = torch.randn(*shape_q, generator=gen, dtype=dtype)
    K = torch.randn(*shape_k, generator=gen, dtype=dtype)
    V = torch.randn(*shape_k[:-1], dv, generator=gen, dtype=dtype)
    return Q, K, V


def _check_sdpa(student, key, Q, K, V, mask=None, *, what: str, evidence=None, dtype: bool = False):
    """Compare the student's output and weights with the key's (at float32 precision); with `evidence`, keep their
    weights to draw; with `dtype`, this is the question's check of the inputs' dtype: the output keeps it."""
    args = (Q, K, V) if mask is None else (Q, K, V, mask)
    out, weights = expect_pair(student.call(SDPA, *args), f"`{SDPA}`")
    if evidence is not None:
        evidence.keep("sdpa", "weights", weights, allowed=mask != 0, what=f"weights ({what})")
    want_out, want_w = key.scaled_dot_product_attention(*args)
    variants = key.VARIANTS["sdpa"]
    context = {"kind": "weights", "scores": key.attention_scores(Q, K).to(torch.float64), "d_k": Q.shape[-1],
               "mask": None if mask is None else mask != 0}
    expect_close(weights, want_w, f"weights ({what})", **tolerances.FLOAT32, context=context,
                 variants=variant_outputs(variants, *args, pick=lambda r: r[1]))
    expect_close(out, want_out, f"output ({what})", **tolerances.FLOAT32,
                 variants=variant_outputs(variants, *args, pick=lambda r: r[0]))
    if dtype and isinstance(out, torch.Tensor) and out.dtype != Q.dtype:
        raise CheckFailed(texts.OUTPUT_DTYPE_CHANGED.format(what=what), ["wrong-type"])


@question("sdpa", gate=True)
def test_sdpa_answers_are_attention(student, key):
    """The answers are attention: tensors of the right shapes, finite, rows that sum to 1, computed from the inputs.
    中文: 答案是注意力:形状正确的张量,有限值,每行之和为 1,由输入算出。"""
    mask = torch.tensor([[1, 1, 1, 0, 1, 1], [1, 1, 0, 0, 0, 1]]).view(2, 1, 1, 6)

    def judge(args, answer):
        allowed = torch.ones(args[0].shape[-2], args[1].shape[-2], dtype=torch.bool) if len(args) == 3 else args[3] != 0
        return expect_attention(answer, args[0], args[2], allowed, f"`{SDPA}`")
    pairs = [tuple(_inputs(q, k, dv, dtype, seed) for seed in seeds) for q, k, dv, dtype, seeds in
             (((2, 3, 4, 8), (2, 3, 6, 8), 5, torch.float32, (41, 42)), ((4, 6), (5, 6), 3, torch.float64, (43, 44)))]
    pairs.append(tuple((*_inputs((2, 3, 4, 8), (2, 3, 6, 8), 5, torch.float32, seed), mask) for seed in (45, 46)))
    expect_some_valid(student, SDPA, pairs, judge)


@question("sdpa", weight=2)
def test_sdpa_seed_shape_float32(student, key):
    """The seed's shape [batch, heads, L, d_k] in float32.
    中文: 教程中的形状 [batch, heads, L, d_k],float32。"""
    _check_sdpa(student, key, *_inputs((2, 3, 5, 8), (2, 3, 5, 8), 8, torch.float32, 1), what="4-D float32",
                dtype=True)


@question("sdpa")
def test_sdpa_2d_float64(student, key):
    """Plain 2-D inputs in float64.
    中文: 普通的二维输入,float64。"""
    _check_sdpa(student, key, *_inputs((4, 6), (4, 6), 3, torch.float64, 2), what="2-D float64", dtype=True)


@question("sdpa")
def test_sdpa_cross_attention_lengths(student, key):
    """Lq ≠ Lk and d_k ≠ d_v (weights are Lq × Lk).
    中文: Lq ≠ Lk 且 d_k ≠ d_v(weights 为 Lq × Lk)。"""
    _check_sdpa(student, key, *_inputs((2, 3, 16), (2, 7, 16), 5, torch.float32, 3), what="Lq ≠ Lk")


@question("sdpa")
def test_sdpa_five_dims_and_single_token(student, key):
    """Five-dimensional inputs and a single query (L = 1).
    中文: 五维输入,且只有一个查询(L = 1)。"""
    _check_sdpa(student, key, *_inputs((2, 1, 2, 1, 4), (2, 1, 2, 3, 4), 2, torch.float64, 4), what="5-D, Lq = 1")


@question("sdpa")
def test_sdpa_large_logits(student, key):
    """Large scores stay finite (a numerically stable softmax).
    中文: 分数很大时结果仍是有限值(数值稳定的 softmax)。"""
    Q, K, V = _inputs((3, 4), (3, 4), 2, torch.float32, 5)
    _check_sdpa(student, key, Q * 30, K * 30, V, what="large logits")


@question("sdpa", weight=2)
def test_sdpa_padding_mask_broadcast(student, key, evidence):
    """A [B, 1, 1, Lk] mask blocks keys where mask == 0.
    中文: 形状为 [B, 1, 1, Lk] 的 mask 屏蔽 mask == 0 处的键。"""
    Q, K, V = _inputs((2, 2, 4, 8), (2, 2, 4, 8), 8, torch.float32, 6)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]]).view(2, 1, 1, 4)
    _check_sdpa(student, key, Q, K, V, mask, what="padding mask", evidence=evidence)


@question("sdpa", weight=2)
def test_sdpa_boolean_causal_mask(student, key, evidence):
    """A boolean lower-triangular mask (True = may attend) gives zero weight to future keys.
    中文: 布尔下三角 mask(True = 可以关注)让未来的键权重为 0。"""
    Q, K, V = _inputs((5, 4), (5, 4), 4, torch.float64, 7)
    _check_sdpa(student, key, Q, K, V, torch.tril(torch.ones(5, 5, dtype=torch.bool)), what="causal bool mask",
                evidence=evidence)


@question("sdpa", weight=0.5)
def test_sdpa_does_not_use_library_attention(student, key):
    """The answer computes attention itself (no F.scaled_dot_product_attention / nn.MultiheadAttention).
    中文: 答案自己计算注意力(不用 F.scaled_dot_product_attention / nn.MultiheadAttention)。"""
    expect_own_attention(student, SDPA, *_inputs((3, 4), (3, 4), 2, torch.float32, 8))


# ---------------------------------------------------------------- quizzes

@pytest.mark.parametrize("quiz", [pytest.param(q, marks=question(q.id), id=q.id) for q in key_module.QUIZZES])
def test_quiz(student, quiz):
    """The quiz answer is the right option.
    中文: 选择题选了正确的选项。"""
    expect_letter(student.get(quiz.id), quiz)
