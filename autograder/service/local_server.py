"""The local grader's process (local.py): the class service's app, two more routes, on this user's Unix socket."""
from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import uvicorn
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from assignments import ASSIGNMENT_IDS
from autograder.batch import Task
from autograder.batch.workers import executor_for, start_warm_workers
from autograder.files import PROJECT
from autograder.service.app import create_app
from autograder.service.config import ServiceConfig
from autograder.service.grading import PREWARMED_ASSIGNMENT
from autograder.service.local import IDLE_S, engine_stamp, runtime_dir

WORKERS = 1
"""One learner checks one notebook at a time: one warm worker (one zygote) is enough."""


class LocalGrader:
    """The routes' state: what it grades with, when it was last asked, and how to stop it."""

    def __init__(self, config: ServiceConfig, server: uvicorn.Server):
        self.config, self.server, self.stamp = config, server, engine_stamp()
        self.run = executor_for(None, config.workers, warm=True)  # the warm pool the service's queue starts
        self.warming: list = []
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="attn-local-warm-up")
        self.last_used, self.busy = time.monotonic(), 0

    async def version(self, request: Request) -> JSONResponse:
        """GET /api/local/version: the stamp of the code this grader runs, and whether its worker is warm yet."""
        self.last_used = time.monotonic()
        if not self.warming:
            self.warming = start_warm_workers(self.config.workers, self.config.limits, PREWARMED_ASSIGNMENT)
            self.warming.append(self.pool.submit(self.warm_up))
        return JSONResponse({"stamp": self.stamp, "pid": os.getpid(), "warm": all(f.done() for f in self.warming)})

    def warm_up(self) -> None:
        """Grade each assignment's instructor notebook once and drop the verdicts, so that a learner's first check
        of any assignment finds its graders loaded and run (done on the worker itself, after its zygote is warm)."""
        notebooks = [PROJECT / "source" / a / f"{a}.ipynb" for a in ASSIGNMENT_IDS]
        list(self.run([Task("warm-up", p, p.read_bytes()) for p in notebooks if p.is_file()],
                      (None, "en", self.config.limits)))

    async def check(self, request: Request) -> JSONResponse:
        """POST /api/local/check {filename, notebook (base64), assignment, lang}: the graded row, as a batch has it."""
        self.busy += 1
        try:
            body = await request.json()
            data = base64.b64decode(body["notebook"], validate=True)
            task = Task("local", Path(Path(str(body["filename"])).name), data, hashlib.sha256(data).hexdigest())
            lang = body.get("lang") if body.get("lang") in ("zh", "en") else "en"
            rows = await run_in_threadpool(lambda: list(self.run([task], (body.get("assignment"), lang,
                                                                        self.config.limits))))
            return JSONResponse(rows[0][1])
        finally:
            self.busy -= 1
            self.last_used = time.monotonic()

    async def stop(self, request: Request) -> JSONResponse:
        """POST /api/local/stop: exit now (a newer version is taking over)."""
        self.server.should_exit = True
        return JSONResponse({"ok": True})

    def stop_when_idle(self, idle_s: float) -> None:
        """Exit once nothing was asked for `idle_s` seconds."""
        while not self.server.should_exit:
            time.sleep(min(5.0, idle_s / 4))
            if not self.busy and time.monotonic() - self.last_used > idle_s:
                self.server.should_exit = True


def serve_local() -> int:
    """Serve until idle or told to stop; at once 0 when another grader of this user holds the lock."""
    directory = runtime_dir()
    lock = open(directory / "grader.lock", "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    config = ServiceConfig(directory / "service", workers=WORKERS)
    server = uvicorn.Server(uvicorn.Config(None, log_level="warning", access_log=False, lifespan="on"))
    grader = LocalGrader(config, server)
    server.config.app = create_app(config, routes=[
        Route("/api/local/version", grader.version), Route("/api/local/check", grader.check, methods=["POST"]),
        Route("/api/local/stop", grader.stop, methods=["POST"])])
    threading.Thread(target=grader.stop_when_idle, args=(float(os.environ.get("ATTN_GRADE_LOCAL_IDLE_S", IDLE_S)),),
                     daemon=True).start()
    path = directory / "grader.sock"
    try:
        server.run(sockets=[_bind(path)])
    finally:
        path.unlink(missing_ok=True)
    return 0


def _bind(path: Path) -> socket.socket:
    """A listening Unix socket at `path` that only this user may connect to (0600, in a 0700 folder)."""
    path.unlink(missing_ok=True)  # a crashed grader's: we hold the lock
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    umask = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(umask)
    os.chmod(path, 0o600)
    sock.listen(16)
    return sock
