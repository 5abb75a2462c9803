"""Is `forbidden-api` given for torch's attention that actually ran or that the answer's code reaches, and only then?

SPEC §5 "Fair scores": a student's own function or class that shares a name with torch's is theirs; torch's
attention reached by any path (an alias in another cell, torch.ops.aten, torch._C._nn, nn.MultiheadAttention)
scores 0 on that question; dynamic code is flagged to the instructor, not scored.
"""
from __future__ import annotations

import pytest

from autograder.check import check
from autograder.reports.class_report import render_class_report
from autograder.reports.terminal import render_table
from autograder.submission import Cell
from autograder.submission.scan import scan_answer
from support.notebooks import make_submission, source_notebook

# ---------------------------------------------------------------- the static scan, on source strings (fast)


def scan(answer: str, *sources: str):
    return scan_answer([Cell(i, source) for i, source in enumerate(sources)], answer)


@pytest.mark.parametrize("sources, named", [
    (("import torch.nn.functional as F", "def msa(Q, K, V):\n    return F.scaled_dot_product_attention(Q, K, V)"),
     "torch.nn.functional.scaled_dot_product_attention"),
    (("from torch.nn.functional import scaled_dot_product_attention as sdpa",
      "def msa(Q, K, V):\n    return sdpa(Q, K, V)"),
     "torch.nn.functional.scaled_dot_product_attention"),
    (("import torch", "def msa(Q, K, V):\n    return torch.ops.aten._scaled_dot_product_attention_math(Q, K, V)"),
     "torch.ops.aten._scaled_dot_product_attention_math"),
    (("import torch", "def msa(Q, K, V):\n    return torch._C._nn.scaled_dot_product_attention(Q, K, V), None"),
     "torch._C._nn.scaled_dot_product_attention"),
    (("from torch import nn", "attention = nn.MultiheadAttention(4, 1)",
      "def msa(Q, K, V):\n    return attention(Q, K, V)"),
     "torch.nn.MultiheadAttention"),
    (("import torch.nn.functional as F",
      "def msa(Q, K, V):\n    return getattr(F, 'scaled_dot_product_attention')(Q, K, V)"),
     "torch.nn.functional.scaled_dot_product_attention"),
    (("from torch.nn.functional import *", "def msa(Q, K, V):\n    return scaled_dot_product_attention(Q, K, V)"),
     "torch.nn.functional.scaled_dot_product_attention"),
    (("def msa(Q, K, V):\n    import torch.nn.functional as G\n    return G.multi_head_attention_forward(Q, K, V)",),
     "torch.nn.functional.multi_head_attention_forward"),
    (("from torch.nn.functional import scaled_dot_product_attention as msa",),
     "torch.nn.functional.scaled_dot_product_attention"),
    (("import torch", "msa = torch.nn.functional.scaled_dot_product_attention"),
     "torch.nn.functional.scaled_dot_product_attention"),
    (("import torch.nn.functional as F\nfunctional = F", "sdpa = functional.scaled_dot_product_attention",
      "def helper(Q, K, V):\n    return sdpa(Q, K, V)", "def msa(Q, K, V):\n    return helper(Q, K, V)"),
     "torch.nn.functional.scaled_dot_product_attention"),
])
def test_scan_resolves_torch_attention_across_cells(sources, named):
    """Is torch's attention found whatever alias, cell or helper the answer reaches it through?"""
    assert scan("msa", *sources).forbidden == [named]


OWN_HELPER = '''import math
import torch
import torch.nn.functional as F
def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = torch.matmul(Q, K.transpose(-2, -1)) / math.sqrt(Q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)
    return torch.matmul(F.softmax(scores, dim=-1), V), F.softmax(scores, dim=-1)
'''
OWN_CLASS = '''import torch
from torch import nn
class MultiHeadAttention(nn.Module):
    def scaled_dot_product_attention(self, Q, K, V, mask=None):
        weights = torch.softmax(Q @ K.transpose(-2, -1) / Q.shape[-1] ** 0.5, dim=-1)
        return weights @ V, weights
    def forward(self, Q, K, V, mask=None):
        return self.scaled_dot_product_attention(Q, K, V, mask)
'''
COMPARES_WITH_TORCH = ("import torch.nn.functional as F\n"
                       "reference = F.scaled_dot_product_attention(Q, K, V, is_causal=True)\n"
                       "print(torch.allclose(msa(Q, K, V)[0], reference))")


