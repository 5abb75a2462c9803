"""Scoring: turn grader outcomes into per-question results (weighted partial credit, status, feedback)."""
from __future__ import annotations

from assignments.mistakes import explain
from autograder.graders import texts
from autograder.graders.framework import Outcome
from autograder.result import CheckResult, QuestionResult


def score_question(question_id: str, points: float, outcomes: list[Outcome], lang: str,
                   manual: bool = False) -> QuestionResult:
    """One question's result from its checks: score = points × (weight passed / total weight).

    A `zero_question` failure (forbidden-api, a failed validity gate) scores the whole question 0. Notes of checks
    that passed on the student's own helper values (error carried forward) go into the feedback.
    """
    if manual:
        return QuestionResult(question_id, 0.0, points, "manual", feedback=texts.GRADED_BY_HAND.in_lang(lang))
    if not outcomes:
        return QuestionResult(question_id, 0.0, points, "error", feedback=texts.NO_CHECK_RAN.in_lang(lang))
    total = sum(o.weight for o in outcomes)
    passed = sum(o.weight for o in outcomes if o.passed)
    zeroed = any(o.zero_question for o in outcomes)
    score = 0.0 if zeroed else round(points * passed / total, 4)
    mistakes = list(dict.fromkeys(m for o in outcomes for m in o.mistakes))
    failures = [o for o in outcomes if not o.passed]
    status = ("passed" if not failures else "partial" if score > 0 else
              "error" if all(o.errored for o in failures) else "failed")
    checks = [CheckResult(o.name.in_lang(lang), o.passed, o.message.in_lang(lang)) for o in outcomes]
    notes = list(dict.fromkeys(o.message.in_lang(lang) for o in outcomes if o.passed and o.message.en))
    return QuestionResult(question_id, score, points, status, mistakes, _feedback(mistakes, failures, notes, lang),
                          checks)


def _feedback(mistakes: list[str], failures: list[Outcome], notes: list[str], lang: str) -> str:
    if not failures:
        return "\n".join([texts.ALL_PASSED.in_lang(lang), *notes])
    lines = [explain(m, lang) for m in mistakes]
    if "not-implemented" in mistakes:
        return "\n".join(lines)
    gate = next((o for o in failures if o.zero_question), None)  # why the question scores 0 comes first
    first = (gate or failures[0]).message.in_lang(lang)
    if first and first not in lines:
        lines = [first, *lines] if gate else [*lines, first]
    return "\n".join(lines + [n for n in notes if n not in lines])
