"""Hidden graders for `bert_heads`: reading a pretrained BERT's attention, measuring, classifying and plotting heads."""
from __future__ import annotations

import functools
import math
import re

import pytest
import torch

from assignments import bert_heads as key_module
from assignments.quiz import Text
from autograder.graders.checks import (as_tensor, expect_close, expect_equal, expect_figure, expect_letter,
                                       expect_pair, variant_outputs)
from autograder.graders.framework import CheckFailed, question
from autograder.probes import MODEL, TOKENIZER, StudentFailure

TOKENS = ["[CLS]", "the", "cat", ",", "the", "dog", ".", "[SEP]"]   # duplicates, punctuation and special tokens
FIND_TOKENS = ["[CLS]", "a", "b", "a", "c", "b", ".", "d", "[SEP]"]
F32, F64 = dict(atol=1e-5, rtol=1e-4), dict(atol=1e-7, rtol=1e-6)


# ---------------------------------------------------------------- inputs

@functools.cache
def _model():
    """The key's own pretrained model and tokenizer, loaded once per grading process."""
    return key_module.load_model()


@functools.cache
def _real(text: str) -> tuple[list[str], torch.Tensor]:
    """The key's (tokens, attn [layers, heads, L, L]) for a sentence."""
    model, tokenizer = _model()
    return key_module.get_attentions(model, tokenizer, text)


def _stochastic(shape: tuple, seed: int, dtype=torch.float32, zeros: bool = False) -> torch.Tensor:
    """Random row-stochastic weights (Dirichlet(1) rows); with `zeros`, about a third of the entries are exactly 0."""
    gen = torch.Generator().manual_seed(seed)
    weights = -torch.rand(shape, generator=gen, dtype=torch.float64).log()        # exponential samples
    if zeros:
        weights = weights * (torch.rand(shape, generator=gen, dtype=torch.float64) > 0.35)
        weights[..., 0] += 1e-3                                                    # no row is all zero
    return (weights / weights.sum(-1, keepdim=True)).to(dtype)


def _check_measure(student, key, name: str, args: tuple, what: str, context: dict | None = None):
    """Compare a measure ([..., L, L] → [...]) of the student's with the key's on the same arguments."""
    _compare_measure(student.call(name, *args), key, name, args, what, context)


def _compare_measure(got, key, name: str, args: tuple, what: str, context: dict | None = None):
    """Compare the student's value `got` of measure `name` on `args` with the key's."""
    want = getattr(key, name)(*args)
    tol = F64 if args[0].dtype == torch.float64 else F32
    expect_close(got, want, what, **tol, context=context, variants=variant_outputs(key.VARIANTS[name], *args))


# ---------------------------------------------------------------- get_attentions

def _check_get_attentions(student, key, text: str, what: str):
    tokens, attn = expect_pair(student.call("get_attentions", MODEL, TOKENIZER, text), "`get_attentions`",
                               names="tokens, attn")
    if not isinstance(tokens, (list, tuple)) or not all(isinstance(t, str) for t in tokens):
        raise CheckFailed(Text("tokens 应是字符串列表。", "tokens should be a list of strings."), ["wrong-type"])
    attn = as_tensor(attn, f"attn ({what})")
    want_tokens, want_attn = _real(text)
    model, tokenizer = _model()
    dropped = variant_outputs(key.VARIANTS["get_attentions"], model, tokenizer, text)["special-tokens-dropped"]
    if list(tokens) == dropped[0] or tuple(attn.shape) == tuple(dropped[1].shape):
        raise CheckFailed(Text(f"tokens 或 attn 缺少 [CLS]/[SEP]({what})。", f"tokens or attn lack [CLS]/[SEP] ({what})."),
                          ["special-tokens-dropped"])
    if list(tokens) != want_tokens:
        raise CheckFailed(Text(f"tokens 不是 tokenizer 对这句话给出的 WordPiece 词({what});"
                               "用 convert_ids_to_tokens 转换 input_ids。",
                               f"tokens are not the tokenizer's WordPiece tokens of the sentence ({what}); convert "
                               "the input_ids with convert_ids_to_tokens."))
    expect_close(attn, want_attn, f"attn ({what})", **F32)
    if attn.dtype != torch.float32:
        raise CheckFailed(Text(f"attn 应为 float32,得到 {attn.dtype}。", f"attn should be float32; got {attn.dtype}."),
                          ["wrong-type"])


