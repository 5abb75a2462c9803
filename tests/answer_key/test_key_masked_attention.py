"""Tests of the `masked_attention` answer key against F.scaled_dot_product_attention and explicit loops."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from assignments import masked_attention as key
from assignments.mistakes import MISTAKES
from support.notebooks import source_notebook

NOTEBOOK = source_notebook("masked_attention")
SHAPES = [(1, 4), (5, 3), (2, 6, 4), (2, 3, 7, 5)]   # (..., L, d): 2-D with L = 1, 2-D, 3-D, 4-D
DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: 1e-5, torch.float64: 1e-12}


def qkv(shape, dtype=torch.float64, seed=0):
    """Random Q, K, V of one shape."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g, dtype=dtype) for _ in range(3)]


def padding(lead, L, seed=0):
    """A random padding mask [*lead, L] (True = real) whose first sequence starts with padding (left padding)."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand((*lead, L), generator=g) > 0.3
    mask.view(-1, L)[0, 0] = False                       # query 0 of sequence 0 has no allowed key
    return mask


def sdpa_weights(Q, K, allowed):
    """The attention weights from F.sdpa itself: attend to V = identity."""
    eye = torch.eye(Q.size(-2), dtype=Q.dtype).expand(*Q.shape[:-1], Q.size(-2))  # (..., L, L)
    return F.scaled_dot_product_attention(Q, K, eye, attn_mask=allowed)


# ---------------------------------------------------------------- causal_mask

@pytest.mark.parametrize("L", [1, 2, 4, 7])
def test_causal_mask_equals_double_loop(L):
    """Is causal_mask(L) a bool [L, L] tensor that is True exactly where j <= i?"""
    expected = torch.tensor([[j <= i for j in range(L)] for i in range(L)])
    mask = key.causal_mask(L)
    assert mask.dtype == torch.bool and mask.shape == (L, L)
    assert torch.equal(mask, expected)


# ---------------------------------------------------------------- masked_self_attention vs F.sdpa

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_key_matches_sdpa_causal(shape, dtype):
    """Does the key agree with F.sdpa(is_causal=True), outputs and weights, for this shape and dtype?"""
    Q, K, V = qkv(shape, dtype)
    output, weights = key.masked_self_attention(Q, K, V)
    L = shape[-2]
    assert output.dtype == weights.dtype == dtype
    assert weights.shape == (*shape[:-1], L)
    expected = F.scaled_dot_product_attention(Q, K, V, is_causal=True)
    torch.testing.assert_close(output, expected, atol=TOL[dtype], rtol=TOL[dtype])
    torch.testing.assert_close(weights, sdpa_weights(Q, K, key.causal_mask(L)), atol=TOL[dtype], rtol=TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES[1:])
def test_key_matches_sdpa_with_padding(shape, dtype):
    """With a padding mask, does the key agree with F.sdpa given the explicit boolean mask, on rows with an allowed key?"""
    Q, K, V = qkv(shape, dtype, seed=1)
    L = shape[-2]
    pad = padding(shape[:-2], L, seed=1)
    allowed = key.causal_mask(L) & pad[..., None, :]                  # (..., L, L)
    has_key = allowed.any(-1)                                          # (..., L)
    output, weights = key.masked_self_attention(Q, K, V, padding_mask=pad)
    expected = F.scaled_dot_product_attention(Q, K, V, attn_mask=allowed)
    torch.testing.assert_close(output[has_key], expected[has_key], atol=TOL[dtype], rtol=TOL[dtype])
    torch.testing.assert_close(weights[has_key], sdpa_weights(Q, K, allowed)[has_key],
                               atol=TOL[dtype], rtol=TOL[dtype])


def test_padding_mask_broadcasts_over_heads():
    """Does a padding mask [B, 1, L] apply to every head of a [B, H, L, d] input, like F.sdpa's?"""
    Q, K, V = qkv((2, 3, 6, 4), seed=2)
    pad = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])[:, None, :]  # (B, 1, L), right padding
    allowed = key.causal_mask(6) & pad[..., None, :]                         # (B, 1, L, L)
    output, _ = key.masked_self_attention(Q, K, V, padding_mask=pad)
    torch.testing.assert_close(output, F.scaled_dot_product_attention(Q, K, V, attn_mask=allowed))


# ---------------------------------------------------------------- properties

@pytest.mark.parametrize("shape", SHAPES)
def test_upper_triangle_zero_and_rows_sum_to_one(shape):
    """Is the upper triangle of the weights exactly 0, and does every row sum to 1?"""
    _, weights = key.masked_self_attention(*qkv(shape, seed=3))
    future = ~key.causal_mask(shape[-2])
    assert torch.all(weights[..., future] == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(shape[:-1], dtype=weights.dtype))


@pytest.mark.parametrize("t", [1, 3, 5])
def test_future_token_never_changes_past_output(t):
    """Does changing token t (its query, key and value) leave every output before t bit-for-bit unchanged?"""
    Q, K, V = qkv((2, 6, 4), seed=4)
    before, _ = key.masked_self_attention(Q, K, V)
    Q2, K2, V2 = Q.clone(), K.clone(), V.clone()
    for X in (Q2, K2, V2):
        X[:, t:] = torch.randn_like(X[:, t:]) * 10
    after, _ = key.masked_self_attention(Q2, K2, V2)
    assert torch.equal(before[:, :t], after[:, :t])
    assert not torch.equal(before[:, t:], after[:, t:])


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_fully_masked_rows_are_zero_not_nan(dtype):
    """Does a query with no allowed key get all-zero weights and a zero output (never NaN), even in float16?"""
    Q, K, V = qkv((3, 5, 4), dtype, seed=5)
    pad = padding((3,), 5, seed=5)
    pad[1, :2] = False                                               # sequence 1: queries 0 and 1 see nothing
    output, weights = key.masked_self_attention(Q, K, V, padding_mask=pad)
    assert not output.isnan().any() and not weights.isnan().any()
    empty = ~(key.causal_mask(5) & pad[..., None, :]).any(-1)       # (B, L)
    assert empty[0, 0] and empty[1, 1]
    assert torch.all(weights[empty] == 0) and torch.all(output[empty] == 0)
    torch.testing.assert_close(weights[~empty].sum(-1), torch.ones((~empty).sum(), dtype=dtype))


