"""Hidden graders for `masked_attention`: causal_mask, causal masked_self_attention, its padding_mask, quizzes."""
from __future__ import annotations

import pytest
import torch

from assignments import masked_attention as key_module
from autograder.graders.checks import as_tensor, expect_close, expect_letter, expect_own_attention, variant_outputs
from autograder.graders.framework import CheckFailed, question
from autograder.graders.gates import expect_attention, expect_some_valid
from autograder.graders.masked_probes import (
    LEFT_PADDED, MSA, allowed, call_attention, carried_forward, check_attention, padding, property_failed, qkv)
from autograder.graders import texts, tolerances

# ---------------------------------------------------------------- causal_mask

def _check_causal_mask(student, key, L: int, evidence=None) -> torch.Tensor:
    got = as_tensor(student.call("causal_mask", L), "`causal_mask`")
    if evidence is not None:
        evidence.keep("causal_mask", "weights", got, allowed=allowed(L), causal=True, what=f"causal_mask({L})")
    expect_close(got, key.causal_mask(L), f"`causal_mask({L})`", **tolerances.EXACT,
                 variants=variant_outputs(key.VARIANTS["causal_mask"], L))
    return got


@question("causal_mask", weight=2)
def test_causal_mask_four_tokens(student, key, evidence):
    """causal_mask(4) is True exactly where j ≤ i.
    中文: causal_mask(4) 恰好在 j ≤ i 处为 True。"""
    _check_causal_mask(student, key, 4, evidence)


@question("causal_mask")
def test_causal_mask_several_lengths(student, key, evidence):
    """causal_mask is right for L = 2, 3, 7 and 16.
    中文: causal_mask 在 L = 2、3、7、16 时都正确。"""
    for L in (2, 3, 7, 16):
        _check_causal_mask(student, key, L, evidence)


@question("causal_mask", weight=0.5)
def test_causal_mask_single_token(student, key):
    """causal_mask(1) is a 1 × 1 mask that lets the only token see itself.
    中文: causal_mask(1) 是 1 × 1 的 mask,让唯一的词看到自己。"""
    _check_causal_mask(student, key, 1)


@question("causal_mask", weight=0.5)
def test_causal_mask_is_boolean(student, key):
    """causal_mask returns a torch.bool tensor.
    中文: causal_mask 返回 torch.bool 张量。"""
    got = as_tensor(student.call("causal_mask", 5), "`causal_mask`")
    if got.dtype != torch.bool:
        raise CheckFailed(texts.MASK_NOT_BOOL.format(dtype=got.dtype), ["wrong-type"])


# ---------------------------------------------------------------- masked_self_attention (causal)

def _gate(student, pairs: list[tuple]) -> None:
    """The validity gate: on some pair of ordinary inputs the answers are attention, and they change with the input."""
    def judge(args, answer):
        pad = args[3] if len(args) > 3 else None
        return expect_attention(answer, args[0], args[2], allowed(args[0].shape[-2], pad), f"`{MSA}`")
    expect_some_valid(student, MSA, pairs, judge)


@question(MSA, gate=True)
def test_msa_answers_are_attention(student, key):
    """The answers are attention: tensors of the right shapes, finite, rows that sum to 1, computed from the inputs.
    中文: 答案是注意力:形状正确的张量,有限值,每行之和为 1,由输入算出。"""
    _gate(student, [tuple(qkv(lead, L, d_k, d_v, dtype, seed) for seed in seeds) for lead, L, d_k, d_v, dtype, seeds in
                    (((2, 3), 5, 8, 8, torch.float32, (31, 32)), ((3,), 6, 4, 3, torch.float64, (33, 34)),
                     ((), 5, 4, 4, torch.float32, (35, 36)))])


@question(MSA, weight=2)
def test_msa_seed_shape_float32(student, key, evidence):
    """[batch, heads, L, d_k] inputs in float32 match the key.
    中文: float32 的 [batch, heads, L, d_k] 输入,结果与参考答案一致。"""
    check_attention(student, key, evidence, *qkv((2, 3), 5, 8, 8, torch.float32, 11), question_id=MSA,
                    what="4-D float32", dtype=True)


@question(MSA)
def test_msa_2d_float64(student, key, evidence):
    """Plain [L, d] inputs in float64, with d_v ≠ d_k.
    中文: 普通的 [L, d] 输入,float64,且 d_v ≠ d_k。"""
    check_attention(student, key, evidence, *qkv((), 6, 4, 3, torch.float64, 12), question_id=MSA,
                    what="2-D float64", dtype=True)


@question(MSA)
def test_msa_3d_float32(student, key, evidence):
    """[batch, L, d] inputs in float32 with a longer sequence.
    中文: [batch, L, d] 输入,float32,序列更长。"""
    check_attention(student, key, evidence, *qkv((3,), 9, 16, 5, torch.float32, 13), question_id=MSA, what="3-D float32")


