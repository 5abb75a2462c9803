"""Name the misconception behind a wrong value: match the key's buggy variants, then look for bug signatures."""
from __future__ import annotations

import math
from collections.abc import Mapping

import torch


def diagnose(got: torch.Tensor, want: torch.Tensor, variants: Mapping[str, object], *, atol: float, rtol: float,
             context: Mapping) -> list[str]:
    """Mistake ids explaining why `got` differs from `want`.

    Args:
        got, want: the student's and the key's float64 values on the same input.
        variants: mistake id → that buggy variant's output on the same input.
        context: what the value is, for signatures: {"kind": "weights", "scores": unmasked scaled scores,
            "d_k": int, "causal": bool, "padding": bool [..., Lk] or None, "mask": bool broadcastable to the weights
            (True = may attend) or None} or {"kind": "entropy", "L": int} or {"kind": "distribution", "raw": tensor,
            "d_k": int}.
    Returns:
        Matching variant ids first; signature ids when no single variant matches (combined bugs).
    """
    matched = [m for m, v in variants.items() if _close(got, v, atol, rtol)]
    if matched:
        return matched
    kind = context.get("kind")
    if kind == "weights":
        return weight_signatures(got, context)
    if kind == "entropy":
        return entropy_signatures(got, want, context["L"])
    if kind == "distribution":
        return distribution_signatures(got, context["raw"], context.get("d_k", 1))
    return []


def weight_signatures(weights: torch.Tensor, context: Mapping) -> list[str]:
    """Signatures in attention weights `[..., Lq, Lk]` that survive combinations of bugs.

    With "causal", "padding" ([..., Lk], True = real key) and/or "mask" in `context`, the rows that have no allowed
    key are judged on their own (they must be all zero) and every other signature looks only at the other rows.
    """
    found = []
    allowed = _allowed_keys(weights.shape, context)
    if allowed is None:
        empty = torch.zeros(weights.shape[:-1], dtype=torch.bool)
        if torch.isnan(weights).all(dim=-1).any():
            found.append("nan-on-fully-masked-row")
    else:
        empty = ~allowed.any(dim=-1)                                       # (..., Lq) rows with no allowed key
        if _mishandled_empty_rows(weights[empty]):
            found.append("nan-on-fully-masked-row")
    w = torch.nan_to_num(weights, nan=0.0).masked_fill(empty[..., None], 0.0)
    rows, cols = w.sum(-1)[~empty], w.sum(-2)
    if allowed is not None:
        cols = cols[allowed.any(dim=-2)]                                   # keys some query may attend
    if not _all_one(rows) and _all_one(cols):
        found.append("softmax-wrong-dim")
    after = "softmax-wrong-dim" not in found and _zeroed_after_softmax(w, allowed, context)
    if context.get("causal"):
        found += _causal_signatures(w, allowed, after)
    elif context.get("mask") is not None and allowed is not None:
        found += _mask_signatures(w, allowed, after)
    if context.get("padding") is not None and "mask-filled-with-zero" not in found:
        found += _padding_signatures(w, context["padding"])
    scores = context.get("scores")
    if scores is not None and "softmax-wrong-dim" not in found:
        found += _scale_signatures(w, scores, context.get("d_k", scores.shape[-1]))
    return found


def _all_one(sums: torch.Tensor) -> bool:
    return bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-3))


def _allowed_keys(shape: torch.Size, context: Mapping) -> torch.Tensor | None:
    """Bool [..., Lq, Lk]: where the right mask lets a query attend (None when the context names no mask)."""
    padding, mask = context.get("padding"), context.get("mask")
    if not context.get("causal") and padding is None and mask is None:
        return None
    allowed = torch.ones(shape[-2], shape[-1], dtype=torch.bool)
    if context.get("causal"):
        allowed = torch.tril(allowed)
    try:
        if mask is not None:
            allowed = allowed & torch.as_tensor(mask).bool()
        if padding is not None:
            allowed = allowed & torch.as_tensor(padding).bool()[..., None, :]
        return allowed.expand(shape)
    except RuntimeError:  # a mask that does not fit the weights: judge without it
        return None


