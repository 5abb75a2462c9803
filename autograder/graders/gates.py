"""Validity gates (SPEC §5 "Fair scores"): a question's checks count only when its answers are valid results.

A gate is a grader test marked `@question(id, gate=True)`: it calls the student's function on pairs of ordinary
inputs and passes when, on at least one pair, both answers are valid results that differ (`expect_some_valid`);
otherwise the question scores 0, whatever properties the answers happen to satisfy (an all-zero tensor has an upper
triangle of zeros, and no future leaks into a constant). Failures on the other pairs are left to the other checks.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from autograder.graders.checks import as_tensor, expect_finite, expect_pair, expect_shape
from autograder.graders.framework import CheckFailed
from autograder.graders import texts, tolerances
from autograder.probes import StudentFailure



def expect_some_valid(student, name: str, pairs: list[tuple], judge: Callable) -> None:
    """On at least one pair of inputs, `judge(args, answer)` accepts both answers and every value it returns differs
    between the two; else the first reason it did not, or the first exception, is raised."""
    first = None
    for pair in pairs:
        try:
            answers = [judge(args, student.call(name, *args)) for args in pair]
            for one, other in zip(*answers, strict=True):
                expect_varies(one, other, f"`{name}`")
            return
        except (CheckFailed, StudentFailure) as exc:
            first = first or exc
    raise first


def expect_attention(answer, Q: torch.Tensor, V: torch.Tensor, allowed: torch.Tensor, what: str):
    """One `(output, weights)` answer is attention: tensors of the right shapes, finite and non-negative where a
    query has an allowed key, and those rows of weights distributions over the keys.

    Args:
        answer: what the student's function returned on Q [..., Lq, d_k], V [..., Lk, d_v].
        allowed: bool, broadcastable to [..., Lq, Lk]: where the task lets each query attend.
        what: how the student knows the function, e.g. "`masked_self_attention`".
    Returns:
        (output, weights) as float64 tensors.
    """
    out, weights = expect_pair(answer, what)
    out, weights = as_tensor(out, f"output ({what})"), as_tensor(weights, f"weights ({what})")
    lead = torch.broadcast_shapes(Q.shape[:-2], V.shape[:-2], allowed.shape[:-2])
    Lq, Lk = Q.shape[-2], V.shape[-2]
    expect_shape(weights, (*lead, Lq, Lk), f"weights ({what})")
    expect_shape(out, (*lead, Lq, V.shape[-1]), f"output ({what})")
    live = allowed.expand(*lead, Lq, Lk).any(dim=-1)                     # (..., Lq) queries with an allowed key
    rows, outputs = weights.to(torch.float64)[live], out.to(torch.float64)[live]
    if not (torch.isfinite(rows).all() and torch.isfinite(outputs).all()):
        raise CheckFailed(texts.NAN_WHERE_A_KEY_IS_ALLOWED.format(what=what))
    if bool((rows < 0).any()):
        raise CheckFailed(texts.NEGATIVE_WEIGHTS.format(what=what))
    off = ((rows.sum(-1) - 1).abs() > tolerances.GATE_ROW_SUM).sum().item()
    if off:
        raise CheckFailed(texts.ROWS_NOT_DISTRIBUTIONS.format(what=what, count=off))
    return out.to(torch.float64), weights.to(torch.float64)


def expect_varies(first: torch.Tensor, second: torch.Tensor, what: str):
    """Answers on two different inputs must differ: a constant is not a result computed from the inputs."""
    if first.shape == second.shape and torch.allclose(first.to(torch.float64), second.to(torch.float64), atol=tolerances.SAME):
        raise CheckFailed(texts.SAME_FOR_DIFFERENT_INPUTS.format(what=what))


def expect_measure(value, shape: tuple, what: str) -> torch.Tensor:
    """One value per head: a tensor (or accepted array type) of the heads' shape, finite; as float64."""
    got = as_tensor(value, what)
    expect_shape(got, shape, what)
    expect_finite(got, what)
    return got.to(torch.float64)
