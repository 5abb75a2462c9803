"""Every tolerance the graders compare with, defined once, each with the reason for its size.

A comparison passes when |got − want| ≤ atol + rtol·|want| (torch.allclose).
"""
from __future__ import annotations

FLOAT32 = dict(atol=1e-5, rtol=1e-4)
"""Attention in float32: a student's order of operations (einsum, baddbmm, a fused softmax) moves the last digits.
Attention's values, and a head's measures, are compared at this precision in either dtype: a softmax taken in
float32 for float64 inputs, as Transformers, fairseq and LLaMA do, is right (no mistake id names it), and so is an
entropy smoothed by log(p + 1e-6); keeping the inputs' dtype is one check of its own per question."""
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
"""Matching a wrong value against the key's buggy variants: tighter than FLOAT32 (a variant is named only when it is
clearly what the student computed), yet loose enough for answers computed in float32."""
