"""Tests of the `attention_by_hand` answer key against F.scaled_dot_product_attention and hand-computed values."""
from __future__ import annotations

import inspect
import itertools
import json
import math
import re

import pytest
import torch
import torch.nn.functional as F

from assignments import attention_by_hand as key
from assignments.mistakes import MISTAKES
from autograder.graders import tolerances
from support.notebooks import ROOT

REPO = ROOT
SPEC = REPO.parent / "shared" / "SPEC.md"
NOTEBOOK = REPO / "source" / "attention_by_hand" / "attention_by_hand.ipynb"
DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: 1e-5, torch.float64: 1e-12}
LEADS = [(), (3,), (2, 3), (2, 2, 3)]                 # 2-D, 3-D, 4-D and 5-D inputs
HAND_TOL = tolerances.HAND_TYPED                     # SPEC: by_hand_* tolerance
LOVE_TOL = tolerances.LOVE_WEIGHTS                   # SPEC: love_example tolerance
SDPA_MISTAKES = {"missing-scale", "scale-by-dk", "softmax-wrong-dim", "transposed-scores", "mask-ignored",
                 "mask-inverted"}                   # SPEC §5 for sdpa and by_hand_*, less forbidden-api


def qkv(lead, Lq, Lk, dk, dv, dtype=torch.float64, seed=0):
    """Random Q [*lead, Lq, dk], K [*lead, Lk, dk], V [*lead, Lk, dv]."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*lead, L, d, generator=g, dtype=dtype) for L, d in [(Lq, dk), (Lk, dk), (Lk, dv)]]


def random_mask(shape, seed=0):
    """A random bool mask (True = attend) in which every query keeps key 0, so no row is fully blocked."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(shape, generator=g) > 0.4
    mask[..., 0] = True
    return mask


def oracle(Q, K, V, attn_mask=None, is_causal=False):
    """(output, weights) from F.sdpa; the weights are its output for V = identity."""
    Lk = K.size(-2)
    eye = torch.eye(Lk, dtype=Q.dtype).expand(*Q.shape[:-2], Lk, Lk)  # [..., Lk, Lk]
    return (F.scaled_dot_product_attention(Q, K, V, attn_mask=attn_mask, is_causal=is_causal),
            F.scaled_dot_product_attention(Q, K, eye, attn_mask=attn_mask, is_causal=is_causal))


def assert_matches(got, expected, dtype):
    """Both (output, weights) pairs agree in shape, dtype and values."""
    for g, e in zip(got, expected):
        assert g.shape == e.shape and g.dtype == e.dtype == dtype
        torch.testing.assert_close(g, e, atol=TOL[dtype], rtol=TOL[dtype])


