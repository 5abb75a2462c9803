"""A warm grader of one's own: the class service (SPEC §8) on a Unix socket only this user can open, for re-checks.

`attn-grade check` and the self-check cell ask it first (`check_reusing_local_grader`): when one of this version is
running, the notebook is graded on its warm worker in about a second; otherwise it is graded here, cold, and a
grader is started in the background (a detached process) for the next check. It listens on no network port: its
socket is `grader.sock` in `$XDG_RUNTIME_DIR/attn-grade/` (else `~/.cache/attn-grade/`), a folder of mode 0700, the
socket itself 0600; one runs per user (a lock file), and it exits after IDLE_S without a request. Each answers with
the stamp of the code it runs; one of another stamp (an older checkout) is told to stop and is never used.
`ATTN_GRADE_LOCAL_GRADER=off` grades cold every time and starts nothing.
"""
from __future__ import annotations

import base64
import fcntl
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from autograder.graders.cache import cache_home, code_fingerprint

IDLE_S = 15 * 60
"""A local grader stops after this long without a request."""
STARTING_S = 60.0
"""How long a check waits for a grader that is starting (its lock is held, its socket not up yet)."""
ENGINE_CODE = ("assignments", "autograder")
SWITCH = "ATTN_GRADE_LOCAL_GRADER"


def runtime_dir() -> Path:
    """This user's folder for the grader's socket and lock: made 0700 (PermissionError if another user owns it)."""
    base = Path(os.environ["XDG_RUNTIME_DIR"]) / "attn-grade" if os.environ.get("XDG_RUNTIME_DIR") else cache_home()
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    if base.stat().st_uid != os.getuid():
        raise PermissionError(f"{base} belongs to another user")
    base.chmod(0o700)
    return base


def enabled() -> bool:
    """Whether checks may use (and start) a local grader: not with ATTN_GRADE_LOCAL_GRADER=off."""
    return os.environ.get(SWITCH, "").lower() not in ("off", "0", "no")


def engine_stamp() -> str:
    """The fingerprint of the engine's code (and of the model it is told to use): a grader with another one is from
    another version."""
    return f"{code_fingerprint(ENGINE_CODE)}-{os.environ.get('ATTN_BERT_MODEL', '')}"


# ---------------------------------------------------------------- the client side

def check_reusing_local_grader(notebook, *, assignment=None, lang="en", figures=False):
    """`check` (or, with `figures`, `check_with_figures`), on the warm local grader when one of this version runs.

    Returns:
        (Result, question id → SVG; empty without `figures`), exactly as the cold path gives them.
    Raises:
        SubmissionError: as `check` does.
    """
    if enabled():
        row = grade_on_local_grader(notebook, assignment, lang)
        if row is not None:
            from autograder.result import Result
            pictures = {q: base64.b64decode(p) for q, p in row.pop("figures", {}).items()}
            return Result.from_dict(row | {"notebook": str(notebook)}), pictures if figures else {}
    from autograder.check import check, check_with_figures
    graded = check_with_figures(notebook, assignment=assignment, lang=lang) if figures else \
        (check(notebook, assignment=assignment, lang=lang), {})
    if enabled():
        start_local_grader()  # for the next check
    return graded


def grade_on_local_grader(notebook, assignment: str | None, lang: str) -> dict | None:
    """The graded row (Result as a dict, plus "figures") from a running grader of this version; None when there is
    none (or the notebook is not one it can grade: the cold path then says why)."""
    try:
        directory = runtime_dir()
        data = Path(notebook).read_bytes()
    except OSError:
        return None
    if not _answers(directory):
        return None
    body = json.dumps({"filename": Path(notebook).name, "notebook": base64.b64encode(data).decode("ascii"),
                       "assignment": assignment, "lang": lang}).encode()
    try:
        row = call(directory / "grader.sock", "POST", "/api/local/check", body, timeout=900)
    except (OSError, ValueError):
        return None
    return row if row.get("isolation") != "none" else None


def _answers(directory: Path) -> bool:
    """Whether a grader of this version answers (waiting for one that is starting); an old one is told to stop."""
    deadline = time.monotonic() + STARTING_S
    while True:
        try:
            version = call(directory / "grader.sock", "GET", "/api/local/version", timeout=5)
        except (OSError, ValueError):
            version = None
        if version is not None:
            if version.get("stamp") == engine_stamp():
                return True
            stop_local_grader(directory)
            return False
        if not _lock_held(directory) or time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def start_local_grader() -> None:
    """Start a grader in the background, detached from this process (it exits at once if one already runs)."""
    try:
        directory = runtime_dir()
    except OSError:
        return
    if _lock_held(directory):
        return
    with open(directory / "grader.log", "ab") as log:
        subprocess.Popen([sys.executable, "-m", "autograder.service.local"], stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log, start_new_session=True, close_fds=True, cwd="/")


def stop_local_grader(directory: Path | None = None) -> None:
    """Ask the running grader, if any, to stop now."""
    try:
        call((directory or runtime_dir()) / "grader.sock", "POST", "/api/local/stop", b"{}", timeout=5)
    except (OSError, ValueError):
        pass


def call(sock: Path, method: str, path: str, body: bytes | None = None, timeout: float = 10) -> dict:
    """One HTTP request over the Unix socket `sock`; the JSON answer (OSError when refused, ValueError if not JSON)."""
    connection = _UnixConnection(str(sock), timeout)
    try:
        connection.request(method, path, body, {"Content-Type": "application/json"} if body else {})
        answer = connection.getresponse()
        data = answer.read()
    finally:
        connection.close()
    if answer.status != 200:
        raise OSError(f"the local grader answered HTTP {answer.status}")
    return json.loads(data)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def _lock_held(directory: Path) -> bool:
    """Whether some process holds the grader's lock (a grader is running or starting)."""
    try:
        with open(directory / "grader.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


if __name__ == "__main__":
    from autograder.service.local_server import serve_local
    sys.exit(serve_local())
