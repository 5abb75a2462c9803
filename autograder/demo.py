"""`make demo`: build a small example class from the notebooks, grade all three assignments, print the reports."""
from __future__ import annotations

import shutil
from pathlib import Path

from assignments import ASSIGNMENT_IDS
from autograder.batch import grade
from autograder.classroom import edited, grade_ids, write
from autograder.sandbox.session import Limits
from autograder.files import PROJECT

OUT = PROJECT / "demo-out"
LIMITS = Limits(cell_timeout=10, call_timeout=5)
"""Shorter than the defaults (60 s a cell, 10 s a call) so that dave's endless loops cost seconds, not minutes."""

# Students of the example class: which notebook they start from, and the answer cells they rewrote.
CLASS = {
    "alice": ("source", {}),  # the instructor's answers
    "bob": ("release", {}),   # handed in the blank notebook
    "carol": ("source", {     # a few classic misconceptions
        "answer_scaled_dot_product_attention":
            "import torch\ndef scaled_dot_product_attention(Q, K, V, mask=None):\n"
            "    scores = Q @ K.transpose(-2, -1)  # forgot / √d_k\n"
            "    if mask is not None:\n        scores = scores.masked_fill(mask == 0, -1e9)\n"
            "    w = torch.softmax(scores, dim=-1)\n    return w @ V, w",
        "answer_love_weights": "love_weights = [0.1, 0.2, 0.4, 0.3]  # the tutorial's column",
        "answer_causal_mask": "import torch\ndef causal_mask(seq_len):\n"
                              "    return torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool))",
        "answer_head_entropy": "import torch\ndef head_entropy(attn):\n"
                               "    p = attn.clamp_min(1e-12)\n    return -(attn * torch.log2(p)).sum(-1).mean(-1)",
    }),
    "dave": ("source", {      # an answer that never returns
        "answer_scaled_dot_product_attention": "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                                               "    while True:\n        pass",
        "answer_causal_mask": "def causal_mask(seq_len):\n    while True:\n        pass",
        "answer_get_attentions": "def get_attentions(model, tokenizer, text):\n    while True:\n        pass",
    }),
}


def build_class(submitted: Path) -> None:
    """Write `submitted/<student>/<assignment>/<assignment>.ipynb` for every student and assignment."""
    for student, (origin, rewrites) in CLASS.items():
        for assignment in ASSIGNMENT_IDS:
            base = PROJECT / origin / assignment / f"{assignment}.ipynb"
            mine = {grade_id: source for grade_id, source in rewrites.items() if grade_id in grade_ids(base)}
            write(edited(base, replace=mine), submitted / student / assignment / f"{assignment}.ipynb")


def main() -> None:
    """Grade the example class and say where everything is."""
    shutil.rmtree(OUT, ignore_errors=True)
    build_class(OUT / "submitted")
    print(f"Grading alice (right), bob (blank), carol (misconceptions) and dave (code that never returns; the demo "
          f"stops a cell after {LIMITS.cell_timeout:g} s and a call after {LIMITS.call_timeout:g} s).")
    for assignment in ASSIGNMENT_IDS:
        summary = grade(OUT / "submitted", assignment=assignment, out=OUT / assignment, limits=LIMITS)
        scores = ", ".join(f"{r.student} {r.score:g}/{r.max_score:g}" for r in summary.results)
        print(f"{assignment}: {scores}")
    print(f"\nReports: {OUT.relative_to(PROJECT)}/<assignment>/report.html (class), grades.csv, results.jsonl,")
    print("         feedback/<student>/<assignment>.html, gradescope/<student>/results.json")
    out, students = OUT.relative_to(PROJECT), "\\n".join(CLASS)
    print(f"\nServe the demo class (SPEC §8; each student's token goes to {out}/tokens.csv):\n"
          f"  printf 'student\\n{students}\\n' | .venv/bin/attn-grade roster import - --data {out}/service > "
          f"{out}/tokens.csv && .venv/bin/attn-grade serve --data {out}/service --cell-timeout "
          f"{LIMITS.cell_timeout:g} --call-timeout {LIMITS.call_timeout:g}")


if __name__ == "__main__":
    main()
