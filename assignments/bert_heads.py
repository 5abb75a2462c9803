"""Answer key for `bert_heads` (the seed's exercise 3): measure, classify and plot a BERT's attention heads."""
from __future__ import annotations

import math
from collections.abc import Collection

import torch
from matplotlib.figure import Figure

from assignments.quiz import Quiz, Text
from autograder.sandbox.inside.pretrained import load_model, model_path  # noqa: F401  (the one loader, also the sandbox's)

TEXT = "The animal didn't cross the street because it was too tired."
COUNTER_TEXT = "The animal didn't cross the street because it was too wide."
PUNCT = (".", ",")


# ---------------------------------------------------------------- the model (load_model, above)

def get_attentions(model, tokenizer, text: str) -> tuple[list[str], torch.Tensor]:
    """Run `text` through the model and stack its attention weights.

    Returns:
        tokens: the L WordPiece tokens, [CLS] and [SEP] included.
        attn: float32 [layers, heads, L, L], rows = queries, columns = keys, no batch dim.
    """
    inputs = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        outputs = model(**inputs, output_attentions=True)
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist())
    attn = torch.stack(outputs.attentions)[:, 0].float()  # (layers, 1, H, L, L) -> (layers, H, L, L)
    assert attn.shape[-1] == attn.shape[-2] == len(tokens)
    return tokens, attn


# ---------------------------------------------------------------- measuring heads

def head_entropy(attn: torch.Tensor) -> torch.Tensor:
    """Mean over queries of the entropy −Σ_j p_ij·ln p_ij, in nats (0·ln 0 = 0).

    Args:
        attn: [..., L, L] row-stochastic weights.
    Returns:
        [...]: one entropy per head.
    """
    attn = torch.as_tensor(attn)
    per_query = -torch.xlogy(attn, attn).sum(dim=-1)  # (..., L)   xlogy(0, 0) = 0
    return per_query.mean(dim=-1)                     # (...)


def _key_mask(tokens: list[str], targets: str | Collection[str]) -> torch.Tensor:
    """Bool [L]: True for the keys whose token is one of `targets` (a single str counts as one token)."""
    targets = {targets} if isinstance(targets, str) else set(targets)
    return torch.tensor([token in targets for token in tokens])


def token_attention(attn: torch.Tensor, tokens: list[str], targets: str | Collection[str]) -> torch.Tensor:
    """Mean over queries of the attention that lands on keys whose token is in `targets`.

    Args:
        attn: [..., L, L]; tokens: the L tokens; targets: a token (str) or a collection of tokens.
    Returns:
        [...]: the average share of attention on those keys (0 if none is present).
    """
    attn = torch.as_tensor(attn)
    assert attn.shape[-1] == len(tokens)
    mask = _key_mask(tokens, targets).to(attn.dtype)  # (L,)
    on_targets = (attn * mask).sum(dim=-1)             # (..., L)   one share per query
    return on_targets.mean(dim=-1)                     # (...)


def offset_attention(attn: torch.Tensor, offset: int) -> torch.Tensor:
    """Mean over all L queries of attn[..., i, i + offset], counting 0 where i + offset is out of range.

    offset = -1: the previous token, +1: the next token, 0: the token itself.
    Returns:
        [...]
    """
    attn = torch.as_tensor(attn)
    L = attn.shape[-1]
    diagonal = torch.diagonal(attn, offset=offset, dim1=-2, dim2=-1)  # (..., L - |offset|)  attn[i, i + offset]
    return diagonal.sum(dim=-1) / L                                   # (...)   divide by all L queries


POSITIONAL = {"previous": -1, "next": +1, "self": 0}
"""classify_head's positional labels and their offsets."""
SPECIAL = {"cls": "[CLS]", "sep": "[SEP]", "punct": PUNCT}
"""classify_head's special-token labels and their targets."""
POSITIONAL_MIN = 0.5
"""A head is positional when at least half of its attention goes to one offset."""
SPECIAL_MIN = 0.6
"""A head is a special-token head when most (60 %) of its attention lands on [CLS], [SEP] or punctuation."""
BROAD_MIN = 0.78
"""A head is broad when its entropy is at least 78 % of the uniform distribution's, ln L."""


