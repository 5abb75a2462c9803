"""Does a warm zygote grade exactly like a cold sandbox, contain every attack, and leave nothing to the next student?

The warm path forks each submission's interpreter from one long-lived zygote per grading thread (see
autograder/sandbox/warm.py). These tests run the hostile corpus through one shared zygote, compare fast and cold
results on the same class, and check that one submission cannot see what the previous one left behind.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder.batch import grade
from autograder.check import check
from autograder.sandbox.session import Limits, Sandbox, bwrap_available
from autograder.submission import Cell
from autograder.sandbox.warm import warm_start
from support.classes import LIMITS, build_class, verdicts
from support.hostile import CANARY, FAST, SCENARIOS
from support.notebooks import ROOT

pytestmark = pytest.mark.slow

LEAVES_STATE = '''import json, os
open("leftover.txt", "w").write("from the previous student")
for path in ("/tmp/leftover", "/dev/shm/leftover", "/leftover"):
    try:
        open(path, "w").write("from the previous student")
    except OSError:
        pass
json.LEFTOVER = "from the previous student"
os.environ["LEFTOVER"] = "from the previous student"
'''
LOOKS_FOR_STATE = '''import json, os
seen = [p for p in ("leftover.txt", "/tmp/work/leftover.txt", "/tmp/leftover", "/dev/shm/leftover", "/leftover")
        if os.path.exists(p)]
seen += ["json.LEFTOVER"] * hasattr(json, "LEFTOVER") + ["$LEFTOVER"] * ("LEFTOVER" in os.environ)
'''
ATTACKS_ZYGOTE = '''import ctypes, os, signal
attacks = {}
for name, attempt in [("read /proc/1/mem", lambda: open("/proc/1/mem", "rb").read(1)),
                      ("write /proc/1/mem", lambda: open("/proc/1/mem", "r+b")),
                      ("read /proc/1/environ", lambda: open("/proc/1/environ", "rb").read()),
                      ("ptrace attach 1", lambda: ctypes.CDLL(None, use_errno=True).ptrace(16, 1, 0, 0) == 0 or 1 / 0),
                      ("SIGKILL 1", lambda: os.kill(1, signal.SIGKILL)),
                      ("SIGKILL -1", lambda: os.kill(-1, signal.SIGKILL))]:
    try:
        attempt()
        attacks[name] = "done"
    except (OSError, ZeroDivisionError):
        attacks[name] = "refused"
'''


@pytest.fixture(scope="module", autouse=True)
def needs_bubblewrap():
    assert bwrap_available(), "warm sandboxes need bubblewrap: run `make system` (apt-get install bubblewrap)"


def _zygote(limits: Limits):
    """This process's zygote for these limits, warmed up."""
    return warm_start(limits).warm_up()


def _leftovers(zygote) -> list[str]:
    """Command lines of live processes of the zygote's sandbox other than bwrap and the zygote itself."""
    marker = f"ATTN_SANDBOX={zygote.dir}".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            if int(pid) == zygote.proc.pid or status.split("NSpid:")[1].split("\n")[0].split()[-1] == "1":
                continue
            if marker in Path(f"/proc/{pid}/environ").read_bytes() and "\nState:\tZ" not in status:
                found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (OSError, IndexError):
            continue
    return found


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_hostile_submission_is_contained_on_the_warm_path(scenario, submission):
    """Through the shared zygote: the same score as cold, nothing left running, nothing written outside?"""
    changes, expected_score, error_kinds = SCENARIOS[scenario]
    notebook = submission("attention_by_hand", scenario, **changes)

    result = check(notebook, limits=FAST, warm=True)

    zygote = warm_start(FAST).zygote
    assert result.isolation == "bwrap" and zygote is not None and zygote.alive()
    if expected_score is not None:
        assert result.score == pytest.approx(expected_score), result.to_json(indent=1)
    assert error_kinds <= {e.kind for e in result.errors}
    assert not _leftovers(zygote)
    assert not (ROOT / CANARY).exists() and not Path(f"/tmp/{CANARY}").exists()
    assert not (Path.home() / CANARY).exists()