@question("get_attentions")
def test_get_attentions_seed_sentence(student, key):
    """The seed's sentence gives the tokenizer's tokens and float32 [layers, heads, L, L] attention."""
    _check_get_attentions(student, key, key.TEXT, "the seed's sentence")


@question("get_attentions")
def test_get_attentions_counter_sentence(student, key):
    """A second sentence ("…too wide.") is read the same way."""
    _check_get_attentions(student, key, key.COUNTER_TEXT, "“…too wide.”")


# ---------------------------------------------------------------- head_entropy

def _check_entropy(student, key, attn: torch.Tensor, what: str, evidence=None):
    """Compare the student's head_entropy with the key's; with `evidence`, keep theirs (one per head) to draw."""
    got = student.call("head_entropy", attn)
    if evidence is not None and isinstance(got, torch.Tensor) and got.shape == attn.shape[:-2]:
        evidence.keep("head_entropy", "entropy", got, what=what)
    _compare_measure(got, key, "head_entropy", (attn,), f"`head_entropy` ({what})",
                     context={"kind": "entropy", "L": attn.shape[-1]})


@question("head_entropy")
def test_head_entropy_one_head(student, key):
    """One head [L, L] in float64 gives one number, in nats."""
    _check_entropy(student, key, _stochastic((6, 6), 1, torch.float64), "[L, L]")


@question("head_entropy")
def test_head_entropy_leading_dims(student, key):
    """Any leading dims: [heads, L, L] in float32 and [layers, heads, L, L] in float64."""
    _check_entropy(student, key, _stochastic((3, 5, 5), 2), "[heads, L, L]")
    _check_entropy(student, key, _stochastic((2, 3, 7, 7), 3, torch.float64), "[layers, heads, L, L]")


@question("head_entropy")
def test_head_entropy_zero_weights(student, key):
    """Weights that are exactly 0 contribute 0 (0·ln 0 = 0), also in one-hot rows."""
    attn = _stochastic((4, 6, 6), 4, zeros=True)
    attn[0] = torch.eye(6)                                         # one key per query: entropy 0
    _check_entropy(student, key, attn, "weights equal to 0")


@question("head_entropy", weight=0.5)
def test_head_entropy_single_token(student, key):
    """L = 1: a single key carries all the weight, so the entropy is 0."""
    _check_entropy(student, key, torch.ones(2, 1, 1), "L = 1")


@question("head_entropy")
def test_head_entropy_real_attention(student, key, evidence):
    """The real attention of the seed's sentence, all layers and heads at once."""
    _check_entropy(student, key, _real(key.TEXT)[1], "the model's attention", evidence)


# ---------------------------------------------------------------- token_attention

def _check_tokens(student, key, attn, tokens, targets, what: str):
    _check_measure(student, key, "token_attention", (attn, tokens, targets), f"`token_attention` ({what})")


@question("token_attention")
def test_token_attention_single_token(student, key):
    """A single target token (a str), [heads, L, L]."""
    _check_tokens(student, key, _stochastic((3, 8, 8), 5), TOKENS, "[CLS]", "targets = '[CLS]'")


@question("token_attention")
def test_token_attention_collections(student, key):
    """Targets as a list, a set and a token that occurs twice; float64 with more leading dims."""
    attn = _stochastic((2, 2, 8, 8), 6, torch.float64)
    _check_tokens(student, key, attn, TOKENS, [".", ","], "targets = ['.', ',']")
    _check_tokens(student, key, attn, TOKENS, {"dog", "[SEP]"}, "targets = a set")
    _check_tokens(student, key, attn, TOKENS, "the", "a target that occurs twice")


@question("token_attention", weight=0.5)
def test_token_attention_absent_target(student, key):
    """A target that is not in the sentence gets 0."""
    _check_tokens(student, key, _stochastic((2, 8, 8), 7), TOKENS, "zebra", "an absent target")


@question("token_attention")
def test_token_attention_real_attention(student, key):
    """The real attention: the share on [CLS] and on punctuation."""
    tokens, attn = _real(key.TEXT)
    _check_tokens(student, key, attn, tokens, "[CLS]", "the model's attention, [CLS]")
    _check_tokens(student, key, attn, tokens, [".", ","], "the model's attention, punctuation")


# ---------------------------------------------------------------- offset_attention

