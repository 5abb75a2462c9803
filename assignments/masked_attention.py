"""Answer key for `masked_attention` (the seed's exercise 2): causal and padding masks in self-attention."""
from __future__ import annotations

import math

import torch

from assignments.quiz import Quiz, Text


# ---------------------------------------------------------------- the key, one function per formula

def causal_mask(seq_len: int) -> torch.Tensor:
    """The causal mask: query i may attend key j only when j ≤ i.

    Args:
        seq_len: L, the sequence length.
    Returns:
        BoolTensor [L, L], True on and below the diagonal (allowed), False above it (the future).
    """
    ones = torch.ones(seq_len, seq_len, dtype=torch.bool)  # (L, L)
    return torch.tril(ones)                                 # (L, L), True where j <= i


def allowed_keys(seq_len: int, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Which (query, key) pairs may interact: causal AND the key is a real token.

    Args:
        seq_len: L.
        padding_mask: optional [..., L], True = real token, False = padding (blocks that key).
    Returns:
        BoolTensor [L, L], or [..., L, L] with a padding mask.
    """
    allowed = causal_mask(seq_len)                           # (L, L)
    if padding_mask is not None:
        real_keys = padding_mask.bool()[..., None, :]        # (..., 1, L): one row, broadcast over queries
        allowed = allowed.to(real_keys.device) & real_keys   # (..., L, L)
    return allowed


def attention_scores(Q: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Score = QKᵀ / √d_k: rows are queries, columns are keys."""
    d_k = Q.size(-1)
    return Q @ K.transpose(-2, -1) / math.sqrt(d_k)          # (..., L, L)


def masked_softmax(scores: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Softmax over the allowed keys of each row; a row with no allowed key gets all-zero weights (never NaN).

    Args:
        scores: [..., L, L].
        allowed: BoolTensor broadcastable to scores, True = may attend.
    Returns:
        weights [..., L, L]: each row sums to 1 where a key is allowed, 0 otherwise.
    """
    allowed = allowed.to(scores.device)
    scores = scores.masked_fill(~allowed, float("-inf"))     # (..., L, L) blocked -> -inf, so exp() -> 0
    weights = torch.softmax(scores, dim=-1)                  # (..., L, L) NaN on rows with no allowed key
    return weights.masked_fill(~allowed, 0.0)                # (..., L, L) those rows become all zeros


def masked_self_attention(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor,
                          padding_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Causal self-attention softmax(QKᵀ/√d_k + mask)V, optionally also blocking padding keys.

    Args:
        Q, K: [..., L, d_k]; V: [..., L, d_v].
        padding_mask: optional [..., L] broadcastable to Q's leading dims, True = real token.
    Returns:
        (output [..., L, d_v], weights [..., L, L]); the upper triangle of weights is exactly 0.
    """
    L = Q.size(-2)
    assert K.size(-2) == L and V.size(-2) == L, "self-attention: Q, K, V share the sequence length"
    scores = attention_scores(Q, K)                          # (..., L, L)
    weights = masked_softmax(scores, allowed_keys(L, padding_mask))  # (..., L, L)
    output = weights @ V                                     # (..., L, d_v)
    return output, weights


# ---------------------------------------------------------------- common mistakes, one buggy function each

def _buggy_attention(Q, K, V, padding_mask=None, *, causal=causal_mask, scores=attention_scores,
                     softmax=masked_softmax, invert_padding=False):
    """masked_self_attention with one of its parts swapped for a student's buggy version."""
    L = Q.size(-2)
    allowed = causal(L)                                      # (L, L)
    if padding_mask is not None:
        real_keys = padding_mask.bool()[..., None, :]        # (..., 1, L)
        allowed = allowed & (~real_keys if invert_padding else real_keys)  # (..., L, L)
    weights = softmax(scores(Q, K), allowed)                 # (..., L, L)
    return weights @ V, weights


def _triu_mask(seq_len):
    """triu-instead-of-tril: keeps the future (j ≥ i) instead of the past."""
    return torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool))


