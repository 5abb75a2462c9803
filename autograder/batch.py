"""Grade a class: every `submitted/<student>/<ID>/` notebook, resumably, on local processes or a Dask cluster."""
from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import tempfile
import threading
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from assignments import ASSIGNMENT_IDS
from autograder.graders import questions_of
from autograder.result import ErrorRecord, QuestionResult, Result
from autograder.sandbox.session import Limits
from autograder.submission import MAX_NOTEBOOK_BYTES, SubmissionError

ROOT = Path(__file__).resolve().parent.parent
GRADING_CODE = ("assignments", "autograder/graders", "autograder/sandbox", "autograder/check.py",
                "autograder/probes.py", "autograder/scoring.py", "autograder/diagnosis.py",
                "autograder/submission.py", "autograder/result.py")
"""The code whose change makes every stored result stale (reports and the CLI are not in it)."""


class BatchError(Exception):
    """The batch cannot start: no such directory, no student folders, an unknown assignment or executor."""


@dataclass
class Task:
    """One student's submission: the notebook to grade, or the problem that stops it from being graded."""

    student: str
    path: Path
    data: bytes = b""
    sha256: str = ""
    problem: tuple[str, str] | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class BatchSummary:
    """What one `grade` run did; `results` holds one Result per student, sorted by student."""

    out: Path
    results: list[Result]
    graded: int
    reused: int

    def describe(self) -> str:
        """A few lines for the terminal: counts, the mean, error rows and where the files are."""
        errors = [r for r in self.results if r.isolation == "none"]
        graded = [r.score for r in self.results if r.isolation != "none"]
        mean = f"; mean {sum(graded) / len(graded):.2f}/{self.results[0].max_score:g}" if graded else ""
        lines = [f"{len(self.results)} submissions: {self.graded} graded now, {self.reused} unchanged since the "
                 f"last run, {len(errors)} not gradable{mean}"] + [
                 f"  ! {r.student}: {r.errors[0].message}" for r in errors]
        return "\n".join(lines + [f"{f}: {self.out / f}" for f in ("results.jsonl", "grades.csv", "report.html")])


def grade(submitted: str | Path, *, assignment: str, out: str | Path, workers: int | None = None,
          executor: str | None = None, lang: str = "en", limits: Limits = Limits(),
          progress: bool | None = None, warm: bool = True) -> BatchSummary:
    """Grade every `SUBMITTED/<student>/<assignment>/*.ipynb` and write the class's results and exports.

    `OUT/results.jsonl` gets one line per student as each finishes (flushed, fsynced); a re-run keeps the lines
    whose notebook, language and grading code are unchanged and re-grades the rest, never duplicating. Then
    `grades.csv`, `feedback/`, `gradescope/` and `report.html` are written from all results.

    Args:
        submitted: nbgrader's `submitted/` directory (never modified).
        assignment: the assignment id.
        out: the output directory (created; must not be inside `submitted`).
        workers: local worker processes (default: the number of cores).
        executor: None or "local" for a local process pool, or "dask://HOST:PORT" for a Dask scheduler (its
            workers need this project installed; notebooks travel as bytes, no shared disk needed).
        lang: "zh" or "en", the language of feedback and reports.
        limits: sandbox limits for every submission.
        progress: show a progress bar; None = only on a terminal and outside CI.
        warm: local workers are threads of this process sharing one grader, each forking every submission's
            interpreter from its own warm zygote (torch, transformers, the model already loaded) instead of starting
            one; they are kept for the next call. The same results, several times faster. False: a process pool,
            a fresh sandbox per notebook.
    Returns:
        A BatchSummary.
    Raises:
        BatchError: with a one-line reason, when nothing can be graded.
    """
    submitted, out = Path(submitted), Path(out)
    runner = _executor(executor, workers, warm)
    tasks = find_submissions(submitted, assignment, out)
    out.mkdir(parents=True, exist_ok=True)
    with _exclusive(out / ".lock"):
        stamp = grading_stamp(lang)
        done = {s: row for s, row in read_ledger(out / "results.jsonl").items()
                if _still_valid(row, tasks.get(s), stamp)}
        write_ledger(out / "results.jsonl", done.values())
        todo = [t for s, t in tasks.items() if s not in done]
        figures: dict[str, dict[str, bytes]] = {}  # student graded in this run → pictures for their feedback page
        try:
            with open(out / "results.jsonl", "a", encoding="utf-8") as ledger:
                for task in (t for t in todo if t.problem):
                    figures[task.student] = {}
                    _append(ledger, error_result(assignment, task, *task.problem).to_dict() | {"sha256": task.sha256})
                jobs = [t for t in todo if not t.problem]
                for task, row in _run(jobs, runner, (assignment, lang, limits), progress):
                    figures[task.student] = {q: base64.b64decode(png) for q, png in row.pop("figures", {}).items()}
                    _append(ledger, row | {"student": task.student, "notebook": str(task.path)} |
                            ({"sha256": task.sha256, "stamp": stamp} if not row.get("retry") else {}))
        finally:
            results = sorted((Result.from_dict(r) for r in read_ledger(out / "results.jsonl").values()),
                             key=lambda r: r.student)
            write_exports(results, assignment, out, lang, figures)
    return BatchSummary(out, results, graded=len(jobs), reused=len(done))


