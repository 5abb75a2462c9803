"""report.html: the class at a glance (score histogram, per-question means and pass rates, frequent mistakes)."""
from __future__ import annotations

import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from markupsafe import Markup

from assignments.mistakes import MISTAKES, explain
from autograder.reports.html import COLOURS, FONTS, data_uri
from autograder.files import write_atomically
from autograder.reports.templating import render
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
    """Write report.html: one self-contained page (scoped CSS, charts as PNG data URIs, nothing to fetch).

    Args:
        results: one Result per student (`student` set), error rows included.
        path: where to write; feedback pages are linked as `feedback/<student>/<assignment>.html` beside it.
        assignment: the assignment id.
        lang: "zh" or "en".
    Returns:
        The path written.
    """
    return write_atomically(path, render_class_report(results, assignment=assignment, lang=lang))


def render_class_report(results: list[Result], *, assignment: str, lang: str = "en",
                        links: dict[str, str] | None = None) -> str:
    """The report as one HTML document (templates/class_report.html); `links`: see `class_report_context`."""
    return render("class_report.html", **class_report_context(results, assignment, lang, links))


def class_report_context(results: list[Result], assignment: str, lang: str = "en", links: dict[str, str] | None = None,
                         nonce: str | None = None) -> dict:
    """What templates/class_report_body.html shows.

    Args:
        links: student → address of their feedback; by default `feedback/<student>/<assignment>.html`, beside
            report.html as `attn-grade grade` writes them.
        nonce: the embedding page's CSP nonce for the report's `<style>`, if any.
    """
    t = LABELS.get(lang, LABELS["en"])
    s = summarise(results, assignment)
    links = links if links is not None else {r.student: f"feedback/{r.student}/{assignment}.html" for r in results}
    return {"lang": lang, "t": t, "s": s, "total": len(results), "css": Markup(CSS), "nonce": nonce,
            "mean": statistics.fmean(s.scores) if s.scores else 0.0,
            "median": statistics.median(s.scores) if s.scores else 0.0,
            "histogram": data_uri(_histogram_png(s, t)), "questions_chart": data_uri(_questions_png(s, t)),
            "mistakes": [(m, n, explain(m, lang) if m in MISTAKES else m, qs) for m, n, qs in s.mistakes],
            # a student's own exception is routine; anything else needs the instructor
            "attention": [(r.student, e) for r in results for e in r.errors if e.kind != "exception"],
            "roster": [(r, links.get(r.student)) for r in results],
            "generated": f"{datetime.now():%Y-%m-%d %H:%M}"}


CSS = f""".attn-report {{ font-family: {FONTS}; color: #1f2328; line-height: 1.5; max-width: 64rem;
  margin: 1.5rem auto; padding: 0 1rem; }}
.attn-report h1 {{ font-size: 1.5rem; }}
.attn-report h2 {{ font-size: 1.15rem; margin-top: 1.8rem; border-bottom: 1px solid #d0d7de; }}
.attn-report table {{ border-collapse: collapse; width: 100%; margin: .5rem 0; }}
.attn-report th, .attn-report td {{ text-align: left; padding: .25rem .6rem; border-bottom: 1px solid #d0d7de;
  vertical-align: top; }}
.attn-report td.n, .attn-report th.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
.attn-report .meta {{ color: #57606a; font-size: .9rem; }} .attn-report .headline {{ font-size: 1.1rem; }}
.attn-report .error {{ color: {COLOURS["error"]}; }} .attn-report img {{ max-width: 100%; }}
.attn-report td code, .attn-report th {{ white-space: nowrap; }}
"""


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