def _no_mask(seq_len):
    """no-tril: every query sees every key."""
    return torch.ones(seq_len, seq_len, dtype=torch.bool)


def _inverted_mask(seq_len):
    """mask-inverted: True on the blocked positions (j > i) instead of the allowed ones."""
    return ~causal_mask(seq_len)


def _unscaled_scores(Q, K):
    """missing-scale: QKᵀ without dividing by √d_k."""
    return Q @ K.transpose(-2, -1)


def _scores_over_dk(Q, K):
    """scale-by-dk: QKᵀ / d_k instead of / √d_k."""
    return Q @ K.transpose(-2, -1) / Q.size(-1)


def _transposed_scores(Q, K):
    """transposed-scores: KQᵀ / √d_k (rows = keys) instead of QKᵀ / √d_k."""
    return K @ Q.transpose(-2, -1) / math.sqrt(Q.size(-1))


def _softmax_over_queries(scores, allowed):
    """softmax-wrong-dim: normalises each column (over queries) instead of each row."""
    weights = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-2)
    return weights.masked_fill(~allowed, 0.0)


def _zero_after_softmax(scores, allowed):
    """mask-after-softmax: softmax over all keys, then zero the blocked weights without renormalising."""
    return torch.softmax(scores, dim=-1).masked_fill(~allowed, 0.0)


def _fill_with_zero(scores, allowed):
    """mask-filled-with-zero: blocked scores set to 0, and e⁰ = 1 still gives them weight."""
    return torch.softmax(scores.masked_fill(~allowed, 0.0), dim=-1)


def _seed_fill(scores, allowed):
    """The tutorial's masked_fill(mask == 0, -1e9) without zeroing after: a row with no allowed key comes out uniform."""
    return torch.softmax(scores.masked_fill(~allowed, -1e9), dim=-1)


def _nan_on_empty_rows(scores, allowed):
    """nan-on-fully-masked-row: -inf fill and softmax, leaving NaN on rows with no allowed key."""
    return torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)


def _variant(**swap):
    """A buggy masked_self_attention(Q, K, V, padding_mask=None) with the parts in `swap` replaced."""
    def buggy(Q, K, V, padding_mask=None):
        return _buggy_attention(Q, K, V, padding_mask, **swap)
    return buggy


def _ignore_padding(Q, K, V, padding_mask=None):
    """padding-ignored: only the causal mask is applied."""
    return masked_self_attention(Q, K, V)


# ---------------------------------------------------------------- quizzes