def classify_head(head_attn: torch.Tensor, tokens: list[str]) -> str:
    """Name the pattern of one head [L, L]: previous / next / self, cls / sep / punct, broad or mixed.

    Positional if the largest of offsets -1, +1, 0 is ≥ POSITIONAL_MIN (0.5); else special-token if the largest
    share on [CLS], [SEP] or punctuation is ≥ SPECIAL_MIN (0.6); else "broad" if entropy / ln L ≥ BROAD_MIN (0.78);
    else "mixed".
    Ties go to the first name in that order.
    """
    head_attn = torch.as_tensor(head_attn)
    assert head_attn.dim() == 2 and head_attn.shape[0] == head_attn.shape[1] == len(tokens)
    shares = {name: offset_attention(head_attn, offset) for name, offset in POSITIONAL.items()}
    shares |= {name: token_attention(head_attn, tokens, targets) for name, targets in SPECIAL.items()}
    return label_from_measures(shares, head_entropy(head_attn), len(tokens))


def label_from_measures(shares: dict[str, float], entropy: float, L: int) -> str:
    """classify_head's rule on one head's measures: `shares` by label (POSITIONAL and SPECIAL), entropy in nats."""
    for names, threshold in ((POSITIONAL, POSITIONAL_MIN), (SPECIAL, SPECIAL_MIN)):
        name = max(names, key=lambda k: float(shares[k]))  # max keeps the first of equal scores
        if float(shares[name]) >= threshold:
            return name
    if L > 1 and float(entropy) / math.log(L) >= BROAD_MIN:
        return "broad"
    return "mixed"


def find_head(attn: torch.Tensor, tokens: list[str], source: str, target: str) -> tuple[int, int]:
    """The (layer, head) whose first `source` query puts the most attention on the first `target` key.

    Args:
        attn: [layers, heads, L, L]; tokens: the L tokens.
    Raises:
        ValueError: if `source` or `target` is not among the tokens.
    """
    for word in (source, target):
        if word not in tokens:
            raise ValueError(f"token {word!r} is not in the sentence; its tokens are {tokens}")
    i, j = tokens.index(source), tokens.index(target)
    scores = torch.as_tensor(attn)[:, :, i, j]  # (layers, H)
    n_heads = scores.shape[1]
    layer, head = divmod(int(scores.argmax()), n_heads)  # argmax over the flattened heads: first maximum
    return layer, head


def plot_attention(attn: torch.Tensor, tokens: list[str], layer: int, head: int) -> Figure:
    """Heatmap of one head: queries as rows (y), keys as columns (x), tokens on both axes, a colour bar.

    Args:
        attn: [layers, heads, L, L]; layer, head: 0-based indices.
    Returns:
        a matplotlib Figure (not shown, not closed).
    """
    head_attn = torch.as_tensor(attn)[layer, head].detach().cpu().numpy()  # (L queries, L keys)
    L = len(tokens)
    fig = Figure(figsize=(0.4 * L + 2, 0.4 * L + 1))
    ax = fig.add_subplot()
    image = ax.imshow(head_attn, cmap="viridis", vmin=0.0)
    ax.set_xticks(range(L), tokens, rotation=90)
    ax.set_yticks(range(L), tokens)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    ax.set_title(f"Layer {layer}, Head {head}")
    fig.colorbar(image, ax=ax, label="attention weight")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- the seed's encoder size

def seed_encoder_parameters(vocab_size=30000, d_model=768, n_heads=12, d_ff=3072, n_layers=12) -> int:
    """Parameters of the seed's TransformerEncoder, counted from its layers (the positional encoding is a buffer)."""
    assert d_model % n_heads == 0  # the heads split d_model, so n_heads does not change the count
    embedding = vocab_size * d_model
    attention = 4 * (d_model * d_model + d_model)             # W_Q, W_K, W_V, W_O with biases
    ffn = (d_model * d_ff + d_ff) + (d_ff * d_model + d_model)
    norms = 2 * (2 * d_model)                                 # two LayerNorms, gamma and beta
    return embedding + n_layers * (attention + ffn + norms)