@pytest.mark.parametrize("sources", [
    (OWN_HELPER, "def msa(Q, K, V):\n    return scaled_dot_product_attention(Q, K, V, torch.tril(torch.ones(4, 4)))"),
    (OWN_CLASS, "def msa(Q, K, V):\n    return MultiHeadAttention()(Q, K, V)"),
    ("import torch\ndef msa(Q, K, V):\n    return torch.softmax(Q @ K.mT, -1) @ V", COMPARES_WITH_TORCH),
    ("import torch.nn.functional as F\ndef msa(Q, K, V):\n    return F.scaled_dot_product_attention(Q, K, V)",
     "def msa(Q, K, V):\n    return Q, Q"),  # redefined later: the later one runs
    ("import torch\ndef msa(Q, K, V, F=None):\n    return F.scaled_dot_product_attention(Q, K, V)",),  # a parameter
])
def test_scan_leaves_the_students_own_code_alone(sources):
    """Is a def, class, method or parameter of the student's own that shares a name not torch's attention?"""
    assert scan("msa", *sources).forbidden == []


@pytest.mark.parametrize("sources, construct", [
    (("code = 'def msa(Q, K, V): return Q, Q'\nexec(code)",), "exec()"),
    (("def helper(x):\n    return eval('x')", "def msa(Q, K, V):\n    return helper(Q), None"), "eval()"),
    (("import torch.nn.functional as F", "def msa(Q, K, V):\n    name = 'scaled_dot' + '_product_attention'\n"
      "    return getattr(F, name)(Q, K, V)"), "getattr with a computed name"),
    (("import importlib", "def msa(Q, K, V):\n    return importlib.import_module('torch'), None"), "importlib"),
    (("import functools", "def msa(Q, K, V):\n    return msa.__wrapped__(Q, K, V)"), "__wrapped__"),
    (("def msa(Q, K, V):\n    return globals()['helper'](Q)",), "globals()"),
])
def test_scan_flags_dynamic_code_with_its_cell(sources, construct):
    """Is code built or looked up at run time reported, with the cell it is in, and not called forbidden?"""
    reach = scan("msa", *sources)
    assert reach.forbidden == [] and reach.dynamic == [(len(sources) - 1 if construct != "eval()" else 0, construct)]


def test_scan_ignores_dynamic_code_the_answer_does_not_reach():
    """Is an unrelated cell's eval (before the answer was defined) left out?"""
    assert scan("msa", "x = eval('1 + 1')", "def msa(Q, K, V):\n    return Q, Q").dynamic == []


# ---------------------------------------------------------------- through the engine (sandbox, graders, scores)