QUIZZES: list[Quiz] = [
    Quiz(
        id="quiz_why_causal",
        question=Text(
            "训练 Decoder(如 GPT)时,为什么注意力必须加因果 mask(第 i 个词只能看 j ≤ i 的词)?",
            "When training a decoder (e.g. GPT), why must its attention use a causal mask (token i only sees "
            "tokens j ≤ i)?"),
        options={
            "A": Text("为了少算一半的注意力分数,加快训练。",
                      "To compute half as many attention scores and train faster."),
            "B": Text("训练时整句一次性输入,而位置 i 要预测第 i+1 个词;不遮住未来,它就能直接“偷看”答案,"
                      "而生成时未来的词根本还不存在。",
                      "In training the whole sentence is fed at once while position i must predict token i+1; "
                      "without the mask it could simply read the answer, and at generation time the future "
                      "tokens do not exist yet."),
            "C": Text("因为 softmax 只能处理下三角矩阵。",
                      "Because the softmax only works on lower-triangular matrices."),
            "D": Text("为了屏蔽句子末尾的 padding 词。",
                      "To hide the padding tokens at the end of a sentence."),
        },
        answer="B",
        feedback={
            "A": Text("用 masked_fill 加 mask 时,完整的 L×L 分数照样全部算出来,并不省计算;mask 改变的是“能看到什么”。",
                      "With masked_fill the full L×L scores are still computed, so nothing is saved; the mask "
                      "changes what each position may see, not the cost."),
            "C": Text("softmax 对任意一行数都能算;Encoder 里的注意力矩阵就是满的。想想训练时每个位置的任务是什么。",
                      "A softmax works on any row of numbers; an encoder's attention matrix is full. Think about "
                      "what each position is asked to predict during training."),
            "D": Text("那是 padding mask 的工作,它屏蔽的是某些列(键),不是上三角;因果 mask 对没有 padding 的句子也需要。",
                      "That is the padding mask's job, which blocks some columns (keys), not the upper triangle; "
                      "the causal mask is needed even without any padding."),
        },
    ),
    Quiz(
        id="quiz_mask_before_softmax",
        question=Text(
            "因果 mask 应该在哪一步、以什么方式作用?",
            "Where, and how, should the causal mask be applied?"),
        options={
            "A": Text("softmax 之后,把未来位置的权重直接设为 0。",
                      "After the softmax: set the weights of future positions to 0."),
            "B": Text("softmax 之前,把未来位置的分数设为 0。",
                      "Before the softmax: set the scores of future positions to 0."),
            "C": Text("softmax 之前,把未来位置的分数设为 -inf(或一个很小的数),softmax 后它们的权重为 0,其余权重自动归一化为 1。",
                      "Before the softmax: set the scores of future positions to -inf (or a very negative "
                      "number), so their weights come out 0 and the remaining weights still sum to 1."),
            "D": Text("不改分数,而是把 V 中未来位置的行乘以 0。",
                      "Leave the scores alone and multiply the future rows of V by 0."),
        },
        answer="C",
        feedback={
            "A": Text("softmax 已经把概率分给了未来的词,事后清零会让每行之和小于 1,过去的词的权重也没有重新分配。",
                      "The softmax has already given probability to the future tokens; zeroing them afterwards "
                      "leaves rows summing to less than 1, and the past tokens are not re-weighted."),
            "B": Text("e⁰ = 1:分数为 0 的未来词在 softmax 后仍然分到权重,甚至比负分数的过去词还多。",
                      "e⁰ = 1: a future token with score 0 still gets weight after the softmax, sometimes more "
                      "than a past token with a negative score."),
            "D": Text("每一行的权重仍然分给了未来的键,只是它们贡献 0,于是过去词的权重之和小于 1;而且不同查询的“未来”不同,V 的一行无法对所有查询同时清零。",
                      "Each row still spends weight on future keys that now contribute 0, so the past keys share "
                      "less than 1; and the future differs per query, so one row of V cannot be zeroed for all "
                      "queries at once."),
        },
    ),
    Quiz(
        id="quiz_float16_fill",
        question=Text(
            "在 float16 下沿用教程的 scores.masked_fill(mask == 0, -1e9) 会怎样?(float16 能表示的最大绝对值约为 65504)",
            "What happens with the tutorial's scores.masked_fill(mask == 0, -1e9) in float16? (The largest "
            "magnitude float16 can hold is about 65504.)"),
        options={
            "A": Text("没有问题:-1e9 在 float16 中被精确保存。",
                      "Nothing: -1e9 is stored exactly in float16."),
            "B": Text("-1e9 被截断为 -65504,结果与 float32 完全一样,任何情况下都不会出错。",
                      "-1e9 is clipped to -65504 and the result is identical to float32 in every case."),
            "C": Text("-1e9 超出范围:PyTorch 的 masked_fill 直接报溢出错误,转换成 float16 时则变成 -inf;某一行的键若全被屏蔽,softmax 得到 NaN。应使用 torch.finfo(dtype).min,或单独处理这样的行。",
                      "-1e9 is out of range: PyTorch's masked_fill raises an overflow error, and a conversion to "
                      "float16 turns it into -inf; a row whose keys are all blocked then gives NaN after the "
                      "softmax. Use torch.finfo(dtype).min, or handle such rows explicitly."),
            "D": Text("-1e9 变成 0,于是被屏蔽的位置分到和 e⁰ 一样多的权重。",
                      "-1e9 becomes 0, so blocked positions get weight e⁰ like any zero score."),
        },
        answer="C",
        feedback={
            "A": Text("float16 只有 5 位指数,能表示的最大绝对值约 65504,远小于 1e9。",
                      "float16 has only 5 exponent bits; its largest magnitude is about 65504, far below 1e9."),
            "B": Text("浮点数溢出不会“截断”到最大有限值,而是变成无穷大(或报错)。试试 torch.tensor(-1e9).half()。",
                      "Floating-point overflow does not clip to the largest finite value: it becomes infinity "
                      "(or raises). Try torch.tensor(-1e9).half()."),
            "D": Text("溢出的方向是无穷大,不是 0;下溢才会变成 0。试试 torch.tensor(-1e9).half()。",
                      "Overflow goes to infinity, not 0; only underflow goes to 0. Try torch.tensor(-1e9).half()."),
        },
    ),
    Quiz(
        id="quiz_layernorm_axis",
        question=Text(
            "Transformer 中的 LayerNorm 作用在形状为 [batch, seq_len, d_model] 的张量上时,对哪些数求均值和方差?",
            "For a tensor of shape [batch, seq_len, d_model], over which numbers does a Transformer's LayerNorm "
            "compute the mean and variance?"),
        options={
            "A": Text("对每个特征,跨 batch 中的所有样本(和位置)统计。",
                      "For each feature, across all examples (and positions) of the batch."),
            "B": Text("对每个词(每个样本的每个位置),跨它自己的 d_model 个特征统计,与 batch 大小无关。",
                      "For each token (each position of each example), across its own d_model features, "
                      "independently of the batch size."),
            "C": Text("对每个特征,跨同一句子的所有位置统计。",
                      "For each feature, across all positions of the same sentence."),
            "D": Text("对整个张量的所有数统计一次。",
                      "Once over every number of the whole tensor."),
        },
        answer="B",
        feedback={
            "A": Text("这是 BatchNorm:它跨 batch 统计,依赖 batch 大小,不适合变长序列。看教程 5.3 的对比表。",
                      "That is BatchNorm: it pools across the batch and depends on the batch size, which suits "
                      "variable-length sequences poorly. See the comparison table in the tutorial's §5.3."),
            "C": Text("跨位置统计会让一个词的归一化依赖同一句里其他(甚至未来)的词和 padding;LayerNorm 不混合位置。",
                      "Pooling across positions would make a token's normalisation depend on other (even "
                      "future) tokens and on padding; LayerNorm never mixes positions."),
            "D": Text("那样一个样本的结果会依赖整个 batch;LayerNorm 的统计量是每个词各自的。",
                      "Then one example's result would depend on the whole batch; LayerNorm's statistics are "
                      "per token."),
        },
    ),
]


