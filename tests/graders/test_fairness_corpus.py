"""Does every answer of the corpus (tests/graders/corpus_answers.py, and corpus_public.py / corpus_public_bert.py:
code adapted from public repositories), written the ways people write attention, get the verdict a human grader
would give: full marks in any reasonable style, 0 for answers that are not results, one bug charged once (error
carried forward, a dtype or float64 precision lost in one check), and the mistake named?

Each notebook is graded once (warm, module-scoped); each verdict is one test.
"""
from __future__ import annotations

import pytest

import corpus_answers as A
import corpus_public as P
import corpus_public_bert as PB
from autograder.check import check
from support.notebooks import make_submission, source_notebook

pytestmark = pytest.mark.slow

SDPA = "answer_scaled_dot_product_attention"
SDPA_WEIGHT = 10.5
"""The checks' total weight of sdpa: one failed check costs its share."""
NOTEBOOKS = {  # name: (assignment, answer cells by grade_id)
    "einsum-numpy": ("attention_by_hand", {"answer_scaled_dot_product_attention": A.EINSUM_SDPA, **A.NUMPY_BY_HAND}),
    "baddbmm-tuples": ("attention_by_hand", {"answer_scaled_dot_product_attention": A.BADDBMM_SDPA,
                                             **A.TUPLE_BY_HAND}),
    "unscaled-seed-table": ("attention_by_hand", {"answer_scaled_dot_product_attention": A.UNSCALED_SDPA,
                                                  **A.SEED_MISTAKES_BY_HAND}),
    "nanogpt": ("masked_attention", {"answer_causal_mask": A.ARANGE_CAUSAL,
                                     "answer_masked_self_attention": A.NANOGPT_MSA}),
    "hf-additive": ("masked_attention", {"answer_causal_mask": A.TRIL_BOOL_CAUSAL,
                                         "answer_masked_self_attention": A.HF_ADDITIVE_MSA}),
    "d2l-triu-helper": ("masked_attention", {"answer_causal_mask": A.TRIU_CAUSAL,
                                             "answer_masked_self_attention": A.D2L_MSA}),
    "all-zero": ("masked_attention", {"answer_causal_mask": A.NOT_TRIU_CAUSAL,
                                      "answer_masked_self_attention": A.ZERO_MSA}),
    "anything": ("masked_attention", {"answer_causal_mask": A.FLOAT_CAUSAL,
                                      "answer_masked_self_attention": A.ANYTHING_MSA}),
    "annotated-inverted": ("masked_attention", {"answer_causal_mask": A.METHOD_TRIL_CAUSAL,
                                                "answer_masked_self_attention": A.ANNOTATED_INVERTED_MSA}),
    "bmm-3d-only": ("masked_attention", {"answer_causal_mask": A.EQ_ONE_CAUSAL,
                                         "answer_masked_self_attention": A.BMM_ONLY_MSA}),
    "numpy-bert": ("bert_heads", A.NUMPY_BERT),
    "buggy-helpers": ("bert_heads", A.BUGGY_HELPERS_BERT),
    "hf-eager-math-exp": ("attention_by_hand", {SDPA: P.HF_EAGER_SDPA, **P.MATH_EXP_BY_HAND}),
    "numpy-columns": ("attention_by_hand", {SDPA: P.NUMPY_SDPA, **P.COLUMNS_BY_HAND}),
    "loops-over-dk": ("attention_by_hand", {SDPA: P.LOOPS_SDPA, **P.OVER_DK_BY_HAND}),
    "d2l-class-code": ("attention_by_hand", {SDPA: P.D2L_CLASS_SDPA, **P.CODE_BY_HAND}),
    "after-softmax": ("attention_by_hand", {SDPA: P.AFTER_SOFTMAX_SDPA}),
    "inverted-inf": ("attention_by_hand", {SDPA: P.INVERTED_INF_SDPA}),
    "gpt2-where": ("masked_attention", {"answer_causal_mask": P.TRIL_INPLACE_CAUSAL,
                                        "answer_masked_self_attention": P.GPT2_WHERE_MSA}),
    "blocked-xtransformers": ("masked_attention", {"answer_causal_mask": P.BLOCKED_CAUSAL,
                                                   "answer_masked_self_attention": P.XTRANSFORMERS_MSA}),
    "llama": ("masked_attention", {"answer_causal_mask": P.LLAMA_CAUSAL, "answer_masked_self_attention": P.LLAMA_MSA}),
    "bertviz-categorical": ("bert_heads", PB.BERTVIZ_BERT),
    "scipy-pcolormesh": ("bert_heads", PB.SCIPY_BERT),
    "swapped-current-figure": ("bert_heads", PB.SWAPPED_HELPERS_BERT),
    "smoothed-arrays": ("bert_heads", PB.SMOOTHED_ARRAYS_BERT),
    "seaborn-dataframe": ("bert_heads", PB.SEABORN_BERT),
    "einops": ("attention_by_hand", {SDPA: P.EINOPS_SDPA}),
}
PARTIAL = "partial"
"""More than 0, less than the question's points."""

