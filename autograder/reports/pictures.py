"""Pictures of a student's own values (kept by the graders) for the feedback page, drawn as small SVG heatmaps."""
from __future__ import annotations

import logging
import math
from html import escape

from assignments.quiz import Text
from autograder.graders.evidence import Evidence, Kept

LOG = logging.getLogger(__name__)
TITLES: dict[str, Text] = {
    "yours": Text("你的", "yours:"),
    "allowed": Text("允许的模式(j ≤ i 且键不是 padding)", "allowed pattern (j ≤ i, key not padding)"),
    "allowed_mask": Text("mask 允许的位置", "allowed by the mask"),
    "entropy": Text("你的 head_entropy(nats),模型的注意力", "your head_entropy (nats) on the model's attention"),
    "plot": Text("你的 plot_attention 画出的热图", "the heatmap your plot_attention drew"),
    "keys": Text("键", "keys"), "queries": Text("查询", "queries"),
    "layer": Text("层", "layer"), "head": Text("头", "head"),
    "nan": Text("红色 = NaN", "red = NaN"),
}
BLUES = ((0.0, (247, 251, 255)), (0.25, (198, 219, 239)), (0.5, (107, 174, 214)), (0.75, (33, 113, 181)),
         (1.0, (8, 48, 107)))
"""Matplotlib's "Blues" colour map, sampled: light for small values, dark for large ones."""
NAN_COLOUR = "#c62828"
FONT = "DejaVu Sans, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"
SIDE = 220
"""Pixels of the longer side of one heatmap."""


def evidence_figures(evidence: Evidence, lang: str = "en") -> dict[str, bytes]:
    """Question id → an SVG of the student's values chosen for it (a picture that cannot be drawn is left out).

    Args:
        evidence: what the graders kept while grading one submission.
        lang: "zh" or "en", the language of titles and axis labels.
    Returns:
        The `figures` argument of `render_feedback_page` / `write_feedback_page`.
    """
    figures = {}
    for question_id, kept in evidence.chosen().items():
        try:
            figures[question_id] = draw(kept, lang)
        except Exception as exc:  # a picture is a bonus: never let it cost a student their feedback page
            LOG.warning("no picture for %s: %s", question_id, exc)
    return figures


def draw(kept: Kept, lang: str = "en") -> bytes:
    """One kept value as an SVG: weights beside the allowed pattern, entropy per layer × head, or their heatmap."""
    t = {k: v.in_lang(lang) for k, v in TITLES.items()}
    what = _short(kept.labels.get("what", kept.question))
    if kept.kind == "weights":
        panels = [Panel(f"{t['yours']} {what}", _rows(kept.values), t["keys"], t["queries"])]
        if "allowed" in kept.labels:
            title = t["allowed"] if kept.labels.get("causal") else t["allowed_mask"]
            panels.append(Panel(title, _rows(kept.labels["allowed"].double()), t["keys"], t["queries"]))
    elif kept.kind == "entropy":
        panels = [Panel(t["entropy"], _rows(kept.values), t["head"], t["layer"])]
    else:
        ticks = [[_short(s, 12) for s in kept.labels.get(axis) or []] for axis in ("xticklabels", "yticklabels")]
        title = t["plot"] + (f" “{_short(kept.labels['title'], 40)}”" if kept.labels.get("title") else "")
        panels = [Panel(title, _rows(kept.values), t["keys"], t["queries"], ticks)]
    return svg(panels, t["nan"]).encode("utf-8")


