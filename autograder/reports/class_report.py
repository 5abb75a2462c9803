"""report.html: the class at a glance (score histogram, per-question means and pass rates, frequent mistakes)."""
from __future__ import annotations

import html
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from assignments.mistakes import MISTAKES, explain
from autograder.reports.html import COLOURS, FONTS, data_uri
from autograder.files import write_atomically
from autograder.result import Result

TOP_MISTAKES = 10
LABELS = {
    "en": {"title": "Class report", "submissions": "submissions", "graded": "graded", "error_rows": "not gradable",
           "mean": "mean", "median": "median", "range": "range", "scores": "Scores", "students": "students",
           "score": "score", "questions": "Questions", "question": "question", "points": "points",
           "mean_pct": "mean score (%)", "pass_rate": "passed (%)", "partial": "partial", "failed": "failed",
           "error": "error", "mistakes": "Most frequent mistakes", "mistake": "mistake", "count": "students",
           "meaning": "what it means", "seen_in": "seen in", "attention": "Needs attention",
           "student": "student", "problem": "problem", "roster": "Every submission", "feedback": "feedback",
           "none": "None.", "generated": "generated"},
    "zh": {"title": "班级报告", "submissions": "份提交", "graded": "已评分", "error_rows": "无法评分",
           "mean": "平均", "median": "中位数", "range": "范围", "scores": "得分分布", "students": "学生数",
           "score": "得分", "questions": "各题情况", "question": "题目", "points": "分值",
           "mean_pct": "平均得分率 (%)", "pass_rate": "通过率 (%)", "partial": "部分正确", "failed": "错误",
           "error": "出错", "mistakes": "最常见的错误", "mistake": "错误类型", "count": "学生数",
           "meaning": "含义", "seen_in": "出现于", "attention": "需要处理", "student": "学生",
           "problem": "问题", "roster": "全部提交", "feedback": "反馈", "none": "无。", "generated": "生成于"},
}


@dataclass
class QuestionStats:
    """One question over the graded submissions."""

    id: str
    points: float
    mean: float
    pass_rate: float
    statuses: Counter = field(default_factory=Counter)


@dataclass
class ClassSummary:
    """The numbers behind report.html."""

    assignment: str
    max_score: float
    scores: list[float]
    error_rows: list[Result]
    questions: list[QuestionStats]
    mistakes: list[tuple[str, int, list[str]]]
    """(mistake id, number of students, question ids where it was seen), most frequent first."""


def summarise(results: list[Result], assignment: str) -> ClassSummary:
    """Class statistics; error rows (isolation "none") count in `error_rows`, not in the score statistics."""
    graded = [r for r in results if r.isolation != "none"]
    questions = []
    for q in (results[0].questions if results else []):
        rows = [r.question(q.id) for r in graded]
        questions.append(QuestionStats(
            q.id, q.max_score, statistics.fmean([x.score for x in rows]) if rows else 0.0,
            sum(x.status == "passed" for x in rows) / len(rows) if rows else 0.0, Counter(x.status for x in rows)))
    seen: dict[str, set[str]] = {}
    students: Counter = Counter()
    for r in graded:
        ids = {m for q in r.questions for m in q.mistakes}
        students.update(ids)
        for q in r.questions:
            for m in q.mistakes:
                seen.setdefault(m, set()).add(q.id)
    mistakes = [(m, n, sorted(seen[m])) for m, n in students.most_common(TOP_MISTAKES)]
    max_score = results[0].max_score if results else 0.0
    return ClassSummary(assignment, max_score, [r.score for r in graded],
                        [r for r in results if r.isolation == "none"], questions, mistakes)


def write_class_report(results: list[Result], path: str | Path, *, assignment: str, lang: str = "en") -> Path:
    """Write report.html: one self-contained page (inline CSS, charts as PNG data URIs, nothing to fetch).

    Args:
        results: one Result per student (`student` set), error rows included.
        path: where to write; feedback pages are linked as `feedback/<student>/<assignment>.html` beside it.
        assignment: the assignment id.
        lang: "zh" or "en".
    Returns:
        The path written.
    """
    return write_atomically(path, render_class_report(results, assignment=assignment, lang=lang))


def render_class_report(results: list[Result], *, assignment: str, lang: str = "en") -> str:
    """The report as one HTML document."""
    t = LABELS.get(lang, LABELS["en"])
    s = summarise(results, assignment)
    body = [f"<h1>{t['title']} — <code>{_e(assignment)}</code></h1>", _headline(s, len(results), t),
            f"<h2>{t['scores']}</h2>", _img(_histogram_png(s, t), t["scores"]),
            f"<h2>{t['questions']}</h2>", _img(_questions_png(s, t), t["questions"]), _question_table(s, t),
            f"<h2>{t['mistakes']}</h2>", _mistakes(s, t, lang),
            f"<h2>{t['attention']}</h2>", _attention(results, t),
            f"<h2>{t['roster']}</h2>", _roster(results, assignment, t)]
    return (f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{t['title']} — {_e(assignment)}</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(body) + f'\n<p class="meta">{t["generated"]} {datetime.now():%Y-%m-%d %H:%M}</p>'
            "\n</body></html>\n")


CSS = f"""body {{ font-family: {FONTS}; color: #1f2328; line-height: 1.5; max-width: 64rem; margin: 1.5rem auto;
  padding: 0 1rem; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.15rem; margin-top: 1.8rem; border-bottom: 1px solid #d0d7de; }}
table {{ border-collapse: collapse; width: 100%; margin: .5rem 0; }}
th, td {{ text-align: left; padding: .25rem .6rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }}
td.n, th.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
.meta {{ color: #57606a; font-size: .9rem; }} .headline {{ font-size: 1.1rem; }}
.error {{ color: {COLOURS["error"]}; }} img {{ max-width: 100%; }} td code, th {{ white-space: nowrap; }}
"""


