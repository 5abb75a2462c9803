"""`bert_heads` answers adapted from public analysis code (bertviz, SciPy, torch.distributions, pyplot tutorials, seaborn),
one answer per question per notebook; the last notebook has one bug per helper."""
from __future__ import annotations

BERTVIZ_BERT = {
    "answer_get_attentions": '''\
def format_attention(attention, layers=None, heads=None):
    """bertviz's util.format_attention: a tuple of [1, heads, L, L] -> [layers, heads, L, L]."""
    if layers:
        attention = [attention[layer_index] for layer_index in layers]
    squeezed = []
    for layer_attention in attention:
        if len(layer_attention.shape) != 4:
            raise ValueError("The attention tensor does not have the correct number of dimensions.")
        layer_attention = layer_attention.squeeze(0)
        if heads:
            layer_attention = layer_attention[heads]
        squeezed.append(layer_attention)
    return torch.stack(squeezed)


def get_attentions(model, tokenizer, text):
    inputs = tokenizer.encode(text, return_tensors="pt")
    with torch.no_grad():
        attention = model(inputs, output_attentions=True).attentions
    return tokenizer.convert_ids_to_tokens(inputs[0]), format_attention(attention)
''',
    "answer_head_entropy": '''\
def head_entropy(attn):
    return torch.distributions.Categorical(probs=torch.as_tensor(attn)).entropy().mean(dim=-1)
''',
    "answer_token_attention": '''\
def token_attention(attn, tokens, targets):
    targets = [targets] if isinstance(targets, str) else targets
    return (attn @ torch.tensor([t in targets for t in tokens], dtype=attn.dtype)).mean(dim=-1)
''',
    "answer_offset_attention": '''\
def offset_attention(attn, offset):
    L = attn.shape[-1]
    i = torch.arange(L)
    inside = (i + offset >= 0) & (i + offset < L)          # queries whose key i + offset exists
    return attn[..., i[inside], (i + offset)[inside]].sum(dim=-1) / L
''',
    "answer_classify_head": '''\
def classify_head(head_attn, tokens):
    prev, nxt, own = (offset_attention(head_attn, o) for o in (-1, 1, 0))
    best = max(prev, nxt, own)
    if best >= 0.5:
        return "previous" if prev == best else "next" if nxt == best else "self"
    cls, sep, punct = (token_attention(head_attn, tokens, t) for t in ("[CLS]", "[SEP]", [".", ","]))
    best = max(cls, sep, punct)
    if best >= 0.6:
        return "cls" if cls == best else "sep" if sep == best else "punct"
    return "broad" if head_entropy(head_attn) / math.log(len(tokens)) >= 0.78 else "mixed"
''',
    "answer_find_head": '''\
def find_head(attn, tokens, source, target):
    i, j = tokens.index(source), tokens.index(target)      # list.index raises the ValueError
    scores = attn[:, :, i, j]
    return divmod(int(scores.argmax()), scores.shape[1])
''',
    "answer_plot_attention": '''\
def plot_attention(attn, tokens, layer, head):
    plt.figure(figsize=(6, 5))
    plt.imshow(attn[layer, head], cmap="viridis")
    plt.colorbar()
    plt.xticks(range(len(tokens)), tokens, rotation=90)
    plt.yticks(range(len(tokens)), tokens)
    plt.title(f"Layer {layer}, head {head}")
    return plt.gcf()
''',
}
SCIPY_BERT = {
    "answer_get_attentions": '''\
def get_attentions(model, tokenizer, text):
    enc = tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        outputs = model(**enc)                                 # loaded with output_attentions=True
    return tokenizer.convert_ids_to_tokens(enc.input_ids[0]), torch.cat(outputs.attentions, dim=0)
''',
    "answer_head_entropy": '''\
import numpy as np
import scipy.stats


def head_entropy(attn):
    return scipy.stats.entropy(np.asarray(attn), axis=-1).mean(axis=-1)
''',
    "answer_token_attention": '''\
def token_attention(attn, tokens, targets):
    cols = np.isin(np.array(tokens), [targets] if isinstance(targets, str) else list(targets))
    return np.asarray(attn)[..., cols].sum(axis=-1).mean(axis=-1)
''',
    "answer_offset_attention": '''\
def offset_attention(attn, offset):
    a = torch.as_tensor(attn)
    L = a.shape[-1]
    if abs(offset) >= L:
        return torch.zeros(a.shape[:-2], dtype=a.dtype)
    return torch.diagonal(a, offset=offset, dim1=-2, dim2=-1).mean(-1) * (L - abs(offset)) / L
''',
    "answer_classify_head": '''\
def classify_head(head_attn, tokens):
    a = torch.as_tensor(head_attn, dtype=torch.float64)
    L = a.shape[-1]
    pos = {"previous": a.diagonal(-1).sum() / L, "next": a.diagonal(1).sum() / L, "self": a.diagonal().sum() / L}
    cols = {"cls": ["[CLS]"], "sep": ["[SEP]"], "punct": [".", ","]}
    special = {k: a[:, [j for j, t in enumerate(tokens) if t in v]].sum() / L for k, v in cols.items()}
    for group, threshold in ((pos, 0.5), (special, 0.6)):
        name, value = max(group.items(), key=lambda kv: kv[1])
        if value >= threshold:
            return name
    h = -(a * torch.log(a.clamp_min(1e-30))).sum(-1).mean()
    return "broad" if h / math.log(L) >= 0.78 else "mixed"
''',
    "answer_find_head": '''\
def find_head(attn, tokens, source, target):
    if source not in tokens or target not in tokens:
        raise ValueError("token not found")
    i, j = tokens.index(source), tokens.index(target)
    best, where = -1.0, None
    for layer in range(attn.shape[0]):
        for head in range(attn.shape[1]):
            if attn[layer, head, i, j] > best:
                best, where = float(attn[layer, head, i, j]), (layer, head)
    return where
''',
    "answer_plot_attention": '''\
def plot_attention(attn, tokens, layer, head):
    fig, ax = plt.subplots(figsize=(6, 6))
    mesh = ax.pcolormesh(np.asarray(attn[layer, head]), cmap="viridis", vmin=0, vmax=1)
    ax.invert_yaxis()                                        # query 0 at the top, as seaborn draws it
    ax.set_xticks(np.arange(len(tokens)) + 0.5)
    ax.set_xticklabels(tokens, rotation=90)
    ax.set_yticks(np.arange(len(tokens)) + 0.5)
    ax.set_yticklabels(tokens)
    ax.set_title(f"Layer {layer + 1} Head {head + 1}")
    fig.colorbar(mesh, ax=ax)
    return fig
''',
}
SWAPPED_HELPERS_BERT = {  # one bug per helper; classify_head (the instructor's) uses them: error carried forward
    "answer_head_entropy": '''\
def head_entropy(attn):
    return -torch.xlogy(attn, attn).sum(dim=(-2, -1))          # summed over the queries
''',
    "answer_token_attention": '''\
def token_attention(attn, tokens, targets):
    targets = {targets} if isinstance(targets, str) else set(targets)
    rows = [i for i, t in enumerate(tokens) if t in targets]
    return attn[..., rows, :].sum(dim=-2).mean(dim=-1)          # the targets as queries
''',
    "answer_find_head": '''\
def find_head(attn, tokens, source, target):
    i, j = tokens.index(source), tokens.index(target)
    flat = attn[:, :, j, i].flatten()                          # target as the query
    idx = int(torch.argmax(flat))
    return idx // attn.shape[1], idx % attn.shape[1]
''',
    "answer_plot_attention": '''\
def plot_attention(attn, tokens, layer, head):
    plt.imshow(attn[layer, head])                            # on the current figure: right as the notebook shows it
    plt.xticks(range(len(tokens)), tokens, rotation=90)
    plt.yticks(range(len(tokens)), tokens)
    plt.title(f"Layer {layer} Head {head}")
    plt.colorbar()
    return plt.gcf()
''',
}
SMOOTHED_ARRAYS_BERT = {
    "answer_head_entropy": '''\
def head_entropy(attn):
    return -(attn * torch.log(attn + 1e-6)).sum(-1).mean(-1)     # smoothed: no log(0)
''',
    "answer_offset_attention": '''\
import numpy as np


def offset_attention(attn, offset):
    a = np.asarray(attn)
    return np.trace(a, offset, axis1=-2, axis2=-1) / a.shape[-1]
''',
    "answer_find_head": '''\
def find_head(attn, tokens, source, target):
    grid = np.asarray(attn)[:, :, tokens.index(source), tokens.index(target)]
    return np.array(np.unravel_index(grid.argmax(), grid.shape))   # array([layer, head]): unpacks as a pair
''',
}
SEABORN_BERT = {  # the way many tutorials write it: torch.cat, entr, diagonal, pandas + seaborn
    "answer_get_attentions": '''\
def get_attentions(model, tokenizer, text):
    model.eval()
    encoded = tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        outputs = model(**encoded, output_attentions=True)
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"].squeeze(0).tolist())
    return tokens, torch.cat(outputs.attentions, dim=0)     # batch of one: [layers, heads, L, L]
''',
    "answer_head_entropy": '''\
def head_entropy(attn):
    return torch.special.entr(attn).sum(dim=-1).mean(dim=-1)   # entr(0) = 0
''',
    "answer_token_attention": '''\
def token_attention(attn, tokens, targets):
    if isinstance(targets, str):
        targets = {targets}
    keys = [j for j, token in enumerate(tokens) if token in targets]
    return attn[..., keys].sum(dim=-1).mean(dim=-1)
''',
    "answer_offset_attention": '''\
def offset_attention(attn, offset):
    L = attn.shape[-1]
    return torch.diagonal(attn, offset=offset, dim1=-2, dim2=-1).sum(dim=-1) / L
''',
    "answer_classify_head": '''\
import numpy as np


def classify_head(head_attn, tokens):
    offsets = {"previous": -1, "next": 1, "self": 0}
    scores = {kind: float(offset_attention(head_attn, o)) for kind, o in offsets.items()}
    kind = max(scores, key=scores.get)
    if scores[kind] >= 0.5:
        return kind
    targets = {"cls": "[CLS]", "sep": "[SEP]", "punct": [".", ","]}
    scores = {kind: float(token_attention(head_attn, tokens, t)) for kind, t in targets.items()}
    kind = max(scores, key=scores.get)
    if scores[kind] >= 0.6:
        return kind
    return "broad" if float(head_entropy(head_attn)) / np.log(len(tokens)) >= 0.78 else "mixed"
''',
    "answer_find_head": '''\
def find_head(attn, tokens, source, target):
    if source not in tokens or target not in tokens:
        raise ValueError(f"{source!r} or {target!r} is not among the tokens")
    scores = attn[:, :, tokens.index(source), tokens.index(target)].numpy()
    layer, head = np.unravel_index(scores.argmax(), scores.shape)
    return layer, head
''',
    "answer_plot_attention": '''\
import pandas as pd
import seaborn as sns


def plot_attention(attn, tokens, layer, head):
    frame = pd.DataFrame(attn[layer, head].numpy(), index=tokens, columns=tokens)
    fig, ax = plt.subplots(figsize=(7, 6))
    sns.heatmap(frame, cmap="rocket_r", square=True, ax=ax)
    ax.set(xlabel="key", ylabel="query", title=f"layer {layer}, head {head}")
    return fig
''',
}