def _check_offset(student, key, attn, offset: int, what: str):
    _check_measure(student, key, "offset_attention", (attn, offset), f"`offset_attention` (offset {offset}, {what})")


@question("offset_attention")
def test_offset_attention_previous_next_self(student, key):
    """Offsets −1, +1 and 0 on one head [L, L]."""
    attn = _stochastic((7, 7), 8)
    for offset in (-1, 1, 0):
        _check_offset(student, key, attn, offset, "[L, L]")


@question("offset_attention")
def test_offset_attention_leading_dims(student, key):
    """Offsets −2 and +3 on [layers, heads, L, L] in float64."""
    attn = _stochastic((2, 3, 6, 6), 9, torch.float64)
    for offset in (-2, 3):
        _check_offset(student, key, attn, offset, "[layers, heads, L, L]")


@question("offset_attention", weight=0.5)
def test_offset_attention_out_of_range(student, key):
    """An offset past the sequence counts 0; for L = 1, offset 0 is 1 and offset −1 is 0."""
    attn = _stochastic((2, 5, 5), 10)
    for offset in (5, -7):
        _check_offset(student, key, attn, offset, "out of range")
    for offset in (0, -1):
        _check_offset(student, key, torch.ones(3, 1, 1), offset, "L = 1")


@question("offset_attention")
def test_offset_attention_real_attention(student, key):
    """The real attention: previous-token and next-token shares of every head."""
    attn = _real(key.TEXT)[1]
    for offset in (-1, 1):
        _check_offset(student, key, attn, offset, "the model's attention")


# ---------------------------------------------------------------- classify_head

def _pattern(kind: str) -> torch.Tensor:
    """A hand-made head [L, L] over TOKENS: 20 % spread evenly, 80 % on the keys that make the pattern."""
    L = len(TOKENS)
    if kind == "broad":
        return torch.full((L, L), 1 / L)
    head = torch.full((L, L), 0.2 / L)
    for i in range(L):
        keys = {"previous": [max(i - 1, 0)], "next": [min(i + 1, L - 1)], "self": [i], "cls": [0],
                "sep": [L - 1], "punct": [3, 6], "mixed": [2, 5]}[kind]
        head[i, keys] += 0.8 / len(keys)
    return head


KINDS = ["previous", "next", "self", "cls", "sep", "punct", "broad", "mixed"]


def _check_classify(student, key, head: torch.Tensor, tokens: list[str], what: str):
    got = student.call("classify_head", head, tokens)
    if not isinstance(got, str):
        raise CheckFailed(Text("`classify_head` 应返回字符串。", "`classify_head` should return a str."), ["wrong-type"])
    expect_equal(got, key.classify_head(head, tokens), f"`classify_head` ({what})",
                 variants=variant_outputs(key.VARIANTS["classify_head"], head, tokens))


def _decisive(key, head: torch.Tensor, tokens: list[str], margin: float = 1e-3) -> bool:
    """True when no rounding can change the key's label: every deciding number is clear of thresholds and ties."""
    positional = sorted((float(key.offset_attention(head, o)) for o in (-1, 1, 0)), reverse=True)
    special = sorted((float(key.token_attention(head, tokens, t)) for t in ("[CLS]", "[SEP]", key.PUNCT)),
                     reverse=True)
    broad = float(key.head_entropy(head)) / math.log(len(tokens))
    return (abs(positional[0] - 0.5) > margin and abs(special[0] - 0.6) > margin and abs(broad - 0.78) > margin
            and positional[0] - positional[1] > margin and special[0] - special[1] > margin)


@question("classify_head", weight=0.5)
@pytest.mark.parametrize("index", range(len(KINDS)))
def test_classify_head_hand_made(student, key, index):
    """classify_head names a hand-made head of each of the eight kinds."""
    _check_classify(student, key, _pattern(KINDS[index]), TOKENS, f"hand-made head #{index + 1}")


@question("classify_head", weight=0.5)
def test_classify_head_tie_goes_to_first_name(student, key):
    """When two patterns tie, the first name in the rule's order wins."""
    head = torch.zeros(4, 4)
    head[0, 1] = head[1, 0] = head[2, 3] = head[3, 2] = 1.0          # previous and next both exactly 0.5
    _check_classify(student, key, head, ["[CLS]", "a", "b", "[SEP]"], "a tie")