SEED_ENCODER_PARAMETERS = 108_094_464


# ---------------------------------------------------------------- quizzes

def _t(zh: str, en: str) -> Text:
    return Text(zh, en)


QUIZZES: list[Quiz] = [
    Quiz(
        id="quiz_param_count",
        question=_t("教程第七节的 TransformerEncoder(vocab_size=30000, d_model=768, n_heads=12, d_ff=3072, "
                    "n_layers=12)真正运行时,sum(p.numel() for p in encoder.parameters()) 是多少?",
                    "When the seed's §7 TransformerEncoder (vocab_size=30000, d_model=768, n_heads=12, d_ff=3072, "
                    "n_layers=12) is actually built, what does sum(p.numel() for p in encoder.parameters()) give?"),
        options={"A": _t("110.1M,正如教程的注释所写", "110.1M, as the seed's comment says"),
                 "B": _t("85,054,464(约 85.1M)", "85,054,464 (about 85.1M)"),
                 "C": _t("108,094,464(约 108.1M)", "108,094,464 (about 108.1M)"),
                 "D": _t("111,934,464(约 111.9M)", "111,934,464 (about 111.9M)")},
        answer="C",
        feedback={
            "A": _t("注释里的数字是照搬 BERT-Base 的 110M,并不是这段代码算出来的。自己数一数:嵌入层、每层的 4 个 "
                    "Linear、FFN 和两个 LayerNorm。",
                    "The comment copies BERT-Base's 110M; it is not what this code builds. Count it yourself: the "
                    "embedding, each layer's 4 Linears, the FFN and the two LayerNorms."),
            "B": _t("这只是 12 个 Transformer Block 的参数;词嵌入 nn.Embedding(30000, 768) 也是参数。",
                    "That is only the 12 Transformer blocks; the word embedding nn.Embedding(30000, 768) has "
                    "parameters too."),
            "D": _t("这里把位置编码 5000×768 也算进去了,但它是 register_buffer 注册的缓冲区,不是参数,"
                    "parameters() 不会返回它。",
                    "That counts the 5000×768 positional encoding, but it is registered with register_buffer: a "
                    "buffer, not a parameter, so parameters() does not return it.")}),
    Quiz(
        id="quiz_head_dim",
        question=_t("本作业加载的模型 hidden_size = 384,有 12 个注意力头。按教程 3.3 节的做法,每个头的 d_k 是多少?",
                    "The model loaded in this assignment has hidden_size = 384 and 12 attention heads. Following the "
                    "seed's §3.3, what is each head's d_k?"),
        options={"A": _t("384:每个头都使用完整的维度", "384: every head uses the full dimension"),
                 "B": _t("64,和 BERT-Base 一样", "64, as in BERT-Base"),
                 "C": _t("4608 = 384 × 12", "4608 = 384 × 12"),
                 "D": _t("32", "32")},
        answer="D",
        feedback={
            "A": _t("多头注意力把 d_model 切分给各个头(split_heads 里的 view),而不是每个头复制一份完整维度;"
                    "这样总计算量与单头相当。",
                    "Multi-head attention splits d_model among the heads (the view in split_heads) rather than "
                    "giving each head a full copy, which keeps the cost close to one head."),
            "B": _t("64 = 768 / 12 是 BERT-Base 的值;这里 d_model 不同,要用同一个公式 d_model / h 重新算。",
                    "64 = 768 / 12 is BERT-Base's value; d_model differs here, so apply d_model / h again."),
            "C": _t("拼接(Concat)之后的维度必须回到 d_model,所以各头维度之和是 d_model,而不是 d_model 的 h 倍。",
                    "After the Concat the width must be d_model again, so the heads' dims add up to d_model, not "
                    "h times d_model.")}),
    Quiz(
        id="quiz_attention_sink",
        question=_t("在本作业的模型中,对例句 \"The animal didn't cross the street because it was too tired.\","
                    "中间几层(第 1–4 层)的注意力平均有一半左右落在哪个 token 上?",
                    "In this assignment's model, for the sentence \"The animal didn't cross the street because it "
                    "was too tired.\", which token receives about half of all attention in the middle layers "
                    "(layers 1–4)?"),
        options={"A": _t("[CLS]", "[CLS]"),
                 "B": _t("animal:句子的主语", "animal: the sentence's subject"),
                 "C": _t("句号 .", "the full stop ."),
                 "D": _t("[SEP]", "[SEP]")},
        answer="A",
        feedback={
            "B": _t("内容词只在少数头里得到大量注意力;把所有头、所有查询平均起来,它的份额很小。"
                    "用 token_attention 按层测一下。",
                    "Content words get a lot of attention only in a few heads; averaged over all heads and queries "
                    "their share is small. Measure it per layer with token_attention."),
            "C": _t("标点在一些头里很重要,但平均份额远不到一半。用 token_attention 测一测。",
                    "Punctuation matters in some heads, but its average share is far below one half. Measure it with "
                    "token_attention."),
            "D": _t("在 bert-base-uncased 中 [SEP] 确实常常是这个\"汇点\"(Clark 等, 2019),但不同模型不一样;"
                    "请在本模型上用 token_attention 实际测量。",
                    "In bert-base-uncased [SEP] is often that sink (Clark et al., 2019), but models differ: measure "
                    "this one with token_attention.")}),
    Quiz(
        id="quiz_offset_meaning",
        question=_t("offset_attention(attn, -1) 度量的是什么?",
                    "What does offset_attention(attn, -1) measure?"),
        options={"A": _t("每个词对它后一个词(键 i+1)的注意力", "each token's attention to the next token (key i+1)"),
                 "B": _t("每个词对它前一个词(键 i−1)的注意力,对所有查询取平均",
                         "each token's attention to the previous token (key i−1), averaged over all queries"),
                 "C": _t("每个词对最后一个 token(Python 下标 -1,即 [SEP])的注意力",
                         "each token's attention to the last token (Python index -1, i.e. [SEP])"),
                 "D": _t("前一个词作为查询时对当前词的注意力,只对有前一个词的位置取平均",
                         "the attention from the previous token (as query) to the current one, averaged only where a "
                         "previous token exists")},
        answer="B",
        feedback={
            "A": _t("方向反了:键的位置是 i + offset,offset 为负就是向左看。",
                    "The direction is reversed: the key is at i + offset, so a negative offset looks left."),
            "C": _t("这里的 -1 是相对位置(偏移量),不是绝对下标。",
                    "Here -1 is a relative position (an offset), not an absolute index."),
            "D": _t("行是查询、列是键:attn[i, i−1] 是第 i 个词作为查询看向 i−1;而且平均是对全部 L 个查询取的"
                    "(越界处记 0)。",
                    "Rows are queries and columns keys: attn[i, i−1] is token i, as the query, looking at i−1; and "
                    "the mean is over all L queries (0 where out of range).")}),
    Quiz(
        id="quiz_attention_not_explanation",
        question=_t("某个头中 \"it\" 有 0.68 的注意力落在 \"animal\" 上。由此最多能得出什么结论?",
                    "In one head, \"it\" puts 0.68 of its attention on \"animal\". What is the most this shows?"),
        options={"A": _t("模型已经确定 it 指代 animal,而且正是这个头做出了判断",
                         "the model has decided that it refers to animal, and this head is what decided it"),
                 "B": _t("注意力权重就是每个输入词对最终输出的重要性(等同于梯度归因)",
                         "attention weights are each input token's importance for the final output (the same as "
                         "gradient attribution)"),
                 "C": _t("在这一层,这个头把 animal 的 value 向量大比例地混入了 it 的表示;它是否\"解释\"了模型行为,"
                         "还需要对照例句或干预实验来检验",
                         "at this layer, this head mixes a large share of animal's value vector into the "
                         "representation of it; whether that explains the model's behaviour needs counterexamples or "
                         "interventions"),
                 "D": _t("其他头的注意力没有落在 animal 上,所以它们对这句话不起作用,可以忽略",
                         "the other heads do not attend to animal, so they play no role in this sentence and can be "
                         "ignored")},
        answer="C",
        feedback={
            "A": _t("把句子改成 \"...because it was too wide\"(it 指 street),看看同一个头是否跟着改变。"
                    "相关不等于因果。",
                    "Change the sentence to \"...because it was too wide\" (it = street) and see whether the same "
                    "head follows. Correlation is not causation."),
            "B": _t("注意力权重只描述一层里 value 向量的混合比例;经过残差、FFN 和后续各层之后,"
                    "它与输出对输入的敏感度可以相差很大(Jain & Wallace, 2019)。",
                    "Attention weights only describe how value vectors are mixed in one layer; after the residual "
                    "stream, the FFNs and later layers they can differ a lot from the output's sensitivity to the "
                    "input (Jain & Wallace, 2019)."),
            "D": _t("其他头同样把信息写入残差流,影响后续各层;不看它们无法断定它们不起作用。",
                    "The other heads also write into the residual stream and shape later layers; without looking "
                    "you cannot conclude they play no role.")}),
]

