"""Does the `bert_heads` hidden grader give full marks to right answers and name every catalogued mistake?"""
from __future__ import annotations

from pathlib import Path

import pytest

from assignments import bert_heads as key
from autograder.check import check
from support.answers import ENTROPY_LOG2, PLOT_TRANSPOSED
from support.notebooks import blank_answers, make_submission, source_notebook

pytestmark = pytest.mark.slow

SOURCE = source_notebook("bert_heads")
MANUAL = {"interpretation"}
AUTO = [q for q in key.POINTS if q not in MANUAL]

# ---------------------------------------------------------------- answer cells, as a student would write them

GET_ATTENTIONS_DROPPED = '''\
def get_attentions(model, tokenizer, text):
    inputs = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        outputs = model(**inputs, output_attentions=True)
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist())
    attn = torch.stack(outputs.attentions)[:, 0].float()
    return tokens[1:-1], attn[..., 1:-1, 1:-1]          # without [CLS] and [SEP]
'''
ENTROPY_SUMMED = '''\
def head_entropy(attn):
    return -torch.xlogy(attn, attn).sum(dim=-1).sum(dim=-1)   # summed over the queries
'''
TOKEN_ATTENTION_SWAPPED = '''\
def token_attention(attn, tokens, targets):
    targets = {targets} if isinstance(targets, str) else set(targets)
    mask = torch.tensor([token in targets for token in tokens], dtype=attn.dtype)
    from_targets = (attn * mask[:, None]).sum(dim=-2)   # the rows of the target queries
    return from_targets.mean(dim=-1)
'''
OFFSET_SWAPPED = '''\
def offset_attention(attn, offset):
    L = attn.shape[-1]
    return torch.diagonal(attn, offset=-offset, dim1=-2, dim2=-1).sum(dim=-1) / L
'''
CLASSIFY_SWAPPED = '''\
def classify_head(head_attn, tokens):
    positional = {"previous": offset_attention(head_attn, -1),
                  "next": offset_attention(head_attn, +1),
                  "self": offset_attention(head_attn, 0)}
    special = {"cls": token_attention(head_attn, tokens, "[CLS]"),
               "sep": token_attention(head_attn, tokens, "[SEP]"),
               "punct": token_attention(head_attn, tokens, [".", ","])}
    label = None
    for scores, threshold in ((positional, 0.5), (special, 0.6)):
        name = max(scores, key=lambda k: float(scores[k]))
        if label is None and float(scores[name]) >= threshold:
            label = name
    if label is None:
        label = "broad" if float(head_entropy(head_attn)) / math.log(len(tokens)) >= 0.78 else "mixed"
    return {"previous": "next", "next": "previous"}.get(label, label)
'''
FIND_HEAD_SWAPPED = '''\
def find_head(attn, tokens, source, target):
    for word in (source, target):
        if word not in tokens:
            raise ValueError(f"{word!r} is not in the sentence")
    i, j = tokens.index(target), tokens.index(source)   # target as the query
    scores = attn[:, :, i, j]
    layer, head = divmod(int(scores.argmax()), scores.shape[1])
    return layer, head
'''

ALTERNATIVES = {
    "answer_get_attentions": '''\
def get_attentions(model, tokenizer, text):
    encoded = tokenizer(text, return_tensors="pt")
    out = model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"], output_attentions=True)
    attn = torch.cat([a.detach() for a in out.attentions], dim=0)   # a batch of 1: (layers, heads, L, L)
    tokens = [tokenizer.convert_ids_to_tokens(int(i)) for i in encoded["input_ids"][0]]
    return tokens, attn
''',
    "answer_head_entropy": '''\
def head_entropy(attn):
    p = attn.double()
    plogp = torch.where(p > 0, p * torch.log(p.clamp_min(1e-300)), torch.zeros_like(p))
    return (-plogp.sum(-1)).mean(-1).to(attn.dtype)
''',
    "answer_token_attention": '''\
def token_attention(attn, tokens, targets):
    wanted = [targets] if isinstance(targets, str) else list(targets)
    columns = [j for j, token in enumerate(tokens) if token in wanted]
    return attn[..., columns].sum(dim=-1).mean(dim=-1)
''',
    "answer_offset_attention": '''\
def offset_attention(attn, offset):
    L = attn.shape[-1]
    total = torch.zeros(attn.shape[:-2], dtype=attn.dtype)
    for i in range(L):
        if 0 <= i + offset < L:
            total = total + attn[..., i, i + offset]
    return total / L
''',
    "answer_classify_head": '''\
def classify_head(head_attn, tokens):
    L = len(tokens)
    positional = [(name, float(offset_attention(head_attn, offset)))
                  for name, offset in (("previous", -1), ("next", 1), ("self", 0))]
    special = [(name, float(token_attention(head_attn, tokens, targets)))
               for name, targets in (("cls", "[CLS]"), ("sep", "[SEP]"), ("punct", (".", ",")))]
    for scored, threshold in ((positional, 0.5), (special, 0.6)):
        best = max(scored, key=lambda pair: pair[1])   # max keeps the first of equal scores
        if best[1] >= threshold:
            return best[0]
    return "broad" if L > 1 and float(head_entropy(head_attn)) / math.log(L) >= 0.78 else "mixed"
''',
    "answer_find_head": '''\
def find_head(attn, tokens, source, target):
    missing = [word for word in (source, target) if word not in tokens]
    if missing:
        raise ValueError(f"not in the sentence: {missing}")
    i, j = tokens.index(source), tokens.index(target)
    best, where = -1.0, None
    for layer in range(attn.shape[0]):
        for head in range(attn.shape[1]):
            if float(attn[layer, head, i, j]) > best:
                best, where = float(attn[layer, head, i, j]), (layer, head)
    return where
''',
    "answer_plot_attention": '''\
def plot_attention(attn, tokens, layer, head):
    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.imshow(attn[layer, head].numpy(), cmap="magma")
    ax.set_xticks(range(len(tokens)))
    ax.set_xticklabels(tokens, rotation=90)
    ax.set_yticks(range(len(tokens)))
    ax.set_yticklabels(tokens)
    ax.set_title(f"L{layer} H{head}")
    plt.colorbar(im, ax=ax)
    return fig
''',
}


