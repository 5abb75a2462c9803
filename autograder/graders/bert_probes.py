"""Inputs and comparisons for the `bert_heads` graders: the key's model, synthetic heads, one check per function."""
from __future__ import annotations

import functools
import re
import weakref

import torch

from assignments import bert_heads as key_module
from autograder.graders.cache import files_fingerprint, reference
from autograder.graders.checks import as_tensor, expect_close, expect_equal, expect_figure, expect_pair, variant_outputs
from autograder.graders.framework import CheckFailed
from autograder.graders.gates import expect_measure, expect_some_valid
from autograder.graders import texts, tolerances
from autograder.probes import MODEL, TOKENIZER, StudentFailure

TOKENS = ["[CLS]", "the", "cat", ",", "the", "dog", ".", "[SEP]"]   # duplicates, punctuation and special tokens
FIND_TOKENS = ["[CLS]", "a", "b", "a", "c", "b", ".", "d", "[SEP]"]
PLOT_TOKENS = ["[CLS]", "i", "love", "ai", ".", "[SEP]"]
PLOT_LAYER, PLOT_HEAD = 4, 7


# ---------------------------------------------------------------- inputs

SENTENCES = [(key_module.TEXT,), (key_module.COUNTER_TEXT,)]
"""The sentences the graders run the key's model on: its results for them are computed once and cached on disk."""


@functools.cache
def key_model():
    """The key's own pretrained model and tokenizer, loaded once per grading process."""
    return key_module.load_model()


@reference(SENTENCES, depends_on=lambda: files_fingerprint(key_module.model_path()))
def real_attention(text: str) -> tuple[list[str], torch.Tensor]:
    """The key's (tokens, attn [layers, heads, L, L]) for a sentence."""
    model, tokenizer = key_model()
    return key_module.get_attentions(model, tokenizer, text)


@reference(SENTENCES, depends_on=lambda: files_fingerprint(key_module.model_path()))
def attention_without_special_tokens(text: str) -> tuple[list[str], torch.Tensor]:
    """What the key's `special-tokens-dropped` variant returns for a sentence."""
    model, tokenizer = key_model()
    return key_module.VARIANTS["get_attentions"]["special-tokens-dropped"](model, tokenizer, text)


def stochastic(shape: tuple, seed: int, dtype=torch.float32, zeros: bool = False) -> torch.Tensor:
    """Random row-stochastic weights (Dirichlet(1) rows); with `zeros`, about a third of the entries are exactly 0."""
    gen = torch.Generator().manual_seed(seed)
    weights = -torch.rand(shape, generator=gen, dtype=torch.float64).log()        # exponential samples
    if zeros:
        weights = weights * (torch.rand(shape, generator=gen, dtype=torch.float64) > 0.35)
        weights[..., 0] += 1e-3                                                    # no row is all zero
    return (weights / weights.sum(-1, keepdim=True)).to(dtype)


# ---------------------------------------------------------------- comparisons

def check_measure(student, key, name: str, args: tuple, what: str, context: dict | None = None):
    """Compare a measure ([..., L, L] → [...]) of the student's with the key's on the same arguments."""
    compare_measure(student.call(name, *args), key, name, args, what, context)


def compare_measure(got, key, name: str, args: tuple, what: str, context: dict | None = None):
    """Compare the student's value `got` of measure `name` on `args` with the key's."""
    want = getattr(key, name)(*args)
    expect_close(got, want, what, **tolerances.FLOAT32, context=context,
                 variants=variant_outputs(key.VARIANTS[name], *args))


# ---------------------------------------------------------------- get_attentions

def check_get_attentions(student, text: str, what: str):
    """Compare the student's (tokens, attn) for `text` with the key's: special tokens, tokens, values, dtype."""
    tokens, attn = expect_pair(student.call("get_attentions", MODEL, TOKENIZER, text), "`get_attentions`",
                               names="tokens, attn")
    if not isinstance(tokens, (list, tuple)) or not all(isinstance(t, str) for t in tokens):
        raise CheckFailed(texts.TOKENS_NOT_STRINGS, ["wrong-type"])
    attn = as_tensor(attn, f"attn ({what})")
    want_tokens, want_attn = real_attention(text)
    dropped = attention_without_special_tokens(text)
    if list(tokens) == dropped[0] or tuple(attn.shape) == tuple(dropped[1].shape):
        raise CheckFailed(texts.SPECIAL_TOKENS_DROPPED.format(what=what), ["special-tokens-dropped"])
    if list(tokens) != want_tokens:
        raise CheckFailed(texts.NOT_WORDPIECE_TOKENS.format(what=what))
    expect_close(attn, want_attn, f"attn ({what})", **tolerances.FLOAT32)
    if attn.dtype != torch.float32:
        raise CheckFailed(texts.ATTN_NOT_FLOAT32.format(dtype=attn.dtype), ["wrong-type"])


