"""Hidden graders for `bert_heads`: reading a pretrained BERT's attention, measuring, classifying and plotting heads."""
from __future__ import annotations

import pytest
import torch

from assignments import bert_heads as key_module
from autograder.graders.bert_labels import KINDS, classify_all, decisive, gate_classify, hand_made_head
from autograder.graders.bert_probes import (
    FIND_TOKENS, PLOT_HEAD, PLOT_LAYER, TOKENS, check_colorbar, check_entropy, check_find,
    check_get_attentions, check_image, check_offset, check_tick_labels, check_title, check_tokens, expect_value_error,
    gate_find, gate_measure, keep_heatmap, real_attention, stochastic, student_plot, synthetic_plot)
from autograder.graders.checks import expect_letter
from autograder.graders.framework import question


# ---------------------------------------------------------------- get_attentions

@question("get_attentions")
def test_get_attentions_seed_sentence(student, key):
    """The seed's sentence gives the tokenizer's tokens and float32 [layers, heads, L, L] attention.
    中文: 教程的例句得到 tokenizer 给出的 tokens 和 float32 的 [layers, heads, L, L] 注意力。"""
    check_get_attentions(student, key.TEXT, "the seed's sentence")


@question("get_attentions")
def test_get_attentions_counter_sentence(student, key):
    """A second sentence ("…too wide.") is read the same way.
    中文: 第二个句子(“…too wide.”)也同样读取。"""
    check_get_attentions(student, key.COUNTER_TEXT, "“…too wide.”")


# ---------------------------------------------------------------- validity gates

@pytest.mark.parametrize("name", [pytest.param(n, marks=question(n, gate=True), id=n)
                                  for n in ("head_entropy", "token_attention", "offset_attention")])
def test_measure_answers_are_measures(student, name):
    """The answers are measures: one finite number per head, computed from the attention.
    中文: 答案是度量:每个头一个有限的数,由注意力算出。"""
    gate_measure(student, name)


@question("classify_head", gate=True)
def test_classify_head_answers_are_labels(student):
    """The answers are labels: one of the eight names, not the same for every head.
    中文: 答案是标签:八个名字之一,且不是对每个头都一样。"""
    gate_classify(student)


@question("find_head", gate=True)
def test_find_head_answers_are_heads(student):
    """The answers are heads: two ints in range, following the attention.
    中文: 答案是头:范围内的两个整数,随注意力而变。"""
    gate_find(student)


# ---------------------------------------------------------------- head_entropy

@question("head_entropy")
def test_head_entropy_one_head(student, key):
    """One head [L, L] in float64 gives one number, in nats.
    中文: 一个头 [L, L](float64)得到一个数,单位为奈特。"""
    check_entropy(student, key, stochastic((6, 6), 1, torch.float64), "[L, L]")


@question("head_entropy")
def test_head_entropy_leading_dims(student, key):
    """Any leading dims: [heads, L, L] in float32 and [layers, heads, L, L] in float64.
    中文: 任意前导维:float32 的 [heads, L, L] 和 float64 的 [layers, heads, L, L]。"""
    check_entropy(student, key, stochastic((3, 5, 5), 2), "[heads, L, L]")
    check_entropy(student, key, stochastic((2, 3, 7, 7), 3, torch.float64), "[layers, heads, L, L]")


@question("head_entropy")
def test_head_entropy_zero_weights(student, key):
    """Weights that are exactly 0 contribute 0 (0·ln 0 = 0), also in one-hot rows.
    中文: 恰为 0 的权重贡献 0(0·ln 0 = 0),one-hot 的行也是如此。"""
    attn = stochastic((4, 6, 6), 4, zeros=True)
    attn[0] = torch.eye(6)                                         # one key per query: entropy 0
    check_entropy(student, key, attn, "weights equal to 0")


@question("head_entropy", weight=0.5)
def test_head_entropy_single_token(student, key):
    """L = 1: a single key carries all the weight, so the entropy is 0.
    中文: L = 1:唯一的键拿到全部权重,所以熵为 0。"""
    check_entropy(student, key, torch.ones(2, 1, 1), "L = 1")


@question("head_entropy")
def test_head_entropy_real_attention(student, key, evidence):
    """The real attention of the seed's sentence, all layers and heads at once.
    中文: 教程例句的真实注意力,所有层和头一次算完。"""
    check_entropy(student, key, real_attention(key.TEXT)[1], "the model's attention", evidence)


# ---------------------------------------------------------------- token_attention

@question("token_attention")
def test_token_attention_single_token(student, key):
    """A single target token (a str), [heads, L, L].
    中文: 单个目标 token(一个 str),[heads, L, L]。"""
    check_tokens(student, key, stochastic((3, 8, 8), 5), TOKENS, "[CLS]", "targets = '[CLS]'")


