"""Self-check with the engine installed here: grade the saved notebook in a child process, show the verdict inline.

The kernel itself never imports the answer key or the graders: `python -m autograder.selfcheck` does the grading.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from autograder.client import ClientError, Status, default_lang, find_notebook, in_kernel, saved_note, say


def self_check(notebook_path: str | os.PathLike | None = None, lang: str | None = None) -> None:
    """Grade this notebook as `attn-grade check` does and show the result: HTML in Jupyter, the table elsewhere.

    Use it from a cell of a notebook: it grades the notebook as last saved, in a child interpreter (student
    code in the sandbox as usual), so nothing of the key is imported into this kernel.

    Args:
        notebook_path: the .ipynb to check; found automatically when None (see `autograder.client.find_notebook`).
        lang: "zh" or "en"; from the locale when None.
    Raises:
        FileNotFoundError: no notebook was given and none could be found.
        ClientError: the notebook is unreadable or invalid, or its assignment is unknown (one line).
    """
    path = Path(notebook_path) if notebook_path is not None else find_notebook()
    lang = lang or default_lang()
    status = Status()
    status.show(say("grading-here", lang))
    run = subprocess.run([sys.executable, "-m", "autograder.selfcheck", str(path), "--lang", lang,
                          *(["--html"] if in_kernel() else [])], capture_output=True, text=True)
    if run.returncode != 0:
        raise ClientError((run.stderr.strip().splitlines() or [f"exit status {run.returncode}"])[-1])
    if in_kernel():
        status.show(run.stdout, is_html=True)
    else:
        print(run.stdout, end="")


def render_self_check(result, path: Path, lang: str, figures: dict[str, bytes] | None = None) -> str:
    """The inline HTML: a reminder of which saved copy was graded, then the feedback fragment with its pictures."""
    from autograder.reports.html import render_feedback_fragment
    return render_feedback_fragment(result, lang, figures, note=saved_note(path, lang))


def main(argv: list[str] | None = None) -> int:
    """`python -m autograder.selfcheck NOTEBOOK [--lang zh|en] [--html]`: print the feedback fragment or the table."""
    parser = argparse.ArgumentParser(prog="python -m autograder.selfcheck")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--lang", choices=("zh", "en"), default=default_lang())
    parser.add_argument("--html", action="store_true", help="print the HTML fragment instead of the table")
    options = parser.parse_args(argv)
    from autograder.reports.terminal import render_table
    from autograder.service.local import check_reusing_local_grader  # a warm grader of one's own, if running
    from autograder.submission import SubmissionError
    try:
        result, figures = check_reusing_local_grader(options.notebook, lang=options.lang, figures=True)
    except SubmissionError as exc:
        print(f"attn-grade: {exc}", file=sys.stderr)
        return 2
    print(render_self_check(result, options.notebook, options.lang, figures) if options.html
          else render_table(result, options.lang))
    return 0


if __name__ == "__main__":
    sys.exit(main())