@question("classify_head", weight=0.5)
def test_classify_head_random_heads(student, key):
    """Random heads from flat to sharp, float32 and float64, whose label is clear-cut."""
    gen = torch.Generator().manual_seed(15)
    L = len(TOKENS)
    for index, sharpness in enumerate((0.3, 1.0, 2.0, 3.0, 4.0, 6.0)):
        head = torch.softmax(sharpness * torch.randn(L, L, generator=gen, dtype=torch.float64), dim=-1)
        head = head if index % 2 else head.to(torch.float32)
        if _decisive(key, head, TOKENS):
            _check_classify(student, key, head, TOKENS, f"random head #{index + 1}")


@question("classify_head")
def test_classify_head_real_heads(student, key):
    """Every head of the model on the seed's sentence whose label is clear-cut."""
    tokens, attn = _real(key.TEXT)
    heads = [(layer, h) for layer in range(attn.shape[0]) for h in range(attn.shape[1])
             if _decisive(key, attn[layer, h], tokens)]
    for layer, h in heads:
        _check_classify(student, key, attn[layer, h].clone(), tokens, f"layer {layer}, head {h} of the model")


# ---------------------------------------------------------------- find_head

def _as_layer_head(value, what: str) -> tuple:
    items = list(value) if isinstance(value, (tuple, list)) else None
    if items is not None and len(items) == 2:
        items = [int(v) if isinstance(v, torch.Tensor) and v.numel() == 1 and not v.is_floating_point() else v
                 for v in items]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            return tuple(items)
    raise CheckFailed(Text(f"{what} 应返回两个整数 (layer, head)。", f"{what} should return two integers (layer, head)."),
                      ["wrong-type"])


def _check_find(student, key, attn, tokens, source: str, target: str, what: str):
    got = _as_layer_head(student.call("find_head", attn, tokens, source, target), "`find_head`")
    expect_equal(got, tuple(key.find_head(attn, tokens, source, target)), f"`find_head` ({what})",
                 variants={m: tuple(v) for m, v in variant_outputs(key.VARIANTS["find_head"], attn, tokens,
                                                                   source, target).items()})


@question("find_head")
def test_find_head_synthetic(student, key):
    """The first occurrence of source (query) and target (key) decides, over [layers, heads, L, L]."""
    attn = _stochastic((4, 6, 9, 9), 11)
    _check_find(student, key, attn, FIND_TOKENS, "a", "b", "repeated tokens")
    _check_find(student, key, attn, FIND_TOKENS, "d", "[CLS]", "source after target")


@question("find_head")
def test_find_head_real_attention(student, key):
    """it → animal in the seed's sentence and it → street in the "…too wide." sentence."""
    for text, source, target, what in ((key.TEXT, "it", "animal", "the seed's sentence"),
                                       (key.COUNTER_TEXT, "it", "street", "“…too wide.”")):
        tokens, attn = _real(text)
        _check_find(student, key, attn, tokens, source, target, what)


def _expect_value_error(student, args: tuple, what: str):
    try:
        student.call("find_head", *args)
    except StudentFailure as exc:
        if exc.kind in ("not-implemented", "missing", "timeout", "crash"):
            raise
        if "ValueError" in str(exc):
            return
        raise CheckFailed(Text(f"{what}:应抛出 ValueError,但抛出了别的错误。",
                               f"{what}: a ValueError is expected, but another error was raised."))
    raise CheckFailed(Text(f"{what}:应抛出清楚的 ValueError,但函数返回了一个值。",
                           f"{what}: a clear ValueError is expected, but the function returned a value."))


@question("find_head", weight=0.5)
def test_find_head_absent_source(student, key):
    """A source token that is not in the sentence raises ValueError."""
    _expect_value_error(student, (_stochastic((2, 3, 9, 9), 12), FIND_TOKENS, "zebra", "b"),
                        "`find_head` with a source token that is not in the sentence")


@question("find_head", weight=0.5)
def test_find_head_absent_target(student, key):
    """A target token that is not in the sentence raises ValueError."""
    _expect_value_error(student, (_stochastic((2, 3, 9, 9), 13), FIND_TOKENS, "a", "zebra"),
                        "`find_head` with a target token that is not in the sentence")


# ---------------------------------------------------------------- plot_attention