class Panel:
    """One heatmap: a title, the [rows][cols] values, axis labels and optional tick labels (x then y)."""

    def __init__(self, title: str, values: list[list[float]], xlabel: str, ylabel: str,
                 ticks: list[list[str]] | None = None):
        self.title, self.values, self.xlabel, self.ylabel = title, values, xlabel, ylabel
        rows, cols = len(values), len(values[0])
        fits = bool(ticks) and len(ticks[0]) == cols and len(ticks[1]) == rows
        self.xticks = ticks[0] if fits else _numbers(cols)
        self.yticks = ticks[1] if fits else _numbers(rows)
        self.cell = max(3, min(28, SIDE // max(rows, cols)))
        self.left = 30 + 7 * max((len(s) for s in self.yticks if s), default=1)
        self.bottom = 30 + (7 * max((len(s) for s in self.xticks if s), default=1) if fits else 14)
        self.width = max(self.left + self.cell * cols + 70, 12 + 7 * len(title))
        self.height = 44 + self.cell * rows + self.bottom


def svg(panels: list[Panel], nan_note: str) -> str:
    """Panels side by side as one SVG document, each with its colour scale; NaN cells red (and said so)."""
    parts, x = [], 0
    for panel in panels:
        parts.append(f'<g transform="translate({x},0)">{_panel(panel, nan_note)}</g>')
        x += panel.width + 16
    height = max(p.height for p in panels)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{x}" height="{height}" viewBox="0 0 {x} {height}" '
            f'font-family="{FONT}" font-size="11" fill="#24292f"><rect width="100%" height="100%" fill="#fff"/>'
            + "".join(parts) + "</svg>")


def _panel(p: Panel, nan_note: str) -> str:
    rows, cols, c = len(p.values), len(p.values[0]), p.cell
    finite = [v for row in p.values for v in row if math.isfinite(v)]
    low, high = _colour_range(finite)
    has_nan = len(finite) < rows * cols
    top = 44
    out = [f'<text x="0" y="14" font-size="12" font-weight="bold">{escape(p.title)}</text>']
    if has_nan:
        out.append(f'<text x="0" y="30" fill="{NAN_COLOUR}">{escape(nan_note)}</text>')
    out += [f'<rect x="{p.left + j * c}" y="{top + i * c}" width="{c}" height="{c}" fill="{_colour(v, low, high)}"/>'
            for i, row in enumerate(p.values) for j, v in enumerate(row)]
    out.append(f'<rect x="{p.left}" y="{top}" width="{cols * c}" height="{rows * c}" fill="none" stroke="#8c959f"/>')
    out += _ticks(p, top)
    out.append(f'<text x="{p.left + cols * c / 2}" y="{p.height - 6}" text-anchor="middle">{escape(p.xlabel)}</text>')
    out.append(f'<text transform="translate(10,{top + rows * c / 2}) rotate(-90)" text-anchor="middle">'
               f'{escape(p.ylabel)}</text>')
    out += _scale(p.left + cols * c + 14, top, rows * c, low, high)
    return "".join(out)


def _ticks(p: Panel, top: int) -> list[str]:
    """Tick labels at the centre of their row/column: rotated under the grid, right-aligned left of it."""
    c, rows = p.cell, len(p.values)
    out = [f'<text transform="translate({p.left + j * c + c / 2 + 4},{top + rows * c + 6}) rotate(-90)" '
           f'text-anchor="end">{escape(s)}</text>' for j, s in enumerate(p.xticks) if s]
    out += [f'<text x="{p.left - 5}" y="{top + i * c + c / 2 + 4}" text-anchor="end">{escape(s)}</text>'
            for i, s in enumerate(p.yticks) if s]
    return out


def _scale(x: float, top: int, height: int, low: float, high: float) -> list[str]:
    """A vertical colour scale from `low` (bottom) to `high` (top), labelled at both ends."""
    steps = 24
    out = [f'<rect x="{x}" y="{top + height * k / steps:.2f}" width="10" height="{height / steps + 0.5:.2f}" '
           f'fill="{_colour(high - (high - low) * (k + 0.5) / steps, low, high)}"/>' for k in range(steps)]
    out.append(f'<text x="{x + 14}" y="{top + 9}">{high:.3g}</text>')
    out.append(f'<text x="{x + 14}" y="{top + height}">{low:.3g}</text>')
    return out


def _colour(value: float, low: float, high: float) -> str:
    if not math.isfinite(value):
        return NAN_COLOUR
    share = min(1.0, max(0.0, (value - low) / (high - low))) if high > low else 0.0
    for (start, a), (end, b) in zip(BLUES, BLUES[1:]):
        if share <= end:
            f = (share - start) / (end - start)
            return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b))
    return "#08306b"


def _colour_range(finite: list[float]) -> tuple[float, float]:
    """0 to 1 for values that look like weights (so 0.5 looks the same in both panels), else their own range."""
    if not finite or min(finite) >= 0 and max(finite) <= 1:
        return 0.0, 1.0
    return (0.0 if min(finite) >= 0 else min(finite)), max(finite)


def _rows(values) -> list[list[float]]:
    """A [rows, cols] tensor as nested floats (NaN and ±inf kept: they are drawn red)."""
    return [[float(v) for v in row] for row in values.tolist()]


def _numbers(count: int) -> list[str]:
    """Integer tick labels: every index when few, else every 4th or 8th (the others blank)."""
    every = 1 if count <= 16 else 4 if count <= 32 else 8
    return [str(i) if i % every == 0 else "" for i in range(count)]


def _short(text, limit: int = 40) -> str:
    """A label cut to `limit` characters (escaped when drawn)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"