def _mishandled_empty_rows(rows: torch.Tensor) -> bool:
    """Rows with no allowed key must be all zero: NaN (softmax of -inf) or uniform (softmax of -1e9) is the bug."""
    if rows.numel() == 0:
        return False
    if torch.isnan(rows).any():
        return True
    uniform = (rows.amax(-1) - rows.amin(-1)).abs() < 1e-9
    return bool((uniform & (rows.abs().amax(-1) > 1e-12)).any())


def _zeroed_after_softmax(w: torch.Tensor, allowed: torch.Tensor | None, context: Mapping) -> bool:
    """Do rows sum to less than 1 because the blocked keys' weights were zeroed after a softmax over every key?

    Then each row sums to its allowed keys' share of that softmax (at the scale the student used: √d_k, none or
    d_k); weights merely scaled after the softmax (softmax(QKᵀ) / √d_k) fall short of 1 by another amount."""
    rows = w.sum(-1)
    live = rows > 1e-6                                                 # rows with no allowed key: judged apart
    if not bool((rows[live] < 1 - 1e-3).any()):
        return False
    scores, d_k = context.get("scores"), context.get("d_k", 1)
    if allowed is None or scores is None or scores.shape != w.shape:
        return True
    factors = (1.0, math.sqrt(d_k), 1 / math.sqrt(d_k))                # right, missing-scale, scale-by-dk
    shares = ((torch.softmax(scores * factor, -1) * allowed).sum(-1)[live] for factor in factors)
    return any(bool(torch.allclose(rows[live], share, atol=1e-3)) for share in shares)


def _causal_signatures(w: torch.Tensor, allowed: torch.Tensor | None, after_softmax: bool = False) -> list[str]:
    """Which causal-mask bug the weights show, judged on the keys the right mask allows (`allowed`).

    Rows spread evenly over every key are left out (their own mask blocked all their keys, e.g. the last row of an
    inverted mask filled with -1e9), so they do not pass for `no-tril`."""
    L = w.shape[-1]
    if L > 2:
        w = w.masked_fill(((w.amax(-1) - w.amin(-1)).abs() < 1e-9)[..., None], 0.0)
    upper = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)
    allowed = torch.tril(torch.ones(L, L, dtype=torch.bool)) if allowed is None else allowed
    eye = torch.eye(L, dtype=torch.bool)
    future = w[..., upper].abs().sum().item()
    past = (w.abs() * (allowed & ~eye)).sum().item()                   # allowed keys before the query
    if future > 1e-6 and past <= 1e-6:  # only the future is seen: with the diagonal (triu) or without (~tril)
        diagonal = (w.abs() * (allowed & eye)).sum().item()
        return ["triu-instead-of-tril"] if diagonal > 1e-6 else ["mask-inverted"]
    if future > 1e-6:  # zero-filled scores give every future key of a row the same weight e^0 / Z
        spread = (torch.where(upper, w, -math.inf).amax(-1) - torch.where(upper, w, math.inf).amin(-1))[..., :L - 2]
        return ["mask-filled-with-zero"] if L > 2 and bool((spread.abs() < 1e-9).all()) else ["no-tril"]
    return ["mask-after-softmax"] if after_softmax else []


def _mask_signatures(w: torch.Tensor, allowed: torch.Tensor, after_softmax: bool = False) -> list[str]:
    """Which bug of a given mask the weights show, judged on the keys it allows (`allowed`, the weights' shape).

    Rows spread evenly over every key are left out, as in `_causal_signatures` (an inverted mask filled with -1e9
    that blocks a whole row)."""
    if w.shape[-1] > 2:
        w = w.masked_fill(((w.amax(-1) - w.amin(-1)).abs() < 1e-9)[..., None], 0.0)
    on_blocked, on_allowed = (w.abs() * ~allowed).sum().item(), (w.abs() * allowed).sum().item()
    if on_blocked > 1e-6 and on_allowed <= 1e-6:
        return ["mask-inverted"]
    if on_blocked > 1e-6:  # zero-filled scores give every blocked key of a row the same weight e^0 / Z
        several = (~allowed).sum(-1) >= 2
        spread = torch.where(allowed, -math.inf, w).amax(-1) - torch.where(allowed, math.inf, w).amin(-1)
        return ["mask-filled-with-zero"] if bool(several.any()) and bool((spread[several] < 1e-9).all()) else []
    return ["mask-after-softmax"] if after_softmax else []


