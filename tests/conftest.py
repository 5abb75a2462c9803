"""Shared test set-up: offline model hub, headless plotting, and the `submission` factory fixture."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# `attn-grade check` and the self-check grade in-process here (tests/service/test_local_grader.py turns the local
# grader on, in folders of its own)
os.environ.setdefault("ATTN_GRADE_LOCAL_GRADER", "off")

from support.notebooks import make_submission, release_notebook, source_notebook  # noqa: E402

@pytest.fixture
def submission(tmp_path):
    """A factory: submission(assignment, name, replace=..., append=..., drop=..., base="source")."""
    def build(assignment: str, name: str, *, base: str = "source", **changes) -> Path:
        origin = source_notebook(assignment) if base == "source" else release_notebook(assignment)
        return make_submission(origin, tmp_path / name / f"{assignment}.ipynb", **changes)
    return build
