"""Grading throughput: stock `nbgrader autograde` against `attn-grade grade` on the same class, in one run.

Builds a scratch course with N submissions per assignment (right, partial and wrong answers made from the
instructor notebooks), grades it (a) with stock nbgrader — its own in-kernel execution, in a course whose
nbgrader_config.py does not set the engine's preprocessor — and (b) with `autograder.batch.grade` (the library
behind `attn-grade grade`, warm workers), and prints per assignment and for the whole class: wall time of both,
the ratio, the median per-notebook overhead beyond executing the notebook's cells, and peak memory.

N defaults to 10 (about 3 minutes on 2 quiet cores). The README's figures use -n 20 (about 5 minutes, stock
nbgrader taking most of them), enough notebooks that the workers' warm-up (about 9 s, paid by the first
assignment) does not decide the result. Example:

    .venv/bin/python benchmarks/throughput.py -n 20
    .venv/bin/python benchmarks/throughput.py -n 5 --assignments bert_heads --keep
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from assignments import ASSIGNMENT_IDS  # noqa: E402
from autograder import classroom  # noqa: E402
from autograder.batch import grade  # noqa: E402
from autograder.release import generate_release  # noqa: E402

MIX = ("right", "partial", "wrong", "right", "partial", "wrong", "right", "partial", "wrong", "right")
MISTAKES = {  # assignment → kind → answer cells (by grade_id) replaced; "wrong" also answers every quiz wrongly
    "attention_by_hand": {
        "partial": {"answer_love_weights": "love_weights = [s / 18.6 for s in [2.1, 3.5, 7.2, 5.8]]"},
        "wrong": {"answer_ex1_scores": "ex1_scores = [[0.7071, 0.0], [0.3536, 0.3536]]",
                  "answer_scaled_dot_product_attention":
                      "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                      "    scores = Q @ K.transpose(-2, -1)\n"
                      "    if mask is not None:\n        scores = scores.masked_fill(mask == 0, -1e9)\n"
                      "    weights = torch.softmax(scores, dim=-1)\n    return weights @ V, weights\n"}},
    "masked_attention": {
        "partial": {"answer_causal_mask": "def causal_mask(seq_len):\n"
                                          "    return torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool))\n"},
        "wrong": {"answer_masked_self_attention":
                  "def masked_self_attention(Q, K, V, padding_mask=None):\n"
                  "    weights = torch.softmax(Q @ K.transpose(-2, -1) / math.sqrt(Q.size(-1)), dim=-1)\n"
                  "    return weights @ V, weights\n"}},
    "bert_heads": {
        "partial": {"answer_head_entropy": "def head_entropy(attn):\n"
                                           "    return -(attn * torch.log2(attn.clamp_min(1e-12))).sum(-1).mean(-1)\n"},
        "wrong": {"answer_offset_attention": "def offset_attention(attn, offset):\n"
                                             "    L = attn.shape[-1]\n"
                                             "    return torch.diagonal(attn, -offset, -2, -1).sum(-1) / L\n"}},
}


# ---------------------------------------------------------------- the class

def build_course(home: Path, assignments, per_assignment: int) -> Path:
    """A stock nbgrader course at `home`: source/, a generated release/ and submitted/<student>/<id>/<id>.ipynb."""
    classroom.stock_course(home)
    generate_release(home, assignments)
    for assignment in assignments:
        for i in range(per_assignment):
            kind = MIX[i % len(MIX)]
            target = home / "submitted" / f"student-{i + 1:02d}-{kind}" / assignment / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(answered(home, assignment, kind), target)
    return home / "submitted"


def answered(home: Path, assignment: str, kind: str) -> nbformat.NotebookNode:
    """The released notebook with every answer cell filled: the instructor's solutions with `kind`'s mistakes."""
    source = home / "source" / assignment / f"{assignment}.ipynb"
    answers = dict(MISTAKES[assignment].get(kind, {}))
    if kind == "wrong":
        answers |= {g: re.sub(r'"([A-D])"', lambda m: f'"{"BCDA"["ABCD".index(m.group(1))]}"', text)
                    for g, text in classroom.solutions(source).items() if g.startswith("answer_quiz_")}
    return classroom.answered(home / "release" / assignment / f"{assignment}.ipynb", source, answers)


# ---------------------------------------------------------------- measuring

class PeakMemory:
    """Samples, every 0.5 s, the summed PSS and RSS of each root's process tree; keeps each root's peaks."""

    def __init__(self, find_workers):
        self.find_workers, self.peaks, self._stop = find_workers, {}, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.wait(0.5):
            parents = _parents()
            for worker in self.find_workers(parents):
                tree, todo = [], [worker]
                while todo:
                    tree.append(todo.pop())
                    todo += [p for p, parent in parents.items() if parent == tree[-1]]
                usage = [sum(column) for column in zip(*map(_pss_rss, tree))]
                old = self.peaks.get(worker, (0, 0))
                self.peaks[worker] = (max(old[0], usage[0]), max(old[1], usage[1])) if usage else old

    def worst_mb(self) -> tuple[float, float]:
        """(PSS, RSS) in MB: the largest peak of any one root."""
        return tuple(max((peak[i] for peak in self.peaks.values()), default=0) / 1024 for i in (0, 1))


def _parents() -> dict[int, int]:
    parents = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            parents[int(name)] = int(Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return parents


def _pss_rss(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of a process in kB; (0, 0) when it is gone or hidden."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
        return int(fields["Pss"].split()[0]), int(fields["Rss"].split()[0])
    except (OSError, KeyError, ValueError):
        return 0, 0


def run_stock(home: Path, assignment: str) -> dict:
    """`nbgrader autograde` in the stock course: wall time, per-notebook overhead, peak RSS (nbgrader + kernel)."""
    nbgrader = Path(sys.executable).parent / "nbgrader"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    started, wall_start = time.monotonic(), time.time()
    proc = subprocess.Popen([str(nbgrader), "autograde", assignment, "--log-level=ERROR"], cwd=home, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with PeakMemory(lambda parents: [proc.pid]) as memory:
        _, stderr = proc.communicate()
    seconds = time.monotonic() - started
    if proc.returncode:
        raise SystemExit(f"nbgrader autograde {assignment} failed:\n{stderr.decode()[-2000:]}")
    graded = sorted((home / "autograded").glob(f"*/{assignment}/{assignment}.ipynb"), key=lambda p: p.stat().st_mtime)
    finished = [wall_start] + [p.stat().st_mtime for p in graded]
    overheads = [(end - begin) - _cell_seconds(p) for begin, end, p in zip(finished, finished[1:], graded)]
    return {"seconds": seconds, "graded": len(graded), "overheads": overheads, "memory_mb": memory.worst_mb()}


def _cell_seconds(notebook: Path) -> float:
    """Time the kernel spent executing the notebook's cells (nbclient's timing metadata)."""
    total = 0.0
    for cell in nbformat.read(notebook, as_version=4).cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            total += (_timestamp(timing["shell.execute_reply"]) - _timestamp(timing["iopub.execute_input"]))
    return total


def _timestamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run_engine(home: Path, assignment: str, workers: int) -> dict:
    """`attn-grade grade` (the library): wall time, per-submission overhead, peak memory per worker.

    The workers' check() appends one line per notebook to $ATTN_GRADE_TIMINGS (set by main() before the first
    worker starts: warm workers are kept from one grade() call to the next, with the environment they began with).
    """
    started = time.monotonic()
    with PeakMemory(lambda parents: [os.getpid()]) as memory:  # warm workers are threads of this process
        summary = grade(home / "submitted", assignment=assignment, out=home / "attn-grade" / assignment,
                        workers=workers, progress=False)
    seconds = time.monotonic() - started
    lines = [json.loads(line) for line in Path(os.environ["ATTN_GRADE_TIMINGS"]).read_text().splitlines()]
    lines = [line for line in lines if line["assignment"] == assignment]
    return {"seconds": seconds, "graded": len(summary.results),
            "overheads": [r["seconds"] - r["cell_seconds"] for r in lines],
            "memory_mb": memory.worst_mb(), "parts_mb": {k: max(r[k] for r in lines)
                                                         for k in ("grader_mb", "zygote_mb", "runner_mb")},
            "mean_score": statistics.mean(r.score for r in summary.results)}


# ---------------------------------------------------------------- report

def report(rows: dict[str, tuple[dict, dict]], per_assignment: int, workers: int) -> str:
    header = (f"{'':18} {'N':>3}  {'stock nbgrader':>14}  {'attn-grade':>10}  {'ratio':>6}  "
              f"{'overhead/notebook':>18}  {'peak PSS (RSS), MB':>22}")
    lines = [f"{per_assignment} submissions per assignment; attn-grade with {workers} warm workers, stock nbgrader "
             f"one kernel per notebook; {os.cpu_count()} cores, load average at the end "
             f"{os.getloadavg()[0]:.1f}", "", header]
    for name, (stock, ours) in rows.items():
        lines.append(f"{name:18} {stock['graded']:>3}  {stock['seconds']:>12.1f} s  {ours['seconds']:>8.1f} s  "
                     f"{stock['seconds'] / ours['seconds']:>5.1f}×  {statistics.median(stock['overheads']):>6.2f} s → "
                     f"{statistics.median(ours['overheads']):.2f} s"
                     f"  {stock['memory_mb'][0]:>6.0f} ({stock['memory_mb'][1]:.0f}) → {ours['memory_mb'][0]:.0f} "
                     f"({ours['memory_mb'][1]:.0f})")
    parts = {k: max(o["parts_mb"][k] for _, o in rows.values() if "parts_mb" in o)
             for k in ("grader_mb", "zygote_mb", "runner_mb")}
    first = next(iter(rows))
    lines += ["", f"{first} ran first: its attn-grade time includes starting the workers and warming their zygotes; "
              "the later assignments reuse the warm workers (one process, as a library caller or `make demo` does).",
              "overhead = per-notebook wall time minus the time spent executing the notebook's cells (median).",
              f"peak memory = the largest sum over the processes, sampled every 0.5 s: stock, nbgrader + its kernel; "
              f"attn-grade, the grading process (its {workers} worker threads share it) + each worker's zygote and runner. "
              "RSS counts shared pages once per process, PSS splits them.",
              "attn-grade per-process peak RSS: grader {grader_mb:.0f} MB, zygote {zygote_mb:.0f} MB, "
              "runner {runner_mb:.0f} MB".format(**parts)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--per-assignment", type=int, default=10, help="submissions per assignment (10)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="attn-grade workers (all cores)")
    parser.add_argument("--assignments", nargs="+", default=["bert_heads", "attention_by_hand", "masked_attention"],
                        choices=ASSIGNMENT_IDS, help="in this order (default: bert_heads first)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch course and print where it is")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="attn-throughput-"))
    os.environ["ATTN_GRADE_TIMINGS"] = str(home / "timings.jsonl")
    try:
        build_course(home, args.assignments, args.per_assignment)
        rows = {}
        for assignment in args.assignments:
            rows[assignment] = (run_stock(home, assignment), run_engine(home, assignment, args.workers))
            print(f"{assignment}: stock {rows[assignment][0]['seconds']:.1f} s, attn-grade "
                  f"{rows[assignment][1]['seconds']:.1f} s (mean score {rows[assignment][1]['mean_score']:.2f})",
                  file=sys.stderr, flush=True)
        if len(rows) > 1:
            rows["whole class"] = tuple(_total([r[i] for r in rows.values()]) for i in (0, 1))
        print(report(rows, args.per_assignment, args.workers))
    finally:
        if args.keep:
            print(f"scratch course kept in {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def _total(parts: list[dict]) -> dict:
    return {"seconds": sum(p["seconds"] for p in parts), "graded": sum(p["graded"] for p in parts),
            "overheads": [o for p in parts for o in p["overheads"]],
            "memory_mb": tuple(max(p["memory_mb"][i] for p in parts) for i in (0, 1)),
            **({"parts_mb": {k: max(p["parts_mb"][k] for p in parts) for k in parts[0]["parts_mb"]}}
               if "parts_mb" in parts[0] else {})}


if __name__ == "__main__":
    main()