POINTS: dict[str, float] = {
    "get_attentions": 2.0,
    "head_entropy": 2.0,
    "token_attention": 2.0,
    "offset_attention": 2.0,
    "classify_head": 2.0,
    "find_head": 2.0,
    "plot_attention": 2.0,
    "interpretation": 3.0,
    **{quiz.id: 1.0 for quiz in QUIZZES},
}


# ---------------------------------------------------------------- common mistakes

def _get_attentions_special_tokens_dropped(model, tokenizer, text):
    tokens, attn = get_attentions(model, tokenizer, text)
    return tokens[1:-1], attn[..., 1:-1, 1:-1]  # (layers, H, L-2, L-2), not renormalised


def _head_entropy_log2(attn):
    attn = torch.as_tensor(attn)
    return -(torch.xlogy(attn, attn) / math.log(2)).sum(dim=-1).mean(dim=-1)  # bits


def _head_entropy_summed_over_queries(attn):
    attn = torch.as_tensor(attn)
    return -torch.xlogy(attn, attn).sum(dim=-1).sum(dim=-1)


def _token_attention_query_key_swapped(attn, tokens, targets):
    attn = torch.as_tensor(attn)
    mask = _key_mask(tokens, targets).to(attn.dtype)
    from_targets = (attn * mask[:, None]).sum(dim=-2)  # (..., L)   rows of the target queries
    return from_targets.mean(dim=-1)


