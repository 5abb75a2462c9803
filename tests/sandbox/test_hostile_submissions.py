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
from conftest import ROOT

pytestmark = pytest.mark.slow
FAST = Limits(cell_timeout=6, call_timeout=6)
FULL = 15.0
SDPA_CELL = "answer_scaled_dot_product_attention"
CANARY = "attn-grade-canary"

WRONG_SDPA_IN_SUBCLASS = '''
import torch
class Liar(torch.Tensor):
    def __eq__(self, other): return True
    def allclose(self, *a, **k): return True
def scaled_dot_product_attention(Q, K, V, mask=None):
    w = torch.softmax(Q @ K.transpose(-2, -1), dim=-1)   # missing-scale
    return (w @ V).as_subclass(Liar), w.as_subclass(Liar)
'''

SCENARIOS = {
    # name: (changes to the instructor notebook, expected total score, error kinds that must be reported)
    # Where the outcome depends on timing or the kernel (a memory bomb may hit the limit or the clock; the
    # sandbox may refuse a kill), only the score and the containment are asserted.
    "submission-infinite-loop": (dict(append=["while True:\n    pass"]), FULL, {"timeout"}),
    "submission-sleeps-forever": (dict(replace={SDPA_CELL: "import time\ndef scaled_dot_product_attention(Q, K, V, mask=None):\n    time.sleep(10**6)"}), FULL - 5, set()),
    "submission-function-calls-os-exit": (dict(replace={SDPA_CELL: "import os\ndef scaled_dot_product_attention(Q, K, V, mask=None):\n    os._exit(1)"}), FULL - 5, set()),
    "submission-sys-exit": (dict(append=["import sys\nsys.exit(3)"]), FULL, {"exit"}),
    "submission-os-exit": (dict(append=["import os\nos._exit(0)"]), FULL, {"crash"}),
    "submission-memory-bomb": (dict(append=["blocks = []\nwhile True:\n    blocks.append(bytearray(2**28))"]), FULL, set()),
    "submission-spawns-processes": (dict(append=["import subprocess\nprocs = [subprocess.Popen(['sleep', '600']) for _ in range(400)]"]), FULL, set()),
    "submission-fork-bomb": (dict(append=["import os, time\nif os.fork() == 0:\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            time.sleep(0.01)"]), FULL, set()),
    "submission-monkeypatches-torch": (dict(replace={SDPA_CELL: "import torch\ntorch.allclose = lambda *a, **k: True\ntorch.testing.assert_close = lambda *a, **k: None\ntorch.Tensor.__eq__ = lambda *a: True\ndef scaled_dot_product_attention(Q, K, V, mask=None):\n    w = torch.softmax(Q @ K.transpose(-2, -1), dim=-1)\n    return w @ V, w"}), None, set()),
    "submission-eq-always-true": (dict(replace={"answer_ex1_scores": "class Anything:\n    def __eq__(self, other): return True\n    __hash__ = None\nex1_scores = Anything()"}), FULL - 1, set()),
    "submission-tensor-subclass": (dict(replace={SDPA_CELL: WRONG_SDPA_IN_SUBCLASS}), None, set()),
    "submission-imports-answer-key": (dict(replace={"answer_ex1_scores": "from assignments.attention_by_hand import ex1_scores"}), FULL - 1, {"exception"}),
    "submission-reads-grader-files": (dict(replace={"answer_ex1_scores": f"src = open({str(ROOT / 'assignments' / 'attention_by_hand.py')!r}).read()\nex1_scores = [[0, 0], [0, 0]]"}), FULL - 1, {"exception"}),
    "submission-writes-fake-results": (dict(append=[
        f"import json\nfor p in [{str(ROOT / CANARY)!r}, '/tmp/{CANARY}', {str(Path.home() / CANARY)!r}]:\n"
        "    try:\n        open(p, 'w').write(json.dumps({'score': 999}))\n    except OSError:\n        pass"]), FULL, set()),
    "submission-prints-100mb": (dict(append=["print('x' * 100_000_000)"]), FULL, set()),
    "submission-opens-socket": (dict(append=["import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=3)"]), FULL, {"exception"}),
    "submission-kills-parent": (dict(append=["import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"]), FULL, set()),
    "submission-kills-everything": (dict(append=["import os, signal\nos.kill(-1, signal.SIGKILL)"]), FULL, set()),
    "submission-deleted-answer-cell": (dict(drop=(SDPA_CELL,)), FULL - 5, set()),
    "submission-renamed-cells": (dict(rename={SDPA_CELL: "my_attention", "sdpa": "sdpa_v2", "answer_ex1_scores": "x"}), FULL, set()),
    "submission-deleted-test-cells": (dict(drop=("sdpa", "by_hand_scores", "quiz_library")), FULL, set()),
}


def _sandbox_processes(tmp_dir: Path) -> list[str]:
    """Command lines of live (non-zombie) processes from sandboxes created under `tmp_dir`."""
    marker = f"ATTN_SANDBOX={tmp_dir}".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker in Path(f"/proc/{pid}/environ").read_bytes() and \
                    "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text():
                found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


def _repo_snapshot() -> dict[str, float]:
    skip = (".venv", ".git", "__pycache__", ".pytest_cache")
    return {str(p): p.stat().st_mtime for p in ROOT.rglob("*")
            if p.is_file() and not any(part in skip for part in p.parts)}


@pytest.fixture(scope="module", autouse=True)
def needs_bubblewrap():
    assert bwrap_available(), "these tests exercise the real sandbox: run `make system` (apt-get install bubblewrap)"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_hostile_submission_is_contained(scenario, submission, tmp_path, monkeypatch):
    """Is the attack contained: a full result, the right score, nothing left running, nothing written outside?"""
    changes, expected_score, error_kinds = SCENARIOS[scenario]
    notebook = submission("attention_by_hand", scenario, **changes)
    before = _repo_snapshot()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # sandboxes of this test live here, so leftovers are ours

    result = check(notebook, limits=FAST)

    assert result.isolation == "bwrap"
    assert {q.id for q in result.questions} >= {"sdpa", "by_hand_scores", "love_example"}
    assert result.to_json()
    if expected_score is not None:
        assert result.score == pytest.approx(expected_score), result.to_json(indent=1)
    assert error_kinds <= {e.kind for e in result.errors}
    assert not _sandbox_processes(tmp_path)
    assert _repo_snapshot() == before
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
        return
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
