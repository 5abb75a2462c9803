"""The catalogue of common mistakes: every mistake id of SPEC §5 with what it means and where to look, in Chinese and English."""
from __future__ import annotations

from assignments.quiz import Text

MISTAKES: dict[str, Text] = {
    "missing-scale": Text(
        "分数没有除以 √d_k:softmax 之前的 QKᵀ 需要缩放。检查计算 scores 的那一行,d_k 取 Q 的最后一维。",
        "The scores are not divided by √d_k: scale QKᵀ before the softmax. Look at the line computing the scores; "
        "d_k is the last dimension of Q."),
    "scale-by-dk": Text(
        "分数除以了 d_k 而不是 √d_k。回看公式 softmax(QKᵀ/√d_k)V,注意是平方根。",
        "The scores are divided by d_k instead of √d_k. Re-read softmax(QKᵀ/√d_k)V: it is the square root."),
    "softmax-wrong-dim": Text(
        "softmax 的维度不对:应该对每个查询(每一行)在所有键上归一化,即最后一维 dim=-1;现在是按列归一化。",
        "The softmax runs over the wrong dimension: each query (row) must be normalised over the keys, "
        "i.e. dim=-1; yours normalises the columns."),
    "transposed-scores": Text(
        "分数矩阵转置了:应是 Q·Kᵀ(行 = 查询,列 = 键),你算的是 K·Qᵀ。检查 matmul 的顺序和 transpose 的位置。",
        "The score matrix is transposed: it is Q·Kᵀ (rows = queries, columns = keys), yours is K·Qᵀ. "
        "Check the order of the matmul and where the transpose goes."),
    "mask-ignored": Text(
        "传入的 mask 没有起作用:被屏蔽(mask == 0)的位置仍然得到了注意力。在 softmax 之前用 masked_fill 把它们填成很小的数。",
        "The mask has no effect: blocked positions (mask == 0) still receive attention. Before the softmax, "
        "fill them with a very negative number (masked_fill)."),
    "mask-inverted": Text(
        "mask 的含义反了:应该屏蔽 mask == 0(或 False)的位置,你屏蔽了允许的位置。检查 masked_fill 的条件"
        "(例如写成了 mask == 1 或多了一个 ~)。",
        "The mask is inverted: positions where mask == 0 (False) are the blocked ones; yours blocks the allowed "
        "ones. Check the condition given to masked_fill (e.g. mask == 1, or a ~ too many)."),
    "forbidden-api": Text(
        "这道题要求自己实现注意力:调用 torch.nn.functional.scaled_dot_product_attention 或 nn.MultiheadAttention 不得分。",
        "This question asks you to implement attention yourself: calling "
        "torch.nn.functional.scaled_dot_product_attention or nn.MultiheadAttention scores 0."),
    "triu-instead-of-tril": Text(
        "用成了上三角 torch.triu:因果 mask 允许第 i 个查询看第 j ≤ i 个键,是下三角 torch.tril。",
        "You used the upper triangle (torch.triu): a causal mask lets query i see keys j ≤ i, "
        "the lower triangle, torch.tril."),
    "no-tril": Text(
        "没有因果 mask:查询能看到未来的词。用 torch.tril(torch.ones(L, L)) 构造下三角并在 softmax 之前应用。",
        "There is no causal mask: queries can see future tokens. Build the lower triangle with "
        "torch.tril(torch.ones(L, L)) and apply it before the softmax."),
    "mask-after-softmax": Text(
        "mask 是在 softmax 之后把权重置零的,而没有重新归一化,所以每行之和小于 1。应在 softmax 之前把分数填成 -inf 或 -1e9。",
        "The mask zeroes the weights after the softmax without renormalising, so rows sum to less than 1. "
        "Mask the scores (with -inf or -1e9) before the softmax."),
    "mask-filled-with-zero": Text(
        "被屏蔽的分数填成了 0,而 e⁰ = 1,未来的词仍然分到权重。应填一个很小的数(-inf 或 -1e9)。",
        "Blocked scores were filled with 0, but e⁰ = 1, so future tokens still get weight. Fill them with a "
        "very negative number (-inf or -1e9)."),
    "padding-ignored": Text(
        "padding_mask 没有生效:padding 位置(False)作为键仍然分到注意力。把它与因果 mask 合并(逻辑与),扩展到 [..., 1, L] 对键广播。",
        "padding_mask has no effect: padding keys (False) still receive attention. Combine it with the causal "
        "mask (logical and), shaped [..., 1, L] so it broadcasts over the keys."),
    "nan-on-fully-masked-row": Text(
        "某个查询的所有键都被屏蔽时,它的权重应全为 0、输出为 0。你的结果在这样的行上是 NaN(整行 -inf 做 softmax),"
        "或是平均分给所有键的均匀权重(整行填成同一个很小的数,如 -1e9 或 torch.finfo(dtype).min,softmax 后变成 1/L)。"
        "softmax 之后把被屏蔽的位置再置 0(masked_fill(~allowed, 0.0)),这样的行和它的输出就都是 0。",
        "A query whose keys are all blocked must get all-zero weights and a zero output. Yours gets NaN there (a "
        "softmax of a row of -inf) or the same weight on every key (the whole row filled with one very negative "
        "number, such as -1e9 or torch.finfo(dtype).min, comes out of the softmax as 1/L). After the softmax, zero "
        "the blocked positions again (masked_fill(~allowed, 0.0)): such rows and their output become 0."),
    "not-a-softmax": Text(
        "这不是 softmax,而是 s / Σs(教程表格里的数字正是这么算出来的)。softmax 是 exp(s) / Σ exp(s)。",
        "This is not a softmax but s / Σs (which is how the tutorial's table was computed). "
        "The softmax is exp(s) / Σ exp(s)."),
    "entropy-log2": Text(
        "熵用了以 2 为底的对数(比特);本题要求自然对数 ln(奈特)。换成 torch.log。",
        "The entropy uses log base 2 (bits); this question asks for the natural log (nats). Use torch.log."),
    "entropy-summed-over-queries": Text(
        "熵对查询求和了,应对查询取平均(对键求和 −Σ p·ln p,再对行取 mean)。",
        "The entropy is summed over the queries; it should be averaged over them (sum −p·ln p over the keys, "
        "then take the mean over the rows)."),
    "special-tokens-dropped": Text(
        "丢掉了 [CLS]/[SEP]:tokens 和注意力矩阵都应包含特殊符号,长度 L 与 tokenizer 的 input_ids 一致。",
        "[CLS]/[SEP] were dropped: tokens and the attention matrices must include the special tokens, with L "
        "equal to the length of the tokenizer's input_ids."),
    "offset-direction-swapped": Text(
        "偏移方向反了:offset = -1 表示看前一个词(键 j = i - 1),+1 表示看后一个词。检查 attn[..., i, i + offset] 的下标。",
        "The offset direction is swapped: offset = -1 means attending to the previous token (key j = i - 1), "
        "+1 the next one. Check the index attn[..., i, i + offset]."),
    "query-key-swapped": Text(
        "查询与键弄反了:注意力矩阵的行是查询、列是键。检查你是对哪一维取平均、从哪一维取值。",
        "Queries and keys are swapped: rows of the attention matrix are queries, columns are keys. Check which "
        "dimension you average over and which one you index."),
    "plot-transposed": Text(
        "热图转置了:行(y 轴)应是查询,列(x 轴)应是键。检查传给 imshow 的矩阵和坐标轴标签。",
        "The heatmap is transposed: rows (y axis) must be queries and columns (x axis) keys. Check the matrix "
        "given to imshow and the axis labels."),
    "not-implemented": Text(
        "还没有作答:这个单元格仍然是 raise NotImplementedError()。",
        "Not answered yet: the cell still raises NotImplementedError()."),
    "wrong-shape": Text(
        "返回值的形状不对。对照题目说明里的形状,并检查你在哪一维做了求和、平均或 squeeze。",
        "The returned value has the wrong shape. Compare with the shapes in the question and check where you "
        "sum, average or squeeze."),
    "wrong-type": Text(
        "返回值的类型不对(例如应返回张量/元组/字符串/Figure)。对照题目说明的返回类型。",
        "The returned value has the wrong type (e.g. a tensor, a tuple, a str or a Figure was expected). "
        "Compare with the return type in the question."),
}


def explain(mistake_id: str, lang: str = "en") -> str:
    """The student-facing message for one mistake id."""
    return MISTAKES[mistake_id].in_lang(lang)