TRIL_WITH_OWN_HELPER = OWN_HELPER + '''
def masked_self_attention(Q, K, V, padding_mask=None):
    L = Q.shape[-2]
    mask = torch.tril(torch.ones(L, L))
    if padding_mask is not None:
        mask = mask * padding_mask.to(mask.dtype)[..., None, :]
    _, weights = scaled_dot_product_attention(Q, K, V, mask)
    weights = weights * (mask.sum(-1, keepdim=True) > 0)        # a query with no key to see: all zeros
    return weights @ V, weights
'''
OWN_CLASS_MSA = OWN_CLASS + '''
def masked_self_attention(Q, K, V, padding_mask=None):
    L = Q.shape[-2]
    allowed = torch.tril(torch.ones(L, L, dtype=torch.bool))
    if padding_mask is not None:
        allowed = allowed & padding_mask.bool()[..., None, :]
    class Causal(MultiHeadAttention):
        def scaled_dot_product_attention(self, Q, K, V, mask=None):
            scores = (Q @ K.transpose(-2, -1) / Q.shape[-1] ** 0.5).masked_fill(~mask, float("-inf"))
            weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
            return weights @ V, weights
    return Causal()(Q, K, V, allowed)
'''
MATH_KERNEL_MSA = '''
def masked_self_attention(Q, K, V, padding_mask=None):
    L = Q.shape[-2]
    allowed = torch.tril(torch.ones(L, L, dtype=torch.bool))
    if padding_mask is not None:
        allowed = allowed & padding_mask.bool()[..., None, :]
    out, weights = torch.ops.aten._scaled_dot_product_attention_math(Q, K, V, attn_mask=allowed)
    return out.nan_to_num(0.0), weights.nan_to_num(0.0)
'''
C_NN_MSA = '''
def masked_self_attention(Q, K, V, padding_mask=None):
    L = Q.shape[-2]
    allowed = torch.tril(torch.ones(L, L, dtype=torch.bool))
    if padding_mask is not None:
        allowed = allowed & padding_mask.bool()[..., None, :]
    eye = torch.eye(L, dtype=Q.dtype).expand(*Q.shape[:-1], L)
    weights = torch._C._nn.scaled_dot_product_attention(Q, K, eye, attn_mask=allowed).nan_to_num(0.0)
    return weights @ V, weights
'''
ALIASED_IN_ANOTHER_CELL = '''
def masked_self_attention(Q, K, V, padding_mask=None):
    L = Q.shape[-2]
    allowed = torch.tril(torch.ones(L, L, dtype=torch.bool))
    if padding_mask is not None:
        allowed = allowed & padding_mask.bool()[..., None, :]
    eye = torch.eye(L, dtype=Q.dtype).expand(*Q.shape[:-1], L)
    weights = attend(Q, K, eye, attn_mask=allowed).nan_to_num(0.0)
    return weights @ V, weights
'''
MULTIHEAD_MSA = '''
from torch import nn
def masked_self_attention(Q, K, V, padding_mask=None):
    L, d = Q.shape[-2], Q.shape[-1]
    layer = nn.MultiheadAttention(d, 1, batch_first=True)
    _, weights = layer(Q.reshape(-1, L, d), K.reshape(-1, L, d), K.reshape(-1, L, d),
                       attn_mask=~torch.tril(torch.ones(L, L, dtype=torch.bool)))
    weights = weights.reshape(*Q.shape[:-1], L)
    return weights @ V, weights
'''
EXEC_BUILT_MSA = '''
_body = """
def masked_self_attention(Q, K, V, padding_mask=None):
    L, d_k = Q.shape[-2], Q.shape[-1]
    allowed = torch.tril(torch.ones(L, L, dtype=torch.bool))
    if padding_mask is not None:
        allowed = allowed & padding_mask.bool()[..., None, :]
    scores = (Q @ K.transpose(-2, -1) / math.sqrt(d_k)).masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
    return weights @ V, weights
"""
exec(_body)
'''
ATTENTION_QUESTIONS = ("masked_self_attention", "padding_mask")


def graded(tmp_path, name: str, assignment: str, replace: dict, append=(), warm=True):
    notebook = make_submission(source_notebook(assignment), tmp_path / name / f"{assignment}.ipynb",
                               replace=replace, append=list(append))
    return check(notebook, warm=warm)


@pytest.mark.slow
@pytest.mark.parametrize("answer, warm", [(TRIL_WITH_OWN_HELPER, False), (OWN_CLASS_MSA, True)],
                         ids=["tutorial-helper-cold", "own-class-warm"])
def test_own_attention_code_sharing_a_name_gets_full_marks(tmp_path, answer, warm):
    """Do the tutorial's §4.1 helper called with a tril mask, and a MultiHeadAttention class of the student's own
    with a `scaled_dot_product_attention` method, get full marks on both attention questions?"""
    result = graded(tmp_path, "own", "masked_attention", {"answer_masked_self_attention": answer}, warm=warm)
    for qid in ATTENTION_QUESTIONS:
        q = result.question(qid)
        assert q.score == q.max_score and not q.mistakes, result.to_json(indent=1)
    assert not result.errors