# ---------------------------------------------------------------- points (notebook order) and variants

POINTS: dict[str, float] = {
    "causal_mask": 2.0,
    "masked_self_attention": 5.0,
    "padding_mask": 3.0,
    **{quiz.id: 1.0 for quiz in QUIZZES},
}

VARIANTS: dict[str, dict[str, object]] = {
    "causal_mask": {
        "triu-instead-of-tril": _triu_mask,
        "no-tril": _no_mask,
        "mask-inverted": _inverted_mask,
    },
    "masked_self_attention": {
        "triu-instead-of-tril": _variant(causal=_triu_mask),
        "no-tril": _variant(causal=_no_mask),
        "mask-after-softmax": _variant(softmax=_zero_after_softmax),
        "mask-filled-with-zero": _variant(softmax=_fill_with_zero),
        "mask-inverted": _variant(causal=_inverted_mask, softmax=_seed_fill),  # masked_fill(tril == 1, -1e9)
        "missing-scale": _variant(scores=_unscaled_scores),
        "scale-by-dk": _variant(scores=_scores_over_dk),
        "softmax-wrong-dim": _variant(softmax=_softmax_over_queries),
        "transposed-scores": _variant(scores=_transposed_scores),
    },
    "padding_mask": {
        "padding-ignored": _ignore_padding,
        "nan-on-fully-masked-row": _variant(softmax=_nan_on_empty_rows),
        "mask-inverted": _variant(invert_padding=True),
    },
}
