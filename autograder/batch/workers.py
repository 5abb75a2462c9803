"""Where notebooks get graded: `grade_notebook` and the executors running it (process pool, warm threads, Dask)."""
from __future__ import annotations

import base64
import os
import tempfile
import threading
from contextlib import suppress
from pathlib import Path

from autograder.batch.submissions import BatchError, Task, error_result
from autograder.result import ErrorRecord
from autograder.sandbox.session import Limits
from autograder.submission import SubmissionError


def grade_notebook(filename: str, data: bytes, assignment: str, lang: str, limits: Limits,
                   notes: list[tuple[str, str]] = (), warm: bool = False, translations: tuple[str, ...] = ()) -> dict:
    """Grade one notebook's bytes on whichever machine runs this (a local worker or a Dask worker).

    Returns:
        The Result as plain data (`Result.to_dict()`), plus "figures": question id → base64 picture bytes of the
        student's own values, for the feedback page only (the caller takes it out before storing the row); with
        `translations` (languages), also "translations": lang → that row in that language, from the same grading.
        An unreadable notebook gives an error row.
    """
    from autograder.check import check_in_languages
    with tempfile.TemporaryDirectory(prefix="attn-batch-") as tmp:
        path = Path(tmp) / Path(filename).name
        path.write_bytes(data)
        try:
            graded = check_in_languages(path, tuple(dict.fromkeys((lang, *translations))), assignment=assignment,
                                        limits=limits, warm=warm)
        except SubmissionError as exc:
            message = str(exc).replace(str(path), Path(filename).name)
            return error_result(assignment, Task("", Path(filename)), "invalid-notebook", message).to_dict()
    rows = {}
    for each_lang, (result, figures) in graded.items():
        result.errors[:0] = [ErrorRecord(-1, kind, message) for kind, message in notes]
        rows[each_lang] = result.to_dict() | {"figures": {q: base64.b64encode(picture).decode("ascii")
                                                          for q, picture in figures.items()}}
    if warm:
        _freeze_warm_heap()
    row = rows.pop(lang)
    return row | ({"translations": rows} if translations else {})


def executor_for(executor: str | None, workers: int | None, warm: bool, translations: tuple[str, ...] = ()):
    """(tasks, grade_notebook's arguments) → (task, row) as each finishes, on "local" or "dask://HOST:PORT";
    each row also in the languages of `translations` (grade_notebook's)."""
    if executor in (None, "", "local"):
        return lambda jobs, args: _run_local(jobs, args, workers or os.cpu_count() or 1, warm, translations)
    scheme, _, address = executor.partition("://")
    if scheme in ("dask", "tcp") and address:
        return lambda jobs, args: _run_dask(jobs, args, f"tcp://{address}", warm, translations)
    raise BatchError(f"unknown executor {executor!r}: use 'local' or dask://HOST:PORT")


_WARM_POOL: dict = {}
"""Warm local workers, kept from one grade() call to the next: threads of this process, each forking its
notebooks' interpreters from its own zygote, sharing one grader (the key's model and reference results load once)."""


def _run_local(jobs: list[Task], args: tuple, workers: int, warm: bool, translations: tuple[str, ...]):
    from concurrent.futures import as_completed
    pool, finished = _warm_pool(workers, args) if warm else _process_pool(workers), False
    try:
        futures = {pool.submit(grade_notebook, t.path.name, t.data, *args, t.notes, warm=warm,
                               translations=translations): t for t in jobs}
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


def start_warm_workers(workers: int, limits: Limits, assignment: str) -> list:
    """Start the kept pool of warm workers now rather than at the first notebook, for a long-lived caller (the class
    service): each worker's zygote warms up, and the grading stack and `assignment`'s key load, before work arrives.

    Returns:
        One future per worker, done once its zygote is warm.
    """
    pool = _warm_pool(workers, (assignment, "en", limits))
    # each submission starts one more thread while the others are still warming up
    return [pool.submit(_wait_until_warm, limits) for _ in range(workers)]


def _wait_until_warm(limits: Limits) -> None:
    from autograder.sandbox.warm import ZygoteError, warm_start
    starter = warm_start(limits)
    if starter is not None:
        with suppress(ZygoteError):  # the first notebook starts another one, or grades cold
            starter.warm_up()


def _run_dask(jobs: list[Task], args: tuple, address: str, warm: bool, translations: tuple[str, ...]):
    from distributed import Client, as_completed
    try:
        client = Client(address, timeout="15s")
    except (OSError, TimeoutError) as exc:
        raise BatchError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        futures = {client.submit(grade_notebook, t.path.name, t.data, *args, t.notes, warm=warm,
                                 translations=translations, pure=False): t for t in jobs}
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
    grading stack and the key's reference results meanwhile (from the disk cache: the key's model itself is
    loaded only by the zygotes, not a second time here), so that the cores are busy during the warm-up."""
    from autograder.sandbox.warm import warm_start
    warm_start(limits)
    if _PREWARM.acquire(blocking=False):
        from autograder.check import prepare_graders
        prepare_graders(assignment)


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
