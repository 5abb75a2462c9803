"""Class service latency and throughput: submissions over HTTP to `attn-grade serve`, beside `attn-grade grade`.

Builds the class of benchmarks/throughput.py (its builders: right, partial and wrong notebooks made from the instructor
notebooks, N per assignment), starts `attn-grade serve` with 2 warm workers on a free loopback port and enrols a student
per notebook. Then, per assignment:
  idle   one submission at a time (K per assignment, after one warm-up submission per assignment): seconds from
         POST to verdict, p50 and p95 — what a student waits on a quiet server;
  burst  all N × assignments notebooks POSTed at once by their students: seconds from POST to verdict, p50 and p95,
         and the burst's wall time → the service's throughput.
Each burst is followed by grading the same notebooks with `autograder.batch.grade` (the library behind `attn-grade
grade`, in this process, its 2 warm workers started and warmed first as the server's were; the server idles
meanwhile), `--repeat` times (fresh students each time, so that nothing is a resubmission): the best wall time of
each, and the throughput ratio service / batch. Example:

    .venv/bin/python benchmarks/service.py -n 10
    .venv/bin/python benchmarks/service.py -n 4 --idle 3 --assignments masked_attention
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import build_course, grade  # noqa: E402  (its environment set-up comes along)

ATTN_GRADE = str(Path(sys.executable).parent / "attn-grade")
WORKERS = 2
POLL_S = 0.05


def start_server(data: Path, students: list[str]) -> tuple[subprocess.Popen, str, dict[str, str]]:
    """Enrol `students` (and an instructor), start `attn-grade serve`; (process, URL, student → token)."""
    data.mkdir(parents=True)
    roster = data.parent / "roster.csv"
    roster.write_text("student\n" + "\n".join(students) + "\n", encoding="utf-8")
    lines = subprocess.run([ATTN_GRADE, "roster", "import", str(roster), "--data", str(data)], check=True,
                           capture_output=True, text=True).stdout.splitlines()[1:]
    tokens = dict(line.split(",", 1) for line in lines)
    tokens["instructor"] = subprocess.run([ATTN_GRADE, "roster", "instructor", "--data", str(data)], check=True,
                                          capture_output=True, text=True).stdout.strip()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with open(data.parent / "server.log", "wb") as log:
        server = subprocess.Popen([ATTN_GRADE, "serve", "--data", str(data), "--port", str(port), "--workers",
                                   str(WORKERS)], stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return server, url, tokens
        except httpx.TransportError:
            if server.poll() is not None:
                raise SystemExit(f"the server exited: {(data.parent / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)


def post(client: httpx.Client, token: str, notebook: Path) -> str:
    answer = client.post("/api/submissions", headers={"Authorization": f"Bearer {token}"},
                         files={"notebook": (notebook.name, notebook.read_bytes())})
    if answer.status_code != 202:
        raise SystemExit(f"POST {notebook}: {answer.status_code} {answer.text}")
    return answer.json()["id"]


def idle_latency(client: httpx.Client, tokens: dict[str, str], notebooks: list[tuple[str, Path]]) -> list[float]:
    """POST each notebook alone and wait for its verdict; seconds from POST to verdict, one per notebook."""
    seconds = []
    for student, notebook in notebooks:
        started = time.monotonic()
        submission = post(client, tokens[student], notebook)
        while client.get(f"/api/submissions/{submission}", headers={"Authorization": f"Bearer {tokens[student]}"}
                         ).json()["status"] not in ("done", "error"):
            time.sleep(POLL_S)
        seconds.append(time.monotonic() - started)
    return seconds


def burst(client: httpx.Client, tokens: dict[str, str], jobs: list[tuple[str, str, Path]]) -> tuple[dict, float]:
    """POST every (assignment, student, notebook) at once; ({assignment: [seconds POST → verdict]}, wall time)."""
    posted, finished = {}, {}
    instructor = {"Authorization": f"Bearer {tokens['instructor']}"}

    def send(job):
        assignment, student, notebook = job
        started = time.monotonic()
        posted[post(client, tokens[student], notebook)] = (assignment, started)

    def watch(stop: threading.Event):
        while not stop.is_set():
            for submission in client.get("/api/submissions", headers=instructor).json():
                if submission["status"] in ("done", "error"):
                    finished.setdefault(submission["id"], time.monotonic())
            time.sleep(4 * POLL_S)

    stop, started = threading.Event(), time.monotonic()
    watcher = threading.Thread(target=watch, args=(stop,), daemon=True)
    watcher.start()
    with ThreadPoolExecutor(16) as senders:
        list(senders.map(send, jobs))
    while len([i for i in posted if i in finished]) < len(jobs):
        time.sleep(POLL_S)
    stop.set()
    wall = max(finished[i] for i in posted) - started
    latencies: dict[str, list[float]] = {}
    for submission, (assignment, sent) in posted.items():
        latencies.setdefault(assignment, []).append(finished[submission] - sent)
    return latencies, wall


def warm_batch_workers(home: Path, assignments: list[str]) -> None:
    """Start and warm `attn-grade grade`'s workers in this process as the server's are: one notebook per worker and
    assignment (not counted)."""
    warmup = home / "warmup-submitted"
    for first in sorted((home / "submitted").iterdir())[:WORKERS]:
        shutil.copytree(first, warmup / first.name)
    for assignment in assignments:
        grade(warmup, assignment=assignment, out=home / "warmup-out" / assignment, workers=WORKERS, progress=False)


def batch_seconds(home: Path, assignments: list[str], out: Path) -> float:
    """Wall time of `attn-grade grade` (the library, warm workers) over the whole class, one assignment after another."""
    started = time.monotonic()
    for assignment in assignments:
        grade(home / "submitted", assignment=assignment, out=out / assignment, workers=WORKERS, progress=False)
    return time.monotonic() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--per-assignment", type=int, default=10, help="burst submissions per assignment (10)")
    parser.add_argument("--idle", type=int, default=5, help="one-at-a-time submissions per assignment (5)")
    parser.add_argument("--assignments", nargs="+", default=["bert_heads", "attention_by_hand", "masked_attention"])
    parser.add_argument("--repeat", type=int, default=2, help="bursts and batch runs, alternately (2)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch course and print where it is")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="attn-service-bench-"))
    try:
        build_course(home, args.assignments, args.per_assignment)
        notebooks = {a: sorted((home / "submitted").glob(f"*/{a}/{a}.ipynb")) for a in args.assignments}
        students = sorted({p.parts[-3] for paths in notebooks.values() for p in paths})
        everyone = [f"{run}-{s}" for run in ["idle", *map(str, range(args.repeat))] for s in students]
        server, url, tokens = start_server(home / "data", everyone)
        try:
            with httpx.Client(base_url=url, timeout=120) as client:
                idle = {}
                for assignment, paths in notebooks.items():
                    sample = [(f"idle-{p.parts[-3]}", p) for p in paths[:args.idle + 1]]
                    idle[assignment] = idle_latency(client, tokens, sample)[1:]  # the first warms this assignment
                    print(f"{assignment}: idle p50 {statistics.median(idle[assignment]):.2f} s", file=sys.stderr)
                warm_batch_workers(home, args.assignments)
                bursts, batches = [], []
                for run in range(args.repeat):  # alternately, so that both see the same machine
                    jobs = [(a, f"{run}-{p.parts[-3]}", p) for i in range(args.per_assignment)
                            for a, paths in notebooks.items() for p in paths[i:i + 1]]
                    bursts.append(burst(client, tokens, jobs))
                    batches.append(batch_seconds(home, args.assignments, home / f"batch-out-{run}"))
                    print(f"run {run}: service {bursts[-1][1]:.1f} s, batch {batches[-1]:.1f} s", file=sys.stderr)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait()
        print(report(idle, bursts, batches, len(jobs), args))
    finally:
        if args.keep:
            print(f"scratch course kept in {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def report(idle: dict, bursts: list, batches: list[float], count: int, args) -> str:
    latencies, wall = min(bursts, key=lambda b: b[1])
    batch = min(batches)
    lines = [f"attn-grade serve with {WORKERS} warm workers, over HTTP on loopback; {os.cpu_count()} cores, load "
             f"average at the end {os.getloadavg()[0]:.1f}", "",
             f"{'seconds POST → verdict':24} {'idle p50':>9} {'idle p95':>9}   {'burst p50':>9} {'burst p95':>9}"]
    for assignment in args.assignments:
        lines.append(f"{assignment:24} {statistics.median(idle[assignment]):>9.2f} "
                     f"{percentile(idle[assignment], 0.95):>9.2f}   {statistics.median(latencies[assignment]):>9.2f} "
                     f"{percentile(latencies[assignment], 0.95):>9.2f}")
    lines += ["", f"burst of {count} ({args.per_assignment} per assignment, all at once), best of {args.repeat}: service "
              f"{wall:.1f} s ({60 * count / wall:.1f} notebooks/min); attn-grade grade of the same notebooks "
              f"{batch:.1f} s ({60 * count / batch:.1f}/min); service throughput {batch / wall:.2f}× batch",
              f"every run, service / batch: {', '.join(f'{b[1]:.1f} / {t:.1f} s' for b, t in zip(bursts, batches))}",
              f"idle: {args.idle} submissions per assignment one at a time, after one that warms the assignment up; "
              "burst latencies are those of the best run."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