@question("token_attention")
def test_token_attention_collections(student, key):
    """Targets as a list, a set and a token that occurs twice; float64 with more leading dims.
    中文: targets 为列表、集合,或出现两次的 token;float64,前导维更多。"""
    attn = stochastic((2, 2, 8, 8), 6, torch.float64)
    check_tokens(student, key, attn, TOKENS, [".", ","], "targets = ['.', ',']")
    check_tokens(student, key, attn, TOKENS, {"dog", "[SEP]"}, "targets = a set")
    check_tokens(student, key, attn, TOKENS, "the", "a target that occurs twice")


@question("token_attention", weight=0.5)
def test_token_attention_absent_target(student, key):
    """A target that is not in the sentence gets 0.
    中文: 句中没有的目标 token 得到 0。"""
    check_tokens(student, key, stochastic((2, 8, 8), 7), TOKENS, "zebra", "an absent target")


@question("token_attention")
def test_token_attention_real_attention(student, key):
    """The real attention: the share on [CLS] and on punctuation.
    中文: 真实注意力:落在 [CLS] 和标点上的比例。"""
    tokens, attn = real_attention(key.TEXT)
    check_tokens(student, key, attn, tokens, "[CLS]", "the model's attention, [CLS]")
    check_tokens(student, key, attn, tokens, [".", ","], "the model's attention, punctuation")


# ---------------------------------------------------------------- offset_attention

@question("offset_attention")
def test_offset_attention_previous_next_self(student, key):
    """Offsets −1, +1 and 0 on one head [L, L].
    中文: 一个头 [L, L] 上的偏移 −1、+1 和 0。"""
    attn = stochastic((7, 7), 8)
    for offset in (-1, 1, 0):
        check_offset(student, key, attn, offset, "[L, L]")


@question("offset_attention")
def test_offset_attention_leading_dims(student, key):
    """Offsets −2 and +3 on [layers, heads, L, L] in float64.
    中文: float64 的 [layers, heads, L, L] 上的偏移 −2 和 +3。"""
    attn = stochastic((2, 3, 6, 6), 9, torch.float64)
    for offset in (-2, 3):
        check_offset(student, key, attn, offset, "[layers, heads, L, L]")


@question("offset_attention", weight=0.5)
def test_offset_attention_out_of_range(student, key):
    """An offset past the sequence counts 0; for L = 1, offset 0 is 1 and offset −1 is 0.
    中文: 超出序列的偏移记为 0;L = 1 时偏移 0 为 1,偏移 −1 为 0。"""
    attn = stochastic((2, 5, 5), 10)
    for offset in (5, -7):
        check_offset(student, key, attn, offset, "out of range")
    for offset in (0, -1):
        check_offset(student, key, torch.ones(3, 1, 1), offset, "L = 1")


@question("offset_attention")
def test_offset_attention_real_attention(student, key):
    """The real attention: previous-token and next-token shares of every head.
    中文: 真实注意力:每个头落在前一个词和后一个词上的比例。"""
    attn = real_attention(key.TEXT)[1]
    for offset in (-1, 1):
        check_offset(student, key, attn, offset, "the model's attention")


# ---------------------------------------------------------------- classify_head

@question("classify_head", weight=0.5)
@pytest.mark.parametrize("index", range(len(KINDS)))
def test_classify_head_hand_made(student, key, index):
    """classify_head names a hand-made head of each of the eight kinds.
    中文: classify_head 认出八类手工构造的头中的每一类。"""
    classify_all(student, key, [(hand_made_head(KINDS[index]), TOKENS, f"hand-made head #{index + 1}")])


@question("classify_head", weight=0.5)
def test_classify_head_tie_goes_to_first_name(student, key):
    """When two patterns tie, the first name in the rule's order wins.
    中文: 两种模式打平时,取规则顺序中靠前的名字。"""
    head = torch.zeros(4, 4)
    head[0, 1] = head[1, 0] = head[2, 3] = head[3, 2] = 1.0          # previous and next both exactly 0.5
    classify_all(student, key, [(head, ["[CLS]", "a", "b", "[SEP]"], "a tie")])


@question("classify_head", weight=0.5)
def test_classify_head_random_heads(student, key):
    """Random heads from flat to sharp, float32 and float64, whose label is clear-cut.
    中文: 从平坦到尖锐、类别明确的随机头,float32 与 float64。"""
    gen = torch.Generator().manual_seed(15)
    L, cases = len(TOKENS), []
    for index, sharpness in enumerate((0.3, 1.0, 2.0, 3.0, 4.0, 6.0)):
        head = torch.softmax(sharpness * torch.randn(L, L, generator=gen, dtype=torch.float64), dim=-1)
        head = head if index % 2 else head.to(torch.float32)
        if decisive(key, head, TOKENS):
            cases.append((head, TOKENS, f"random head #{index + 1}"))
    classify_all(student, key, cases)


