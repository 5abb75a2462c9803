"""Gradescope's autograder `results.json` for one Result: only the fields its specification documents, Markdown output."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from autograder.result import QuestionResult, Result

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
"""Gradescope's visibility settings, for the tests, the summary and the captured stdout."""
NOTES = {
    "en": {"manual": "graded by hand, not included here", "errors": "Problems while running the notebook:",
           "total": "Auto-graded score", "checks": "Checks that failed:"},
    "zh": {"manual": "人工评分,不计入此处", "errors": "运行 notebook 时的问题:", "total": "自动评分得分",
           "checks": "未通过的检查:"},
}
_INLINE = re.compile(r"([\\`*_\[\]<>&|~])")
"""Characters that open or close an inline Markdown construct (emphasis, code, links, raw HTML, entities, tables)."""
_LINE_START = re.compile(r"^(\s*\d*)([#>+=.)-])", re.M)
"""What turns a line into a heading, quote, list item or rule."""


def gradescope_results(result: Result, lang: str = "en", visibility: str = "after_published") -> dict:
    """The Result in Gradescope's results.json schema, its summary and test outputs in Markdown.

    Manual questions (graded by hand) are left out of `tests` and `score`; Gradescope grades them as its own
    questions. Test outputs are the engine's feedback, which never states a hidden check's values; text that may
    come from the student (error messages) is shown verbatim in code blocks, everything else is escaped, so no
    student string can open a link, a heading or raw HTML.

    Args:
        result: one graded submission.
        lang: "zh" or "en", the language of the summary lines (feedback is already in the Result's language).
        visibility: Gradescope's visibility of the tests and the summary; "after_published" by default, so
            that nothing shows before the staff publish grades.
    Returns:
        A dict with score, execution_time, output, output_format, visibility, stdout_visibility, extra_data
        and tests[] (name, number, score, max_score, status, output, output_format, tags, visibility).
    """
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}")
    auto = [q for q in result.questions if q.status != "manual"]
    return {
        "score": round(sum(q.score for q in auto), 4),
        "execution_time": round(result.duration_s, 2),
        "output": _summary(result, auto, lang),
        "output_format": "md",
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "extra_data": {"assignment": result.assignment, "isolation": result.isolation,
                       "max_score": float(sum(q.max_score for q in auto)),
                       "errors": [{"cell": e.cell, "kind": e.kind} for e in result.errors]},
        "tests": [_test(q, i, visibility, lang) for i, q in enumerate(auto, start=1)],
    }


def write_gradescope_results(result: Result, path: str | Path, lang: str = "en",
                             visibility: str = "after_published") -> Path:
    """Write `gradescope_results(result, lang, visibility)` as JSON to `path`, atomically.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(gradescope_results(result, lang, visibility), ensure_ascii=False, indent=2),
                       encoding="utf-8")
    os.replace(partial, path)
    return path


def markdown_text(text: str) -> str:
    """`text` as Markdown that renders as exactly this text (inline constructs and line-start markers escaped)."""
    return _LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", text))


def markdown_code(text: str) -> str:
    """`text` verbatim in a fenced code block whose fence no run of backticks inside it can close."""
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def _test(q: QuestionResult, number: int, visibility: str, lang: str) -> dict:
    failed = [c for c in q.checks if not c.passed and c.message and c.message not in q.feedback]
    parts = [markdown_text(q.feedback)] if q.feedback else []
    if failed:
        parts.append(NOTES.get(lang, NOTES["en"])["checks"])
        parts.append("\n".join(f"- **{markdown_text(c.name)}**: {markdown_text(c.message)}" for c in failed))
    return {"name": q.id, "number": str(number), "score": q.score, "max_score": q.max_score,
            "status": "passed" if q.status == "passed" else "failed", "output": "\n\n".join(parts),
            "output_format": "md", "tags": list(q.mistakes), "visibility": visibility}


def _summary(result: Result, auto: list[QuestionResult], lang: str) -> str:
    notes = NOTES.get(lang, NOTES["en"])
    parts = [f"**{notes['total']}: {sum(q.score for q in auto):g}/{sum(q.max_score for q in auto):g}**"]
    manual = [f"- {markdown_text(q.id)}: {notes['manual']}" for q in result.questions if q.status == "manual"]
    if manual:
        parts.append("\n".join(manual))
    if result.errors:
        parts.append(notes["errors"])
        parts += [f"- {_where(e.cell, lang)}`{e.kind}`\n\n{markdown_code(e.message)}" for e in result.errors]
    return "\n\n".join(parts)


def _where(cell: int, lang: str) -> str:
    if cell < 0:
        return ""
    return f"单元格 {cell}: " if lang == "zh" else f"cell {cell}: "