def _headline(s: ClassSummary, total: int, t: dict) -> str:
    parts = [f"<b>{total}</b> {t['submissions']}", f"{len(s.scores)} {t['graded']}",
             f'<span class="error">{len(s.error_rows)} {t["error_rows"]}</span>']
    if s.scores:
        parts += [f"{t['mean']} <b>{statistics.fmean(s.scores):.2f}</b>/{s.max_score:g}",
                  f"{t['median']} {statistics.median(s.scores):g}",
                  f"{t['range']} {min(s.scores):g}–{max(s.scores):g}"]
    return f'<p class="headline">{" · ".join(parts)}</p>'


def _question_table(s: ClassSummary, t: dict) -> str:
    head = "".join(f'<th class="n">{t[k]}</th>' for k in ("points", "mean_pct", "pass_rate", "partial", "failed",
                                                           "error"))
    rows = [f"<tr><td><code>{_e(q.id)}</code></td><td class='n'>{q.points:g}</td>"
            f"<td class='n'>{100 * q.mean / q.points if q.points else 0:.0f}</td>"
            f"<td class='n'>{100 * q.pass_rate:.0f}</td>"
            + "".join(f"<td class='n'>{q.statuses.get(k, 0)}</td>" for k in ("partial", "failed", "error")) + "</tr>"
            for q in s.questions]
    return f"<table><tr><th>{t['question']}</th>{head}</tr>{''.join(rows)}</table>"


def _mistakes(s: ClassSummary, t: dict, lang: str) -> str:
    if not s.mistakes:
        return f"<p>{t['none']}</p>"
    rows = [f"<tr><td><code>{_e(m)}</code></td><td class='n'>{n}</td>"
            f"<td>{_e(explain(m, lang) if m in MISTAKES else m)}</td><td>{_e(', '.join(qs))}</td></tr>"
            for m, n, qs in s.mistakes]
    return (f"<table><tr><th>{t['mistake']}</th><th class='n'>{t['count']}</th><th>{t['meaning']}</th>"
            f"<th>{t['seen_in']}</th></tr>{''.join(rows)}</table>")


def _attention(results: list[Result], t: dict) -> str:
    rows = [f"<tr><td>{_e(r.student)}</td><td class='error'>{_e(e.kind)}</td><td>{_e(e.message)}</td></tr>"
            for r in results for e in r.errors if e.kind != "exception"]  # a student's own exception is routine
    if not rows:
        return f"<p>{t['none']}</p>"
    return f"<table><tr><th>{t['student']}</th><th>{t['problem']}</th><th></th></tr>{''.join(rows)}</table>"


def _roster(results: list[Result], assignment: str, t: dict) -> str:
    rows = [f"<tr><td>{_e(r.student)}</td><td class='n'>{r.score:g}/{r.max_score:g}</td>"
            f"<td><a href=\"feedback/{html.escape(r.student or '', quote=True)}/{assignment}.html\">{t['feedback']}</a>"
            f"</td></tr>" for r in results]
    return (f"<table><tr><th>{t['student']}</th><th class='n'>{t['score']}</th><th></th></tr>"
            f"{''.join(rows)}</table>")


def _histogram_png(s: ClassSummary, t: dict) -> bytes:
    top = max(s.max_score, 1.0)
    bins = [top * i / min(int(top) or 1, 20) for i in range(min(int(top) or 1, 20) + 1)]

    def draw(ax):
        from matplotlib.ticker import MaxNLocator
        ax.hist(s.scores, bins=bins, color="#0969da", edgecolor="white")
        ax.set(xlabel=t["score"], ylabel=t["students"], xlim=(0, top))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return _chart(draw, (6.4, 2.8))


def _questions_png(s: ClassSummary, t: dict) -> bytes:
    ids = [q.id for q in s.questions]
    ys = range(len(ids))

    def draw(ax):
        ax.barh([y - 0.2 for y in ys], [100 * q.mean / q.points if q.points else 0 for q in s.questions],
                height=0.4, color="#0969da", label=t["mean_pct"])
        ax.barh([y + 0.2 for y in ys], [100 * q.pass_rate for q in s.questions], height=0.4,
                color=COLOURS["passed"], label=t["pass_rate"])
        ax.set(yticks=list(ys), yticklabels=ids, xlim=(0, 100))
        ax.invert_yaxis()
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, fontsize="small", frameon=False)
    return _chart(draw, (6.4, 0.45 * len(ids) + 1.0))


def _chart(draw, size: tuple[float, float]) -> bytes:
    import matplotlib
    from matplotlib.figure import Figure
    with matplotlib.rc_context({"font.family": _plot_fonts()}):
        fig = Figure(figsize=size, dpi=100, layout="constrained")
        draw(fig.subplots())
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="{data_uri(png)}">'


def _e(text) -> str:
    return html.escape(str(text))


def _plot_fonts() -> list[str]:
    """Matplotlib's font list with a CJK fallback, registering Noto CJK if its font cache predates the font."""
    from matplotlib import font_manager
    manager = font_manager.fontManager
    wanted = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Micro Hei")
    if not any(f.name in wanted for f in manager.ttflist):
        for path in font_manager.findSystemFonts():
            if "NotoSansCJK-Regular" in path or "wqy-microhei" in path:
                manager.addfont(path)
    installed = {f.name for f in manager.ttflist}
    return ["DejaVu Sans"] + [name for name in wanted if name in installed]
