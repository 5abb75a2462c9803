"""Gradescope's autograder `results.json` for one Result (score, max_score, one test per auto-graded question)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from autograder.result import QuestionResult, Result

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
NOTES = {
    "en": {"manual": "graded by hand, not included here", "errors": "Problems while running the notebook:",
           "total": "Auto-graded score"},
    "zh": {"manual": "人工评分,不计入此处", "errors": "运行 notebook 时的问题:", "total": "自动评分得分"},
}


def gradescope_results(result: Result, lang: str = "en", visibility: str = "after_published") -> dict:
    """The Result in Gradescope's results.json schema.

    Manual questions (graded by hand) are left out of `tests` and `max_score`; Gradescope grades them as
    its own questions. Test outputs are the engine's feedback, which never states a hidden check's values.

    Args:
        result: one graded submission.
        lang: "zh" or "en", the language of the summary lines (feedback is already in the Result's language).
        visibility: Gradescope's visibility of the tests and the summary; "after_published" by default, so
            that nothing shows before the staff publish grades.
    Returns:
        A dict with score, max_score, execution_time, output, visibility and tests[] (name, number, score,
        max_score, status, output, visibility).
    """
    assert visibility in VISIBILITIES, visibility
    auto = [q for q in result.questions if q.status != "manual"]
    tests = [_test(q, i, visibility) for i, q in enumerate(auto, start=1)]
    return {
        "score": round(sum(q.score for q in auto), 4),
        "max_score": float(sum(q.max_score for q in auto)),
        "execution_time": round(result.duration_s, 2),
        "output": _summary(result, auto, lang),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
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


def _test(q: QuestionResult, number: int, visibility: str) -> dict:
    failed = [c for c in q.checks if not c.passed and c.message and c.message not in q.feedback]
    output = "\n".join([q.feedback] + [f"- {c.name}: {c.message}" for c in failed]).strip()
    return {"name": q.id, "number": str(number), "score": q.score, "max_score": q.max_score,
            "status": "passed" if q.status == "passed" else "failed", "output": output,
            "visibility": visibility}


def _summary(result: Result, auto: list[QuestionResult], lang: str) -> str:
    notes = NOTES.get(lang, NOTES["en"])
    lines = [f"{notes['total']}: {sum(q.score for q in auto):g}/{sum(q.max_score for q in auto):g}"]
    lines += [f"{q.id}: {notes['manual']}" for q in result.questions if q.status == "manual"]
    if result.errors:
        lines.append(notes["errors"])
        lines += [f"- {_where(e.cell)}{e.kind}: {e.message}" for e in result.errors]
    return "\n".join(lines)


def _where(cell: int) -> str:
    return "" if cell < 0 else f"cell {cell}, "
