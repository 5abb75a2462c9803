"""Student answers shared by several tests (grade_id → source), right and buggy."""

CAUSAL_MASK = {
    "triu-instead-of-tril": "def causal_mask(seq_len):\n"
                            "    return torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool))\n",
    "no-tril": "def causal_mask(seq_len):\n    return torch.ones(seq_len, seq_len, dtype=torch.bool)\n",
    "mask-inverted": "def causal_mask(seq_len):\n"
                     "    return ~torch.tril(torch.ones(seq_len, seq_len, dtype=torch.bool))\n",
}

MSA_TEMPLATE = '''\
def masked_self_attention(Q, K, V, padding_mask=None):
    L, d_k = Q.shape[-2], Q.shape[-1]
    allowed = {causal}
    if padding_mask is not None:
        allowed = allowed & {padding}
    scores = {scores}
    weights = {softmax}
    return weights @ V, weights
'''

RIGHT = {
    "causal": "torch.tril(torch.ones(L, L, dtype=torch.bool))",
    "padding": "padding_mask.bool()[..., None, :]",
    "scores": "Q @ K.transpose(-2, -1) / math.sqrt(d_k)",
    "softmax": 'torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1).masked_fill(~allowed, 0.0)',
}

ENTROPY_LOG2 = '''\
def head_entropy(attn):
    return -(torch.xlogy(attn, attn) / math.log(2)).sum(dim=-1).mean(dim=-1)   # bits
'''

PLOT_TRANSPOSED = '''\
def plot_attention(attn, tokens, layer, head):
    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot()
    image = ax.imshow(attn[layer, head].T.numpy())      # keys as rows
    ax.set_xticks(range(len(tokens)), tokens, rotation=90)
    ax.set_yticks(range(len(tokens)), tokens)
    ax.set_title(f"Layer {layer}, Head {head}")
    fig.colorbar(image, ax=ax)
    return fig
'''
