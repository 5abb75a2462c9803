"""`attn-grade`: a thin command line over the library (check one notebook, grade a class)."""
from __future__ import annotations

import locale
import os
import sys

import click

from autograder.submission import SubmissionError


def default_lang() -> str:
    """"zh" when the locale is Chinese, else "en"."""
    name = os.environ.get("LC_ALL") or os.environ.get("LANG") or (locale.getlocale()[0] or "")
    return "zh" if name.lower().startswith("zh") else "en"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Grade Transformer-attention notebooks against hidden graders, in a sandbox."""


@main.command("check")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("--assignment", help="Assignment id (attention_by_hand, masked_attention, bert_heads); inferred when omitted.")
@click.option("--json", "as_json", is_flag=True, help="Print the result JSON instead of a table.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), help="Also write a self-contained feedback page.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=default_lang, show_default="from the locale",
              help="Language of the feedback.")
def check_command(notebook, assignment, as_json, html_out, lang):
    """Grade one NOTEBOOK and print a table of its questions.

    Exit status 0 whenever grading completed, whatever the score; 2 for a missing, unreadable or invalid
    notebook or an unknown assignment.

    Example:

        attn-grade check release/masked_attention/masked_attention.ipynb --lang zh
    """
    from autograder.check import check, check_with_figures
    from autograder.reports.terminal import render_table
    try:
        if html_out:  # the page also shows pictures of the student's own values
            result, figures = check_with_figures(notebook, assignment=assignment, lang=lang)
        else:
            result = check(notebook, assignment=assignment, lang=lang)
    except SubmissionError as exc:
        click.echo(f"attn-grade: {exc}", err=True)
        sys.exit(2)
    if html_out:
        from autograder.reports.html import write_feedback_page
        write_feedback_page(result, html_out, lang=lang, figures=figures)
    click.echo(result.to_json(indent=2) if as_json else render_table(result, lang))


@main.command("grade")
@click.argument("submitted", type=click.Path(file_okay=False))
@click.option("--assignment", required=True, help="Assignment id (attention_by_hand, masked_attention, bert_heads).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Directory for results and exports.")
@click.option("--workers", type=click.IntRange(min=1), help="Local worker processes  [default: the number of cores]")
@click.option("--executor", metavar="URL",
              help="dask://HOST:PORT to grade on a Dask cluster  [default: local processes]")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=default_lang, show_default="from the locale",
              help="Language of the feedback and the reports.")
def grade_command(submitted, assignment, out, workers, executor, lang):
    """Grade every SUBMITTED/<student>/<ASSIGNMENT>/*.ipynb (nbgrader's submitted/ layout).

    Writes OUT/results.jsonl (one line per student, appended as each finishes), OUT/grades.csv,
    OUT/feedback/<student>/<ASSIGNMENT>.html, OUT/gradescope/<student>/results.json and OUT/report.html.
    Re-running resumes: unchanged submissions are not graded again, changed ones are. A submission that
    cannot be graded gets an error row; the batch goes on. Exit status 2 when nothing can be graded.

    Example:

        attn-grade grade submitted --assignment attention_by_hand --out grades/attention_by_hand

        attn-grade grade submitted --assignment bert_heads --out grades/bert_heads --executor dask://10.0.0.5:8786
    """
    from autograder.batch import BatchError, grade
    try:
        summary = grade(submitted, assignment=assignment, out=out, workers=workers, executor=executor, lang=lang)
    except BatchError as exc:
        click.echo(f"attn-grade: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo(f"attn-grade: interrupted; finished results are kept in {out}/results.jsonl, "
                   "run the same command again to resume", err=True)
        sys.exit(130)
    click.echo(summary.describe())


if __name__ == "__main__":
    main()
