"""Without bubblewrap, does the `process` fallback still keep the student's code from the key, as root?

bubblewrap is hidden from the PATH (so `isolation="auto"` falls back, as in Gradescope's or Docker's containers)
and the grader runs as root, as it does here: the student's interpreter must run as an unprivileged identity of
its own that cannot read the answer key, the graders, the project, the course or the results, while the whole
hostile corpus still holds. Where the grader is not root, the result must say the key was exposed.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from autograder.check import check
from autograder.reports.terminal import render_table
from autograder.result import Result
from autograder.sandbox import privileges
from autograder.sandbox.confinement import bwrap_available
from autograder.sandbox.session import Sandbox
from autograder.submission import Cell
from support.hostile import CANARY, FAST, SCENARIOS, sandbox_processes
from support.notebooks import ROOT, make_submission, source_notebook

pytestmark = pytest.mark.slow
KEY_SCENARIOS = ("submission-imports-answer-key", "submission-reads-grader-files")
CONTAINED_DIFFERENTLY = (
    "submission-infinite-loop", "submission-sleeps-forever", "submission-memory-bomb", "submission-spawns-processes",
    "submission-fork-bomb", "submission-imports-answer-key", "submission-reads-grader-files",
    "submission-writes-fake-results", "submission-opens-socket", "submission-kills-parent",
    "submission-kills-everything", "submission-os-exit")
"""The corpus's attacks that the fallback stops with its own means (a uid of its own, ACLs, seccomp, rlimits, the
kill of the process group); the rest (monkeypatching, answer shapes, renamed or deleted cells) only reach the
graders, which are the same whatever the isolation, and stay with tests/sandbox/test_hostile_submissions.py."""
TRIES = """import os, sys
sys.path.insert(0, {root!r})
denied = {{}}
for path in {paths!r}:
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, 'rb').read(1)
        denied[path] = False
    except PermissionError:
        denied[path] = True
try:
    from assignments.masked_attention import masked_self_attention
    imported = True
except ImportError:
    imported = False
try:
    open('/tmp/{canary}', 'w').write('x')
    wrote_tmp = True
except OSError:
    wrote_tmp = False
uid = os.getuid()
"""


@pytest.fixture(autouse=True)
def without_bubblewrap(monkeypatch):
    """bwrap off the PATH, and the sandboxes in a directory the sandbox's user may pass through (pytest's own
    temporary directories are root's, mode 0700)."""
    assert os.geteuid() == 0, "these tests exercise the fallback as root (the grader's case on Gradescope)"
    monkeypatch.setenv("PATH", "/nonexistent")
    bwrap_available.cache_clear()
    base = Path(tempfile.mkdtemp(prefix="attn-fallback-", dir="/tmp"))
    base.chmod(0o711)
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    yield base
    bwrap_available.cache_clear()


def test_the_key_graders_project_and_results_are_unreadable(without_bubblewrap, tmp_path, monkeypatch):
    """As root without bubblewrap, can the student's code neither list nor open the key, the graders, the course
    files or a protected results path, nor import the key with the repo on sys.path, nor write to /tmp?"""
    results = tmp_path / "grades"
    results.mkdir()
    (results / "results.jsonl").write_text("{}\n")
    monkeypatch.setenv(privileges.PROTECT_ENV, str(results))
    paths = [str(ROOT / "assignments" / "masked_attention.py"), str(ROOT / "assignments"),
             str(ROOT / "autograder" / "graders"), str(ROOT / "source"), str(ROOT / "tests"), str(results)]
    with Sandbox([Cell(0, TRIES.format(root=str(ROOT), paths=paths, canary=CANARY))], FAST, "auto") as sandbox:
        assert sandbox.isolation == "process" and sandbox.run_cells() == []
        denied = sandbox.get("denied").value
        assert denied == {path: True for path in paths}
        assert sandbox.get("imported").value is False and sandbox.get("wrote_tmp").value is False
        assert sandbox.get("uid").value >= privileges.UID_BASE
    assert not Path(f"/tmp/{CANARY}").exists()


@pytest.mark.parametrize("scenario", CONTAINED_DIFFERENTLY)
def test_hostile_submission_is_contained_without_bubblewrap(scenario, submission, without_bubblewrap):
    """Does every attack the fallback stops its own way get the same score, error kinds and containment in the
    process fallback as in bubblewrap (reading or importing the key: 0 for that answer, the read denied)?"""
    changes, expected_score, error_kinds = SCENARIOS[scenario]
    notebook = submission("attention_by_hand", scenario, **changes)

    result = check(notebook, limits=FAST)

    assert result.isolation == "process"
    assert "no-privilege-drop" not in {e.kind for e in result.errors}
    if expected_score is not None:
        assert result.score == pytest.approx(expected_score), result.to_json(indent=1)
    assert error_kinds <= {e.kind for e in result.errors}
    if scenario in KEY_SCENARIOS:
        message = next(e.message for e in result.errors if e.kind == "exception")
        assert "Permission denied" in message or "No module named 'assignments." in message, message
    assert not sandbox_processes(without_bubblewrap)
    assert not (ROOT / CANARY).exists() and not Path(f"/tmp/{CANARY}").exists()
    assert not (Path.home() / CANARY).exists()


def test_the_issue_import_scores_nothing(tmp_path):
    """Does the issue's notebook, whose masked_self_attention is imported from the key after putting the repo on
    sys.path, score 0 for it without bubblewrap (it scored 5/5)?"""
    answer = (f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
              "from assignments.masked_attention import masked_self_attention")
    notebook = make_submission(source_notebook("masked_attention"), tmp_path / "masked_attention.ipynb",
                               replace={"answer_masked_self_attention": answer})
    result = check(notebook, limits=FAST)
    assert result.isolation == "process" and result.question("masked_self_attention").score == 0


def test_a_grader_that_cannot_drop_privileges_says_so(monkeypatch):
    """When the grader is not root (simulated: it is root here), does the result carry a no-privilege-drop error
    that the terminal table shows first?"""
    monkeypatch.setattr(privileges, "can_drop", lambda: False)
    with Sandbox([Cell(0, "x = 1")], FAST, "auto") as sandbox:
        errors = sandbox.run_cells()
    assert [e.kind for e in errors] == ["no-privilege-drop"] and "bubblewrap" in errors[0].message
    table = render_table(Result("attention_by_hand", "nb.ipynb", 0, 15, "process", 1.0, [], errors))
    assert table.startswith("!!! ") and "answer key" in table.splitlines()[0]
