"""`attn-grade`: a thin command line over the library (check one notebook, grade a class)."""
from __future__ import annotations

import sys

import click

from autograder.client import default_lang


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
@click.option("--server", metavar="URL", help="Send it to this class server instead of grading here (SPEC §9).")
@click.option("--token", help="Your token for --server  [default: ATTN_GRADE_TOKEN, ~/.config/attn-grade/token, "
                              "else asked]")
def check_command(notebook, assignment, as_json, html_out, lang, server, token):
    """Grade one NOTEBOOK and print a table of its questions.

    Exit status 0 whenever grading completed, whatever the score; 2 for a missing, unreadable or invalid
    notebook or an unknown assignment (or, with --server, any answer of the server but a verdict).

    A re-check is graded on your own warm local grader, which the first check starts in the background (a Unix
    socket only you can open; it stops by itself when idle); ATTN_GRADE_LOCAL_GRADER=off grades here every time.

    Example:

        attn-grade check release/masked_attention/masked_attention.ipynb --lang zh

        attn-grade check masked_attention.ipynb --server https://grader.example.edu
    """
    from autograder.reports.terminal import render_table
    if server:
        result, page = _check_on_server(notebook, assignment, server, token, lang, html_out)
        if html_out:
            from autograder.files import write_atomically
            write_atomically(html_out, page)
        click.echo(result.to_json(indent=2) if as_json else render_table(result, lang))
        return
    from autograder.service.local import check_reusing_local_grader  # a warm grader of one's own, if running
    try:  # with --html the page also shows pictures of the student's own values
        result, figures = check_reusing_local_grader(notebook, assignment=assignment, lang=lang, figures=bool(html_out))
    except Exception as exc:
        from autograder.submission import SubmissionError  # not before: a re-check never reads the notebook here
        if not isinstance(exc, SubmissionError):
            raise
        click.echo(f"attn-grade: {exc}", err=True)
        sys.exit(2)
    if html_out:
        from autograder.reports.html import write_feedback_page
        write_feedback_page(result, html_out, lang=lang, figures=figures)
    click.echo(result.to_json(indent=2) if as_json else render_table(result, lang))


def _check_on_server(notebook, assignment, server, token, lang, html_out):
    """(Result, feedback page or None) of NOTEBOOK sent to the class server, as the self-check cell sends it."""
    from autograder import client
    from autograder.result import Result
    server = server.rstrip("/")
    try:
        token, asked = client.find_token(server, token)
        answer = client.submit_and_wait(notebook, server, token, lang, client.Status().show, assignment)
        page = client.request(f"{server}/api/submissions/{answer['id']}/feedback?lang={lang}", token).decode() \
            if html_out else None
    except (client.ClientError, OSError) as exc:
        click.echo(f"attn-grade: {exc}", err=True)
        sys.exit(2)
    if asked:
        client.offer_to_save(token)
    return Result.from_dict(answer["result"]), page


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

from autograder.service.commands import roster_group, serve_command  # noqa: E402

main.add_command(serve_command)
main.add_command(roster_group)


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
