"""The class service's commands, `attn-grade serve` and `attn-grade roster add|import|instructor` (SPEC §8)."""
from __future__ import annotations

import sys

import click


@click.command("serve")
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


@click.group("roster")
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
