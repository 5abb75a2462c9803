"""Evidence: the student's own values that grader tests keep, to be drawn on the feedback page."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Kept:
    """One value of the student's, kept by a grader test to be drawn on the feedback page."""

    question: str
    kind: str
    """"weights" (drawn beside `labels["allowed"]`), "entropy" (layers × heads) or "heatmap" (their plot)."""
    values: torch.Tensor
    """The student's own values as a float64 tensor: one [rows, cols] slice."""
    labels: dict = field(default_factory=dict)
    failed: bool | None = None
    """Whether a check failed on this value (None while the check runs)."""


class Evidence:
    """The student's own values worth drawing, kept by grader tests through the `evidence` fixture.

    Only ever keep what the student's code returned (never the key's values or a hidden check's expected
    numbers): the pictures go to the student.
    """

    KINDS = ("weights", "entropy", "heatmap")

    def __init__(self):
        self.kept: list[Kept] = []

    def keep(self, question_id: str, kind: str, values, **labels) -> None:
        """Keep the student's `values` for `question_id`'s picture; values that cannot be drawn are ignored.

        Args:
            question_id: the question the picture belongs to.
            kind: one of KINDS.
            values: the student's tensor (or nested list); of more than 2 dims only the first [rows, cols]
                slice is kept (e.g. batch 0, head 0), and at most 64 × 64 of it.
            labels: facts for the drawing: `what` (a caption, e.g. "causal_mask(4)"); for "weights" `allowed`,
                the positions the task allows, broadcastable to `values` (from the probe's inputs, not the key);
                for "heatmap" `xticklabels`, `yticklabels`, `title` (the student's own).
        """
        assert kind in self.KINDS, kind
        try:
            tensor = torch.as_tensor(values).detach().to("cpu", torch.float64)
            if "allowed" in labels:
                labels["allowed"] = _first_slice(torch.as_tensor(labels["allowed"]).bool().expand(tensor.shape))
        except Exception:  # a student's value of any odd type: nothing to draw, and never a grading failure
            return
        if tensor.ndim == 0 or tensor.numel() == 0:
            return
        self.kept.append(Kept(question_id, kind, _first_slice(tensor).clone(), labels))

    def settle(self, failed: bool) -> None:
        """After a check: if it failed, the last value it kept is the one that failed it (a check raises right
        after comparing); every other value it kept passed."""
        pending = [item for item in self.kept if item.failed is None]
        for item in pending:
            item.failed = failed and item is pending[-1]

    def chosen(self) -> dict[str, Kept]:
        """Question id → the value to draw: the first kept by a failed check, else the first kept."""
        chosen: dict[str, Kept] = {}
        for item in self.kept:
            if item.question not in chosen or item.failed and not chosen[item.question].failed:
                chosen[item.question] = item
        return chosen


def _first_slice(tensor: torch.Tensor, side: int = 64) -> torch.Tensor:
    """[..., rows, cols] → the first [rows, cols] (at most `side` × `side`); a vector becomes one row."""
    matrix = tensor.reshape(1, -1) if tensor.ndim == 1 else tensor.reshape(-1, *tensor.shape[-2:])[0]
    return matrix[:side, :side]
