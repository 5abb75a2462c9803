"""Pictures of a student's own values (kept by the graders) for the feedback page, drawn as PNGs."""
from __future__ import annotations

import io
import logging

from assignments.quiz import Text
from autograder.graders.framework import Evidence, Kept

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


def evidence_figures(evidence: Evidence, lang: str = "en") -> dict[str, bytes]:
    """Question id → a PNG of the student's values chosen for it (a picture that cannot be drawn is left out).

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
    """One kept value as a PNG: weights beside the allowed pattern, entropy per layer × head, or their heatmap."""
    t = {k: v.in_lang(lang) for k, v in TITLES.items()}
    what = _plain(kept.labels.get("what", kept.question))
    if kept.kind == "weights":
        panels = [(f"{t['yours']} {what}", kept.values)]
        if "allowed" in kept.labels:
            title = t["allowed"] if kept.labels.get("causal") else t["allowed_mask"]
            panels.append((title, kept.labels["allowed"].to(kept.values.dtype)))
        return _png(panels, t["keys"], t["queries"], t["nan"])
    if kept.kind == "entropy":
        return _png([(t["entropy"], kept.values)], t["head"], t["layer"], t["nan"], integer_ticks=True, size=(5.6, 3.0))
    ticks = [[_plain(s, 12) for s in kept.labels.get(axis) or []] for axis in ("xticklabels", "yticklabels")]
    title = t["plot"] + (f"\n“{_plain(kept.labels['title'], 60)}”" if kept.labels.get("title") else "")
    return _png([(title, kept.values)], t["keys"], t["queries"], t["nan"], ticks=ticks, size=(4.8, 4.6))


def _png(panels: list, xlabel: str, ylabel: str, nan_note: str, ticks: list | None = None,
         integer_ticks: bool = False, size: tuple[float, float] = (3.8, 3.4)) -> bytes:
    """Panels of [rows, cols] tensors side by side (each `size` inches) as heatmaps, NaN cells in red; the PNG."""
    import matplotlib
    import numpy as np
    from matplotlib.figure import Figure
    from autograder.reports.html import _plot_fonts  # the CJK font fallback shared with the feedback page
    cmap = matplotlib.colormaps["Blues"].with_extremes(bad="#c62828")
    with matplotlib.rc_context({"font.family": _plot_fonts(), "font.size": 9}):
        fig = Figure(figsize=(size[0] * len(panels), size[1]), dpi=100, layout="constrained")
        for ax, (title, values) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
            data = np.ma.masked_invalid(values.numpy())
            image = ax.imshow(data, cmap=cmap, **_colour_range(data.compressed()))
            ax.set(title=title + (f"\n({nan_note})" if np.ma.is_masked(data) else ""), xlabel=xlabel, ylabel=ylabel)
            _ticks(ax, data.shape, ticks, integer_ticks)
            fig.colorbar(image, ax=ax, shrink=0.8)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _colour_range(finite) -> dict:
    """0 to 1 for values that look like weights (so 0.5 looks the same in both panels), else matplotlib's own."""
    if finite.size == 0 or finite.min() >= 0 and finite.max() <= 1:
        return {"vmin": 0.0, "vmax": 1.0}
    return {"vmin": 0.0} if finite.min() >= 0 else {}


def _ticks(ax, shape: tuple, ticks: list | None, integer_ticks: bool) -> None:
    """The student's tick labels when they fit the image, else one integer tick per row/column (small images)."""
    rows, cols = shape
    if ticks and len(ticks[0]) == cols and len(ticks[1]) == rows:
        ax.set_xticks(range(cols), ticks[0], rotation=90)
        ax.set_yticks(range(rows), ticks[1])
    elif integer_ticks or max(rows, cols) <= 16:
        ax.set_xticks(range(cols))
        ax.set_yticks(range(rows))


def _plain(text, limit: int = 40) -> str:
    """A short label that matplotlib draws as typed (no mathtext from a student's `$`)."""
    text = str(text)
    text = text if len(text) <= limit else text[:limit - 1] + "…"
    return text.replace("$", r"\$")
