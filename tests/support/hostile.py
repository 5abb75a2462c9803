"""The hostile-submission corpus: attacks on the sandbox, each a change to the attention_by_hand instructor notebook."""
from __future__ import annotations

import os
from pathlib import Path

from autograder.sandbox.session import Limits
from support.notebooks import ROOT

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


def sandbox_processes(tmp_dir: Path) -> list[str]:
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
