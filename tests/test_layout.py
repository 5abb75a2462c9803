"""Does the code follow the pipeline: no stage imports a later one, and what runs in the sandbox imports no grader?"""
from __future__ import annotations

import ast

import pytest

from support.notebooks import ROOT

STAGES = ("autograder.sandbox.inside", "assignments", "autograder.files", "autograder.result", "autograder.submission", "autograder.sandbox", "autograder.probes",
          "autograder.graders", "autograder.scoring", "autograder.reports", "autograder.check", "autograder.batch",
          "autograder.export", "autograder.service", "autograder")
"""The stages in the order data flows through them: what runs inside the sandbox (standalone: the wire format and
the pretrained model, read by the grader side too), the answer key and the Result types first (every stage reads
them, and writing files), `check` (one notebook through every stage, its pictures included) before the stages that grade many, and
`autograder` alone for the front ends (cli, demo, release, selfcheck, nbgrader_plugin)."""
INSIDE = "autograder.sandbox.inside"
MAX_LINES = 300
MODULES = sorted(p for folder in ("assignments", "autograder") for p in (ROOT / folder).rglob("*.py"))


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> int:
    """The index in STAGES of the stage that holds `module` (the longest matching prefix)."""
    matches = [i for i, stage in enumerate(STAGES) if module == stage or module.startswith(stage + ".")]
    return max(matches, key=lambda i: len(STAGES[i]))


def imports_of(path) -> list[str]:
    """Every module of this project that `path` imports, at the top or inside a function."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
        found += [n for n in names if n.split(".")[0] in ("autograder", "assignments")]
    return found


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_no_stage_imports_a_later_one(path):
    """Does this module import only its own stage and earlier ones (the data flows one way)?"""
    own = stage_of(module_name(path))
    later = [m for m in imports_of(path) if stage_of(m) > own]
    assert not later, f"{module_name(path)} ({STAGES[own]}) imports later stages: {later}"


@pytest.mark.parametrize("path", sorted((ROOT / "autograder" / "sandbox" / "inside").glob("*.py")), ids=module_name)
def test_what_runs_in_the_sandbox_imports_nothing_of_the_grader(path):
    """Is this file self-contained inside the sandbox (only the standard library, torch, NumPy and its siblings)?"""
    assert imports_of(path) == []


@pytest.mark.parametrize("path", [p for p in MODULES if p.is_relative_to(ROOT / "autograder")], ids=module_name)
def test_engine_modules_stay_small(path):
    """Is every module of the engine under 300 lines (one job each, readable in one sitting)?"""
    assert len(path.read_text(encoding="utf-8").splitlines()) < MAX_LINES