# ---------------------------------------------------------------- scaled_dot_product_attention vs F.sdpa

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lead", LEADS)
def test_key_matches_sdpa_without_mask(lead, dtype):
    """Does the key agree with F.sdpa (no mask) for these leading dims, with Lq ≠ Lk and dk ≠ dv?"""
    Q, K, V = qkv(lead, 4, 6, 8, 5, dtype)
    assert_matches(key.scaled_dot_product_attention(Q, K, V), oracle(Q, K, V), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lead", LEADS)
def test_key_matches_sdpa_with_boolean_mask(lead, dtype):
    """With a random boolean [..., Lq, Lk] mask, does the key agree with F.sdpa's attn_mask (True = attend)?"""
    Q, K, V = qkv(lead, 5, 7, 8, 3, dtype, seed=1)
    mask = random_mask((*lead, 5, 7), seed=1)
    assert_matches(key.scaled_dot_product_attention(Q, K, V, mask), oracle(Q, K, V, attn_mask=mask), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("Lq, Lk", [(5, 5), (3, 6)])
def test_key_with_tril_mask_matches_is_causal(Lq, Lk, dtype):
    """Is the key with mask = tril(ones) (float 0/1) the same as F.sdpa(is_causal=True), also for Lq ≠ Lk?"""
    Q, K, V = qkv((2, 4), Lq, Lk, 8, 8, dtype, seed=2)
    tril = torch.tril(torch.ones(Lq, Lk, dtype=dtype))
    assert_matches(key.scaled_dot_product_attention(Q, K, V, tril), oracle(Q, K, V, is_causal=True), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_key_broadcasts_a_padding_mask_over_heads_and_queries(dtype):
    """Does a padding mask [B, 1, 1, Lk] (the seed's shape) broadcast like it does in F.sdpa?"""
    Q, K, V = qkv((2, 3), 4, 6, 8, 5, dtype, seed=3)
    mask = random_mask((2, 1, 1, 6), seed=3)
    assert_matches(key.scaled_dot_product_attention(Q, K, V, mask), oracle(Q, K, V, attn_mask=mask), dtype)


def test_mask_dtypes_mean_the_same():
    """Do bool, int 0/1 and float 0/1 masks give the same result (blocked where mask == 0)?"""
    Q, K, V = qkv((2,), 4, 5, 8, 8, seed=4)
    mask = random_mask((4, 5), seed=4)
    expected = key.scaled_dot_product_attention(Q, K, V, mask)
    for other in (mask.long(), mask.double()):
        for got, want in zip(key.scaled_dot_product_attention(Q, K, V, other), expected):
            assert torch.equal(got, want)


def test_blocked_keys_get_exactly_zero_weight_and_rows_sum_to_one():
    """Do blocked keys get weight 0 and every row of weights sum to 1?"""
    Q, K, V = qkv((2, 3), 6, 6, 16, 16, seed=5)
    mask = random_mask((6, 6), seed=5)
    _, weights = key.scaled_dot_product_attention(Q, K, V, mask)
    assert torch.all(weights[..., ~mask] == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 6, dtype=torch.float64))


def test_fully_blocked_row_is_uniform_with_the_seeds_minus_1e9():
    """Outside the contract, but documented: does a fully blocked row give uniform weights (fill -1e9), not NaN?"""
    Q, K, V = qkv((), 2, 4, 8, 8, seed=6)
    mask = torch.tensor([[True, False, True, True], [False] * 4])
    _, weights = key.scaled_dot_product_attention(Q, K, V, mask)
    assert key.MASK_FILL == -1e9
    torch.testing.assert_close(weights[1], torch.full((4,), 0.25, dtype=torch.float64))


def test_softmax_rows_matches_torch_softmax_and_does_not_overflow():
    """Is softmax_rows the softmax over dim=-1, also for scores far beyond exp()'s range?"""
    scores = torch.randn(3, 4, 7, dtype=torch.float64) * 1000
    torch.testing.assert_close(key.softmax_rows(scores), torch.softmax(scores, dim=-1))


def test_key_does_not_call_sdpa(monkeypatch):
    """Does the key compute attention itself, without the F.sdpa it is tested against?"""
    def forbidden(*args, **kwargs):
        raise AssertionError("the key called F.scaled_dot_product_attention")

    monkeypatch.setattr(F, "scaled_dot_product_attention", forbidden)
    Q, K, V = qkv((2,), 3, 3, 4, 4)
    key.scaled_dot_product_attention(Q, K, V, random_mask((3, 3)))


# ---------------------------------------------------------------- hand-computed values

def test_ex1_tables_equal_the_hand_computation():
    """Are the 2×2 tables what pencil and paper give (weights row 0 = [0.587479, 0.412521], output row 0 =
    [1.587479, 0.412521])?"""
    r = 1 / math.sqrt(2)
    w0 = 1 / (1 + math.exp(-0.5 * r))                 # softmax([a, b])[0] = 1 / (1 + e^(b - a)), b - a = -0.5/√2
    assert abs(w0 - 0.587479) < 1e-6
    expected = {
        "ex1_scores": [[r, 0.5 * r], [0.0, 0.5 * r]],
        "ex1_weights": [[w0, 1 - w0], [1 - w0, w0]],
        "ex1_output": [[2 * w0 + (1 - w0), 1 - w0], [2 * (1 - w0) + w0, w0]],
    }
    for name, table in expected.items():
        torch.testing.assert_close(getattr(key, name), torch.tensor(table, dtype=torch.float64), msg=name)
    torch.testing.assert_close(key.ex1_weights[0], torch.tensor([0.587479, 0.412521], dtype=torch.float64),
                               atol=1e-6, rtol=0)
    torch.testing.assert_close(key.ex1_output[0], torch.tensor([1.587479, 0.412521], dtype=torch.float64),
                               atol=1e-6, rtol=0)


def test_ex1_tables_agree_with_sdpa_on_the_seeds_tensors():
    """Do the hand tables equal F.sdpa on the seed's exercise-1 Q, K, V?"""
    output, weights = oracle(key.Q, key.K, key.V)
    torch.testing.assert_close(key.ex1_weights, weights)
    torch.testing.assert_close(key.ex1_output, output)


def test_love_weights_are_the_true_softmax_not_the_seeds_column():
    """Is love_weights the true softmax of the "爱" row (0.1763/0.2101/0.3336/0.2800), not 0.1/0.2/0.4/0.3?"""
    scores = [x / math.sqrt(64) for x in (2.1, 3.5, 7.2, 5.8)]
    exps = [math.exp(s) for s in scores]
    expected = [e / sum(exps) for e in exps]
    got = torch.as_tensor(key.love_weights, dtype=torch.float64).tolist()
    assert len(got) == 4
    assert got == pytest.approx(expected, abs=1e-12)
    assert got == pytest.approx([0.1763, 0.2101, 0.3336, 0.2800], abs=1e-3)
    assert max(abs(g - t) for g, t in zip(got, [0.1, 0.2, 0.4, 0.3])) > 0.05


# ---------------------------------------------------------------- variants

def test_variant_ids_are_catalogued_mistakes():
    """Is every variant keyed by a question id of POINTS and a mistake id SPEC §5 lists for that question?"""
    allowed = {"by_hand_scores": SDPA_MISTAKES, "by_hand_weights": SDPA_MISTAKES, "by_hand_output": SDPA_MISTAKES,
               "sdpa": SDPA_MISTAKES, "love_example": {"not-a-softmax", "missing-scale"}}
    assert set(key.VARIANTS) == set(allowed)
    for question, variants in key.VARIANTS.items():
        assert set(variants) <= allowed[question] and set(variants) <= set(MISTAKES), question
    assert set(key.VARIANTS["sdpa"]) == SDPA_MISTAKES
    assert set(key.VARIANTS["love_example"]) == {"not-a-softmax", "missing-scale"}


def test_sdpa_variants_have_the_keys_signature():
    """Can the graders call every sdpa variant exactly like the key?"""
    expected = inspect.signature(key.scaled_dot_product_attention).parameters
    for mistake, fn in key.VARIANTS["sdpa"].items():
        params = inspect.signature(fn).parameters
        assert list(params) == list(expected) and params["mask"].default is None, mistake


@pytest.mark.parametrize("dtype", DTYPES)
def test_sdpa_variants_differ_from_the_key_and_each_other(dtype):
    """On random masked inputs, does every sdpa variant give different weights from the key and the others?"""
    Q, K, V = qkv((2, 3), 5, 5, 8, 8, dtype, seed=7)
    mask = random_mask((5, 5), seed=7)
    results = {"key": key.scaled_dot_product_attention(Q, K, V, mask)}
    results |= {m: fn(Q, K, V, mask) for m, fn in key.VARIANTS["sdpa"].items()}
    for (a, (out_a, w_a)), (b, (out_b, w_b)) in itertools.combinations(results.items(), 2):
        assert (w_a - w_b).abs().max() > 1e-2 and (out_a - out_b).abs().max() > 1e-2, (a, b)


@pytest.mark.parametrize("question", ["by_hand_scores", "by_hand_weights", "by_hand_output"])
def test_hand_variants_differ_beyond_the_tolerance(question):
    """Is every by-hand variant table 2×2 and further than the 5e-3 tolerance from the key and the others?"""
    tables = {"key": getattr(key, f"ex1_{question.removeprefix('by_hand_')}")}
    tables |= key.VARIANTS[question]
    for name, table in tables.items():
        assert torch.as_tensor(table).shape == (2, 2), name
    for (a, ta), (b, tb) in itertools.combinations(tables.items(), 2):
        assert (torch.as_tensor(ta) - torch.as_tensor(tb)).abs().max() > 2 * HAND_TOL, (question, a, b)


def test_hand_variants_are_what_each_misconception_types():
    """Are the by-hand variant tables the ones the seed's 2×2 example gives with each misconception?"""
    r2 = math.sqrt(2)
    scores = key.VARIANTS["by_hand_scores"]
    torch.testing.assert_close(scores["missing-scale"], torch.tensor([[1.0, 0.5], [0.0, 0.5]], dtype=torch.float64))
    torch.testing.assert_close(scores["scale-by-dk"], torch.tensor([[0.5, 0.25], [0.0, 0.25]], dtype=torch.float64))
    torch.testing.assert_close(scores["transposed-scores"],
                               torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=torch.float64) / r2)
    column_softmax = torch.softmax(key.ex1_scores, dim=0)                      # normalises each column
    torch.testing.assert_close(key.VARIANTS["by_hand_weights"]["softmax-wrong-dim"], column_softmax)
    torch.testing.assert_close(key.VARIANTS["by_hand_output"]["softmax-wrong-dim"], column_softmax @ key.V)


def test_love_variants_differ_beyond_the_tolerance():
    """Is "not-a-softmax" the seed's s/Σs (0.11/0.19/0.39/0.31), and is every love variant > 1e-3 from the key?"""
    s = [2.1, 3.5, 7.2, 5.8]
    not_softmax = torch.as_tensor(key.VARIANTS["love_example"]["not-a-softmax"], dtype=torch.float64)
    assert not_softmax.tolist() == pytest.approx([x / sum(s) for x in s])
    assert [round(x, 1) for x in not_softmax.tolist()] == [0.1, 0.2, 0.4, 0.3]    # the seed's column
    for mistake, value in key.VARIANTS["love_example"].items():
        gap = (torch.as_tensor(value, dtype=torch.float64) - key.love_weights).abs().max()
        assert gap > 10 * LOVE_TOL, mistake


# ---------------------------------------------------------------- points, quizzes, notebook

def spec_points() -> dict[str, str]:
    """The `attention_by_hand` table of SPEC §3: question id → points as written ("1", "≥4", …)."""
    if not SPEC.exists():
        pytest.skip(f"{SPEC} not found (the shared folder sits beside the repo)")
    section = SPEC.read_text(encoding="utf-8").split("### `attention_by_hand`")[1].split("###")[0]
    return dict(re.findall(r"^\| `([a-z_*]+)` \| ([^|]+?) \|", section, flags=re.M))


def test_points_match_spec():
    """Do POINTS hold SPEC §3's questions and points, with at least 4 one-point quizzes?"""
    spec = spec_points()
    quizzes = {q: p for q, p in key.POINTS.items() if q.startswith("quiz_")}
    others = {q: p for q, p in key.POINTS.items() if not q.startswith("quiz_")}
    assert others == {q: float(p) for q, p in spec.items() if q != "quiz_*"}
    assert spec["quiz_*"] == "≥4" and len(quizzes) >= 4 and set(quizzes.values()) == {1.0}


def test_quizzes_match_points():
    """Are QUIZZES the quiz ids of POINTS, in order, bilingual, with four options and varied answers?"""
    assert [q.id for q in key.QUIZZES] == [q for q in key.POINTS if q.startswith("quiz_")]
    assert len({q.answer for q in key.QUIZZES}) >= 3
    for quiz in key.QUIZZES:
        assert list(quiz.options) == ["A", "B", "C", "D"], quiz.id
        texts = [quiz.question, *quiz.options.values(), *quiz.feedback.values()]
        assert all(t.zh.strip() and t.en.strip() for t in texts), quiz.id
        assert all(t.zh != t.en for t in [quiz.question, *quiz.feedback.values()]), quiz.id


def test_notebook_matches_key():
    """Does the instructor notebook grade exactly POINTS (ids, points, order), with QUIZZES' wording and answers?"""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    meta = [c["metadata"].get("nbgrader", {}) for c in cells]
    assert all(m.get("grade_id") for m in meta) and len({m["grade_id"] for m in meta}) == len(meta)
    graded = [(m["grade_id"], m["points"]) for m in meta if m.get("grade")]
    assert graded == list(key.POINTS.items())
    sources = {m["grade_id"]: "".join(c["source"]) for m, c in zip(meta, cells)}
    for quiz in key.QUIZZES:
        assert f'{quiz.id} = "{quiz.answer}"' in sources[f"answer_{quiz.id}"], quiz.id
        assert quiz.question.zh in sources[f"md_{quiz.id}"] and quiz.question.en in sources[f"md_{quiz.id}"]
        assert all(o.zh in sources[f"md_{quiz.id}"] and o.en in sources[f"md_{quiz.id}"] for o in quiz.options.values())
    assert "import assignments" not in "".join(sources.values())
