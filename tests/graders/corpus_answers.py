"""Answers written the ways people write attention (tutorials', papers' and libraries' idioms, rewritten for these
exercises), right and wrong, grouped so that one notebook carries one answer per question."""
from __future__ import annotations

# ---------------------------------------------------------------- attention_by_hand

EINSUM_SDPA = '''\
def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = torch.einsum("...qd,...kd->...qk", Q, K) / Q.shape[-1] ** 0.5
    if mask is not None:
        scores = scores.masked_fill(mask == 0, float("-inf"))
    weights = scores.softmax(-1)
    return torch.einsum("...qk,...kd->...qd", weights, V), weights
'''
BADDBMM_SDPA = '''\
def scaled_dot_product_attention(Q, K, V, mask=None):
    *lead, Lq, d_k = Q.shape
    Lk = K.shape[-2]
    q, k = Q.reshape(-1, Lq, d_k), K.reshape(-1, Lk, d_k)
    bias = torch.zeros(q.shape[0], Lq, Lk, dtype=Q.dtype)          # additive mask, as fused kernels take it
    if mask is not None:
        blocked = (torch.as_tensor(mask) == 0).expand(*lead, Lq, Lk).reshape(-1, Lq, Lk)
        bias = bias.masked_fill(blocked, float("-inf"))
    scores = torch.baddbmm(bias, q, k.transpose(1, 2), alpha=1 / math.sqrt(d_k))
    weights = F.softmax(scores, dim=-1).reshape(*lead, Lq, Lk)
    return weights @ V, weights
'''
UNSCALED_SDPA = '''\
def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = Q @ K.transpose(-2, -1)                                  # forgot / sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)
    weights = torch.softmax(scores, dim=-1)
    return weights @ V, weights
'''
NUMPY_BY_HAND = {
    "answer_ex1_scores": "import numpy as np\nex1_scores = np.array([[0.7071, 0.3536], [0.0, 0.3536]])\n",
    "answer_ex1_weights": "ex1_weights = np.array([[0.5875, 0.4125], [0.4125, 0.5875]])\n",
    "answer_ex1_output": "ex1_output = np.array([[1.5875, 0.4125], [1.4125, 0.5875]])\n",
    "answer_love_weights": "import numpy as np\n_s = np.array([2.1, 3.5, 7.2, 5.8]) / 8\n"
                           "love_weights = np.exp(_s - _s.max()) / np.exp(_s - _s.max()).sum()\n",
}
TUPLE_BY_HAND = {
    "answer_ex1_scores": "ex1_scores = ((0.70711, 0.35355), (0.0, 0.35355))\n",
    "answer_ex1_weights": "ex1_weights = ((0.58750, 0.41250), (0.41250, 0.58750))\n",
    "answer_ex1_output": "ex1_output = ((1.5875, 0.4125), (1.4125, 0.5875))\n",
    "answer_love_weights": "love_weights = F.softmax(torch.tensor([2.1, 3.5, 7.2, 5.8]) / math.sqrt(64), dim=0)\n",
}
SEED_MISTAKES_BY_HAND = {
    "answer_ex1_scores": "ex1_scores = [[1.0, 0.5], [0.0, 0.5]]   # QK^T, not scaled\n",
    "answer_love_weights": "_qk = [2.1, 3.5, 7.2, 5.8]\nlove_weights = [s / sum(_qk) for s in _qk]   # the table's way\n",
}

# ---------------------------------------------------------------- masked_attention

