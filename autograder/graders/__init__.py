"""Hidden pytest graders, one module per assignment, run in the grader process against probe results."""
from __future__ import annotations

import importlib


def key_module(assignment: str):
    """The answer-key module of an assignment (`assignments.<id>`)."""
    return importlib.import_module(f"assignments.{assignment}")


def questions_of(assignment: str) -> dict[str, float]:
    """Question id → points, in notebook order."""
    return dict(key_module(assignment).POINTS)


MANUAL_QUESTIONS: dict[str, tuple[str, ...]] = {"bert_heads": ("interpretation",)}
"""Questions graded by hand (nbgrader manual cells); the engine marks them `manual`."""
