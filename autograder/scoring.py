"""Scoring: turn grader outcomes into per-question results (weighted partial credit, status, feedback)."""
from __future__ import annotations

from assignments.mistakes import explain
from autograder.graders.framework import Outcome
from autograder.result import CheckResult, QuestionResult


def score_question(question_id: str, points: float, outcomes: list[Outcome], lang: str,
                   manual: bool = False) -> QuestionResult:
    """One question's result from its checks: score = points × (weight passed / total weight).

    A `zero_question` failure (e.g. forbidden-api) scores the whole question 0.
    """
    if manual:
        return QuestionResult(question_id, 0.0, points, "manual", feedback=_manual_note(lang))
    if not outcomes:
        return QuestionResult(question_id, 0.0, points, "error", feedback=_no_checks_note(lang))
    total = sum(o.weight for o in outcomes)
    passed = sum(o.weight for o in outcomes if o.passed)
    zeroed = any(o.zero_question for o in outcomes)
    score = 0.0 if zeroed else round(points * passed / total, 4)
    mistakes = list(dict.fromkeys(m for o in outcomes for m in o.mistakes))
    failures = [o for o in outcomes if not o.passed]
    status = ("passed" if not failures else "partial" if score > 0 else
              "error" if all(o.errored for o in failures) else "failed")
    checks = [CheckResult(o.name.in_lang(lang), o.passed, "" if o.passed else o.message.in_lang(lang))
              for o in outcomes]
    return QuestionResult(question_id, score, points, status, mistakes, _feedback(mistakes, failures, lang), checks)


def _feedback(mistakes: list[str], failures: list[Outcome], lang: str) -> str:
    if not failures:
        return "全部检查通过。" if lang == "zh" else "All checks passed."
    lines = [explain(m, lang) for m in mistakes]
    if "not-implemented" in mistakes:
        return "\n".join(lines)
    first = failures[0].message.in_lang(lang)
    if first and first not in lines:
        lines.append(first)
    return "\n".join(lines)


def _manual_note(lang: str) -> str:
    return "由老师人工评分。" if lang == "zh" else "Graded by hand by the instructor."


def _no_checks_note(lang: str) -> str:
    return "这道题的检查没有运行。" if lang == "zh" else "No check of this question could run."