def find_submissions(submitted: Path, assignment: str, out: Path | None = None) -> dict[str, Task]:
    """Student → Task for every student folder in `submitted`, in name order.

    Raises:
        BatchError: for an unknown assignment, a missing directory, one with no student folders or no
            `<assignment>/` subfolder anywhere, or an output directory inside it.
    """
    if assignment not in ASSIGNMENT_IDS:
        raise BatchError(f"unknown assignment {assignment!r} (known: {', '.join(ASSIGNMENT_IDS)})")
    if not submitted.is_dir():
        raise BatchError(f"{submitted}: no such directory")
    if out is not None and out.resolve().is_relative_to(submitted.resolve()):
        raise BatchError(f"--out {out} is inside {submitted}: write results elsewhere, submissions stay untouched")
    folders = sorted(p for p in submitted.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise BatchError(f"{submitted}: no student folders (expected {submitted}/<student>/{assignment}/"
                         f"{assignment}.ipynb)")
    if not any((f / assignment).is_dir() for f in folders):
        raise BatchError(f"{submitted}: none of its {len(folders)} folders contains {assignment}/; pass nbgrader's "
                         f"submitted/ directory (SUBMITTED/<student>/{assignment}/{assignment}.ipynb)")
    return {f.name: _task(f, assignment) for f in folders}


def _task(folder: Path, assignment: str) -> Task:
    home, expected = folder / assignment, folder / assignment / f"{assignment}.ipynb"
    if not home.is_dir():
        return Task(folder.name, folder, problem=("no-submission", f"no {assignment}/ folder in {folder}"))
    notebooks = sorted(p for p in home.glob("*.ipynb") if p.is_file())
    others = ", ".join(p.name for p in notebooks if p != expected)
    if not notebooks:
        found = ", ".join(sorted(p.name for p in home.iterdir() if not p.name.startswith(".")))
        listing = f"found only: {found}" if found else "the folder is empty"
        return Task(folder.name, home, problem=("no-notebook", f"no .ipynb notebook in {home} ({listing})"))
    if expected not in notebooks and len(notebooks) > 1:
        return Task(folder.name, home, problem=("several-notebooks", f"{len(notebooks)} notebooks in {home} and "
                                                f"none is {expected.name}: {others}; keep one"))
    chosen = expected if expected in notebooks else notebooks[0]
    notes = ([("renamed-notebook", f"graded {chosen.name}, the only notebook; expected {expected.name}")]
             if chosen != expected else [("extra-notebook", f"graded {chosen.name}; ignored {others}")] if others else [])
    if chosen.stat().st_size > MAX_NOTEBOOK_BYTES:
        return Task(folder.name, chosen, problem=("invalid-notebook", f"{chosen}: larger than "
                    f"{MAX_NOTEBOOK_BYTES // 2**20} MB, not graded"))
    data = chosen.read_bytes()
    return Task(folder.name, chosen, data, hashlib.sha256(data).hexdigest(), notes=notes)


def grade_notebook(filename: str, data: bytes, assignment: str, lang: str, limits: Limits,
                   notes: list[tuple[str, str]] = (), warm: bool = False) -> dict:
    """Grade one notebook's bytes on whichever machine runs this (a local worker or a Dask worker).

    Returns:
        The Result as plain data (`Result.to_dict()`), plus "figures": question id → base64 PNG of the student's
        own values, for the feedback page only (the caller takes it out before storing the row); an unreadable
        notebook gives an error row.
    """
    from autograder.check import check_with_figures
    with tempfile.TemporaryDirectory(prefix="attn-batch-") as tmp:
        path = Path(tmp) / Path(filename).name
        path.write_bytes(data)
        try:
            result, figures = check_with_figures(path, assignment=assignment, lang=lang, limits=limits, warm=warm)
        except SubmissionError as exc:
            message = str(exc).replace(str(path), Path(filename).name)
            return error_result(assignment, Task("", Path(filename)), "invalid-notebook", message).to_dict()
    result.errors[:0] = [ErrorRecord(-1, kind, message) for kind, message in notes]
    if warm:
        _freeze_warm_heap()
    return result.to_dict() | {"figures": {q: base64.b64encode(png).decode("ascii") for q, png in figures.items()}}


def error_result(assignment: str, task: Task, kind: str, message: str) -> Result:
    """An error row: every question `error` with 0 points, and the reason in `errors` (cell -1)."""
    points = questions_of(assignment)
    questions = [QuestionResult(q, 0.0, float(p), "error", feedback=message) for q, p in points.items()]
    return Result(assignment, str(task.path), 0.0, float(sum(points.values())), "none", 0.0,
                  questions, [ErrorRecord(-1, kind, message)], student=task.student or None)


def grading_stamp(lang: str) -> str:
    """A fingerprint of the grading code and the feedback language: stored results with another are stale."""
    digest = hashlib.sha256(lang.encode())
    for entry in GRADING_CODE:
        path = ROOT / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def _still_valid(row: dict, task: Task | None, stamp: str) -> bool:
    return (task is not None and task.problem is None and bool(row.get("sha256")) and
            row.get("sha256") == task.sha256 and row.get("stamp") == stamp and
            Path(row.get("notebook", "")).name == task.path.name)


def read_ledger(path: Path) -> dict[str, dict]:
    """Student → the last complete line of a results.jsonl (a line cut short by a kill is ignored)."""
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        rows.update({row["student"]: row} if isinstance(row, dict) and row.get("student") else {})
    return rows


def write_ledger(path: Path, rows) -> None:
    """Replace a results.jsonl atomically with `rows`, one JSON object per line."""
    partial = path.with_name(path.name + ".tmp")  # only the lock holder writes it
    with open(partial, "w", encoding="utf-8") as tmp:
        for row in rows:
            tmp.write(json.dumps(row, ensure_ascii=False) + "\n")
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(partial, path)


def _append(ledger, row: dict) -> None:
    ledger.write(json.dumps(row, ensure_ascii=False) + "\n")
    ledger.flush()
    os.fsync(ledger.fileno())


def write_exports(results: list[Result], assignment: str, out: Path, lang: str = "en",
                  figures: dict[str, dict[str, bytes]] | None = None) -> None:
    """grades.csv, one feedback page and one Gradescope results.json per student, and report.html.

    Args:
        figures: student → {question id: PNG} for the students graded in this run. When given, the feedback
            page of any other student is kept if it exists (it was written, pictures included, when that result
            was graded); None rewrites every page, without pictures.
    """
    from autograder.reports.class_report import write_class_report
    from autograder.reports.csv_export import write_grades_csv
    from autograder.reports.gradescope import write_gradescope_results
    from autograder.reports.html import write_feedback_page
    write_grades_csv(results, out / "grades.csv", questions=list(questions_of(assignment)))
    for result in results:
        page = out / "feedback" / result.student / f"{assignment}.html"
        if figures is None or result.student in figures or not page.exists():
            write_feedback_page(result, page, lang=lang, figures=(figures or {}).get(result.student))
        write_gradescope_results(result, out / "gradescope" / result.student / "results.json", lang=lang)
    write_class_report(results, out / "report.html", assignment=assignment, lang=lang)


@contextmanager
def _exclusive(path: Path):
    """An exclusive lock on a file, so that two runs never write the same results.jsonl."""
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(f"another `attn-grade grade` is writing to {path.parent}") from None
        yield


# ---------------------------------------------------------------- executors: each yields (task, result row)

def _executor(executor: str | None, workers: int | None, warm: bool):
    if executor in (None, "", "local"):
        return lambda jobs, args: _run_local(jobs, args, workers or os.cpu_count() or 1, warm)
    scheme, _, address = executor.partition("://")
    if scheme in ("dask", "tcp") and address:
        return lambda jobs, args: _run_dask(jobs, args, f"tcp://{address}", warm)
    raise BatchError(f"unknown executor {executor!r}: use 'local' or dask://HOST:PORT")


def _run(jobs: list[Task], runner, args: tuple, progress: bool | None):
    if not jobs:
        return
    from tqdm import tqdm
    progress = os.isatty(2) and not os.environ.get("CI") if progress is None else progress
    with tqdm(total=len(jobs), desc=f"grading {args[0]}", unit="notebook", disable=not progress) as bar:
        for task, row in runner(jobs, args):
            bar.set_postfix_str(task.student, refresh=False)
            bar.update()
            yield task, row


_WARM_POOL: dict = {}
"""Warm local workers, kept from one grade() call to the next: threads of this process, each forking its
notebooks' interpreters from its own zygote, sharing one grader (the key's model and reference results load once)."""


def _run_local(jobs: list[Task], args: tuple, workers: int, warm: bool):
    from concurrent.futures import as_completed
    pool, finished = _warm_pool(workers, args) if warm else _process_pool(workers), False
    try:
        futures = {pool.submit(grade_notebook, t.path.name, t.data, *args, t.notes, warm=warm): t for t in jobs}
        for future in as_completed(futures):
            yield futures[future], _row(future, futures[future], args[0])
        finished = True
    finally:
        if not (warm and finished):  # cold, or interrupted: no worker outlives the call
            pool.shutdown(wait=False, cancel_futures=True)
        if warm and not finished:
            from autograder.sandbox.warm import stop_all
            _WARM_POOL.clear()
            stop_all()  # the notebooks still running fail fast instead of holding up the exit


def _process_pool(workers: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_die_with_parent)


def _warm_pool(workers: int, args: tuple):
    """The kept pool of `workers` warm threads, or a new one (the old one is shut down) for another size."""
    from concurrent.futures import ThreadPoolExecutor
    pool = _WARM_POOL.get(workers)
    if pool is None or getattr(pool, "_broken", False) or getattr(pool, "_shutdown", False):
        for other in _WARM_POOL.values():
            other.shutdown(wait=False)
        _WARM_POOL.clear()
        pool = _WARM_POOL[workers] = ThreadPoolExecutor(workers, thread_name_prefix="attn-grade",
                                                        initializer=_start_warm_worker, initargs=(args[2], args[0]))
    return pool


def _run_dask(jobs: list[Task], args: tuple, address: str, warm: bool):
    from distributed import Client, as_completed
    try:
        client = Client(address, timeout="15s")
    except (OSError, TimeoutError) as exc:
        raise BatchError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        futures = {client.submit(grade_notebook, t.path.name, t.data, *args, t.notes, warm=warm, pure=False): t
                   for t in jobs}
        for future in as_completed(futures):
            yield futures[future], _row(future, futures[future], args[0])


def _row(future, task: Task, assignment: str) -> dict:
    try:
        return future.result()
    except Exception as exc:  # the worker died or the engine failed: an error row, retried by the next run
        message = f"grading stopped ({type(exc).__name__}: {exc}); re-run the batch to retry"
        return error_result(assignment, task, "grader-crash", message).to_dict() | {"retry": True}


_PREWARM = threading.Lock()
"""Taken, and never released, by the one warm worker thread that loads the grading stack for all of them."""


def _start_warm_worker(limits: Limits, assignment: str) -> None:
    """A warm worker thread: start its zygote (it warms up in its sandbox); the first thread also loads the
    grading stack and the key's model meanwhile, so that the cores are busy during the warm-up."""
    from autograder.sandbox.warm import warm_start
    warm_start(limits)
    if _PREWARM.acquire(blocking=False):
        with suppress(Exception):  # only a head start: grading loads whatever this could not
            from autograder.graders import key_module
            import autograder.check  # noqa: F401  (torch, pytest, the probes)
            key = key_module(assignment)
            if hasattr(key, "load_model"):
                key.load_model()  # transformers imported and the weights' pages read, for the graders' own copy


def _freeze_warm_heap() -> None:
    """Once a worker is warm (libraries, key model and reference results loaded), move its heap out of the
    garbage collector's sight: pytest's two full collections per notebook then scan only that notebook's objects."""
    import gc
    if not gc.get_freeze_count():
        gc.collect()
        gc.freeze()


def _die_with_parent() -> None:
    """Linux: a local worker gets SIGKILL when the batch process dies (e.g. `kill -9`), so nothing grades on."""
    import ctypes
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