@question(MSA, weight=0.5)
def test_msa_single_token(student, key, evidence):
    """L = 1: the only token attends to itself with weight 1.
    中文: L = 1:唯一的词以权重 1 关注自己。"""
    check_attention(student, key, evidence, *qkv((2, 2), 1, 4, 2, torch.float64, 14), question_id=MSA, what="L = 1")


@question(MSA)
def test_msa_large_logits(student, key, evidence):
    """Large scores stay finite and masked (a numerically stable softmax).
    中文: 分数很大时结果仍是有限值,且仍被屏蔽(数值稳定的 softmax)。"""
    check_attention(student, key, evidence, *qkv((2,), 5, 4, 3, torch.float32, 15, scale=30.0), question_id=MSA,
           what="large logits")


@question(MSA)
def test_msa_upper_triangle_exactly_zero(student, key):
    """The weights of future keys (the upper triangle) are exactly 0.
    中文: 未来的键(上三角)的权重恰好为 0。"""
    Q, K, V = qkv((2, 2), 7, 8, 4, torch.float32, 16)
    out, weights = call_attention(student, (Q, K, V), "upper triangle")
    L = Q.shape[-2]
    if weights.shape[-2:] != (L, L):
        raise CheckFailed(texts.WEIGHTS_NOT_L_BY_L.format(L=L), ["wrong-shape"])
    future = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)
    if not bool((weights[..., future] == 0).all()):
        raise property_failed(student, key, out, weights, (Q, K, V), MSA, texts.FUTURE_KEYS_WEIGHTED)


@question(MSA)
def test_msa_rows_sum_to_one(student, key):
    """Every row of the weights sums to 1.
    中文: weights 的每一行之和为 1。"""
    Q, K, V = qkv((3,), 6, 8, 4, torch.float64, 17)
    out, weights = call_attention(student, (Q, K, V), "row sums")
    rows = weights.to(torch.float64).sum(-1)
    if not torch.allclose(rows, torch.ones_like(rows), atol=tolerances.ROW_SUM):
        raise property_failed(student, key, out, weights, (Q, K, V), MSA, texts.ROWS_DO_NOT_SUM_TO_ONE)


@question(MSA)
def test_msa_no_future_leak(student, key):
    """Changing the tokens after position t never changes the outputs at positions ≤ t.
    中文: 改变位置 t 之后的词,绝不改变位置 ≤ t 的输出。"""
    Q, K, V = qkv((2,), 7, 8, 4, torch.float64, 18)
    t = 3
    gen = torch.Generator().manual_seed(19)
    Q2, K2, V2 = (X.clone() for X in (Q, K, V))
    for X in (Q2, K2, V2):
        X[..., t + 1:, :] = 5 * torch.randn(X[..., t + 1:, :].shape, generator=gen, dtype=X.dtype)
    out, weights = call_attention(student, (Q, K, V), "future leak")
    out2, _ = call_attention(student, (Q2, K2, V2), "future leak")
    if out.shape != out2.shape or out.shape[-2:] != (Q.shape[-2], V.shape[-1]):
        raise CheckFailed(texts.OUTPUT_WRONG_SHAPE, ["wrong-shape"])
    past1, past2 = out[..., :t + 1, :].to(torch.float64), out2[..., :t + 1, :].to(torch.float64)
    if not torch.allclose(past1, past2, atol=tolerances.SAME, rtol=0):
        raise property_failed(student, key, out, weights, (Q, K, V), MSA, texts.FUTURE_LEAKS.format(t=t))


@question(MSA, weight=0.5)
def test_msa_does_not_use_library_attention(student, key):
    """The answer computes attention itself (no F.scaled_dot_product_attention / nn.MultiheadAttention).
    中文: 答案自己计算注意力(不用 F.scaled_dot_product_attention / nn.MultiheadAttention)。"""
    expect_own_attention(student, MSA, *qkv((), 4, 4, 2, torch.float32, 20))


# ---------------------------------------------------------------- padding_mask

@question("padding_mask", gate=True)
def test_padding_answers_are_attention(student, key):
    """With a padding_mask the answers are still attention (rows with an allowed key sum to 1), computed from the inputs.
    中文: 有 padding_mask 时答案仍是注意力(有可看的键的行之和为 1),由输入算出。"""
    heads = padding([[False, True, True, True, True], [False, False, False, True, True]], (2, 1, 5))
    _gate(student, [tuple((*qkv((3,), 6, 8, 4, torch.float32, seed), padding(LEFT_PADDED)) for seed in (37, 38)),
                    tuple((*qkv((2, 3), 5, 4, 4, torch.float64, seed), heads) for seed in (39, 40))])


@question("padding_mask", weight=2)
def test_padding_left_padded_batch_float32(student, key, evidence):
    """A left-padded batch: [B, L, d] inputs, padding_mask [B, L].
    中文: 左侧 padding 的一批句子:输入为 [B, L, d],padding_mask 为 [B, L]。"""
    check_attention(student, key, evidence, *qkv((3,), 6, 8, 4, torch.float32, 21), padding(LEFT_PADDED),
           question_id="padding_mask", what="padding [B, L]", dtype=True)


