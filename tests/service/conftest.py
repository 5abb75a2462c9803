"""The class service under test: a real `attn-grade serve` process on a free loopback port, real HTTP (httpx).

Each test module starts its own server (module-scoped) with `start_server(...)`, enrols students through the real
`attn-grade roster` commands, and talks to it through a `Server`.
"""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support.answers import CAUSAL_MASK, ENTROPY_LOG2
from support.notebooks import make_submission, release_notebook, source_notebook

ATTN_GRADE = str(Path(sys.executable).parent / "attn-grade")
STARTUP_TIMEOUT_S = 120
VERDICT_TIMEOUT_S = 600
BUGGY = {  # one classic misconception per assignment (grade_id → source)
    "attention_by_hand": {"answer_scaled_dot_product_attention":
                          "import torch\ndef scaled_dot_product_attention(Q, K, V, mask=None):\n"
                          "    scores = Q @ K.transpose(-2, -1)\n"
                          "    if mask is not None:\n        scores = scores.masked_fill(mask == 0, -1e9)\n"
                          "    w = torch.softmax(scores, dim=-1)\n    return w @ V, w\n"},
    "masked_attention": {"answer_causal_mask": CAUSAL_MASK["triu-instead-of-tril"]},
    "bert_heads": {"answer_head_entropy": ENTROPY_LOG2},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def roster(data: Path, *args: str) -> str:
    """Run `attn-grade roster ARGS --data DATA` and return what it printed."""
    run = subprocess.run([ATTN_GRADE, "roster", *args, "--data", str(data)], capture_output=True, text=True,
                         check=True)
    return run.stdout


def enrol(data: Path, students) -> dict[str, str]:
    """Import a roster CSV of `students`; student → token, and "instructor" → an instructor token."""
    roster_csv = data.parent / f"{data.name}-roster.csv"
    roster_csv.write_text("student,email\n" + "".join(f"{s},{s}@example.edu\n" for s in students), encoding="utf-8")
    lines = roster(data, "import", str(roster_csv)).splitlines()
    assert lines[0] == "student,token"
    tokens = dict(line.split(",", 1) for line in lines[1:])
    return tokens | {"instructor": roster(data, "instructor").strip()}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """A factory: scenario(assignment, kind) → a perfect (instructor), buggy (one misconception) or blank (as
    released) notebook of the assignment."""
    tmp = tmp_path_factory.mktemp("scenarios")

    def notebook(assignment: str, kind: str) -> Path:
        path = tmp / kind / f"{assignment}.ipynb"
        if not path.exists():  # a copy, made once: the same bytes for the whole module
            origin = release_notebook(assignment) if kind == "blank" else source_notebook(assignment)
            make_submission(origin, path, replace=BUGGY[assignment] if kind == "buggy" else None)
        return path
    return notebook


class Server:
    """One `attn-grade serve` process; its stderr (the JSON log) goes to `log`."""

    def __init__(self, data: Path, *options: str):
        self.data, self.options = data, options
        self.log = data.parent / f"{data.name}.log"
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> "Server":
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([ATTN_GRADE, "serve", "--data", str(self.data), "--port", str(port),
                                          "--workers", "2", *self.options], stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the server exited: {self.log.read_text()[-2000:]}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"the server did not answer within {STARTUP_TIMEOUT_S} s")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120) -> int:
        """Send `sig` and wait for the process to end; its exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def request(self, method: str, path: str, token: str | None = None, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {}) | ({"Authorization": f"Bearer {token}"} if token else {})
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)

    def get(self, path: str, token: str | None = None, **kwargs) -> httpx.Response:
        return self.request("GET", path, token, **kwargs)

    def submit(self, token: str, notebook: Path | bytes, filename: str | None = None, **fields) -> httpx.Response:
        """POST /api/submissions with the notebook as the `notebook` file field and any other `fields`."""
        data = notebook.read_bytes() if isinstance(notebook, Path) else notebook
        name = filename or (notebook.name if isinstance(notebook, Path) else "notebook.ipynb")
        return self.request("POST", "/api/submissions", token, files={"notebook": (name, data)}, data=fields)

    def submit_when_allowed(self, token: str, notebook: Path | bytes, **fields) -> httpx.Response:
        """`submit`, waiting out each 429 for its Retry-After, as a polite client does."""
        while (response := self.submit(token, notebook, **fields)).status_code == 429:
            time.sleep(float(response.headers["Retry-After"]))
        return response

    def verdict(self, token: str, submission_id: str, timeout: float = VERDICT_TIMEOUT_S) -> dict:
        """Poll GET /api/submissions/{id} until it is done or error; the last answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.get(f"/api/submissions/{submission_id}", token).json()
            if answer["status"] in ("done", "error"):
                return answer
            time.sleep(0.2)
        raise AssertionError(f"{submission_id} not graded within {timeout} s")

    def events(self, event: str | None = None, run: int | None = None) -> list[dict]:
        """The JSON log lines so far, optionally of one event, and of one run (0 the first start, -1 the last)."""
        lines = [json.loads(l) for l in self.log.read_text(encoding="utf-8").splitlines() if l.startswith("{")]
        starts = [i for i, line in enumerate(lines) if line["event"] == "serving"] + [len(lines)]
        if run is not None:
            run = run % (len(starts) - 1)
            lines = lines[starts[run]:starts[run + 1]]
        return [line for line in lines if event in (None, line["event"])]

    def roster(self, *args: str) -> subprocess.CompletedProcess:
        """`attn-grade roster ARGS --data DATA`, whatever its exit status."""
        return subprocess.run([ATTN_GRADE, "roster", *args, "--data", str(self.data)], capture_output=True, text=True)

    def stored_files(self) -> list[Path]:
        return sorted(p for p in (self.data / "submissions").rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def start_server(tmp_path_factory):
    """A factory: start_server(*serve options, students=[...]) → (Server, tokens); stopped after the module."""
    servers = []

    def start(*options: str, students=("alice", "bob")) -> tuple[Server, dict[str, str]]:
        data = tmp_path_factory.mktemp("service") / "data"
        tokens = enrol(data, students)
        servers.append(Server(data, *options).start())
        return servers[-1], tokens

    yield start
    for server in servers:
        server.stop()

