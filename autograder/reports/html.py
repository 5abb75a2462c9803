"""A self-contained HTML feedback page for one Result (templates/feedback*.html): scoped CSS, embedded pictures."""
from __future__ import annotations

import base64
from pathlib import Path

from markupsafe import Markup

from assignments.mistakes import MISTAKES
from assignments.quiz import Text
from autograder.files import write_atomically
from autograder.reports.templating import render
from autograder.result import STATUSES, QuestionResult, Result

FONTS = ('"Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", '
         '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif')
MONO = '"DejaVu Sans Mono", Menlo, Consolas, "Noto Sans Mono CJK SC", monospace'
COLOURS = {status: shown.colour for status, shown in STATUSES.items()}
CSS = f"""
.attn-fb {{ font-family: {FONTS}; color: #1f2328; line-height: 1.55; max-width: 60rem; margin: 0 auto; }}
.attn-fb h1 {{ font-size: 1.5rem; margin: .2rem 0; }} .attn-fb h2 {{ font-size: 1.15rem; margin: 0; }}
.attn-fb h3 {{ font-size: 1rem; margin: .6rem 0 .2rem; }}
.attn-fb code, .attn-fb pre {{ font-family: {MONO}; font-size: .9em; }}
.attn-fb .meta {{ color: #57606a; font-size: .9rem; margin: .2rem 0 .8rem; }}
.attn-fb .total {{ font-size: 1.2rem; font-weight: 600; }}
.attn-fb svg.bar {{ display: block; width: 100%; min-width: 6rem; height: .7rem; }}
.attn-fb .bar .track {{ fill: #eaeef2; }} .attn-fb .bar .s-total {{ fill: #0969da; }}
.attn-fb table {{ border-collapse: collapse; width: 100%; margin: .6rem 0 1.2rem; }}
.attn-fb th, .attn-fb td {{ text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #d0d7de; }}
.attn-fb .badge {{ color: #fff; border-radius: 1rem; padding: .05rem .6rem; font-size: .85rem; white-space: nowrap; }}
.attn-fb section.q {{ border: 1px solid #d0d7de; border-left-width: 6px; border-radius: 6px;
  padding: .5rem 1rem; margin: .6rem 0; }}
.attn-fb .feedback {{ white-space: pre-line; margin: .5rem 0; }}
.attn-fb dl.mistakes dt {{ font-weight: 600; }} .attn-fb dl.mistakes dd {{ margin: 0 0 .4rem 1.2rem; }}
.attn-fb ul.checks {{ list-style: none; padding-left: .2rem; margin: .3rem 0; }}
.attn-fb ul.checks .msg {{ display: block; color: #57606a; margin-left: 1.4rem; white-space: pre-line; }}
.attn-fb .ok {{ color: {COLOURS["passed"]}; }} .attn-fb .no {{ color: {COLOURS["failed"]}; }}
.attn-fb figure {{ margin: .6rem 0; }} .attn-fb figure img {{ max-width: 100%; }}
.attn-fb figcaption {{ color: #57606a; font-size: .85rem; }}
.attn-fb .errors {{ background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: .5rem 1rem; }}
.attn-fb .errors pre {{ white-space: pre-wrap; margin: .2rem 0; }}
.attn-fb .note {{ color: #57606a; font-size: .9em; margin: 0 0 .4em; }} .attn-fb svg.grid {{ margin-right: 1rem; }}
""" + "".join(f".attn-fb .s-{status} {{ border-left-color: {colour}; }} .attn-fb .badge.s-{status} {{ background: {colour}; }} "
              f".attn-fb .bar .s-{status} {{ fill: {colour}; }}\n" for status, colour in COLOURS.items())
LABELS: dict[str, Text] = {
    "title": Text("作业反馈", "Feedback"),
    "total": Text("总分", "Total"),
    "question": Text("题目", "Question"),
    "score": Text("得分", "Score"),
    "status": Text("状态", "Status"),
    "mistakes": Text("错误类型", "Mistakes"),
    "checks": Text("检查项", "Checks"),
    "errors": Text("运行出错的单元格", "Cells that failed"),
    "cell": Text("单元格", "cell"),
    "isolation": Text("隔离方式", "isolation"),
    "duration": Text("用时", "time"),
    **{status: shown.name for status, shown in STATUSES.items()},
    "allowed": Text("允许的注意力模式", "allowed pattern"),
    "looks_like": Text("你的结果像这样", "what yours looks like"),
    "illustration": Text("示意图(不是你的数值):行 = 查询,列 = 键,深色 = 可以关注。",
                         "Illustration (not your values): rows = queries, columns = keys, dark = may attend."),
    "footer": Text("由 attn-grade 生成。反馈只说明哪里错了,不会给出隐藏检查的期望值。",
                   "Made by attn-grade. Feedback says what is wrong, never the expected values of hidden checks."),
}
CAUSAL_QUESTIONS = ("causal_mask", "masked_self_attention", "padding_mask")


