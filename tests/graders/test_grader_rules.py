"""The rules behind the corpus's verdicts, one value at a time (no sandbox): a given mask's bugs named from the weights
alone, the love row divided by d_k, a head's measures at float32 precision,
(layer, head) as an array, the heatmap a viewer sees, and a quiz letter however it is written."""
from __future__ import annotations

import math

import matplotlib
import pytest
import torch

from assignments import attention_by_hand as key
from assignments import bert_heads, masked_attention
from autograder.graders.bert_probes import as_layer_head, compare_measure, heatmap_axes, stochastic
from autograder.graders.checks import expect_letter
from autograder.graders.diagnosis import distribution_signatures, weight_signatures
from autograder.graders.framework import CheckFailed
from autograder.sandbox.inside import wire

matplotlib.use("Agg")

GEN = torch.Generator().manual_seed(0)
Q, K, V = (torch.randn(2, 2, 5, 8, generator=GEN, dtype=torch.float64) for _ in range(3))
SCORES = key.attention_scores(Q, K)
PADDING = torch.tensor([[1, 1, 1, 0, 1], [1, 1, 0, 0, 0]]).view(2, 1, 1, 5)
CAUSAL = torch.tril(torch.ones(5, 5, dtype=torch.bool))
BUGS = {  # mistake id → the weights of sdpa with that bug, from (scores, keep)
    "mask-after-softmax": lambda s, keep: torch.softmax(s, -1) * keep,
    "mask-filled-with-zero": lambda s, keep: torch.softmax(s.masked_fill(~keep, 0.0), -1),
    "mask-inverted": lambda s, keep: torch.softmax(s.masked_fill(keep, -math.inf), -1),  # NaN where all are kept
}
CASES = [(m, name) for m in BUGS for name in ("padding", "causal")]


@pytest.mark.parametrize("mistake, mask_name", CASES, ids=[f"{m}:{n}" for m, n in CASES])
def test_a_given_masks_bug_is_named_from_the_weights_alone(mistake, mask_name):
    """Does an sdpa answer's mask bug get its id from the weights and the mask it was given (no variant matching)?"""
    keep = (PADDING if mask_name == "padding" else CAUSAL) != 0
    context = {"kind": "weights", "scores": SCORES, "d_k": 8, "mask": keep}
    found = weight_signatures(BUGS[mistake](SCORES, keep), context)
    assert found == [mistake], found
    assert weight_signatures(key.scaled_dot_product_attention(Q, K, V, keep)[1], context) == []


@pytest.mark.parametrize("mask_name", ["padding", "causal"])
def test_weights_scaled_after_the_softmax_are_not_masked_after_it(mask_name):
    """Are weights masked first but scaled after the softmax (softmax(QKᵀ) / √d_k: rows short of 1 too) named
    missing-scale, not mask-after-softmax?"""
    keep = (PADDING if mask_name == "padding" else CAUSAL) != 0
    raw = SCORES * math.sqrt(8)
    weights = torch.softmax(raw.masked_fill(~keep, -1e9), -1) / math.sqrt(8)
    found = weight_signatures(weights, {"kind": "weights", "scores": SCORES, "d_k": 8, "mask": keep})
    assert found == ["missing-scale"], found
    causal = {"kind": "weights", "scores": SCORES, "d_k": 8, "causal": True, "padding": None}
    assert "mask-after-softmax" not in weight_signatures(torch.softmax(raw.masked_fill(~CAUSAL, -1e9), -1) / 3, causal)


def test_the_love_row_divided_by_d_k_is_named():
    """Is the "爱" row's softmax of QKᵀ/d_k (not /√d_k) named scale-by-dk, and the right row nothing?"""
    raw = key.LOVE_QK
    assert distribution_signatures(torch.softmax(raw / key.LOVE_D_K, -1), raw, key.LOVE_D_K) == ["scale-by-dk"]
    assert distribution_signatures(key.love_weights, raw, key.LOVE_D_K) == []


def test_the_heatmap_read_is_the_one_drawn_last():
    """When pyplot code draws each call's heatmap on the same figure, is the one on top (drawn last) the one read?"""
    import matplotlib.pyplot as plt
    first, last = torch.rand(6, 6).numpy(), torch.rand(4, 4).numpy()
    plt.imshow(first)
    plt.colorbar()
    plt.imshow(last)
    plt.colorbar()
    fig = wire.decode(wire.encode(plt.gcf()))
    plt.close("all")
    heatmaps = heatmap_axes(fig)
    assert len(heatmaps) == 1 and torch.equal(heatmaps[0]["images"][0], torch.from_numpy(last))


def test_a_smoothed_entropy_is_right_in_float64_as_in_float32():
    """Does -Σ p·log(p + 1e-6), off by about L·1e-6 nats, pass on float64 heads as it does on float32 ones?"""
    for dtype in (torch.float32, torch.float64):
        attn = stochastic((2, 3, 7, 7), 3, dtype)
        smoothed = -(attn * torch.log(attn + 1e-6)).sum(-1).mean(-1)
        compare_measure(smoothed, bert_heads, "head_entropy", (attn,), f"`head_entropy` ({dtype})")


def test_layer_and_head_may_come_as_an_array_of_two():
    """Is find_head's tensor([3, 5]) (NumPy's array([3, 5]) arrives as one) the pair (3, 5), and a float pair not?"""
    assert as_layer_head(torch.tensor([3, 5]), "`find_head`") == (3, 5)
    assert as_layer_head((torch.tensor(3), 5), "`find_head`") == (3, 5)
    with pytest.raises(CheckFailed):
        as_layer_head(torch.tensor([3.0, 5.0]), "`find_head`")


@pytest.mark.parametrize("written", ["{}", " {} ", "{lower}", "({})", "{}.", "{})", "（{full}）", '"{}"'])
def test_a_quiz_letter_counts_however_it_is_written(written):
    """Is the right letter accepted lower-case, padded, bracketed, with a stop or full-width, as a human reads it?"""
    quiz = masked_attention.QUIZZES[0]
    full = chr(ord("Ａ") + ord(quiz.answer) - ord("A"))
    expect_letter(written.format(quiz.answer, lower=quiz.answer.lower(), full=full), quiz)


@pytest.mark.parametrize("written", ["", "CD", "C or D", "选 C", None, ["C"], 3])
def test_anything_but_one_letter_is_not_an_answer(written):
    """Is a quiz answer that is not one letter refused as wrong-type (not graded as some option)?"""
    with pytest.raises(CheckFailed) as refused:
        expect_letter(written, masked_attention.QUIZZES[0])
    assert refused.value.mistakes == ["wrong-type"]
