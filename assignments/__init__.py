"""The answer key: reference implementations, quiz keys and common-mistake catalogue (never shipped to students)."""
from __future__ import annotations

import importlib

ASSIGNMENT_IDS = ("attention_by_hand", "masked_attention", "bert_heads")

MANUAL_QUESTIONS: dict[str, tuple[str, ...]] = {"bert_heads": ("interpretation",)}
"""Questions graded by hand (nbgrader manual cells); the engine marks them `manual`."""


def key_module(assignment: str):
    """The answer-key module of an assignment (`assignments.<id>`)."""
    return importlib.import_module(f"assignments.{assignment}")


def questions_of(assignment: str) -> dict[str, float]:
    """Question id → points, in notebook order."""
    return dict(key_module(assignment).POINTS)