def test_padding_keys_get_no_weight():
    """Is every padding key given exactly 0 weight by every query?"""
    Q, K, V = qkv((4, 6, 3), seed=6)
    pad = padding((4,), 6, seed=6)
    _, weights = key.masked_self_attention(Q, K, V, padding_mask=pad)
    assert torch.all(weights.transpose(-2, -1)[~pad] == 0)


def test_key_does_not_call_forbidden_api(monkeypatch):
    """Does the key run with F.scaled_dot_product_attention and nn.MultiheadAttention disabled?"""
    def forbidden(*args, **kwargs):
        raise AssertionError("forbidden API called")
    monkeypatch.setattr(F, "scaled_dot_product_attention", forbidden)
    monkeypatch.setattr(torch.nn.MultiheadAttention, "forward", forbidden)
    key.masked_self_attention(*qkv((2, 5, 4)), padding_mask=padding((2,), 5))


# ---------------------------------------------------------------- variants

def test_causal_mask_variants_differ():
    """Does every causal_mask variant return a mask different from the key's?"""
    for mistake, variant in key.VARIANTS["causal_mask"].items():
        assert not torch.equal(variant(5), key.causal_mask(5)), mistake


@pytest.mark.parametrize("question", ["masked_self_attention", "padding_mask"])
def test_attention_variants_differ(question):
    """Does every variant of this question give outputs or weights different from the key on random inputs?"""
    Q, K, V = qkv((3, 6, 4), seed=7)
    pad = padding((3,), 6, seed=7) if question == "padding_mask" else None
    out, weights = key.masked_self_attention(Q, K, V, padding_mask=pad)
    for mistake, variant in key.VARIANTS[question].items():
        v_out, v_weights = variant(Q, K, V, padding_mask=pad)
        assert v_out.shape == out.shape and v_weights.shape == weights.shape, mistake
        same = torch.allclose(v_out, out, atol=1e-6) and torch.allclose(v_weights, weights, atol=1e-6)
        assert not same, mistake


def test_variant_ids_are_catalogued_mistakes():
    """Is every variant keyed by a question id of POINTS and a mistake id SPEC §5 lists for it?"""
    attention_ids = {"missing-scale", "scale-by-dk", "softmax-wrong-dim", "transposed-scores", "mask-inverted"}
    mask_ids = {"triu-instead-of-tril", "no-tril", "mask-after-softmax", "mask-filled-with-zero",
                "mask-inverted", "padding-ignored", "nan-on-fully-masked-row"}
    allowed = {"causal_mask": mask_ids, "masked_self_attention": mask_ids | attention_ids, "padding_mask": mask_ids}
    assert set(key.VARIANTS) == set(allowed)
    for question, variants in key.VARIANTS.items():
        assert set(variants) <= allowed[question] and set(variants) <= set(MISTAKES), question


# ---------------------------------------------------------------- points and quizzes

def test_points_match_spec():
    """Do POINTS hold SPEC §3's questions and points, in notebook order, with at least 3 one-point quizzes?"""
    graded = {"causal_mask": 2.0, "masked_self_attention": 5.0, "padding_mask": 3.0}
    assert list(key.POINTS)[:3] == list(graded)
    assert {q: key.POINTS[q] for q in graded} == graded
    quizzes = [q for q in key.POINTS if q.startswith("quiz_")]
    assert len(quizzes) >= 3 and all(key.POINTS[q] == 1.0 for q in quizzes)
    assert set(key.POINTS) == set(graded) | set(quizzes)


def test_quizzes_match_points():
    """Is every quiz a 1-point POINTS entry with options A–D, bilingual text and feedback for each wrong option?"""
    ids = [quiz.id for quiz in key.QUIZZES]
    assert ids == [q for q in key.POINTS if q.startswith("quiz_")]
    for quiz in key.QUIZZES:
        assert list(quiz.options) == ["A", "B", "C", "D"], quiz.id
        texts = [quiz.question, *quiz.options.values(), *quiz.feedback.values()]
        assert all(t.zh and t.en and t.zh != t.en for t in texts), quiz.id


def test_notebook_matches_key():
    """Does the instructor notebook grade exactly POINTS (ids, points, order) with the quiz answers of QUIZZES?"""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    meta = [c["metadata"].get("nbgrader", {}) for c in cells]
    graded = [(m["grade_id"], m["points"]) for m in meta if m.get("grade")]
    assert graded == list(key.POINTS.items())
    sources = {m.get("grade_id"): "".join(c["source"]) for m, c in zip(meta, cells)}
    for quiz in key.QUIZZES:
        assert f'{quiz.id} = "{quiz.answer}"' in sources[f"answer_{quiz.id}"], quiz.id
        assert quiz.question.zh in sources[f"md_{quiz.id}"] and quiz.question.en in sources[f"md_{quiz.id}"]