@question("classify_head")
def test_classify_head_real_heads(student, key):
    """Every head of the model on the seed's sentence whose label is clear-cut.
    中文: 模型在教程例句上每个类别明确的头。"""
    tokens, attn = real_attention(key.TEXT)
    classify_all(student, key, [(attn[layer, h].clone(), tokens, f"layer {layer}, head {h} of the model")
                                for layer in range(attn.shape[0]) for h in range(attn.shape[1])
                                if decisive(key, attn[layer, h], tokens)])


# ---------------------------------------------------------------- find_head

@question("find_head")
def test_find_head_synthetic(student, key):
    """The first occurrence of source (query) and target (key) decides, over [layers, heads, L, L].
    中文: 在 [layers, heads, L, L] 上,以 source(查询)和 target(键)第一次出现的位置为准。"""
    attn = stochastic((4, 6, 9, 9), 11)
    check_find(student, key, attn, FIND_TOKENS, "a", "b", "repeated tokens")
    check_find(student, key, attn, FIND_TOKENS, "d", "[CLS]", "source after target")


@question("find_head")
def test_find_head_real_attention(student, key):
    """it → animal in the seed's sentence and it → street in the "…too wide." sentence.
    中文: 教程例句中的 it → animal,以及 “…too wide.” 一句中的 it → street。"""
    for text, source, target, what in ((key.TEXT, "it", "animal", "the seed's sentence"),
                                       (key.COUNTER_TEXT, "it", "street", "“…too wide.”")):
        tokens, attn = real_attention(text)
        check_find(student, key, attn, tokens, source, target, what)


@question("find_head", weight=0.5)
def test_find_head_absent_source(student, key):
    """A source token that is not in the sentence raises ValueError.
    中文: source 不在句中时抛出 ValueError。"""
    expect_value_error(student, (stochastic((2, 3, 9, 9), 12), FIND_TOKENS, "zebra", "b"),
                       "`find_head` with a source token that is not in the sentence")


@question("find_head", weight=0.5)
def test_find_head_absent_target(student, key):
    """A target token that is not in the sentence raises ValueError.
    中文: target 不在句中时抛出 ValueError。"""
    expect_value_error(student, (stochastic((2, 3, 9, 9), 13), FIND_TOKENS, "a", "zebra"),
                       "`find_head` with a target token that is not in the sentence")


# ---------------------------------------------------------------- plot_attention

@question("plot_attention")
def test_plot_attention_image_is_the_head(student, key):
    """The heatmap shows attn[layer, head] with queries as rows.
    中文: 热图画的是 attn[layer, head],行是查询。"""
    check_image(synthetic_plot(student)[1], stochastic((5, 8, 6, 6), 14)[PLOT_LAYER, PLOT_HEAD],
                f"layer {PLOT_LAYER}, head {PLOT_HEAD}")


@question("plot_attention", weight=0.5)
def test_plot_attention_real_head(student, key, evidence):
    """The model's layer 3, head 1 on the seed's sentence.
    中文: 模型在教程例句上的层 3、头 1。"""
    tokens, attn = real_attention(key.TEXT)
    fig, heatmaps = student_plot(student, attn, tokens, 3, 1)
    keep_heatmap(evidence, fig, heatmaps)
    check_image(heatmaps, attn[3, 1], "layer 3, head 1 of the model")


@question("plot_attention", weight=0.5)
def test_plot_attention_tokens_on_both_axes(student, key):
    """The tokens label both axes.
    中文: 两个坐标轴都以 tokens 为刻度标签。"""
    check_tick_labels(synthetic_plot(student)[1])


@question("plot_attention", weight=0.5)
def test_plot_attention_title_names_layer_and_head(student, key):
    """The title names the layer and the head.
    中文: 标题写明层号和头号。"""
    check_title(synthetic_plot(student)[0])


@question("plot_attention", weight=0.5)
def test_plot_attention_has_colorbar(student, key):
    """The figure has a colour bar.
    中文: 图中有颜色条。"""
    check_colorbar(synthetic_plot(student)[0])


# ---------------------------------------------------------------- quizzes

@pytest.mark.parametrize("quiz", [pytest.param(q, marks=question(q.id), id=q.id) for q in key_module.QUIZZES])
def test_quiz(student, quiz):
    """The quiz answer is the right option.
    中文: 选择题选了正确的选项。"""
    expect_letter(student.get(quiz.id), quiz)