# ---------------------------------------------------------------- measures

def check_entropy(student, key, attn: torch.Tensor, what: str, evidence=None):
    """Compare the student's head_entropy with the key's; with `evidence`, keep theirs (one per head) to draw."""
    got = student.call("head_entropy", attn)
    if evidence is not None and isinstance(got, torch.Tensor) and got.shape == attn.shape[:-2]:
        evidence.keep("head_entropy", "entropy", got, what=what)
    compare_measure(got, key, "head_entropy", (attn,), f"`head_entropy` ({what})",
                    context={"kind": "entropy", "L": attn.shape[-1]})


def check_tokens(student, key, attn, tokens, targets, what: str):
    """Compare the student's token_attention with the key's."""
    check_measure(student, key, "token_attention", (attn, tokens, targets), f"`token_attention` ({what})")


def check_offset(student, key, attn, offset: int, what: str):
    """Compare the student's offset_attention with the key's."""
    check_measure(student, key, "offset_attention", (attn, offset), f"`offset_attention` (offset {offset}, {what})")


def gate_measure(student, name: str) -> None:
    """The validity gate of a measure: one finite number per head, not the same for every head, and changing with attn."""
    extra = {"head_entropy": (), "token_attention": (TOKENS, "[CLS]"), "offset_attention": (-1,)}[name]
    what = f"`{name}`"

    def judge(args, value):
        got = expect_measure(value, tuple(args[0].shape[:-2]), what)
        if got.numel() > 1 and float(got.max() - got.min()) < tolerances.SAME:
            raise CheckFailed(texts.SAME_FOR_EVERY_HEAD.format(what=what))
        return [got]
    expect_some_valid(student, name, [tuple((stochastic(shape, seed), *extra) for seed in seeds)
                                      for shape, seeds in (((4, 8, 8), (51, 52)), ((8, 8), (53, 54)))], judge)


# ---------------------------------------------------------------- find_head

def gate_find(student) -> None:
    """The validity gate of find_head: two ints in range, which follow the attention when it changes."""
    def judge(args, value):
        found = as_layer_head(value, "`find_head`")
        if not (0 <= found[0] < args[0].shape[0] and 0 <= found[1] < args[0].shape[1]):
            raise CheckFailed(texts.HEAD_OUT_OF_RANGE)
        return [torch.tensor(found)]
    pair = []
    for seed, (layer, head) in ((55, (1, 4)), (56, (3, 0))):
        attn = stochastic((4, 6, 9, 9), seed) * 0.5
        attn[layer, head, 1, 2] = attn[layer, head, 2, 1] = 0.99          # "a" (1) and "b" (2), both ways
        pair.append((attn, FIND_TOKENS, "a", "b"))
    expect_some_valid(student, "find_head", [tuple(pair)], judge)


def as_layer_head(value, what: str) -> tuple:
    """The student's (layer, head) as two ints: a tuple or list of two (one-element integer tensors accepted), or an
    integer tensor or array of two, which unpacks as `layer, head = find_head(...)` unpacks a pair; CheckFailed
    otherwise."""
    if isinstance(value, torch.Tensor) and value.dim() == 1:
        value = list(value)
    items = list(value) if isinstance(value, (tuple, list)) else None
    if items is not None and len(items) == 2:
        items = [int(v) if isinstance(v, torch.Tensor) and v.numel() == 1 and not v.is_floating_point() else v
                 for v in items]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            return tuple(items)
    raise CheckFailed(texts.NOT_LAYER_AND_HEAD.format(what=what), ["wrong-type"])