@pytest.mark.slow
@pytest.mark.parametrize("answer, append", [
    (MATH_KERNEL_MSA, ()),
    (C_NN_MSA, ()),
    (ALIASED_IN_ANOTHER_CELL, ["import torch.nn.functional as nnf\nattend = nnf.scaled_dot_product_attention"]),
    (MULTIHEAD_MSA, ()),
], ids=["aten-math-kernel", "torch-C-nn", "alias-in-another-cell", "nn-MultiheadAttention"])
def test_torch_attention_by_any_path_is_forbidden(tmp_path, answer, append):
    """Does torch's attention, however reached, cost both attention questions as `forbidden-api`?"""
    result = graded(tmp_path, "forbidden", "masked_attention", {"answer_masked_self_attention": answer}, append)
    for qid in ATTENTION_QUESTIONS:
        q = result.question(qid)
        assert q.score == 0 and "forbidden-api" in q.mistakes, (qid, q.score, q.mistakes)
    assert result.question("causal_mask").score == result.question("causal_mask").max_score


@pytest.mark.slow
def test_a_cell_comparing_with_torch_is_not_forbidden(tmp_path):
    """Does a separate cell that checks the answer against F.scaled_dot_product_attention cost nothing?"""
    compare = ("import torch.nn.functional as F\n_q = torch.randn(1, 5, 4)\n"
               "_ref = F.scaled_dot_product_attention(_q, _q, _q, is_causal=True)\n"
               "print(torch.allclose(masked_self_attention(_q, _q, _q)[0], _ref, atol=1e-6))")
    result = graded(tmp_path, "compare", "masked_attention", {"demo_empty_row": compare})
    assert result.score == result.max_score, result.to_json(indent=1)
    assert not result.errors


@pytest.mark.slow
def test_exec_built_answer_is_flagged_and_scored_by_behaviour(tmp_path):
    """Does an exec-built answer get a `dynamic-code` record naming it (shown in the terminal table and the class
    report), and the points its behaviour earns?"""
    result = graded(tmp_path, "exec", "masked_attention", {"answer_masked_self_attention": EXEC_BUILT_MSA})
    for qid in ATTENTION_QUESTIONS:
        assert result.question(qid).score == result.question(qid).max_score, result.to_json(indent=1)
    flagged = [e for e in result.errors if e.kind == "dynamic-code"]
    assert flagged and all("masked_self_attention" in e.message and "exec()" in e.message for e in flagged)
    assert {e.cell for e in flagged} == {13}  # the answer cell, where exec runs
    result.student = "exec-student"
    assert "dynamic-code" in render_table(result)
    report = render_class_report([result], assignment="masked_attention")
    assert "dynamic-code" in report and "exec-student" in report


SDPA_MATH_KERNEL = '''import torch
def scaled_dot_product_attention(Q, K, V, mask=None):
    if mask is not None:
        mask = mask.bool()
    return torch.ops.aten._scaled_dot_product_attention_math(Q, K, V, attn_mask=mask)
'''
SDPA_VIA_GETATTR_STRING = '''import torch
def scaled_dot_product_attention(Q, K, V, mask=None):
    name = "_scaled_dot_product_" + "attention_math"
    if mask is not None:
        mask = mask.bool()
    return getattr(torch.ops.aten, name)(Q, K, V, attn_mask=mask)
'''


@pytest.mark.slow
def test_sdpa_through_the_math_kernel_scores_zero(tmp_path):
    """Does attention_by_hand's `sdpa` through torch.ops.aten._scaled_dot_product_attention_math score 0?"""
    result = graded(tmp_path, "math", "attention_by_hand", {"answer_scaled_dot_product_attention": SDPA_MATH_KERNEL})
    q = result.question("sdpa")
    assert q.score == 0 and "forbidden-api" in q.mistakes, (q.score, q.mistakes)


@pytest.mark.slow
def test_sdpa_kernel_seen_at_run_time_through_a_computed_name(tmp_path):
    """Is the kernel seen at run time (in a cold runner) when no name reveals it, and the getattr flagged?"""
    result = graded(tmp_path, "getattr", "attention_by_hand",
                    {"answer_scaled_dot_product_attention": SDPA_VIA_GETATTR_STRING}, warm=False)  # a cold runner
    q = result.question("sdpa")
    assert q.score == 0 and "forbidden-api" in q.mistakes, (q.score, q.mistakes)
    assert [e.kind for e in result.errors] == ["dynamic-code"], result.errors
