"""Grade a class: every `submitted/<student>/<ID>/` notebook, resumably, on local processes or a Dask cluster."""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from assignments import questions_of
from autograder.batch.ledger import (append_row, exclusive_lock, grading_stamp, read_ledger,
                                     still_valid, write_ledger)
from autograder.batch.submissions import Task, error_result, find_submissions
from autograder.batch.workers import executor_for
from autograder.result import Result
from autograder.sandbox.privileges import protect
from autograder.sandbox.session import Limits


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
    protect(submitted, out)  # the class's notebooks and results, from every student's sandbox
    runner = executor_for(executor, workers, warm)
    tasks = find_submissions(submitted, assignment, out)
    out.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out / ".lock"):
        stamp = grading_stamp(lang)
        done = {s: row for s, row in read_ledger(out / "results.jsonl").items()
                if still_valid(row, tasks.get(s), stamp)}
        write_ledger(out / "results.jsonl", done.values())
        todo = [t for s, t in tasks.items() if s not in done]
        figures: dict[str, dict[str, bytes]] = {}  # student graded in this run → pictures for their feedback page
        try:
            with open(out / "results.jsonl", "a", encoding="utf-8") as ledger:
                for task in (t for t in todo if t.problem):
                    figures[task.student] = {}
                    row = error_result(assignment, task, *task.problem).to_dict()
                    append_row(ledger, row | {"sha256": task.sha256})
                jobs = [t for t in todo if not t.problem]
                for task, row in _with_progress_bar(jobs, runner, (assignment, lang, limits), progress):
                    pictures = row.pop("figures", {})
                    figures[task.student] = {q: base64.b64decode(picture) for q, picture in pictures.items()}
                    append_row(ledger, row | {"student": task.student, "notebook": str(task.path)} |
                               ({"sha256": task.sha256, "stamp": stamp} if not row.get("retry") else {}))
        finally:
            results = sorted((Result.from_dict(r) for r in read_ledger(out / "results.jsonl").values()),
                             key=lambda r: r.student)
            write_exports(results, assignment, out, lang, figures)
    return BatchSummary(out, results, graded=len(jobs), reused=len(done))


def write_exports(results: list[Result], assignment: str, out: Path, lang: str = "en",
                  figures: dict[str, dict[str, bytes]] | None = None) -> None:
    """grades.csv, one feedback page and one Gradescope results.json per student, and report.html.

    Args:
        figures: student → {question id: picture bytes} for the students graded in this run. When given, the
            feedback page of any other student is kept if it exists (it was written, pictures included, when that
            result was graded); None rewrites every page, without pictures.
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


def _with_progress_bar(jobs: list[Task], runner, args: tuple, progress: bool | None):
    if not jobs:
        return
    from tqdm import tqdm
    progress = os.isatty(2) and not os.environ.get("CI") if progress is None else progress
    with tqdm(total=len(jobs), desc=f"grading {args[0]}", unit="notebook", disable=not progress) as bar:
        for task, row in runner(jobs, args):
            bar.set_postfix_str(task.student, refresh=False)
            bar.update()
            yield task, row