@question("padding_mask")
def test_padding_with_heads_float64(student, key, evidence):
    """[B, H, L, d] inputs with a padding_mask [B, 1, L] broadcast over the heads, in float64.
    中文: [B, H, L, d] 输入配 [B, 1, L] 的 padding_mask(在各个头上广播),float64。"""
    pad = padding([[False, True, True, True, True], [False, False, False, True, True]], (2, 1, 5))
    check_attention(student, key, evidence, *qkv((2, 3), 5, 4, 4, torch.float64, 22), pad, question_id="padding_mask",
           what="padding [B, 1, L]", dtype=True)


@question("padding_mask")
def test_padding_empty_rows_are_zero_not_nan(student, key):
    """A query with no allowed key gets all-zero weights and a zero output, never NaN.
    中文: 没有任何可看的键的查询,权重全为 0、输出为 0,绝不是 NaN。"""
    Q, K, V = qkv((3,), 6, 8, 4, torch.float32, 23)
    pad = padding(LEFT_PADDED)
    out, weights = call_attention(student, (Q, K, V, pad), "no allowed key")
    empty = ~key.allowed_keys(6, pad).any(dim=-1)                      # (B, L): queries with no allowed key
    if weights.shape[:-1] != empty.shape or out.shape[:-1] != empty.shape:
        raise CheckFailed(texts.OUTPUT_OR_WEIGHTS_WRONG_SHAPE, ["wrong-shape"])
    rows, outputs = weights[empty], out[empty]
    if not (torch.isfinite(rows).all() and torch.isfinite(outputs).all()):
        raise CheckFailed(texts.EMPTY_ROW_NOT_FINITE, ["nan-on-fully-masked-row"])
    uniform = ((rows.amax(-1) - rows.amin(-1)) < tolerances.SAME) & (rows.sum(-1) > 0)
    if rows.shape[-1] > 1 and bool(uniform.any()):
        carried_forward(student, key, (Q, K, V, pad), out, weights)
        raise CheckFailed(texts.EMPTY_ROW_UNIFORM, ["nan-on-fully-masked-row"])
    if not (bool((rows == 0).all()) and bool((outputs == 0).all())):
        raise property_failed(student, key, out, weights, (Q, K, V, pad), "padding_mask", texts.EMPTY_ROW_NOT_ZERO)


@question("padding_mask")
def test_padding_keys_get_no_weight(student, key):
    """Padding keys receive exactly 0 weight from every query that has an allowed key.
    中文: 每个有可看的键的查询给 padding 键的权重都恰好为 0。"""
    Q, K, V = qkv((3,), 6, 8, 4, torch.float64, 24)
    pad = padding(LEFT_PADDED)
    out, weights = call_attention(student, (Q, K, V, pad), "padding keys")
    if weights.shape != (3, 6, 6):
        raise CheckFailed(texts.PADDED_WEIGHTS_WRONG_SHAPE, ["wrong-shape"])
    live = key.allowed_keys(6, pad).any(dim=-1, keepdim=True)          # rows with no allowed key: tested apart
    on_padding = torch.nan_to_num(weights, nan=1.0)[(~pad[:, None, :] & live).expand(3, 6, 6)]
    if not bool((on_padding == 0).all()):
        raise property_failed(student, key, out, weights, (Q, K, V, pad), "padding_mask", texts.PADDING_KEYS_WEIGHTED)


@question("padding_mask", weight=0.5)
def test_padding_rows_sum_to_one_where_a_key_is_allowed(student, key):
    """Rows that have at least one allowed key sum to 1.
    中文: 至少有一个可看的键的行,权重之和为 1。"""
    Q, K, V = qkv((3,), 6, 8, 4, torch.float64, 25)
    pad = padding(LEFT_PADDED)
    out, weights = call_attention(student, (Q, K, V, pad), "row sums")
    live = key.allowed_keys(6, pad).any(dim=-1)                         # (B, L)
    if weights.shape[:-1] != live.shape:
        raise CheckFailed(texts.WEIGHTS_WRONG_SHAPE, ["wrong-shape"])
    rows = weights.to(torch.float64).sum(-1)[live]
    if not torch.allclose(rows, torch.ones_like(rows), atol=tolerances.ROW_SUM):
        raise property_failed(student, key, out, weights, (Q, K, V, pad), "padding_mask",
                              texts.ALLOWED_ROWS_DO_NOT_SUM_TO_ONE)


@question("padding_mask", weight=0.5)
def test_padding_does_not_use_library_attention(student, key):
    """The padding answer computes attention itself (no library attention).
    中文: padding 题的答案自己计算注意力(不调用库里的注意力)。"""
    expect_own_attention(student, MSA, *qkv((2,), 4, 4, 2, torch.float32, 26), padding([[False, True, True, True]] * 2))


# ---------------------------------------------------------------- quizzes

@pytest.mark.parametrize("quiz", [pytest.param(q, marks=question(q.id), id=q.id) for q in key_module.QUIZZES])
def test_quiz(student, quiz):
    """The quiz answer is the right option.
    中文: 选择题选了正确的选项。"""
    expect_letter(student.get(quiz.id), quiz)
