"""A readable terminal table of one Result."""
from __future__ import annotations

from autograder.result import STATUSES, Result

HEADERS = {"en": ("question", "score", "status", "mistakes"), "zh": ("题目", "得分", "状态", "错误类型")}


def render_table(result: Result, lang: str = "en", feedback: bool = True) -> str:
    """The questions as aligned rows, then, for each question that lost points, its feedback and failed checks."""
    rows = [(q.id, f"{q.score:g}/{q.max_score:g}", f"{STATUSES[q.status].mark} {q.status}", ", ".join(q.mistakes))
            for q in result.questions]
    header = HEADERS[lang]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    total = "总分" if lang == "zh" else "total"
    out = [f"{result.assignment} — {result.notebook}", line(header), line(["-" * w for w in widths])]
    out[:0] = [f"!!! {e.message} !!!" for e in result.errors if e.kind == "no-privilege-drop"]
    out += [line(r) for r in rows]
    out.append(f"{total}: {result.score:g}/{result.max_score:g}   (isolation: {result.isolation}, "
               f"{result.duration_s:.1f} s)")
    cell = "单元格" if lang == "zh" else "cell"
    for error in result.errors:
        where = f"{cell} {error.cell}: " if error.cell >= 0 else ""
        out.append(f"! {where}{error.kind} — {error.message}")
    if feedback:
        for q in result.questions:
            if q.status in ("partial", "failed", "error") and q.feedback:
                out.append(f"\n[{q.id}]\n" + q.feedback)
                if len(q.checks) > 1 and "not-implemented" not in q.mistakes:  # which checks to look at
                    out += [f"  ✗ {c.name}" for c in q.checks if not c.passed]
    return "\n".join(out)
