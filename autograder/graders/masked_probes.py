"""Inputs and comparisons for the `masked_attention` graders: Q/K/V, the allowed pattern, carried-forward masks."""
from __future__ import annotations

import torch

from assignments import masked_attention as key_module
from assignments.quiz import Text
from autograder.graders.carried import own_helpers_called
from autograder.graders.checks import as_tensor, expect_close, expect_pair, variant_outputs
from autograder.graders.diagnosis import diagnose
from autograder.graders.framework import CarriedForward, CheckFailed
from autograder.graders import texts, tolerances
from autograder.probes import StudentFailure

MSA = "masked_self_attention"
LEFT_PADDED = [[False, False, True, True, True, True],   # query 0 sees only key 0, which is padding: no allowed key
               [True, True, True, True, True, True],
               [False, True, True, True, True, True]]


def qkv(lead: tuple, L: int, d_k: int, d_v: int, dtype: torch.dtype, seed: int, scale: float = 1.0):
    """Random Q, K [*lead, L, d_k] and V [*lead, L, d_v]."""
    gen = torch.Generator().manual_seed(seed)
    Q = torch.randn(*lead, L, d_k, generator=gen, dtype=dtype) * scale
    K = torch.randn(*lead, L, d_k, generator=gen, dtype=dtype) * scale
    V = torch.randn(*lead, L, d_v, generator=gen, dtype=dtype)
    return Q, K, V


def padding(rows, lead_shape=None) -> torch.Tensor:
    """A padding mask (True = real token) from nested lists, optionally reshaped."""
    mask = torch.tensor(rows, dtype=torch.bool)
    return mask if lead_shape is None else mask.view(*lead_shape)


def variants_for(question_id: str) -> dict:
    """The buggy variants a failure on this question may come from (padding checks also see causal bugs)."""
    if question_id == "padding_mask":
        return {**key_module.VARIANTS[MSA], **key_module.VARIANTS["padding_mask"]}
    return key_module.VARIANTS[MSA]


def allowed(L: int, pad: torch.Tensor | None = None) -> torch.Tensor:
    """Where a query may attend by the task's rule (j ≤ i, and the key is not padding), from the probe's inputs."""
    mask = torch.tril(torch.ones(L, L, dtype=torch.bool))                # (L, L)
    return mask if pad is None else mask & pad[..., None, :]            # (..., L, L)


def weights_context(key, Q, K, pad) -> dict:
    """What diagnosis needs to read signatures in the weights."""
    return {"kind": "weights", "scores": key.attention_scores(Q, K).to(torch.float64), "d_k": Q.shape[-1],
            "causal": True, "padding": pad}


def call_attention(student, args: tuple, what: str):
    """The student's (output, weights) as tensors, without comparing them with the key's."""
    out, weights = expect_pair(student.call(MSA, *args), f"`{MSA}`")
    return as_tensor(out, f"output ({what})"), as_tensor(weights, f"weights ({what})")


def carried_forward(student, key, args: tuple, out, weights) -> None:
    """Raise CarriedForward when the answer calls the student's own (wrong) causal_mask and is the key's attention
    under that mask."""
    if not own_helpers_called(student, MSA, ("causal_mask",)):
        return
    Q, K, V = args[:3]
    pad = args[3] if len(args) > 3 else None
    L = Q.shape[-2]
    try:
        own = as_tensor(student.call("causal_mask", L), "`causal_mask`")
    except (StudentFailure, CheckFailed):
        return
    if tuple(own.shape) != (L, L) or torch.equal(own.bool(), key.causal_mask(L)):
        return
    mask = own.bool() if pad is None else own.bool() & pad.bool()[..., None, :]
    scores = key.attention_scores(Q, K)
    for w in (key.masked_softmax(scores, mask), torch.softmax(scores.masked_fill(~mask, -1e9), dim=-1)):
        if _same(weights, w) and _same(out, w @ V):
            raise CarriedForward(texts.CAUSAL_MASK_CARRIED)


def _same(got, want: torch.Tensor) -> bool:
    got = torch.as_tensor(got)
    return got.shape == want.shape and bool(torch.allclose(got.to(torch.float64), want.to(torch.float64),
                                                           **tolerances.FLOAT32))


def check_attention(student, key, evidence, Q, K, V, pad=None, *, question_id: str, what: str, dtype: bool = False):
    """Compare the student's weights and output with the key's on one input (at float32 precision); returns them as
    float64. With `dtype`, this is the question's check of the inputs' dtype: both keep it.

    The student's weights are kept in `evidence`, to be drawn beside the allowed pattern."""
    args = (Q, K, V) if pad is None else (Q, K, V, pad)
    out, weights = expect_pair(student.call(MSA, *args), f"`{MSA}`")
    evidence.keep(question_id, "weights", weights, allowed=allowed(Q.shape[-2], pad), causal=True,
                  what=f"weights ({what})")
    want_out, want_w = key.masked_self_attention(*args)
    variants = variants_for(question_id)
    try:
        w = expect_close(weights, want_w, f"weights ({what})", **tolerances.FLOAT32,
                         context=weights_context(key, Q, K, pad),
                         variants=variant_outputs(variants, *args, pick=lambda r: r[1]))
        o = expect_close(out, want_out, f"output ({what})", **tolerances.FLOAT32,
                         variants=variant_outputs(variants, *args, pick=lambda r: r[0]))
    except CheckFailed:
        carried_forward(student, key, args, out, weights)
        raise
    if dtype:
        for value, name in ((out, "output"), (weights, "weights")):
            if isinstance(value, torch.Tensor) and value.dtype != Q.dtype:
                raise CheckFailed(texts.DTYPE_CHANGED.format(name=name, what=what), ["wrong-type"])
    return o, w


def property_failed(student, key, out, weights, args: tuple, question_id: str, message: Text) -> CheckFailed:
    """A failed property check, diagnosed from the student's weights on the same input (unless carried forward)."""
    carried_forward(student, key, args, out, weights)
    want = key.masked_self_attention(*args)[1].to(torch.float64)
    got = weights.to(torch.float64)
    mistakes = []
    if got.shape == want.shape:
        variants = variant_outputs(variants_for(question_id), *args, pick=lambda r: r[1])
        pad = args[3] if len(args) > 3 else None
        mistakes = diagnose(got, want, variants, **tolerances.DIAGNOSIS, context=weights_context(key, *args[:2], pad))
    return CheckFailed(message, mistakes)
