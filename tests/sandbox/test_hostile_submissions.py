"""Does hostile or broken student code cost only what depends on it, leaving the grader and the machine intact?

Every scenario is a real submission: the instructor notebook of `attention_by_hand` (15/15) with one attack
added or one answer replaced. Each must produce a result with the right scores, leave no sandbox process
behind, and write nothing outside the sandbox.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.check import check
from autograder.sandbox import cgroup
from autograder.sandbox.session import Limits, Sandbox, bwrap_available
from autograder.submission import Cell
from autograder.sandbox.warm import warm_start
from support.hostile import CANARY, FAST, SCENARIOS, sandbox_processes
from support.notebooks import ROOT

pytestmark = pytest.mark.slow
@pytest.fixture(scope="module", autouse=True)
def needs_bubblewrap():
    assert bwrap_available(), "these tests exercise the real sandbox: run `make system` (apt-get install bubblewrap)"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_hostile_submission_is_contained(scenario, submission, tmp_path, monkeypatch):
    """Is the attack contained: a full result, the right score, nothing left running, nothing written outside?"""
    changes, expected_score, error_kinds = SCENARIOS[scenario]
    notebook = submission("attention_by_hand", scenario, **changes)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # sandboxes of this test live here, so leftovers are ours

    result = check(notebook, limits=FAST)

    assert result.isolation == "bwrap"
    assert {q.id for q in result.questions} >= {"sdpa", "by_hand_scores", "love_example"}
    assert result.to_json()
    if expected_score is not None:
        assert result.score == pytest.approx(expected_score), result.to_json(indent=1)
    assert error_kinds <= {e.kind for e in result.errors}
    assert not sandbox_processes(tmp_path)
    assert not (ROOT / CANARY).exists() and not Path(f"/tmp/{CANARY}").exists()
    assert not (Path.home() / CANARY).exists()


@pytest.mark.parametrize("scenario", ["submission-monkeypatches-torch", "submission-tensor-subclass"])
def test_tricks_do_not_earn_marks_for_a_wrong_answer(scenario, submission):
    """Do patched torch functions or a lying Tensor subclass leave a wrong sdpa wrong, diagnosed as missing-scale?"""
    notebook = submission("attention_by_hand", scenario, **SCENARIOS[scenario][0])
    sdpa = check(notebook, limits=FAST).question("sdpa")
    assert sdpa.status != "passed" and sdpa.score < 1
    assert "missing-scale" in sdpa.mistakes


FORKS_AND_COUNTS = """import os, time
made = 0
for _ in range(200):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    made += 1
"""


@pytest.mark.slow
@pytest.mark.parametrize("path", ["cold", "warm"])
def test_process_cap_holds_even_when_the_grader_runs_as_root(path):
    """Can a submission start no more processes than Limits.processes allows, on both paths (as root, where
    RLIMIT_NPROC does not bind, the sandbox's pids cgroup must)?"""
    limits = Limits(cell_timeout=20, call_timeout=6, processes=48)
    starter = warm_start(limits) if path == "warm" else None
    with Sandbox([Cell(0, FORKS_AND_COUNTS)], limits, "bwrap", starter) as sandbox:
        assert sandbox.run_cells() == []
        made = sandbox.get("made").value
    assert 0 < made < limits.processes, f"{made} processes started"


def test_sandbox_cgroups_are_removed_and_those_of_killed_graders_swept(tmp_path):
    """Does a closed sandbox leave no cgroup behind, and does the next one remove the empty group of a grading
    process that was killed before it could clean up (as root; elsewhere RLIMIT_NPROC is the cap)?"""
    probe = cgroup.create(tmp_path / "attn-probe", 8)
    if probe is None:
        assert os.geteuid() != 0, "root, yet no pids cgroup could be created: the process cap would not hold"
        pytest.skip("not root: no pids cgroup can be created here, and RLIMIT_NPROC is the cap")
    cgroup.kill_all(tmp_path / "attn-probe")
    stale = probe.parent / "999999999-attn-sandbox-killed"  # no such pid: its grader is gone
    stale.mkdir()
    with Sandbox([Cell(0, "x = 1")], FAST, "bwrap") as sandbox:
        sandbox.run_cells()
        assert list(probe.parent.glob(f"{os.getpid()}-attn-sandbox-*")), "the sandbox runs in a group of its own"
    assert not stale.exists()
    assert not list(probe.parent.glob(f"{os.getpid()}-attn-sandbox-*"))


def test_sleeping_function_is_reported_as_a_timeout(submission):
    """Does a function that never returns get status error with a message about the time limit?"""
    notebook = submission("attention_by_hand", "sleeps", **SCENARIOS["submission-sleeps-forever"][0])
    sdpa = check(notebook, limits=FAST).question("sdpa")
    assert sdpa.status == "error" and "timed out" in sdpa.feedback


def test_invalid_json_notebook_exits_2_with_one_line(tmp_path):
    """Does `attn-grade check` on a file that is not JSON exit 2 with a one-line reason?"""
    bad = tmp_path / "attention_by_hand.ipynb"
    bad.write_text("{ this is not json")
    run = subprocess.run([sys.executable, "-m", "autograder.cli", "check", str(bad)], capture_output=True, text=True)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "not a" in run.stderr and "notebook" in run.stderr
