"""Latency as one learner and a small class feel it, each figure beside stock `nbgrader autograde` in the same run.

Three figures, every one measured as a user runs it (a fresh process, its start-up, warm-up and exports included):
  cold     `attn-grade check` of one `bert_heads` notebook with no local grader (ATTN_GRADE_LOCAL_GRADER=off), the
           key's reference results already cached (the usual case; the very first check computes them: also shown)
           — against `nbgrader autograde` of that one notebook; median of --rounds, taken turn about.
  recheck  the second `attn-grade check` (and self-check, `python -m autograder.selfcheck --html`) of each
           assignment's notebook, on the warm local grader the first check started — against `nbgrader autograde`
           of that one notebook (stock nbgrader has no warm path: a re-check costs what a check costs).
  class    `attn-grade grade` of N `bert_heads` notebooks, end to end — against `nbgrader autograde` of the same N.
Notebooks are the instructor's (and, for the class, the right/partial/wrong mix of benchmarks/throughput.py). Each
figure is printed with the 1-minute load average before and after it: on a busy machine the ratios are not the
machine's. Example:

    .venv/bin/python benchmarks/latency.py                       # all three, N = 24 (about 8 minutes, quiet)
    .venv/bin/python benchmarks/latency.py --figures cold recheck --rounds 3
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import build_course, run_stock  # noqa: E402  (its environment set-up comes along)

from assignments import ASSIGNMENT_IDS  # noqa: E402
from autograder.service import local  # noqa: E402

BIN = Path(sys.executable).parent


def timed(command: list[str], **env: str) -> float:
    """Wall seconds of one command (it must succeed)."""
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, **env))
    seconds = time.monotonic() - started
    if run.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{run.stderr[-2000:]}")
    return seconds


def stock_seconds(home: Path, assignment: str) -> float:
    """`nbgrader autograde` of every submission of `assignment` in the course at `home` (nothing kept from before)."""
    shutil.rmtree(home / "autograded", ignore_errors=True)
    return run_stock(home, assignment)["seconds"]


def check_command(path: Path) -> list[str]:
    return [str(BIN / "attn-grade"), "check", str(path), "--lang", "en"]


def load() -> float:
    return os.getloadavg()[0]


def line(what: str, ours: float, stock: float, before: float, extra: str = "") -> str:
    return (f"{what:52} {ours:7.2f} s   stock nbgrader {stock:7.2f} s   {ours / stock:5.2f} of stock "
            f"({stock / ours:4.1f}×)   load {before:.1f} → {load():.1f}{extra}")


def cold_figure(scratch: Path, rounds: int) -> list[str]:
    """The cold check against stock nbgrader on one bert_heads notebook, turn about."""
    home = scratch / "one"
    build_course(home, ["bert_heads"], 1)
    path = next((home / "submitted").glob("*/bert_heads/bert_heads.ipynb"))
    before, cache = load(), {"XDG_CACHE_HOME": str(scratch / "cache"), local.SWITCH: "off"}
    first = timed(check_command(path), **cache)  # computes and stores the reference results
    ours, stock = [], []
    for _ in range(rounds):
        stock.append(stock_seconds(home, "bert_heads"))
        ours.append(timed(check_command(path), **cache))
    return [line(f"cold `attn-grade check` bert_heads (median of {rounds})", statistics.median(ours),
                 statistics.median(stock), before, f"   [first ever, computing the references: {first:.2f} s; "
                                                   f"ours {min(ours):.2f}–{max(ours):.2f} s]")]


def recheck_figure(scratch: Path) -> list[str]:
    """The second check of each assignment's notebook on the warm local grader, and stock's one-notebook time."""
    home = scratch / "each"
    build_course(home, list(ASSIGNMENT_IDS), 1)
    env = {"XDG_CACHE_HOME": str(scratch / "cache"), "XDG_RUNTIME_DIR": str(scratch / "run")}
    (scratch / "run").mkdir(mode=0o700, exist_ok=True)
    lines = []
    try:
        for assignment in ASSIGNMENT_IDS:
            path = next((home / "submitted").glob(f"*/{assignment}/{assignment}.ipynb"))
            before = load()
            stock = stock_seconds(home, assignment)
            first = timed(check_command(path), **env)
            _wait_for_local_grader(env)
            second = timed(check_command(path), **env)
            cell = timed([sys.executable, "-m", "autograder.selfcheck", str(path), "--html"], **env)
            lines.append(line(f"second `attn-grade check` {assignment}", second, stock, before,
                              f"   [self-check cell {cell:.2f} s; the first check {first:.2f} s]"))
    finally:
        local.stop_local_grader(scratch / "run" / "attn-grade")
    return lines


def _wait_for_local_grader(env: dict) -> None:
    """Until the grader the first check started answers, with its worker warm (as it is when a learner re-checks)."""
    sock = Path(env["XDG_RUNTIME_DIR"]) / "attn-grade" / "grader.sock"
    deadline = time.monotonic() + 300
    while True:
        try:
            if local.call(sock, "GET", "/api/local/version").get("warm"):
                return
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the local grader did not warm up")
        time.sleep(0.2)


def class_figure(scratch: Path, count: int) -> list[str]:
    """`attn-grade grade` of `count` bert_heads notebooks end to end, and stock nbgrader on the same ones."""
    home = scratch / "class"
    build_course(home, ["bert_heads"], count)
    before = load()
    stock = stock_seconds(home, "bert_heads")
    ours = timed([str(BIN / "attn-grade"), "grade", str(home / "submitted"), "--assignment", "bert_heads",
                  "--out", str(scratch / "grades"), "--lang", "en"], XDG_CACHE_HOME=str(scratch / "cache"))
    return [line(f"`attn-grade grade` of {count} bert_heads notebooks", ours, stock, before)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--figures", nargs="+", choices=("cold", "recheck", "class"),
                        default=["cold", "recheck", "class"])
    parser.add_argument("--rounds", type=int, default=3, help="cold checks and stock runs, turn about (3)")
    parser.add_argument("-n", "--notebooks", type=int, default=24, help="notebooks in the class figure (24)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="attn-latency-"))
    lines = [f"{os.cpu_count()} cores; stock nbgrader = `nbgrader autograde` in a stock course (the same notebooks)"]
    try:
        for figure in args.figures:
            lines += {"cold": lambda: cold_figure(scratch, args.rounds), "recheck": lambda: recheck_figure(scratch),
                      "class": lambda: class_figure(scratch, args.notebooks)}[figure]()
            print(lines[-1], file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