def label(key: str, lang: str) -> str:
    """A UI string in `lang` ("zh" or "en")."""
    return LABELS[key].in_lang(lang)


def render_feedback_page(result: Result, lang: str = "en", figures: dict[str, bytes] | None = None) -> str:
    """The whole feedback page as one HTML document with nothing to fetch (templates/feedback.html).

    Args:
        result: the graded submission (SPEC §5); it carries no tensors.
        lang: "zh" or "en", the language of the page's own labels.
        figures: optional question id → picture (PNG, JPEG or SVG bytes) drawn by a caller that has the
            student's values, e.g. `reports.pictures.evidence_figures`; shown under that question as a data URI.
    Returns:
        The HTML text.
    """
    return render("feedback.html", **feedback_context(result, lang, figures))


def render_feedback_fragment(result: Result, lang: str = "en", figures: dict[str, bytes] | None = None,
                             note: str = "", nonce: str | None = None) -> str:
    """The page's body as one `<div class="attn-fb">` with its own scoped `<style>`, for embedding (e.g. in Jupyter,
    with a `note` above it, or in a page whose Content-Security-Policy allows styles with `nonce`)."""
    return render("feedback_fragment.html", **feedback_context(result, lang, figures, note, nonce))


def feedback_context(result: Result, lang: str, figures: dict[str, bytes] | None = None, note: str = "",
                     nonce: str | None = None) -> dict:
    """What templates/feedback_fragment.html shows of a Result."""
    figures = figures or {}
    return {"r": result, "lang": lang, "t": {key: text.in_lang(lang) for key, text in LABELS.items()},
            "css": Markup(CSS), "share": _share(result.score, result.max_score), "note": note, "nonce": nonce,
            "questions": [_question(q, lang, figures.get(q.id)) for q in result.questions]}


def write_feedback_page(result: Result, path: str | Path, lang: str = "en",
                        figures: dict[str, bytes] | None = None) -> Path:
    """Write `render_feedback_page(result, lang, figures)` to `path` (UTF-8), creating parent folders.

    Returns:
        The path written.
    """
    return write_atomically(path, render_feedback_page(result, lang, figures))


def _question(q: QuestionResult, lang: str, figure: bytes | None) -> dict:
    feedback = _feedback_beyond_catalogue(q) if q.status != "passed" else ""
    lines = feedback.splitlines()
    return {"q": q, "share": _share(q.score, q.max_score), "feedback": feedback,
            "mistakes": [(m, MISTAKES[m].in_lang(lang) if m in MISTAKES else m) for m in q.mistakes],
            "figure": data_uri(figure) if figure else None,
            "illustration": _illustration(q.mistakes, lang) if q.id in CAUSAL_QUESTIONS else None,
            "checks": [(c, c.message if c.message not in lines else "") for c in q.checks],
            "passed": sum(c.passed for c in q.checks)}


def _share(score: float, max_score: float) -> float:
    return score / max_score if max_score else 0.0


def _feedback_beyond_catalogue(q: QuestionResult) -> str:
    """The feedback without the catalogue sentences that the mistakes list shows anyway."""
    shown = {t for m in q.mistakes if m in MISTAKES for t in (MISTAKES[m].zh, MISTAKES[m].en)}
    return "\n".join(line for line in q.feedback.splitlines() if line not in shown)


# ---------------------------------------------------------------- pictures

_L = 5
_PATTERNS = {  # mistake id → where (i, j) the diagnosed mistake puts attention, for an L × L causal example
    "triu-instead-of-tril": lambda i, j: j >= i,
    "no-tril": lambda i, j: True,
    "mask-filled-with-zero": lambda i, j: True,
    "mask-inverted": lambda i, j: j > i,
    "padding-ignored": lambda i, j: j <= i,
}


def _illustration(mistakes: list[str], lang: str) -> list[tuple[str, list[list[bool]]]] | None:
    """The allowed causal pattern beside the pattern a diagnosed mask mistake produces (no student values)."""
    mistake = next((m for m in mistakes if m in _PATTERNS), None)
    if mistake is None:
        return None
    padded = mistake == "padding-ignored"  # the example's last two tokens are padding
    allowed = _grid(lambda i, j: j <= i and not (padded and j >= _L - 2))
    return [(label("allowed", lang), allowed), (label("looks_like", lang), _grid(_PATTERNS[mistake]))]


def _grid(rule) -> list[list[bool]]:
    return [[bool(rule(i, j)) for j in range(_L)] for i in range(_L)]


def data_uri(picture: bytes) -> str:
    """A picture's bytes as a `data:` URI (PNG, JPEG or SVG, told apart by their first bytes)."""
    head = picture[:256].lstrip()
    mime = ("image/png" if head.startswith(b"\x89PNG") else "image/jpeg" if head.startswith(b"\xff\xd8") else
            "image/svg+xml" if head.startswith((b"<svg", b"<?xml")) else "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(picture).decode('ascii')}"
