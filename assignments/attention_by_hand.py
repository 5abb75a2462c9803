"""Answer key for `attention_by_hand`: scaled dot-product attention by hand and in PyTorch (seed §2, exercise 1)."""
from __future__ import annotations

import math

import torch

from assignments.quiz import Quiz, Text

# ---------------------------------------------------------------------------------------------------------
# The formula, one function per step:  Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V
# ---------------------------------------------------------------------------------------------------------

MASK_FILL = -1e9
"""Blocked scores are filled with the seed's -1e9; `-inf` gives the same weights unless a whole row is blocked."""


def attention_scores(Q: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Step 2: how well each query matches each key, QKᵀ / √d_k.

    Args:
        Q: queries `[..., Lq, dk]`.
        K: keys `[..., Lk, dk]`.
    Returns:
        scores `[..., Lq, Lk]`: rows are queries, columns are keys.
    """
    d_k = Q.size(-1)
    assert K.size(-1) == d_k, f"Q and K need the same last dim d_k, got {Q.size(-1)} and {K.size(-1)}"
    return Q @ K.transpose(-2, -1) / math.sqrt(d_k)  # [..., Lq, dk] @ [..., dk, Lk] -> [..., Lq, Lk]


def mask_scores(scores: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Optional step: block the keys where `mask == 0` (or False) by filling their scores with MASK_FILL.

    Args:
        scores: `[..., Lq, Lk]`.
        mask: broadcastable to `[..., Lq, Lk]`, or None for no mask.
    Returns:
        scores `[..., Lq, Lk]` with blocked positions at MASK_FILL, so their weight after softmax is 0.
    """
    if mask is None:
        return scores
    return scores.masked_fill(mask == 0, MASK_FILL)  # [..., Lq, Lk]


def softmax_rows(scores: torch.Tensor) -> torch.Tensor:
    """Step 3: softmax over the keys (dim=-1), exp(s - max) / Σ exp(s - max); each query's row sums to 1.

    Subtracting the row's max changes nothing mathematically and keeps exp() from overflowing.
    """
    shifted = scores - scores.amax(dim=-1, keepdim=True)  # [..., Lq, Lk], each row's max is 0
    exp = shifted.exp()                                   # [..., Lq, Lk]
    return exp / exp.sum(dim=-1, keepdim=True)            # [..., Lq, Lk]


def weighted_sum(weights: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """Step 4: each query's output is the weights-weighted average of the values, weights · V.

    Args:
        weights: `[..., Lq, Lk]`.
        V: values `[..., Lk, dv]`.
    Returns:
        output `[..., Lq, dv]`.
    """
    assert weights.size(-1) == V.size(-2), "one weight per key: Lk of the weights must match Lk of V"
    return weights @ V  # [..., Lq, Lk] @ [..., Lk, dv] -> [..., Lq, dv]


def scaled_dot_product_attention(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor,
                                 mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(QKᵀ / √d_k) V, written out; `torch.nn.functional.scaled_dot_product_attention` is the test oracle.

    Args:
        Q: `[..., Lq, dk]`, K: `[..., Lk, dk]`, V: `[..., Lk, dv]` (any leading dims, float32 or float64).
        mask: broadcastable to `[..., Lq, Lk]`; positions where `mask == 0` (False) are blocked, the seed's
            convention, so a boolean mask means what it means to F.scaled_dot_product_attention: True = attend.
    Returns:
        (output `[..., Lq, dv]`, weights `[..., Lq, Lk]`).
    """
    scores = mask_scores(attention_scores(Q, K), mask)  # [..., Lq, Lk]
    weights = softmax_rows(scores)                      # [..., Lq, Lk]
    output = weighted_sum(weights, V)                   # [..., Lq, dv]
    return output, weights


# ---------------------------------------------------------------------------------------------------------
# Exercise 1 by hand (2 × 2) and the seed's "我 爱 学习 AI" row
# ---------------------------------------------------------------------------------------------------------

D_K = 2
Q = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
K = torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=torch.float64)
V = torch.tensor([[2.0, 0.0], [1.0, 1.0]], dtype=torch.float64)

ex1_scores = attention_scores(Q, K)      # [[0.707107, 0.353553], [0, 0.353553]]
ex1_weights = softmax_rows(ex1_scores)   # [[0.587479, 0.412521], [0.412521, 0.587479]]
ex1_output = weighted_sum(ex1_weights, V)  # [[1.587479, 0.412521], [1.412521, 0.587479]]

LOVE_TOKENS = ("我", "爱", "学习", "AI")
LOVE_QK = torch.tensor([2.1, 3.5, 7.2, 5.8], dtype=torch.float64)  # "爱"'s query · each key
LOVE_D_K = 64
love_weights = softmax_rows(LOVE_QK / math.sqrt(LOVE_D_K))  # [0.1763, 0.2101, 0.3336, 0.2800]


# ---------------------------------------------------------------------------------------------------------
# Grading: points, quizzes, and what a student with each misconception would produce
# ---------------------------------------------------------------------------------------------------------

POINTS: dict[str, float] = {
    "quiz_library": 1.0,
    "quiz_why_scale": 1.0,
    "by_hand_scores": 1.0,
    "by_hand_weights": 1.0,
    "quiz_row_sum": 1.0,
    "by_hand_output": 1.0,
    "love_example": 2.0,
    "quiz_seed_softmax": 1.0,
    "sdpa": 5.0,
    "quiz_weights_shape": 1.0,
}

QUIZZES: list[Quiz] = [
    Quiz(
        id="quiz_library",
        question=Text(
            "教程把 Q、K、V 比作图书馆检索系统。在这个类比里,你拿来和自己的需求比对、以判断“这本书相关吗”的书目标签(索引卡)对应哪一个?",
            "The tutorial compares Q, K, V to a library search system. In that analogy, which one is the catalogue "
            "label (index card) you match your request against to decide whether a book is relevant?"),
        options={
            "A": Text("Query(查询):“我要找什么?”", "Query: \"what am I looking for?\""),
            "B": Text("Key(键):“我是什么?”", "Key: \"what am I?\""),
            "C": Text("Value(值):“我有什么信息?”", "Value: \"what information do I have?\""),
            "D": Text("注意力权重", "The attention weights"),
        },
        answer="B",
        feedback={
            "A": Text("Query 是你的需求本身(“我要找什么?”):它拿去和别的东西比对,而不是被比对的那张标签。",
                      "The query is your request itself (\"what am I looking for?\"): it is compared against "
                      "something else; it is not the label being compared."),
            "C": Text("Value 是书的内容(“我有什么信息?”):比对完成之后才按权重把它取出来,它不参与打分。",
                      "The value is the book's content (\"what information do I have?\"): it is fetched, by "
                      "weight, after the matching and takes no part in the scores."),
            "D": Text("注意力权重是比对的结果(softmax 之后的分数),不是被比对的东西。",
                      "The attention weights are the result of the matching (the scores after the softmax), "
                      "not the thing matched against."),
        }),
    Quiz(
        id="quiz_why_scale",
        question=Text("为什么要把 QKᵀ 除以 √d_k?", "Why is QKᵀ divided by √d_k?"),
        options={
            "A": Text("为了让每一行注意力权重之和等于 1", "So that each row of attention weights sums to 1"),
            "B": Text("为了把 q 和 k 归一化成单位向量,使分数变成余弦相似度",
                      "To normalise q and k to unit length, turning the scores into cosine similarities"),
            "C": Text("q、k 的分量独立且方差为 1 时,q·k 的方差等于 d_k;除以 √d_k 把方差拉回 1,避免 softmax 饱和"
                      "(几乎 one-hot、梯度极小)",
                      "With independent unit-variance components, q·k has variance d_k; dividing by √d_k brings "
                      "it back to 1 so the softmax does not saturate (near one-hot, tiny gradients)"),
            "D": Text("为了减少计算量,让矩阵乘法更快", "To save computation and make the matmul faster"),
        },
        answer="C",
        feedback={
            "A": Text("每行之和为 1 是 softmax 自己保证的,缩放与否都一样。想一想缩放改变的是分数的大小,进而改变了 softmax 的什么?",
                      "Rows summing to 1 is guaranteed by the softmax itself, scaled or not. The scale changes the "
                      "size of the scores: what does that change about the softmax?"),
            "B": Text("除以同一个常数 √d_k 并不会让每个 q、k 变成单位长度;余弦相似度要除以各自的范数 ‖q‖·‖k‖。",
                      "Dividing by one constant √d_k does not make each q and k unit length; cosine similarity "
                      "divides by each pair's own norms ‖q‖·‖k‖."),
            "D": Text("除法只是多了一步逐元素运算,并不更快;它改变的是分数的数值范围。",
                      "The division is one more element-wise operation and saves no time; what it changes is the "
                      "range of the scores."),
        }),
    Quiz(
        id="quiz_row_sum",
        question=Text("注意力权重矩阵 softmax(QKᵀ/√d_k) 的每一行(一个查询)加起来等于多少?",
                      "What does each row (one query) of the attention-weight matrix softmax(QKᵀ/√d_k) sum to?"),
        options={
            "A": Text("1", "1"),
            "B": Text("d_k", "d_k"),
            "C": Text("键的个数 L_k", "The number of keys L_k"),
            "D": Text("不固定,取决于 Q 和 K 的数值;只有每一列之和才固定为 1",
                      "Nothing fixed, it depends on Q and K; only each column has a fixed sum of 1"),
        },
        answer="A",
        feedback={
            "B": Text("d_k 只出现在 softmax 之前的缩放里;softmax 的输出与 d_k 无关地归一化。",
                      "d_k only appears in the scaling before the softmax; the softmax normalises its output "
                      "whatever d_k is."),
            "C": Text("每个权重都在 0 和 1 之间,是一个查询分给各个键的“份额”。份额加起来是多少?",
                      "Each weight lies between 0 and 1: they are the shares one query gives to the keys. What do "
                      "shares add up to?"),
            "D": Text("softmax 沿 dim=-1(键的方向)归一化,也就是每一行;按列归一化正是“softmax 维度错误”这个常见错误。",
                      "The softmax normalises along dim=-1 (over the keys), i.e. each row; normalising columns is "
                      "the common \"softmax over the wrong dim\" mistake."),
        }),
    Quiz(
        id="quiz_seed_softmax",
        question=Text("教程“我 爱 学习 AI”表格里的 Softmax 列(0.1, 0.2, 0.4, 0.3)实际上是怎么算出来的?",
                      "How was the Softmax column (0.1, 0.2, 0.4, 0.3) of the tutorial's \"我 爱 学习 AI\" table "
                      "actually computed?"),
        options={
            "A": Text("对 Score 列做 softmax,再四舍五入到一位小数", "The softmax of the Score column, rounded to one decimal"),
            "B": Text("对未缩放的 Query·Key 做 softmax", "The softmax of the unscaled Query·Key"),
            "C": Text("对除以 d_k(而不是 √d_k)的分数做 softmax",
                      "The softmax of the scores divided by d_k instead of √d_k"),
            "D": Text("每个分数除以分数之和 s/Σs,没有取指数,所以根本不是 softmax",
                      "Each score divided by the sum of the scores, s/Σs, with no exponential: not a softmax at all"),
        },
        answer="D",
        feedback={
            "A": Text("自己算一下第一个词:真正的 softmax 四舍五入后不是 0.1。分数只在 0.26 到 0.90 之间,取指数后仍然相近,"
                      "所以真正的 softmax 比表里的平坦得多。",
                      "Work out the first word: the true softmax does not round to 0.1. The scores only range from "
                      "0.26 to 0.90 and stay close after the exponential, so the true softmax is much flatter than "
                      "the table."),
            "B": Text("未缩放的 2.1…7.2 相差很大,softmax 会把绝大部分权重给“学习”,远超 0.4。",
                      "Unscaled, 2.1…7.2 are far apart: the softmax would give most of the weight to 学习, far "
                      "more than 0.4."),
            "C": Text("除以 d_k = 64 后分数更小、更接近,softmax 只会更平坦,离 0.1/0.4 更远。",
                      "Dividing by d_k = 64 makes the scores smaller and closer together: the softmax gets even "
                      "flatter, further from 0.1/0.4."),
        }),
    Quiz(
        id="quiz_weights_shape",
        question=Text("Q 的形状是 [L_q, d_k] = [3, 64],K 是 [5, 64],V 是 [5, 32]。注意力权重的形状是?",
                      "Q is [L_q, d_k] = [3, 64], K is [5, 64], V is [5, 32]. What shape are the attention weights?"),
        options={
            "A": Text("[5, 3]", "[5, 3]"),
            "B": Text("[3, 5]", "[3, 5]"),
            "C": Text("[3, 32]", "[3, 32]"),
            "D": Text("[5, 5]", "[5, 5]"),
        },
        answer="B",
        feedback={
            "A": Text("行是查询、列是键:QKᵀ 是 [3, 64]·[64, 5]。[5, 3] 是用 K·Qᵀ 打分(分数矩阵转置)得到的形状。",
                      "Rows are queries and columns keys: QKᵀ is [3, 64]·[64, 5]. [5, 3] is what scoring with "
                      "K·Qᵀ (transposed scores) gives."),
            "C": Text("[3, 32] 是输出 weights·V 的形状,不是权重的形状。",
                      "[3, 32] is the shape of the output weights·V, not of the weights."),
            "D": Text("只有 L_q = L_k(例如自注意力)时权重才是方阵;这里只有 3 个查询。",
                      "The weights are square only when L_q = L_k (as in self-attention); here there are only 3 "
                      "queries."),
        }),
]


def _finish(scores: torch.Tensor, V: torch.Tensor, mask: torch.Tensor | None,
            softmax_dim: int = -1) -> tuple[torch.Tensor, torch.Tensor]:
    """Steps 3–4 after a (possibly buggy) score: mask, softmax over `softmax_dim`, weighted sum."""
    weights = torch.softmax(mask_scores(scores, mask), dim=softmax_dim)  # [..., Lq, Lk]
    return weights @ V, weights                                           # [..., Lq, dv], [..., Lq, Lk]


def _sdpa_missing_scale(Q, K, V, mask=None):
    """Bug: QKᵀ is never divided by √d_k."""
    return _finish(Q @ K.transpose(-2, -1), V, mask)


def _sdpa_scale_by_dk(Q, K, V, mask=None):
    """Bug: divides by d_k instead of √d_k."""
    return _finish(Q @ K.transpose(-2, -1) / Q.size(-1), V, mask)


def _sdpa_softmax_wrong_dim(Q, K, V, mask=None):
    """Bug: the softmax normalises each column (over the queries) instead of each row."""
    return _finish(attention_scores(Q, K), V, mask, softmax_dim=-2)


def _sdpa_transposed_scores(Q, K, V, mask=None):
    """Bug: scores K·Qᵀ (rows = keys) instead of Q·Kᵀ; like the student's code, it only runs when Lq == Lk."""
    return _finish(K @ Q.transpose(-2, -1) / math.sqrt(Q.size(-1)), V, mask)


def _sdpa_mask_ignored(Q, K, V, mask=None):
    """Bug: the mask is accepted but never applied."""
    return _finish(attention_scores(Q, K), V, None)


def _sdpa_mask_inverted(Q, K, V, mask=None):
    """Bug: blocks the allowed positions (mask != 0) instead of the blocked ones."""
    return _finish(attention_scores(Q, K), V, None if mask is None else mask == 0)


_SDPA_VARIANTS = {
    "missing-scale": _sdpa_missing_scale,
    "scale-by-dk": _sdpa_scale_by_dk,
    "softmax-wrong-dim": _sdpa_softmax_wrong_dim,
    "transposed-scores": _sdpa_transposed_scores,
    "mask-ignored": _sdpa_mask_ignored,
    "mask-inverted": _sdpa_mask_inverted,
}
_HAND_MISTAKES = ("missing-scale", "scale-by-dk", "softmax-wrong-dim", "transposed-scores")

VARIANTS: dict[str, dict[str, object]] = {
    "by_hand_scores": {  # softmax-wrong-dim leaves the scores table as it is
        "missing-scale": Q @ K.T,
        "scale-by-dk": Q @ K.T / D_K,
        "transposed-scores": K @ Q.T / math.sqrt(D_K),
    },
    "by_hand_weights": {m: _SDPA_VARIANTS[m](Q, K, V)[1] for m in _HAND_MISTAKES},
    "by_hand_output": {m: _SDPA_VARIANTS[m](Q, K, V)[0] for m in _HAND_MISTAKES},
    "sdpa": dict(_SDPA_VARIANTS),
    "love_example": {
        "not-a-softmax": LOVE_QK / LOVE_QK.sum(),                # the seed's column: s / Σs, ≈ 0.11/0.19/0.39/0.31
        "missing-scale": softmax_rows(LOVE_QK),                  # ≈ 0.005/0.019/0.783/0.193
    },
}