def test_a_submission_cannot_see_what_the_previous_one_left():
    """After A writes files (work dir, /tmp, /dev/shm, /) and sets a module global, does B, forked next from the
    same zygote, see none of it?"""
    starter, zygote = warm_start(FAST), _zygote(FAST)
    with Sandbox([Cell(0, LEAVES_STATE), Cell(1, LOOKS_FOR_STATE)], FAST, "bwrap", starter) as first:
        assert first.run_cells() == []
        assert "leftover.txt" in first.get("seen").value and "json.LEFTOVER" in first.get("seen").value
    with Sandbox([Cell(0, LOOKS_FOR_STATE)], FAST, "bwrap", starter) as second:
        assert second.run_cells() == []
        assert second.get("seen").value == []
    assert starter.zygote is zygote and zygote.alive(), "the same zygote served both"


def test_a_submission_cannot_reach_into_the_zygote():
    """Can a child neither read, write nor ptrace the zygote's memory, nor kill it?"""
    starter, zygote = warm_start(FAST), _zygote(FAST)
    with Sandbox([Cell(0, ATTACKS_ZYGOTE)], FAST, "bwrap", starter) as sandbox:
        assert sandbox.run_cells() == []
        attacks = sandbox.get("attacks").value
    assert {k: v for k, v in attacks.items() if not k.startswith("SIGKILL")} == dict.fromkeys(
        ["read /proc/1/mem", "write /proc/1/mem", "read /proc/1/environ", "ptrace attach 1"], "refused")
    assert starter.zygote is zygote and zygote.alive(), "the zygote survived SIGKILL from its child"


def test_a_dead_zygote_is_replaced_and_the_submission_still_graded(submission):
    """When the zygote dies between submissions, is a new one started and the next notebook graded in full?"""
    zygote = _zygote(FAST)
    os.killpg(zygote.proc.pid, 9)
    zygote.proc.wait()
    result = check(submission("attention_by_hand", "after-a-dead-zygote"), limits=FAST, warm=True)
    assert result.score == 15.0 and warm_start(FAST).zygote is not zygote


@pytest.mark.parametrize("assignment, changes", [
    ("bert_heads", {}),
    ("bert_heads", {"answer_head_entropy": "import torch\ndef head_entropy(attn):\n"
                                           "    return -(attn * torch.log2(attn.clamp_min(1e-12))).sum(-1).mean(-1)",
                    "answer_get_attentions": "def get_attentions(model, tokenizer, text):\n    model.encoder = None\n"
                                             "    raise ValueError('broke the model')"}),
    ("masked_attention", {"answer_causal_mask": "import torch\ndef causal_mask(seq_len):\n"
                                               "    return torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool))"}),
])
def test_fast_and_cold_paths_give_identical_results(assignment, changes, submission):
    """Does one notebook get the same scores, statuses, mistakes, feedback and errors, warm or cold?"""
    notebook = submission(assignment, "student", replace=changes)
    cold, warm = check(notebook, limits=LIMITS), check(notebook, limits=LIMITS, warm=True)
    assert _verdict(warm) == _verdict(cold)


def test_a_class_is_graded_identically_by_warm_and_cold_workers(tmp_path_factory):
    """The batch's class (right, blank, partial, forbidden, hostile, broken, wrong): same rows warm or cold?"""
    base = tmp_path_factory.mktemp("warm-class")
    submitted = build_class(base)
    warm = grade(submitted, assignment="attention_by_hand", out=base / "warm", workers=2, limits=LIMITS)
    cold = grade(submitted, assignment="attention_by_hand", out=base / "cold", workers=2, limits=LIMITS, warm=False)
    assert verdicts(warm.results) == verdicts(cold.results)
    assert [_errors(r) for r in warm.results] == [_errors(r) for r in cold.results]


def _errors(result) -> list:
    return [(e.cell, e.kind) for e in result.errors]


def _verdict(result) -> dict:
    data = result.to_dict()
    data.pop("duration_s")
    return data