ARANGE_CAUSAL = '''\
def causal_mask(seq_len):
    i = torch.arange(seq_len)
    return i[:, None] >= i[None, :]
'''
NANOGPT_MSA = '''\
def masked_self_attention(Q, K, V, padding_mask=None):
    T = Q.size(-2)
    bias = torch.tril(torch.ones(T, T))                 # nanoGPT keeps this as a registered buffer
    att = (Q @ K.transpose(-2, -1)) * (1.0 / math.sqrt(K.size(-1)))
    att = att.masked_fill(bias[:T, :T] == 0, float("-inf"))
    if padding_mask is not None:
        att = att.masked_fill(~padding_mask.bool().unsqueeze(-2), float("-inf"))
    att = torch.nn.functional.softmax(att, dim=-1)
    att = torch.nan_to_num(att, nan=0.0)                # rows whose keys are all blocked
    return att @ V, att
'''
TRIL_BOOL_CAUSAL = "def causal_mask(seq_len):\n    return torch.tril(torch.ones(seq_len, seq_len)).bool()\n"
HF_ADDITIVE_MSA = '''\
def masked_self_attention(Q, K, V, padding_mask=None):
    keep = causal_mask(Q.shape[-2]).to(Q.dtype)
    if padding_mask is not None:
        keep = keep * padding_mask.to(Q.dtype)[..., None, :]
    scores = torch.matmul(Q, K.transpose(-1, -2)) / math.sqrt(Q.shape[-1])
    scores = scores + (1.0 - keep) * torch.finfo(Q.dtype).min      # BERT-style extended attention mask
    probs = scores.softmax(dim=-1)
    return torch.matmul(probs, V), probs
'''
TRIU_CAUSAL = "def causal_mask(seq_len):\n    return torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool))\n"
D2L_MSA = '''\
def masked_softmax(X, keep):
    """Blocked entries get a large negative value before the softmax; rows with nothing kept become 0."""
    X = X.masked_fill(~keep, -1e6)
    return torch.softmax(X, dim=-1) * keep.any(dim=-1, keepdim=True)


def masked_self_attention(Q, K, V, padding_mask=None):
    keep = causal_mask(Q.shape[-2])
    if padding_mask is not None:
        keep = keep & padding_mask.bool()[..., None, :]
    weights = masked_softmax(Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1]), keep)
    return weights @ V, weights
'''
NOT_TRIU_CAUSAL = ("def causal_mask(seq_len):\n"
                   "    return ~torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool), diagonal=1)\n")
ZERO_MSA = '''\
def masked_self_attention(Q, K, V, padding_mask=None):
    L = Q.shape[-2]
    return torch.zeros(*Q.shape[:-1], V.shape[-1]), torch.zeros(*Q.shape[:-1], L)
'''
FLOAT_CAUSAL = "def causal_mask(seq_len):\n    return torch.tril(torch.ones(seq_len, seq_len))\n"
ANYTHING_MSA = '''\
class Anything:
    """Answers every attribute, call, comparison and index with itself."""
    def __getattr__(self, name):
        return self
    def __call__(self, *args, **kwargs):
        return self
    def __getitem__(self, index):
        return self
    def __eq__(self, other):
        return True
    __hash__ = object.__hash__


def masked_self_attention(Q, K, V, padding_mask=None):
    return Anything()
'''
METHOD_TRIL_CAUSAL = "def causal_mask(seq_len):\n    return torch.ones(seq_len, seq_len).tril().bool()\n"
ANNOTATED_INVERTED_MSA = '''\
def attention(query, key, value, mask=None):
    d_k = query.size(-1)
    scores = torch.matmul(query, key.transpose(-2, -1)) / math.sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(mask == 1, -1e9)                 # should be mask == 0
    p_attn = scores.softmax(dim=-1)
    return torch.matmul(p_attn, value), p_attn


def masked_self_attention(Q, K, V, padding_mask=None):
    mask = torch.tril(torch.ones(Q.size(-2), Q.size(-2)))
    if padding_mask is not None:
        mask = mask * padding_mask.unsqueeze(-2)
    return attention(Q, K, V, mask)
'''

EQ_ONE_CAUSAL = "def causal_mask(seq_len):\n    return torch.tril(torch.ones(seq_len, seq_len)) == 1\n"
BMM_ONLY_MSA = '''\
def masked_self_attention(Q, K, V, padding_mask=None):
    L = Q.shape[-2]
    scores = torch.bmm(Q, K.transpose(1, 2)) / math.sqrt(Q.shape[-1])   # 3-D inputs only
    allowed = torch.tril(torch.ones(L, L, dtype=torch.bool))
    if padding_mask is not None:
        allowed = allowed & padding_mask.bool()[..., None, :]
    w = torch.softmax(scores.masked_fill(~allowed, float("-inf")), -1).masked_fill(~allowed, 0.0)
    return torch.bmm(w, V), w
'''

# ---------------------------------------------------------------- bert_heads

