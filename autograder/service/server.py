"""Serve the app with uvicorn on a TCP port: `attn-grade serve` (SIGTERM or Ctrl-C stops it gracefully)."""
from __future__ import annotations

import os

import uvicorn

from autograder.service.app import create_app
from autograder.service.config import ServiceConfig
from autograder.service.logs import log_event
from autograder.service.pages import ROUTES as PAGES  # the web pages for people, beside the API


def serve(config: ServiceConfig, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the service until SIGTERM or SIGINT: stop accepting, let grading finish or requeue it, then return."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no progress bar (transformers') cuts into a log line
    server = uvicorn.Server(uvicorn.Config(create_app(config, routes=PAGES), host=host, port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    log_event("serving", url=f"http://{host}:{port}", data=str(config.data))
    server.run()
