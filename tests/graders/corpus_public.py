"""Answers adapted from well-known public attention code (Transformers, fairseq, LLaMA, x-transformers, GPT-2, einops,
NumPy ports, plain loops) to these exercises' signatures, right and wrong, grouped one answer per question per notebook."""
from __future__ import annotations

# ---------------------------------------------------------------- attention_by_hand: sdpa

HF_EAGER_SDPA = '''\
def scaled_dot_product_attention(Q, K, V, mask=None):
    scaling = Q.size(-1) ** -0.5                                 # Transformers' eager_attention_forward
    attn_weights = torch.matmul(Q, K.transpose(-1, -2)) * scaling
    if mask is not None:   # the 0/1 mask as an additive "extended attention mask"
        attn_weights = attn_weights + (1.0 - mask.to(Q.dtype)) * torch.finfo(Q.dtype).min
    attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float32).to(Q.dtype)
    return torch.matmul(attn_weights, V), attn_weights
'''
NUMPY_SDPA = '''\
import numpy as np


def scaled_dot_product_attention(Q, K, V, mask=None):
    q, k, v = Q.numpy(), K.numpy(), V.numpy()
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])   # np.float64 scalar: float64 from here on
    if mask is not None:
        scores = np.where(np.asarray(mask) == 0, -1e9, scores)
    scores = scores - scores.max(axis=-1, keepdims=True)
    w = np.exp(scores)
    w = w / w.sum(axis=-1, keepdims=True)
    return torch.from_numpy(w @ v), torch.from_numpy(w)
'''
LOOPS_SDPA = '''\
def scaled_dot_product_attention(Q, K, V, mask=None):
    lead = torch.broadcast_shapes(Q.shape[:-2], K.shape[:-2], V.shape[:-2])
    Lq, d_k, Lk, d_v = Q.shape[-2], Q.shape[-1], K.shape[-2], V.shape[-1]
    if mask is not None:
        lead = torch.broadcast_shapes(lead, torch.as_tensor(mask).shape[:-2])
        m = torch.as_tensor(mask).expand(*lead, Lq, Lk).reshape(-1, Lq, Lk).tolist()
    q = Q.expand(*lead, Lq, d_k).reshape(-1, Lq, d_k).tolist()
    k = K.expand(*lead, Lk, d_k).reshape(-1, Lk, d_k).tolist()
    v = V.expand(*lead, Lk, d_v).reshape(-1, Lk, d_v).tolist()
    outs, weights = [], []
    for b in range(len(q)):
        out_b, w_b = [], []
        for i in range(Lq):
            row = [sum(q[b][i][t] * k[b][j][t] for t in range(d_k)) / math.sqrt(d_k) for j in range(Lk)]
            if mask is not None:
                row = [s if m[b][i][j] else -1e9 for j, s in enumerate(row)]
            e = [math.exp(s - max(row)) for s in row]
            w = [x / sum(e) for x in e]
            w_b.append(w)
            out_b.append([sum(w[j] * v[b][j][c] for j in range(Lk)) for c in range(d_v)])
        outs.append(out_b)
        weights.append(w_b)
    out = torch.tensor(outs).reshape(*lead, Lq, d_v)               # torch's default dtype, float32
    return out, torch.tensor(weights).reshape(*lead, Lq, Lk)
'''
D2L_CLASS_SDPA = '''\
from torch import nn


def masked_softmax(X, keep=None):
    """d2l.ai's masked_softmax, with a boolean mask for its valid_lens."""
    if keep is None:
        return nn.functional.softmax(X, dim=-1)
    return nn.functional.softmax(torch.where(keep, X, torch.tensor(-1e6, dtype=X.dtype)), dim=-1)


class DotProductAttention(nn.Module):
    def __init__(self, dropout=0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries, keys, values, keep=None):
        scores = torch.matmul(queries, keys.transpose(-2, -1)) / math.sqrt(queries.shape[-1])
        self.attention_weights = masked_softmax(scores, keep)
        return torch.matmul(self.dropout(self.attention_weights), values)


def scaled_dot_product_attention(Q, K, V, mask=None):
    attention = DotProductAttention().eval()
    out = attention(Q, K, V, None if mask is None else torch.as_tensor(mask) != 0)
    return out, attention.attention_weights
'''
EINOPS_SDPA = '''\
from einops import einsum, rearrange


def scaled_dot_product_attention(Q, K, V, mask=None):
    scale = Q.shape[-1] ** -0.5                                      # lucidrains' style
    sim = einsum(Q, K, "... i d, ... j d -> ... i j") * scale
    if mask is not None:
        sim = sim.masked_fill(mask == 0, -torch.finfo(sim.dtype).max)
    attn = sim.softmax(dim=-1)
    return einsum(attn, V, "... i j, ... j d -> ... i d"), attn
'''
AFTER_SOFTMAX_SDPA = '''\
def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = torch.matmul(Q, K.transpose(-2, -1)) / math.sqrt(Q.size(-1))
    p_attn = scores.softmax(dim=-1)
    if mask is not None:
        p_attn = p_attn * (torch.as_tensor(mask) != 0)          # masked after the softmax
    return torch.matmul(p_attn, V), p_attn
'''
INVERTED_INF_SDPA = '''\
def scaled_dot_product_attention(Q, K, V, mask=None):
    att = (Q @ K.transpose(-2, -1)) * (1.0 / math.sqrt(K.size(-1)))    # minGPT
    if mask is not None:
        att = att.masked_fill(mask == 1, float("-inf"))         # should be mask == 0
    att = F.softmax(att, dim=-1)
    return att @ V, att
'''
CODE_BY_HAND = {
    "answer_ex1_scores": "ex1_scores = Q @ K.T / math.sqrt(d_k)\n",
    "answer_ex1_weights": "ex1_weights = torch.softmax(ex1_scores, dim=-1)\n",
    "answer_ex1_output": "ex1_output = ex1_weights @ V\n",
    "answer_love_weights": "love_weights = torch.softmax(torch.tensor([2.1, 3.5, 7.2, 5.8]) / 8, dim=-1)\n",
}
MATH_EXP_BY_HAND = {
    "answer_ex1_scores": "ex1_scores = [[1 / math.sqrt(2), 0.5 / math.sqrt(2)], [0.0, 0.5 / math.sqrt(2)]]\n",
    "answer_ex1_weights": ("_e = [[math.exp(s) for s in row] for row in ex1_scores]\n"
                           "ex1_weights = [[x / sum(row) for x in row] for row in _e]\n"),
    "answer_ex1_output": "ex1_output = [[2 * w[0] + w[1], w[1]] for w in ex1_weights]\n",
    "answer_love_weights": ("import numpy as np\nlove_weights = np.float32(np.exp(np.array([2.1, 3.5, 7.2, 5.8]) / 8))\n"
                            "love_weights = love_weights / love_weights.sum()\n"),
}
COLUMNS_BY_HAND = {
    "answer_ex1_weights": "ex1_weights = F.softmax(Q @ K.T / math.sqrt(d_k), dim=0)         # columns\n",
    "answer_ex1_output": "ex1_output = ex1_weights @ V\n",
    "answer_love_weights": "love_weights = torch.softmax(torch.tensor([2.1, 3.5, 7.2, 5.8]) / 64, dim=0)   # / d_k\n",
}
OVER_DK_BY_HAND = {
    "answer_ex1_scores": "ex1_scores = (Q @ K.T / d_k).tolist()\n",
    "answer_ex1_weights": "ex1_weights = torch.softmax(torch.tensor(ex1_scores), -1).tolist()\n",
    "answer_ex1_output": "ex1_output = (torch.tensor(ex1_weights) @ V).tolist()\n",
}