def _padding_signatures(w: torch.Tensor, padding: torch.Tensor) -> list[str]:
    """Weight on padding keys: padding-ignored, or mask-inverted when the real keys get none at all."""
    real = torch.as_tensor(padding).bool()[..., None, :]                  # (..., 1, Lk)
    try:
        on_padding = (w.abs() * ~real).sum().item()
        on_real = (w.abs() * real).sum().item()
    except RuntimeError:
        return []
    if on_padding <= 1e-6:
        return []
    return ["mask-inverted"] if on_real <= 1e-6 else ["padding-ignored"]


def _scale_signatures(w: torch.Tensor, scores: torch.Tensor, d_k: int) -> list[str]:
    """Compare row-centred log-weights with row-centred scores: the slope reveals the scaling used."""
    for mistake, candidate in (("", scores), ("transposed-scores", scores.transpose(-2, -1))):
        slope = _log_slope(w, candidate)
        if slope is None:
            continue
        for factor, names in ((1.0, []), (math.sqrt(d_k), ["missing-scale"]), (1 / math.sqrt(d_k), ["scale-by-dk"])):
            if abs(slope - factor) < 0.02 * factor:
                return names + ([mistake] if mistake else [])
    return []


def _log_slope(w: torch.Tensor, scores: torch.Tensor) -> float | None:
    """The c in log w ≈ c·s + row constant, fitted over positive weights; None when the fit is poor."""
    if scores.shape != w.shape:
        return None
    keep = w > 1e-12
    if keep.sum() < 4:
        return None
    log_w = torch.where(keep, w.clamp_min(1e-300).log(), torch.zeros_like(w))
    s = torch.where(keep, scores, torch.zeros_like(scores))
    count = keep.sum(-1, keepdim=True).clamp_min(1)
    x = torch.where(keep, s - s.sum(-1, keepdim=True) / count, torch.zeros_like(s))
    y = torch.where(keep, log_w - log_w.sum(-1, keepdim=True) / count, torch.zeros_like(s))
    denom = (x * x).sum()
    if denom < 1e-12:
        return None
    slope = ((x * y).sum() / denom).item()
    residual = ((y - slope * x) ** 2).sum() / ((y * y).sum() + 1e-300)
    return slope if residual < 1e-4 else None


def entropy_signatures(got: torch.Tensor, want: torch.Tensor, L: int) -> list[str]:
    """Entropy off by ln 2 (log base 2) and/or by L (summed over queries instead of averaged)."""
    ratios = {(): 1.0, ("entropy-log2",): 1 / math.log(2), ("entropy-summed-over-queries",): float(L),
              ("entropy-log2", "entropy-summed-over-queries"): L / math.log(2)}
    mask = want.abs() > 1e-9
    if not mask.any():
        return []
    ratio = (got[mask] / want[mask])
    for names, factor in ratios.items():
        if names and torch.allclose(ratio, torch.full_like(ratio, factor), rtol=1e-3):
            return list(names)
    return []


def distribution_signatures(got: torch.Tensor, raw: torch.Tensor, d_k: int) -> list[str]:
    """For a softmax over raw dot products: s/Σs instead of a softmax, or the scale √d_k forgotten or made d_k."""
    candidates = (("not-a-softmax", raw / raw.sum(-1, keepdim=True)), ("missing-scale", torch.softmax(raw, -1)),
                  ("scale-by-dk", torch.softmax(raw / d_k, -1)))
    return [mistake for mistake, value in candidates if got.shape == value.shape
            and torch.allclose(got, value.to(got.dtype), atol=2e-3)][:1]


def _close(got: torch.Tensor, variant, atol: float, rtol: float) -> bool:
    if not isinstance(variant, torch.Tensor):
        try:
            variant = torch.as_tensor(variant, dtype=torch.float64)
        except (TypeError, ValueError):
            return False
    variant = variant.to(torch.float64)
    return variant.shape == got.shape and bool(torch.allclose(got, variant, atol=atol, rtol=rtol, equal_nan=True))
