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


# ---------------------------------------------------------------- the class service (SPEC §8)

@main.command("serve")
@click.option("--data", required=True, type=click.Path(file_okay=False), help="Folder of the database and notebooks.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (keep it local behind a proxy).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--workers", type=click.IntRange(min=1), help="Notebooks graded at once  [default: the number of cores]")
@click.option("--executor", metavar="URL", help="dask://HOST:PORT to grade on a Dask cluster  [default: warm local workers]")
@click.option("--max-upload-mb", default=5.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Largest notebook accepted.")
@click.option("--per-hour", default=30, show_default=True, type=click.IntRange(min=1),
              help="Submissions per student per assignment in any hour.")
@click.option("--deadline", "deadlines", multiple=True, metavar="ID=ISO8601",
              help="An assignment's deadline; later submissions are graded and marked late. Repeatable.")
@click.option("--cell-timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per cell  [default: 60]")
@click.option("--call-timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per graded call  [default: 10]")
def serve_command(data, host, port, workers, executor, max_upload_mb, per_hour, deadlines, cell_timeout, call_timeout):
    """Serve the class: students POST notebooks and get the hidden graders' verdict (SPEC §8).

    One process: SQLite in DATA/attn-grade.db, notebooks in DATA/submissions/, grading on warm workers. A restart
    grades whatever was accepted and not graded. SIGTERM or Ctrl-C stops it gracefully.

    Example:

        attn-grade serve --data class-data --deadline masked_attention=2026-12-01T23:59+08:00
    """
    from autograder.service.config import config_from_options
    from autograder.service.server import serve
    try:
        config = config_from_options(data, workers=workers, executor=executor, max_upload_mb=max_upload_mb,
                                     per_hour=per_hour, deadlines=deadlines, cell_timeout=cell_timeout,
                                     call_timeout=call_timeout)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--deadline") from None
    serve(config, host=host, port=port)


@main.group("roster")
def roster_group():
    """Who may use the class service: enrol students, make instructor tokens (printed once, stored hashed).

    Example:

        attn-grade roster import roster.csv --data class-data > tokens.csv
    """


def _store(data):
    from autograder.service.store import Store
    return Store(data)


@roster_group.command("add")
@click.argument("student")
@click.option("--data", required=True, type=click.Path(file_okay=False), help="The service's data folder.")
def roster_add_command(student, data):
    """Enrol STUDENT and print their new token, once (an older token of theirs stops working).

    Example:

        attn-grade roster add alice --data class-data
    """
    from autograder.service.roster import RosterError, add_student
    try:
        click.echo(add_student(_store(data), student))
    except RosterError as exc:
        click.echo(f"attn-grade: {exc}", err=True)
        sys.exit(2)


@roster_group.command("import")
@click.argument("roster_csv", metavar="ROSTER.csv", type=click.File("r", encoding="utf-8-sig"))
@click.option("--data", required=True, type=click.Path(file_okay=False), help="The service's data folder.")
def roster_import_command(roster_csv, data):
    """Enrol every student of ROSTER.csv (a `student` column); write student,token CSV to stdout.

    Every listed student gets a new token (older ones stop working); keep the output safe, it is shown once.

    Example:

        attn-grade roster import roster.csv --data class-data > tokens.csv
    """
    import csv

    from autograder.service.roster import RosterError, import_roster
    try:
        enrolled = import_roster(_store(data), roster_csv.read())
    except RosterError as exc:
        click.echo(f"attn-grade: {exc}", err=True)
        sys.exit(2)
    writer = csv.writer(click.get_text_stream("stdout"), lineterminator="\n")
    writer.writerows([("student", "token"), *enrolled])


@roster_group.command("instructor")
@click.option("--data", required=True, type=click.Path(file_okay=False), help="The service's data folder.")
def roster_instructor_command(data):
    """Print a new instructor token, once (exports and everyone's submissions).

    Example:

        attn-grade roster instructor --data class-data
    """
    from autograder.service.roster import add_instructor
    click.echo(add_instructor(_store(data)))


# ---------------------------------------------------------------- export (Gradescope, Canvas)

from autograder.reports.gradescope import VISIBILITIES  # noqa: E402  (light: the Result dataclasses only)

@main.group("export")
def export_group():
    """Exports for platforms outside a JupyterHub: a Gradescope autograder zip, a Canvas gradebook import.

    Example:

        attn-grade export gradescope --assignment masked_attention --out autograder.zip
    """


@export_group.command("gradescope")
@click.option("--assignment", required=True, help="Assignment id (attention_by_hand, masked_attention, bert_heads).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The autograder zip to write.")
@click.option("--visibility", type=click.Choice(VISIBILITIES),
              default="after_published", show_default=True, help="When students see the tests and the summary.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=default_lang, show_default="from the locale",
              help="Language of the feedback.")
def export_gradescope_command(assignment, out, visibility, lang):
    """Write Gradescope's autograder zip (setup.sh and run_autograder at its root) for one assignment.

    Upload it as a programming assignment's autograder; see the README for the settings. Exit status 2 for an
    unknown assignment.

    Example:

        attn-grade export gradescope --assignment masked_attention --out autograder.zip
    """
    from autograder.export.gradescope_zip import build_autograder_zip
    try:
        path = build_autograder_zip(assignment, out, visibility=visibility, lang=lang)
    except ValueError as exc:
        click.echo(f"attn-grade: {exc}", err=True)
        sys.exit(2)
    click.echo(f"wrote {path}: upload it on Gradescope (Configure Autograder → Zip file upload)")


@export_group.command("canvas")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--roster", required=True, type=click.Path(dir_okay=False), metavar="CANVAS.csv",
              help="The gradebook exported from Canvas (Grades → Export → Export Entire Gradebook).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), metavar="IMPORT.csv",
              help="The CSV to import into Canvas (Grades → Import).")
@click.option("--column", metavar="NAME",
              help="Gradebook column to fill: its header or its title without (id)  [default: the assignment id; "
                   "a new name adds a new assignment]")
@click.option("--map", "mapping", type=click.Path(dir_okay=False), metavar="MAP.csv",
              help="student,login rows when student names in results.jsonl are not Canvas SIS Login IDs.")
def export_canvas_command(out_dir, roster, out, column, mapping):
    """Fill a Canvas gradebook export with the scores of OUT_DIR/results.jsonl (an `attn-grade grade` output).

    Students are matched on SIS Login ID (or through --map). Only the chosen column of matched students
    changes; the Points Possible row and every other column stay as exported. Exit status 0 when every graded
    student was placed, 1 when some were not (listed on stderr; the file is still written), 2 for unusable
    input (a missing file, no results, no SIS Login ID column).

    Example:

        attn-grade export canvas grades/masked_attention --roster canvas.csv --out canvas-import.csv
    """
    from autograder.export.canvas import CanvasError, export_canvas
    try:
        fill = export_canvas(out_dir, roster, out, column=column, mapping=mapping)
    except CanvasError as exc:
        click.echo(f"attn-grade: {exc}", err=True)
        sys.exit(2)
    click.echo(f"wrote {out}: {fill.filled} scores in column {fill.column!r}")
    if fill.without_result:
        click.echo(f"attn-grade: no result for {len(fill.without_result)} gradebook students (left as exported): "
                   f"{', '.join(fill.without_result)}", err=True)
    if fill.not_in_gradebook:
        click.echo(f"attn-grade: {len(fill.not_in_gradebook)} graded students are not in the gradebook (pass --map "
                   f"student,login): {', '.join(fill.not_in_gradebook)}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