def _offset_attention_direction_swapped(attn, offset):
    return offset_attention(attn, -offset)


def _classify_head_offset_direction_swapped(head_attn, tokens):
    name = classify_head(head_attn, tokens)
    return {"previous": "next", "next": "previous"}.get(name, name)


def _find_head_query_key_swapped(attn, tokens, source, target):
    return find_head(attn, tokens, target, source)  # attention from target to source


def _plot_attention_transposed(attn, tokens, layer, head):
    return plot_attention(torch.as_tensor(attn).transpose(-1, -2), tokens, layer, head)  # keys as rows


VARIANTS: dict[str, dict[str, object]] = {
    "get_attentions": {"special-tokens-dropped": _get_attentions_special_tokens_dropped},
    "head_entropy": {"entropy-log2": _head_entropy_log2,
                     "entropy-summed-over-queries": _head_entropy_summed_over_queries},
    "token_attention": {"query-key-swapped": _token_attention_query_key_swapped},
    "offset_attention": {"offset-direction-swapped": _offset_attention_direction_swapped},
    "classify_head": {"offset-direction-swapped": _classify_head_offset_direction_swapped},
    "find_head": {"query-key-swapped": _find_head_query_key_swapped},
    "plot_attention": {"plot-transposed": _plot_attention_transposed},
}