NUMPY_BERT = {  # in the style of "What Does BERT Look At?" (Clark et al., 2019): NumPy analysis of the weights
    "answer_get_attentions": '''\
import numpy as np

def get_attentions(model, tokenizer, text):
    enc = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc, output_attentions=True)
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    return tokens, torch.cat(list(out.attentions), dim=0).float()
''',
    "answer_head_entropy": '''\
def head_entropy(attn):
    a = np.asarray(attn, dtype=np.float64)
    plogp = np.where(a > 0, a * np.log(np.where(a > 0, a, 1.0)), 0.0)
    return -plogp.sum(axis=-1).mean(axis=-1)
''',
    "answer_token_attention": '''\
def token_attention(attn, tokens, targets):
    targets = {targets} if isinstance(targets, str) else set(targets)
    cols = [j for j, t in enumerate(tokens) if t in targets]
    if not cols:
        return torch.zeros(attn.shape[:-2], dtype=attn.dtype)
    return attn[..., cols].sum(-1).mean(-1)
''',
    "answer_offset_attention": '''\
def offset_attention(attn, offset):
    a = np.asarray(attn)
    return np.float32(np.diagonal(a, offset, axis1=-2, axis2=-1).sum(-1) / a.shape[-1])
''',
    "answer_classify_head": '''\
def classify_head(head_attn, tokens):
    positional = [float(offset_attention(head_attn, o)) for o in (-1, 1, 0)]
    special = [float(token_attention(head_attn, tokens, t)) for t in ("[CLS]", "[SEP]", [".", ","])]
    for names, scores, threshold in ((["previous", "next", "self"], positional, 0.5),
                                     (["cls", "sep", "punct"], special, 0.6)):
        best = int(np.argmax(scores))
        if scores[best] >= threshold:
            return names[best]
    return "broad" if float(head_entropy(head_attn)) / math.log(len(tokens)) >= 0.78 else "mixed"
''',
    "answer_find_head": '''\
def find_head(attn, tokens, source, target):
    missing = [w for w in (source, target) if w not in tokens]
    if missing:
        raise ValueError(f"not in the sentence: {missing}")
    grid = np.asarray(attn)[:, :, tokens.index(source), tokens.index(target)]
    layer, head = np.unravel_index(np.argmax(grid), grid.shape)
    return int(layer), int(head)
''',
    "answer_plot_attention": '''\
def plot_attention(attn, tokens, layer, head):
    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.matshow(np.asarray(attn[layer, head]), cmap="Blues")
    ax.set_xticks(range(len(tokens)))
    ax.set_xticklabels(tokens, rotation=90)
    ax.set_yticks(range(len(tokens)))
    ax.set_yticklabels(tokens)
    ax.set_title(f"layer {layer} / head {head}")
    fig.colorbar(im)
    return fig
''',
}
BUGGY_HELPERS_BERT = {  # wrong helpers under a classify_head that uses them rightly (error carried forward)
    "answer_get_attentions": '''\
def get_attentions(model, tokenizer, text):
    enc = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        attn = torch.stack(model(**enc, output_attentions=True).attentions)[:, 0]
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    return tokens[1:-1], attn[..., 1:-1, 1:-1]                        # drops [CLS] and [SEP]
''',
    "answer_head_entropy": '''\
def head_entropy(attn):
    return -(attn * torch.log2(attn.clamp_min(1e-12))).sum(-1).mean(-1)   # bits, not nats
''',
    "answer_token_attention": '''\
def token_attention(attn, tokens, targets):
    return torch.zeros(attn.shape[:-2])                               # left for later
''',
    "answer_offset_attention": '''\
def offset_attention(attn, offset):
    return torch.diagonal(attn, offset=-offset, dim1=-2, dim2=-1).sum(-1) / attn.shape[-1]
''',
    "answer_classify_head": '''\
def classify_head(head_attn, tokens):
    positional = {"previous": offset_attention(head_attn, -1), "next": offset_attention(head_attn, 1),
                  "self": offset_attention(head_attn, 0)}
    special = {"cls": token_attention(head_attn, tokens, "[CLS]"), "sep": token_attention(head_attn, tokens, "[SEP]"),
               "punct": token_attention(head_attn, tokens, [".", ","])}
    for scores, threshold in ((positional, 0.5), (special, 0.6)):
        name = max(scores, key=lambda k: float(scores[k]))
        if float(scores[name]) >= threshold:
            return name
    if float(head_entropy(head_attn)) / math.log(len(tokens)) >= 0.78:
        return "broad"
    return "mixed"
''',
    "answer_find_head": '''\
def find_head(attn, tokens, source, target):
    raise ValueError("not written yet")
''',
    "answer_plot_attention": '''\
def plot_attention(attn, tokens, layer, head):
    fig = Figure()
    ax = fig.add_subplot()
    image = ax.imshow(attn[layer, head].T)                           # keys as rows
    ax.set_xticks(range(len(tokens)), tokens, rotation=90)
    ax.set_yticks(range(len(tokens)), tokens)
    ax.set_title(f"Layer {layer}, Head {head}")
    fig.colorbar(image, ax=ax)
    return fig
''',
}
