"""Does a change to the engine's code keep every verdict on the demo class (`make demo`'s students) as recorded?

The recorded results are `tests/golden/demo_results.json`. A change that means to alter verdicts rewrites it with
`ATTN_WRITE_GOLDEN=1 .venv/bin/pytest tests/batch/test_demo_results.py` and shows the difference in its commit.
"""
from __future__ import annotations

import json
import os

import pytest

from assignments import ASSIGNMENT_IDS
from autograder.batch import grade
from autograder.demo import LIMITS, build_class
from support.notebooks import ROOT

pytestmark = pytest.mark.slow
GOLDEN = ROOT / "tests" / "golden" / "demo_results.json"


def verdict(result) -> dict:
    """Everything a student or instructor reads in a Result, without what varies from run to run."""
    data = result.to_dict()
    for varying in ("duration_s", "notebook"):
        data.pop(varying)
    return data


@pytest.fixture(scope="module")
def demo_verdicts(tmp_path_factory) -> dict:
    """assignment → student → verdict, graded as `make demo` grades its class."""
    base = tmp_path_factory.mktemp("demo")
    build_class(base / "submitted")
    return {assignment: {r.student: verdict(r) for r in grade(base / "submitted", assignment=assignment,
                                                               out=base / assignment, limits=LIMITS).results}
            for assignment in ASSIGNMENT_IDS}


def test_demo_class_verdicts_are_as_recorded(demo_verdicts):
    """Are the demo class's results, question by question and check by check, those recorded in the golden file?"""
    if os.environ.get("ATTN_WRITE_GOLDEN"):
        GOLDEN.write_text(json.dumps(demo_verdicts, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                          encoding="utf-8")
    assert demo_verdicts == json.loads(GOLDEN.read_text(encoding="utf-8"))
