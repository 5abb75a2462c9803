"""What the zip's `run_autograder` runs: grade the notebook in ROOT/submission, write ROOT/results/results.json.

ROOT is /autograder on Gradescope (ATTN_GRADESCOPE_ROOT in tests). The student may upload the notebook under any
name and inside folders: the one named as released is graded, else the only one. A results.json is written
whatever happens (no notebook, several, a crash of the grader), so the student always gets a verdict.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from autograder.batch.submissions import Task, error_result
from autograder.check import check
from autograder.reports.gradescope import VISIBILITIES, write_gradescope_results
from autograder.reports.terminal import render_table
from autograder.result import ErrorRecord, Result
from autograder.submission import SubmissionError

MESSAGES = {
    "no-notebook": "提交中没有 .ipynb notebook:请上传 {expected}。 / The submission has no .ipynb notebook: upload {expected}.",
    "several-notebooks": "提交中有 {count} 个 notebook,没有一个叫 {expected}:只保留一个。 / The submission has {count} "
                         "notebooks and none is named {expected}: keep only one.",
    "renamed-notebook": "评分的是唯一的 notebook {found}(发布时名为 {expected})。 / Graded {found}, the only notebook "
                        "(released as {expected}).",
    "extra-notebook": "评分的是 {expected},其他 notebook 被忽略:{others}。 / Graded {expected}; ignored {others}.",
    "grader-error": "评分程序出错(不是你的问题),请联系老师。 / The autograder itself failed (not your fault): tell "
                    "your instructor. {detail}",
}


def main(argv: list[str] | None = None) -> int:
    """Grade ROOT/submission and write ROOT/results/results.json; 0 once it is written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--visibility", choices=VISIBILITIES, default="after_published")
    parser.add_argument("--lang", choices=("zh", "en"), default="en")
    args = parser.parse_args(argv)
    root = Path(os.environ.get("ATTN_GRADESCOPE_ROOT", "/autograder"))
    result = grade_submission(root / "submission", args.assignment, args.lang)
    write_gradescope_results(result, root / "results" / "results.json", args.lang, args.visibility)
    print(render_table(result, args.lang))  # Gradescope shows stdout to the staff only
    return 0


def grade_submission(folder: Path, assignment: str, lang: str = "en") -> Result:
    """The Result of the notebook found in `folder`, or an error Result saying why there is none to grade."""
    try:
        notebook, notes = find_notebook(folder, assignment)
    except LookupError as exc:
        kind, message = exc.args
        return _error_result(assignment, str(folder), kind, message)
    try:
        result = check(notebook, assignment=assignment, lang=lang)
    except SubmissionError as exc:
        return _error_result(assignment, str(notebook), "invalid-notebook", str(exc))
    except Exception:  # a bug of ours: the student still gets a verdict, the staff the traceback on stdout
        traceback.print_exc(file=sys.stdout)
        detail = traceback.format_exc(limit=1).strip().splitlines()[-1]
        return _error_result(assignment, str(notebook), "grader-error", MESSAGES["grader-error"].format(detail=detail))
    result.errors[:0] = [ErrorRecord(-1, kind, message) for kind, message in notes]
    return result


def find_notebook(folder: Path, assignment: str) -> tuple[Path, list[tuple[str, str]]]:
    """The notebook to grade in `folder` (searched through subfolders) and notes on the choice (kind, message).

    Raises:
        LookupError: (kind, message) when there is no notebook, or several and none named as released.
    """
    expected = f"{assignment}.ipynb"
    notebooks = sorted(p for p in folder.rglob("*.ipynb") if p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    named = [p for p in notebooks if p.name == expected]
    others = ", ".join(str(p.relative_to(folder)) for p in notebooks if p not in named[:1])
    if not notebooks:
        raise LookupError("no-notebook", MESSAGES["no-notebook"].format(expected=expected))
    if not named and len(notebooks) > 1:
        raise LookupError("several-notebooks", MESSAGES["several-notebooks"].format(count=len(notebooks),
                                                                                    expected=expected))
    if not named:
        return notebooks[0], [("renamed-notebook", MESSAGES["renamed-notebook"].format(
            found=notebooks[0].relative_to(folder), expected=expected))]
    notes = [("extra-notebook", MESSAGES["extra-notebook"].format(expected=expected, others=others))] if others else []
    return named[0], notes


def _error_result(assignment: str, where: str, kind: str, message: str) -> Result:
    return error_result(assignment, Task("", Path(where)), kind, message)


if __name__ == "__main__":
    sys.exit(main())
