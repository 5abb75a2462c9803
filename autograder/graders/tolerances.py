"""Every tolerance the graders compare with, defined once, each with the reason for its size.

A comparison passes when |got − want| ≤ atol + rtol·|want| (torch.allclose).
"""
from __future__ import annotations

FLOAT32 = dict(atol=1e-5, rtol=1e-4)
"""Attention in float32: a student's order of operations (einsum, baddbmm, a fused softmax) moves the last digits.
Attention's values, and a head's measures, are compared at this precision in either dtype: attention's dtype and
float64 precision are each one check of their own (a softmax taken in float32, as Transformers and fairseq do,
costs that check, not all); bert_heads asks for no float64 precision (an entropy smoothed by log(p + 1e-6) is
right to it, in float64 as in float32)."""
FLOAT64 = dict(atol=1e-9, rtol=1e-7)
"""Attention in float64: the same reorderings, at double precision (the one float64 check per question)."""
HAND_TYPED = 5e-3
"""Numbers typed by hand from a 2 × 2 calculation, at least three decimals (SPEC §3)."""
LOVE_WEIGHTS = 1e-3
"""The four softmax weights of the tutorial's "爱" row, typed by hand (SPEC §3)."""
EXACT = dict(atol=0.0, rtol=0.0)
"""Booleans and integers: causal_mask is either the right mask or not."""
HEATMAP = dict(atol=1e-6, rtol=1e-5)
"""The values drawn by a student's heatmap: matplotlib keeps them as float32 or float64."""
ROW_SUM = 1e-6
"""Rows of float64 weights sum to 1 within rounding."""
GATE_ROW_SUM = 1e-4
"""The validity gate's row sums, in either dtype: loose, it only tells a distribution from something else."""
SAME = 1e-9
"""Two values the same (a constant answer, a uniform row, an output unchanged by the future): rounding only."""
DIAGNOSIS = dict(atol=1e-6, rtol=1e-5)
"""Matching a wrong value against the key's buggy variants: between FLOAT32 and FLOAT64, so float32 answers match."""