PLOT_TOKENS = ["[CLS]", "i", "love", "ai", ".", "[SEP]"]
PLOT_LAYER, PLOT_HEAD = 4, 7


def _plot(student, attn, tokens, layer, head):
    """The student's figure, and its heatmap axes (not the colour bar's), if any."""
    fig = expect_figure(student.call("plot_attention", attn, tokens, layer, head), "`plot_attention`")
    heatmaps = [ax for ax in fig.axes if not ax["is_colorbar"] and ax["images"]]
    return fig, heatmaps


def _synthetic_plot(student):
    return _plot(student, _stochastic((5, 8, 6, 6), 14), PLOT_TOKENS, PLOT_LAYER, PLOT_HEAD)


def _check_image(heatmaps: list, head: torch.Tensor, what: str):
    if not heatmaps:
        raise CheckFailed(Text(f"图中找不到热图(用 imshow 画出这个头)({what})。",
                               f"The figure has no heatmap (draw the head with imshow) ({what})."))
    image = heatmaps[0]["images"][0].to(torch.float64)
    L = head.shape[-1]
    if image.numel() == L * L:
        image = image.reshape(L, L)
    expect_close(image, head, f"the heatmap ({what})", atol=1e-6, rtol=1e-5,
                 variants={"plot-transposed": head.transpose(-1, -2)})


@question("plot_attention")
def test_plot_attention_image_is_the_head(student, key):
    """The heatmap shows attn[layer, head] with queries as rows."""
    attn = _stochastic((5, 8, 6, 6), 14)
    _, heatmaps = _plot(student, attn, PLOT_TOKENS, PLOT_LAYER, PLOT_HEAD)
    _check_image(heatmaps, attn[PLOT_LAYER, PLOT_HEAD], f"layer {PLOT_LAYER}, head {PLOT_HEAD}")


@question("plot_attention", weight=0.5)
def test_plot_attention_real_head(student, key, evidence):
    """The model's layer 3, head 1 on the seed's sentence."""
    tokens, attn = _real(key.TEXT)
    fig, heatmaps = _plot(student, attn, tokens, 3, 1)
    if heatmaps and heatmaps[0]["images"][0].ndim == 2:                 # their own picture, as the grader reads it
        ax = heatmaps[0]
        evidence.keep("plot_attention", "heatmap", ax["images"][0], xticklabels=ax["xticklabels"],
                      yticklabels=ax["yticklabels"], title=ax["title"] or fig.suptitle)
    _check_image(heatmaps, attn[3, 1], "layer 3, head 1 of the model")


@question("plot_attention", weight=0.5)
def test_plot_attention_tokens_on_both_axes(student, key):
    """The tokens label both axes."""
    _, heatmaps = _synthetic_plot(student)
    if not heatmaps or heatmaps[0]["xticklabels"] != PLOT_TOKENS or heatmaps[0]["yticklabels"] != PLOT_TOKENS:
        raise CheckFailed(Text("两个坐标轴的刻度标签都应是 tokens(每个 token 一个刻度)。",
                               "Both axes should have the tokens as tick labels (one tick per token)."))


@question("plot_attention", weight=0.5)
def test_plot_attention_title_names_layer_and_head(student, key):
    """The title names the layer and the head."""
    fig, heatmaps = _synthetic_plot(student)
    title = " ".join([fig.suptitle] + [ax["title"] for ax in fig.axes])
    numbers = {int(n) for n in re.findall(r"\d+", title)}
    if not ({PLOT_LAYER, PLOT_HEAD} <= numbers or {PLOT_LAYER + 1, PLOT_HEAD + 1} <= numbers):
        raise CheckFailed(Text("标题应写明层号和头号。", "The title should name the layer and the head."))


@question("plot_attention", weight=0.5)
def test_plot_attention_has_colorbar(student, key):
    """The figure has a colour bar."""
    fig, _ = _synthetic_plot(student)
    if not any(ax["is_colorbar"] for ax in fig.axes):
        raise CheckFailed(Text("图中应有颜色条(fig.colorbar)。", "The figure should have a colour bar (fig.colorbar)."))


# ---------------------------------------------------------------- quizzes

@pytest.mark.parametrize("quiz", [pytest.param(q, marks=question(q.id), id=q.id) for q in key_module.QUIZZES])
def test_quiz(student, quiz):
    """The quiz answer is the right option."""
    expect_letter(student.get(quiz.id), quiz)
