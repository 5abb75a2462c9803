"""The fast paths give the cold verdict: cold (empty and filled reference cache), the warm local grader, a batch;
the local grader serves only its own user, and one left from another version is never used."""
from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from autograder.batch import grade
from autograder.demo import build_class
from autograder.service import local
from support.notebooks import ROOT

pytestmark = pytest.mark.slow
NOTEBOOKS = [("carol", "attention_by_hand"), ("carol", "bert_heads"), ("bob", "masked_attention")]
"""Misconceptions in two assignments (one with the pretrained model), a blank notebook in the third."""


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """The demo class, and this module's own reference cache and runtime folder (as the environment says)."""
    home = tmp_path_factory.mktemp("latency")
    build_class(home / "class")
    for student, assignment in NOTEBOOKS:  # only these: the class's endless loops would take minutes
        (home / "submitted" / student / assignment).mkdir(parents=True)
        shutil.copy(home / "class" / student / assignment / f"{assignment}.ipynb",
                    home / "submitted" / student / assignment)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(home / "cache"))
        patch.setenv("XDG_RUNTIME_DIR", str(home / "run"))
        patch.setenv(local.SWITCH, "on")
        patch.setenv("ATTN_GRADE_LOCAL_IDLE_S", "300")  # a grader this module forgets to stop goes soon anyway
        (home / "run").mkdir(mode=0o755)  # anyone may pass through: only the grader's own folder and socket guard it
        yield home
        local.stop_local_grader()


def notebook(place: Path, student: str, assignment: str) -> Path:
    return place / "submitted" / student / assignment / f"{assignment}.ipynb"


def cold_check(path: Path) -> dict:
    """`attn-grade check --json` in a fresh process, graded here (no local grader)."""
    run = subprocess.run([sys.executable, "-m", "autograder.cli", "check", str(path), "--json", "--lang", "en"],
                         capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, ATTN_GRADE_LOCAL_GRADER="off"))
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def verdict(result: dict) -> dict:
    """A Result as plain data, without what depends on the run (time) or on where the file was."""
    return {k: v for k, v in result.items() if k not in ("duration_s", "notebook", "student")}


@pytest.fixture(scope="module")
def cold(place):
    """(student, assignment) → the cold verdict; bert_heads graded twice: the reference cache empty, then filled."""
    verdicts = {key: verdict(cold_check(notebook(place, *key))) for key in NOTEBOOKS}
    stored = sorted((place / "cache" / "attn-grade" / "references").glob("*.json"))
    assert [p.name.split(".")[-3] for p in stored] == ["attention_without_special_tokens", "real_attention"]
    assert verdict(cold_check(notebook(place, "carol", "bert_heads"))) == verdicts["carol", "bert_heads"]
    return verdicts


@pytest.fixture(scope="module")
def local_grader(place, cold):
    """A local grader started as `attn-grade check` starts one, once it answers."""
    local.start_local_grader()
    deadline = time.monotonic() + 120
    while not local._answers(local.runtime_dir()):
        assert time.monotonic() < deadline, (place / "run" / "attn-grade" / "grader.log").read_text()
        time.sleep(0.5)
    return local.runtime_dir() / "grader.sock"


def test_every_path_gives_the_cold_verdict(place, cold, local_grader):
    """Do the warm local grader and a warm batch give exactly the cold verdicts (reference cache empty or filled)?"""
    for key in NOTEBOOKS:
        result, figures = local.check_reusing_local_grader(notebook(place, *key), lang="en", figures=True)
        assert verdict(result.to_dict()) == cold[key], key
        assert result.notebook == str(notebook(place, *key))
        assert figures or key[0] == "bob"  # the student's own values, drawn (none in a blank notebook)
    for student, assignment in NOTEBOOKS:
        summary = grade(place / "submitted", assignment=assignment, out=place / "batch" / assignment, workers=1,
                        progress=False)
        assert verdict(next(r for r in summary.results if r.student == student).to_dict()) == cold[student, assignment]


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/python3").exists(),
                    reason="needs root (to run a client as another user) and /usr/bin/python3")
def test_another_user_cannot_reach_the_local_grader(local_grader):
    """Is a client running as another user refused (a 0700 folder, and a 0600 socket even when the folder opens)?"""
    assert oct(local_grader.stat().st_mode & 0o777) == "0o600"
    assert oct(local_grader.parent.stat().st_mode & 0o777) == "0o700"
    nobody = pwd.getpwnam("nobody").pw_uid
    probe = textwrap.dedent(f"""
        import socket
        client = socket.socket(socket.AF_UNIX)
        try:
            client.connect({str(local_grader)!r})
            client.sendall(b"GET /api/local/version HTTP/1.0\\r\\n\\r\\n")
            print("served", client.recv(100))
        except PermissionError:
            print("refused")
    """)

    def as_nobody() -> str:
        return subprocess.run(["/usr/bin/python3", "-I", "-c", probe], capture_output=True, text=True, cwd="/",
                              preexec_fn=lambda: os.setuid(nobody)).stdout.strip()  # the system's: any user runs it
    assert as_nobody() == "refused"
    local_grader.parent.chmod(0o711)  # the folder passable: the socket's own mode still refuses
    try:
        assert as_nobody() == "refused"
    finally:
        local_grader.parent.chmod(0o700)


OLD_GRADER = """
import fcntl, http.server, json, os, socketserver, sys
folder = sys.argv[1]
lock = open(os.path.join(folder, "grader.lock"), "a")
fcntl.flock(lock, fcntl.LOCK_EX)
class Old(http.server.BaseHTTPRequestHandler):
    def address_string(self):
        return "local"
    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self.answer({"stamp": "an-older-version"})
    def do_POST(self):
        open(os.path.join(folder, "asked-" + self.path.rsplit("/", 1)[-1]), "w").close()
        self.answer({"ok": True})
        if self.path.endswith("/stop"):
            self.server.shutdown_request_seen = True
class Server(socketserver.UnixStreamServer):
    shutdown_request_seen = False
    def service_actions(self):
        if self.shutdown_request_seen:
            os.unlink(os.path.join(folder, "grader.sock"))
            os._exit(0)
server = Server(os.path.join(folder, "grader.sock"), Old)
print("ready", flush=True)
server.serve_forever(poll_interval=0.05)
"""


def test_a_grader_of_another_version_is_stopped_not_used(place, cold, tmp_path, monkeypatch):
    """Is a grader answering with another stamp (an older checkout) told to stop, never given the notebook, and
    replaced by one of this version while the notebook is graded cold?"""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    folder = local.runtime_dir()
    # a stand-in for an old version (a real one cannot be checked out here): same socket, lock and protocol
    old = subprocess.Popen([sys.executable, "-c", OLD_GRADER, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert old.stdout.readline().strip() == "ready"
        path = notebook(place, "carol", "attention_by_hand")
        result, _ = local.check_reusing_local_grader(path, lang="en")
        assert verdict(result.to_dict()) == cold["carol", "attention_by_hand"]
        assert (folder / "asked-stop").exists() and not (folder / "asked-check").exists()
        assert old.wait(timeout=10) == 0
        deadline = time.monotonic() + 120
        while not local._answers(folder):  # the fresh one, of this version
            assert time.monotonic() < deadline, (folder / "grader.log").read_text()
            time.sleep(0.5)
    finally:
        old.kill()
        local.stop_local_grader(folder)