def quiz_answer(quiz_id: str) -> str:
    """The key's letter for one quiz (options may be reshuffled, so tests never hard-code it)."""
    return next(q.answer for q in key.QUIZZES if q.id == quiz_id)


ALTERNATIVES["answer_quiz_head_dim"] = f'quiz_head_dim = " {quiz_answer("quiz_head_dim").lower()} "\n'
WRONG_SINK = next(letter for letter in "ABCD" if letter != quiz_answer("quiz_attention_sink"))


# ---------------------------------------------------------------- notebooks

def notebook_with(tmp_path: Path, answers: dict[str, str], name: str) -> Path:
    """The instructor notebook with the answer cells of `answers` (grade_id → source) replaced."""
    return make_submission(SOURCE, tmp_path / name / "bert_heads.ipynb", replace=answers)


def assert_named(result, question_id: str, mistake: str):
    q = result.question(question_id)
    assert q.score < q.max_score and mistake in q.mistakes, (question_id, mistake, q.score, q.mistakes, q.feedback)


# ---------------------------------------------------------------- scenarios

def test_instructor_notebook_scores_full_marks():
    """Does the instructor notebook get every automatic point, with the written answer left `manual`?"""
    result = check(SOURCE, warm=True)
    for q in result.questions:
        expected = "manual" if q.id in MANUAL else "passed"
        assert q.status == expected and not q.mistakes, (q.id, q.status, q.mistakes, q.feedback)
    assert result.score == sum(key.POINTS[q] for q in AUTO)
    assert not result.errors


def test_blank_notebook_scores_zero_without_crashing(tmp_path):
    """Does a released (blank) notebook score 0 with `not-implemented` on every automatic question?"""
    result = check(notebook_with(tmp_path, blank_answers("bert_heads"), "blank"), warm=True)
    assert result.score == 0
    for q in result.questions:
        if q.id in MANUAL:
            assert q.status == "manual"
        else:
            assert q.status == "failed" and "not-implemented" in q.mistakes, (q.id, q.status, q.mistakes)
    assert all(e.kind not in ("crash", "timeout") for e in result.errors), result.errors


def test_alternative_style_scores_full_marks(tmp_path):
    """Do loops, float64 inside, pyplot, torch.cat and a padded lower-case letter get full marks?"""
    result = check(notebook_with(tmp_path, ALTERNATIVES, "alternative"), warm=True)
    for q in result.questions:
        if q.id not in MANUAL:
            assert q.status == "passed" and not q.mistakes, (q.id, q.status, q.mistakes, q.feedback)


def test_mistakes_in_reading_measuring_finding_and_plotting_are_named(tmp_path):
    """Are special-tokens-dropped, entropy-log2, query-key-swapped (twice), offset-direction-swapped and
    plot-transposed each named on their question, and classify_head, right on those helpers, not charged again?"""
    result = check(notebook_with(tmp_path, {
        "answer_get_attentions": GET_ATTENTIONS_DROPPED, "answer_head_entropy": ENTROPY_LOG2,
        "answer_token_attention": TOKEN_ATTENTION_SWAPPED, "answer_offset_attention": OFFSET_SWAPPED,
        "answer_find_head": FIND_HEAD_SWAPPED, "answer_plot_attention": PLOT_TRANSPOSED}, "bugs-a"), warm=True)
    assert_named(result, "get_attentions", "special-tokens-dropped")
    assert_named(result, "head_entropy", "entropy-log2")
    assert_named(result, "token_attention", "query-key-swapped")
    assert_named(result, "offset_attention", "offset-direction-swapped")
    classify = result.question("classify_head")       # right on the student's own swapped helpers: carried forward
    assert classify.score == classify.max_score and "`offset_attention`" in classify.feedback, classify
    assert_named(result, "find_head", "query-key-swapped")
    assert_named(result, "plot_attention", "plot-transposed")
    assert result.question("quiz_head_dim").score == 1


def test_summed_entropy_and_swapped_labels_are_named(tmp_path):
    """Are entropy-summed-over-queries and a classify_head with previous/next swapped named, and a wrong quiz 0?"""
    result = check(notebook_with(tmp_path, {
        "answer_head_entropy": ENTROPY_SUMMED, "answer_classify_head": CLASSIFY_SWAPPED,
        "answer_quiz_attention_sink": f'quiz_attention_sink = "{WRONG_SINK}"\n'}, "bugs-b"), warm=True)
    assert_named(result, "head_entropy", "entropy-summed-over-queries")
    assert_named(result, "classify_head", "offset-direction-swapped")
    assert result.question("quiz_attention_sink").score == 0
    for qid in ("get_attentions", "token_attention", "offset_attention", "find_head", "plot_attention"):
        assert result.question(qid).status == "passed", result.question(qid)