VERDICTS = [  # (notebook, question, score, mistake ids that must be named, words the feedback must contain)
    ("einsum-numpy", "sdpa", 5, [], ""),
    ("einsum-numpy", "by_hand_scores", 1, [], ""),
    ("einsum-numpy", "by_hand_weights", 1, [], ""),
    ("einsum-numpy", "by_hand_output", 1, [], ""),
    ("einsum-numpy", "love_example", 2, [], ""),
    ("baddbmm-tuples", "sdpa", 5, [], ""),
    ("baddbmm-tuples", "by_hand_scores", 1, [], ""),
    ("baddbmm-tuples", "love_example", 2, [], ""),
    ("unscaled-seed-table", "sdpa", PARTIAL, ["missing-scale"], ""),
    ("unscaled-seed-table", "by_hand_scores", 0, ["missing-scale"], ""),
    ("unscaled-seed-table", "love_example", 0, ["not-a-softmax"], ""),
    ("nanogpt", "causal_mask", 2, [], ""),
    ("nanogpt", "masked_self_attention", 5, [], ""),
    ("nanogpt", "padding_mask", 3, [], ""),
    ("hf-additive", "causal_mask", 2, [], ""),
    ("hf-additive", "masked_self_attention", 5, [], ""),
    ("hf-additive", "padding_mask", PARTIAL, ["nan-on-fully-masked-row"], "the same weight on every key"),
    ("d2l-triu-helper", "causal_mask", PARTIAL, ["triu-instead-of-tril"], ""),
    ("d2l-triu-helper", "masked_self_attention", 5, [], "your own causal_mask"),
    ("d2l-triu-helper", "padding_mask", 3, [], "your own causal_mask"),
    ("all-zero", "causal_mask", 2, [], ""),
    ("all-zero", "masked_self_attention", 0, [], "this question scores 0"),
    ("all-zero", "padding_mask", 0, [], "this question scores 0"),
    ("anything", "causal_mask", PARTIAL, ["wrong-type"], ""),
    ("anything", "masked_self_attention", 0, ["wrong-type"], "this question scores 0"),
    ("anything", "padding_mask", 0, ["wrong-type"], "this question scores 0"),
    ("annotated-inverted", "causal_mask", 2, [], ""),
    ("annotated-inverted", "masked_self_attention", PARTIAL, ["mask-inverted"], ""),
    ("annotated-inverted", "padding_mask", PARTIAL, ["mask-inverted"], ""),
    ("bmm-3d-only", "causal_mask", 2, [], ""),
    ("bmm-3d-only", "masked_self_attention", PARTIAL, [], "must be a 3D tensor"),  # right where it runs: kept
    ("bmm-3d-only", "padding_mask", PARTIAL, [], "must be a 3D tensor"),
    ("numpy-bert", "get_attentions", 2, [], ""),
    ("numpy-bert", "head_entropy", 2, [], ""),
    ("numpy-bert", "token_attention", 2, [], ""),
    ("numpy-bert", "offset_attention", 2, [], ""),  # np.float32 for one head is a number of shape []
    ("numpy-bert", "classify_head", 2, [], ""),
    ("numpy-bert", "find_head", 2, [], ""),
    ("numpy-bert", "plot_attention", 2, [], ""),
    ("buggy-helpers", "get_attentions", 0, ["special-tokens-dropped"], ""),
    ("buggy-helpers", "head_entropy", PARTIAL, ["entropy-log2"], ""),  # L = 1 is 0 in any base
    ("buggy-helpers", "token_attention", 0, [], "same number for every head"),
    ("buggy-helpers", "offset_attention", PARTIAL, ["offset-direction-swapped"], ""),  # offset 0 is right
    ("buggy-helpers", "classify_head", 2, [], "`head_entropy`, `offset_attention`, `token_attention`"),
    ("buggy-helpers", "find_head", 0, [], "this question scores 0"),
    ("buggy-helpers", "plot_attention", PARTIAL, ["plot-transposed"], ""),
    # a softmax in float32 for float64 inputs (Transformers' eager attention) is right: full marks
    ("hf-eager-math-exp", "sdpa", 5, [], ""),
    ("hf-eager-math-exp", "by_hand_weights", 1, [], ""),
    ("hf-eager-math-exp", "by_hand_output", 1, [], ""),
    ("hf-eager-math-exp", "love_example", 2, [], ""),  # an np.float32 array
    # np.sqrt's float64 scalar makes a float32 answer float64: the float32 check only
    ("numpy-columns", "sdpa", 5 * (SDPA_WEIGHT - 2) / SDPA_WEIGHT, ["wrong-type"], "keep the input's dtype"),
    ("numpy-columns", "by_hand_scores", 1, [], ""),
    ("numpy-columns", "by_hand_weights", 0, ["softmax-wrong-dim"], ""),
    ("numpy-columns", "by_hand_output", 0, ["softmax-wrong-dim"], ""),
    ("numpy-columns", "love_example", 0, ["scale-by-dk"], ""),
    # torch.tensor(python floats) is float32 whatever the inputs: the float64 check only
    ("loops-over-dk", "sdpa", 5 * (SDPA_WEIGHT - 1) / SDPA_WEIGHT, ["wrong-type"], "keep the input's dtype"),
    ("loops-over-dk", "by_hand_scores", 0, ["scale-by-dk"], ""),
    ("loops-over-dk", "by_hand_weights", 0, ["scale-by-dk"], ""),
    ("loops-over-dk", "by_hand_output", 0, ["scale-by-dk"], ""),
    ("d2l-class-code", "sdpa", 5, [], ""),
    ("d2l-class-code", "by_hand_scores", 1, [], ""),
    ("d2l-class-code", "by_hand_weights", 1, [], ""),
    ("d2l-class-code", "by_hand_output", 1, [], ""),
    ("d2l-class-code", "love_example", 2, [], ""),
    ("after-softmax", "sdpa", 5 * (SDPA_WEIGHT - 4) / SDPA_WEIGHT, ["mask-after-softmax"], ""),  # the 2 mask checks
    ("inverted-inf", "sdpa", 5 * (SDPA_WEIGHT - 4) / SDPA_WEIGHT, ["mask-inverted"], ""),
    ("gpt2-where", "causal_mask", 2, [], ""),
    ("gpt2-where", "masked_self_attention", 5, [], ""),
    ("gpt2-where", "padding_mask", 3, [], ""),
    ("blocked-xtransformers", "causal_mask", 0.25, ["mask-inverted"], ""),  # True on the future: only its dtype is right
    ("blocked-xtransformers", "masked_self_attention", 5, [], ""),
    ("blocked-xtransformers", "padding_mask", 3, [], ""),
    ("llama", "causal_mask", 2, [], ""),
    ("llama", "masked_self_attention", 5, [], ""),  # softmax(x.float()).type_as(x), as hf-eager-math-exp
    ("llama", "padding_mask", 3, [], ""),
    ("einops", "sdpa", 5, [], ""),
    *[(name, q, 2, [], "") for name in ("bertviz-categorical", "scipy-pcolormesh", "smoothed-arrays",
                                               "seaborn-dataframe")
      for q in ("get_attentions", "head_entropy", "token_attention", "offset_attention", "classify_head", "find_head",
                "plot_attention")],
    ("swapped-current-figure", "get_attentions", 2, [], ""),
    ("swapped-current-figure", "head_entropy", PARTIAL, ["entropy-summed-over-queries"], ""),  # L = 1 is right
    ("swapped-current-figure", "token_attention", 0, ["query-key-swapped"], "same number for every head"),
    ("swapped-current-figure", "offset_attention", 2, [], ""),
    ("swapped-current-figure", "classify_head", 2, [], "`head_entropy`, `token_attention`"),
    ("swapped-current-figure", "find_head", PARTIAL, ["query-key-swapped"], ""),  # absent tokens raise, as they must
    ("swapped-current-figure", "plot_attention", 2, [], ""),  # each call's heatmap drawn on top of the last
]
NOT_MISTAKES = {("annotated-inverted", "masked_self_attention"): "no-tril",
               ("inverted-inf", "sdpa"): "nan-on-fully-masked-row"}  # its NaN row comes from the inverted mask