# ---------------------------------------------------------------- masked_attention

TRIL_INPLACE_CAUSAL = "def causal_mask(seq_len):\n    return torch.ones(seq_len, seq_len).tril_().bool()\n"
GPT2_WHERE_MSA = '''\
def masked_self_attention(Q, K, V, padding_mask=None):
    attn_weights = torch.matmul(Q, K.transpose(-1, -2))
    attn_weights = attn_weights / torch.full([], K.size(-1) ** 0.5, dtype=attn_weights.dtype)
    query_length = key_length = Q.size(-2)
    keep = causal_mask(key_length)[key_length - query_length:key_length, :key_length]   # GPT-2's bias slice
    if padding_mask is not None:
        keep = keep & padding_mask.bool()[..., None, :]
    mask_value = torch.full([], torch.finfo(attn_weights.dtype).min, dtype=attn_weights.dtype)
    attn_weights = torch.where(keep, attn_weights, mask_value)
    attn_weights = torch.nn.functional.softmax(attn_weights, dim=-1)
    attn_weights = attn_weights.masked_fill(~keep, 0.0)          # a row with no key would be uniform
    return torch.matmul(attn_weights, V), attn_weights
'''
BLOCKED_CAUSAL = ("def causal_mask(seq_len):\n"
                  "    return torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool), diagonal=1)   # the blocked\n")
XTRANSFORMERS_MSA = '''\
def masked_self_attention(Q, K, V, padding_mask=None):
    sim = torch.einsum("... i d, ... j d -> ... i j", Q, K) * Q.shape[-1] ** -0.5
    mask_value = -torch.finfo(sim.dtype).max
    i, j = sim.shape[-2:]
    causal = torch.ones((i, j), dtype=torch.bool).triu(j - i + 1)   # x-transformers: True = blocked
    sim = sim.masked_fill(causal, mask_value)
    keep = ~causal
    if padding_mask is not None:
        sim = sim.masked_fill(~padding_mask.bool()[..., None, :], mask_value)
        keep = keep & padding_mask.bool()[..., None, :]
    attn = sim.softmax(dim=-1) * keep.any(dim=-1, keepdim=True)    # rows with no allowed key: all zero
    return torch.einsum("... i j, ... j d -> ... i d", attn, V), attn
'''
LLAMA_CAUSAL = ("def causal_mask(seq_len):\n"
                "    return torch.triu(torch.full((seq_len, seq_len), float('-inf')), diagonal=1) == 0\n")
LLAMA_MSA = '''\
import torch.nn.functional as F


def masked_self_attention(Q, K, V, padding_mask=None):
    seqlen = Q.shape[-2]
    mask = torch.triu(torch.full((seqlen, seqlen), float("-inf"), dtype=Q.dtype), diagonal=1)   # LLaMA
    if padding_mask is not None:
        pad = torch.zeros(padding_mask.shape, dtype=Q.dtype).masked_fill(~padding_mask.bool(), float("-inf"))
        mask = mask + pad[..., None, :]
    scores = torch.matmul(Q, K.transpose(-2, -1)) / math.sqrt(Q.shape[-1]) + mask
    scores = F.softmax(scores.float(), dim=-1).type_as(Q)          # the softmax in float32
    scores = torch.nan_to_num(scores, nan=0.0)
    return torch.matmul(scores, V), scores
'''
