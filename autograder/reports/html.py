"""A self-contained HTML feedback page for one Result: inline CSS, embedded pictures, no external resource."""
from __future__ import annotations

import base64
import html
from pathlib import Path

from assignments.mistakes import MISTAKES
from assignments.quiz import Text
from autograder.files import write_atomically
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
.attn-fb .bar {{ background: #eaeef2; border-radius: 4px; height: .7rem; min-width: 6rem; }}
.attn-fb .bar > span {{ display: block; height: 100%; border-radius: 4px; }}
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
"""
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
    """The whole feedback page as one HTML document with nothing to fetch.

    Args:
        result: the graded submission (SPEC §5); it carries no tensors.
        lang: "zh" or "en", the language of the page's own labels.
        figures: optional question id → picture (PNG, JPEG or SVG bytes) drawn by a caller that has the
            student's values, e.g. `reports.pictures.evidence_figures`; shown under that question as a data URI.
    Returns:
        The HTML text.
    """
    title = f"{label('title', lang)} — {result.assignment}"
    return (f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)}</title>'
            f'<style>body {{ margin: 1.5rem; background: #fff; }}</style></head>\n<body>\n'
            f'{render_feedback_fragment(result, lang, figures)}\n'
            f'<div class="attn-fb"><p class="meta">{_e(label("footer", lang))}</p></div>\n</body></html>\n')


def render_feedback_fragment(result: Result, lang: str = "en", figures: dict[str, bytes] | None = None) -> str:
    """The page's body as one `<div class="attn-fb">` with its own scoped `<style>`, for embedding (e.g. in Jupyter)."""
    figures = figures or {}
    parts = [f"<style>{CSS}</style>", '<div class="attn-fb">',
             f"<h1>{_e(label('title', lang))} — <code>{_e(result.assignment)}</code></h1>",
             _summary(result, lang), _overview(result, lang), _errors(result, lang)]
    parts += [_question(q, lang, figures.get(q.id)) for q in result.questions]
    parts.append("</div>")
    return "\n".join(p for p in parts if p)


def write_feedback_page(result: Result, path: str | Path, lang: str = "en",
                        figures: dict[str, bytes] | None = None) -> Path:
    """Write `render_feedback_page(result, lang, figures)` to `path` (UTF-8), creating parent folders.

    Returns:
        The path written.
    """
    return write_atomically(path, render_feedback_page(result, lang, figures))


def _summary(result: Result, lang: str) -> str:
    share = result.score / result.max_score if result.max_score else 0.0
    who = f"{_e(result.student)} · " if result.student else ""
    return (f'<p class="meta">{who}<code>{_e(result.notebook)}</code> · {_e(label("isolation", lang))}: '
            f'{_e(result.isolation)} · {_e(label("duration", lang))}: {result.duration_s:.1f} s</p>'
            f'<p class="total">{_e(label("total", lang))}: {_pts(result.score)} / {_pts(result.max_score)} '
            f'({share:.0%})</p>{_bar(share, "#0969da")}')


def _overview(result: Result, lang: str) -> str:
    head = "".join(f"<th>{_e(label(k, lang))}</th>" for k in ("question", "score", "status", "mistakes"))
    rows = []
    for q in result.questions:
        share = q.score / q.max_score if q.max_score else 0.0
        rows.append(f'<tr><td><a href="#q-{_e(q.id)}"><code>{_e(q.id)}</code></a></td>'
                    f'<td>{_pts(q.score)} / {_pts(q.max_score)}{_bar(share, COLOURS[q.status])}</td>'
                    f'<td>{_badge(q.status, lang)}</td><td>{_e(", ".join(q.mistakes))}</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _errors(result: Result, lang: str) -> str:
    if not result.errors:
        return ""
    items = "".join(f"<li>{_e(label('cell', lang))} {e.cell}: <b>{_e(e.kind)}</b><pre>{_e(e.message)}</pre></li>"
                    for e in result.errors)
    return f'<div class="errors"><h2>{_e(label("errors", lang))}</h2><ul>{items}</ul></div>'


def _question(q: QuestionResult, lang: str, figure: bytes | None) -> str:
    parts = [f'<section class="q" id="q-{_e(q.id)}" style="border-left-color: {COLOURS[q.status]}">',
             f"<h2><code>{_e(q.id)}</code> {_badge(q.status, lang)} <span class=\"meta\">{_pts(q.score)} / "
             f"{_pts(q.max_score)}</span></h2>"]
    feedback = _feedback_beyond_catalogue(q) if q.status != "passed" else ""
    if feedback:
        parts.append(f'<p class="feedback">{_e(feedback)}</p>')
    if q.mistakes:
        items = "".join(f"<dt><code>{_e(m)}</code></dt><dd>{_e(_mistake_text(m, lang))}</dd>" for m in q.mistakes)
        parts.append(f'<h3>{_e(label("mistakes", lang))}</h3><dl class="mistakes">{items}</dl>')
    if figure:
        parts.append(f'<figure><img alt="{_e(q.id)}" src="{data_uri(figure)}"></figure>')
    elif q.id in CAUSAL_QUESTIONS:
        parts.append(_illustration(q.mistakes, lang))
    if q.checks:
        passed = sum(c.passed for c in q.checks)
        items = "".join(f'<li><span class="{"ok" if c.passed else "no"}">{"✓" if c.passed else "✗"}</span> '
                        f'{_e(c.name)}{_msg(c.message, feedback)}</li>' for c in q.checks)
        is_open = " open" if passed < len(q.checks) else ""
        parts.append(f"<details{is_open}><summary>{_e(label('checks', lang))}: {passed} / {len(q.checks)}"
                     f'</summary><ul class="checks">{items}</ul></details>')
    parts.append("</section>")
    return "".join(parts)


def _feedback_beyond_catalogue(q: QuestionResult) -> str:
    """The feedback without the catalogue sentences that the mistakes list shows anyway."""
    shown = {t for m in q.mistakes if m in MISTAKES for t in (MISTAKES[m].zh, MISTAKES[m].en)}
    return "\n".join(line for line in q.feedback.splitlines() if line not in shown)


def _mistake_text(mistake: str, lang: str) -> str:
    return MISTAKES[mistake].in_lang(lang) if mistake in MISTAKES else mistake


def _msg(message: str, shown: str) -> str:
    """A check's message, unless the feedback above already says exactly that."""
    return f'<span class="msg">{_e(message)}</span>' if message and message not in shown.splitlines() else ""


def _badge(status: str, lang: str) -> str:
    return f'<span class="badge" style="background: {COLOURS[status]}">{_e(label(status, lang))}</span>'


def _bar(share: float, colour: str) -> str:
    width = max(0.0, min(1.0, share)) * 100
    return f'<div class="bar"><span style="width: {width:.0f}%; background: {colour}"></span></div>'


def _pts(points: float) -> str:
    return f"{round(points, 2):g}"


def _e(text) -> str:
    return html.escape(str(text), quote=True)


# ---------------------------------------------------------------- pictures

_L = 5
_PATTERNS = {  # mistake id → where (i, j) the diagnosed mistake puts attention, for an L × L causal example
    "triu-instead-of-tril": lambda i, j: j >= i,
    "no-tril": lambda i, j: True,
    "mask-filled-with-zero": lambda i, j: True,
    "mask-inverted": lambda i, j: j > i,
    "padding-ignored": lambda i, j: j <= i,
}


def _illustration(mistakes: list[str], lang: str) -> str:
    """The allowed causal pattern beside the pattern a diagnosed mask mistake produces (no student values)."""
    mistake = next((m for m in mistakes if m in _PATTERNS), None)
    if mistake is None:
        return ""
    padded = mistake == "padding-ignored"  # the example's last two tokens are padding
    allowed = _grid(lambda i, j: j <= i and not (padded and j >= _L - 2))
    yours = _grid(_PATTERNS[mistake])
    return (f'<figure>{_svg_grid(allowed, label("allowed", lang))}{_svg_grid(yours, label("looks_like", lang))}'
            f'<figcaption>{_e(label("illustration", lang))}</figcaption></figure>')


def _grid(rule) -> list[list[bool]]:
    return [[bool(rule(i, j)) for j in range(_L)] for i in range(_L)]


def _svg_grid(cells: list[list[bool]], title: str, size: int = 22) -> str:
    side = size * _L
    rects = "".join(f'<rect x="{j * size}" y="{i * size + 24}" width="{size}" height="{size}" '
                    f'fill="{"#0969da" if on else "#f6f8fa"}" stroke="#d0d7de"/>'
                    for i, row in enumerate(cells) for j, on in enumerate(row))
    return (f'<svg role="img" width="{side + 150}" height="{side + 28}" '
            f'style="margin-right: 1rem"><text x="0" y="16" font-size="13">{_e(title)}</text>{rects}</svg>')


def data_uri(picture: bytes) -> str:
    """A picture's bytes as a `data:` URI (PNG, JPEG or SVG, told apart by their first bytes)."""
    head = picture[:256].lstrip()
    mime = ("image/png" if head.startswith(b"\x89PNG") else "image/jpeg" if head.startswith(b"\xff\xd8") else
            "image/svg+xml" if head.startswith((b"<svg", b"<?xml")) else "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(picture).decode('ascii')}"