def check_find(student, key, attn, tokens, source: str, target: str, what: str):
    """Compare the student's find_head with the key's."""
    got = as_layer_head(student.call("find_head", attn, tokens, source, target), "`find_head`")
    expect_equal(got, tuple(key.find_head(attn, tokens, source, target)), f"`find_head` ({what})",
                 variants={m: tuple(v) for m, v in variant_outputs(key.VARIANTS["find_head"], attn, tokens,
                                                                   source, target).items()})


def expect_value_error(student, args: tuple, what: str):
    """Check that the student's find_head raises ValueError on `args`."""
    try:
        student.call("find_head", *args)
    except StudentFailure as exc:
        if exc.kind in ("not-implemented", "missing", "timeout", "crash"):
            raise
        if "ValueError" in exc.detail:
            return
        raise CheckFailed(texts.NOT_A_VALUE_ERROR.format(what=what))
    raise CheckFailed(texts.NO_ERROR_RAISED.format(what=what))


# ---------------------------------------------------------------- plot_attention

def student_plot(student, attn, tokens, layer, head):
    """The student's figure, and its heatmap axes (`heatmap_axes`)."""
    fig = expect_figure(student.call("plot_attention", attn, tokens, layer, head), "`plot_attention`")
    return fig, heatmap_axes(fig)


def heatmap_axes(fig) -> list[dict]:
    """The figure's axes that show an image (not the colour bars'), each with its images drawn last first.

    The image drawn last is the one a viewer sees (it lies on top): pyplot code that draws on the current figure
    (`plt.imshow` without `plt.figure()`) stacks each call's heatmap on the previous ones when the grader calls it
    again and again, while the notebook closes each figure it shows."""
    return [dict(ax, images=ax["images"][::-1]) for ax in fig.axes if not ax["is_colorbar"] and ax["images"]]


_SYNTHETIC_PLOTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Student → their synthetic plot: drawn once per submission, read by several checks."""


def synthetic_plot(student):
    """The student's plot of PLOT_LAYER, PLOT_HEAD of random attention over PLOT_TOKENS."""
    if student not in _SYNTHETIC_PLOTS:
        _SYNTHETIC_PLOTS[student] = student_plot(student, stochastic((5, 8, 6, 6), 14), PLOT_TOKENS, PLOT_LAYER,
                                                 PLOT_HEAD)
    return _SYNTHETIC_PLOTS[student]


def check_image(heatmaps: list, head: torch.Tensor, what: str):
    """Compare the first heatmap's image with `head` (queries as rows)."""
    if not heatmaps:
        raise CheckFailed(texts.NO_HEATMAP.format(what=what))
    image = heatmaps[0]["images"][0].to(torch.float64)
    L = head.shape[-1]
    if image.numel() == L * L:
        image = image.reshape(L, L)
    expect_close(image, head, f"the heatmap ({what})", **tolerances.HEATMAP,
                 variants={"plot-transposed": head.transpose(-1, -2)})


def keep_heatmap(evidence, fig, heatmaps: list) -> None:
    """Keep the student's own picture, as the grader reads it, for the feedback page."""
    if heatmaps and heatmaps[0]["images"][0].ndim == 2:
        ax = heatmaps[0]
        evidence.keep("plot_attention", "heatmap", ax["images"][0], xticklabels=ax["xticklabels"],
                      yticklabels=ax["yticklabels"], title=ax["title"] or fig.suptitle)


def check_tick_labels(heatmaps: list) -> None:
    """The first heatmap has the PLOT_TOKENS as tick labels on both axes."""
    if not heatmaps or heatmaps[0]["xticklabels"] != PLOT_TOKENS or heatmaps[0]["yticklabels"] != PLOT_TOKENS:
        raise CheckFailed(texts.TICKS_ARE_NOT_TOKENS)


def check_title(fig) -> None:
    """Some title of the figure names PLOT_LAYER and PLOT_HEAD (0- or 1-based)."""
    title = " ".join([fig.suptitle] + [ax["title"] for ax in fig.axes])
    numbers = {int(n) for n in re.findall(r"\d+", title)}
    if not ({PLOT_LAYER, PLOT_HEAD} <= numbers or {PLOT_LAYER + 1, PLOT_HEAD + 1} <= numbers):
        raise CheckFailed(texts.TITLE_LACKS_LAYER_AND_HEAD)


def check_colorbar(fig) -> None:
    """The figure has a colour bar."""
    if not any(ax["is_colorbar"] for ax in fig.axes):
        raise CheckFailed(texts.NO_COLORBAR)