"""Mistake ids a verdict must not name (the issue's wrong diagnoses)."""


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    """Every corpus notebook graded once, warm (one interpreter forked per notebook)."""
    results = {}
    for name, (assignment, answers) in NOTEBOOKS.items():
        notebook = make_submission(source_notebook(assignment),
                                   tmp_path_factory.mktemp(name) / f"{assignment}.ipynb", replace=answers)
        results[name] = check(notebook, warm=True)
    return results


@pytest.mark.parametrize("notebook, question, score, mistakes, mentions", VERDICTS,
                         ids=[f"{n}:{q}" for n, q, *_ in VERDICTS])
def test_verdict(graded, notebook, question, score, mistakes, mentions):
    """Does this answer get its expected score, its mistakes named and the feedback it needs?"""
    result = graded[notebook]
    q = result.question(question)
    shown = (q.score, q.status, q.mistakes, q.feedback)
    if score == PARTIAL:
        assert 0 < q.score < q.max_score, shown
    else:
        assert q.score == pytest.approx(score, abs=1e-4), shown  # scores are rounded to 4 decimals
    assert set(mistakes) <= set(q.mistakes), shown
    assert NOT_MISTAKES.get((notebook, question)) not in q.mistakes, shown
    assert mentions in q.feedback, shown
    assert not [e for e in result.errors if e.kind == "grader-error"], result.errors


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_a_bug_costs_only_its_own_questions(graded, notebook):
    """Does every auto-graded question of a corpus notebook that no verdict above lists (its answers untouched, or
    not depending on the bug) keep full marks?"""
    listed = {q for n, q, *_ in VERDICTS if n == notebook}
    lost = [(q.id, q.score, q.mistakes) for q in graded[notebook].questions
            if q.id not in listed and q.status != "manual" and q.score != q.max_score]
    assert not lost, lost


def test_corpus_is_large_enough():
    """Does the corpus hold at least 20 answers, in at least 10 notebooks' worth of styles?"""
    assert sum(len(answers) for _, answers in NOTEBOOKS.values()) >= 20
    assert len({(n, q) for n, q, *_ in VERDICTS}) == len(VERDICTS) >= 20
