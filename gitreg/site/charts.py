"""A metric across a model's versions as an SVG line chart, drawn on the
server: no script, no external library, readable by a screen reader (a
title and description) and backed by the data table beside it.

Each version is one point (``circle.point``) carrying ``data-version`` and
``data-value``; the versions holding a stage are ringed and labelled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 18, 44


def finite(value: object) -> bool:
    """A number a chart can place (not a flag, NaN or infinity)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number(value: float) -> str:
    """A metric value as the site prints it: up to 6 significant digits."""
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count)]


def line_chart(
    metric: str,
    points: Sequence[tuple[str, float]],
    holders: Mapping[str, Sequence[str]],
    stage_class: Mapping[str, str],
    chart_id: str,
    ticks: Sequence[str] | None = None,
    axis: str = "version",
) -> str:
    """``points``: (version, value) oldest first; ``holders``: version ->
    the stages it holds; ``stage_class``: stage -> its CSS class;
    ``ticks``: the x axis' labels when they are not the versions (dates of
    evaluations, ``axis`` then says so)."""
    values = [v for _, v in points]
    low, high = min(values), max(values)
    if low == high:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    else:
        pad = (high - low) * 0.08
        low, high = low - pad, high + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = len(points)

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / count)

    def y(value: float) -> float:
        return TOP + plot_h * (high - value) / (high - low)

    title = f"{metric} across {count} version{'s' if count != 1 else ''}"
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'data-metric="{escape(metric)}" data-over="{escape(axis)}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">From {escape(points[0][0])} ({number(points[0][1])}) to '
        f"{escape(points[-1][0])} ({number(points[-1][1])}); the data table follows the chart.</desc>",
    ]
    for tick in _ticks(low, high):
        ty = y(tick)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end">{tick:.4g}</text>')
    every = max(1, math.ceil(count / 8))
    labels = list(ticks) if ticks is not None else [version for version, _ in points]
    for i, label in enumerate(labels):
        if i % every == 0 or i == count - 1:
            parts.append(
                f'<text class="tick" x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
    parts.append(f'<polyline class="line" points="{path}"/>')
    for i, (version, value) in enumerate(points):
        cx, cy = x(i), y(value)
        stages = holders.get(version, ())
        if stages:
            css = stage_class.get(stages[0], "s-other")
            parts.append(f'<circle class="ring {css}" cx="{cx:.1f}" cy="{cy:.1f}" r="7"/>')
            label = escape(", ".join(stages))
            parts.append(f'<text class="mark {css}" x="{cx:.1f}" y="{cy - 11:.1f}" text-anchor="middle">{label}</text>')
        parts.append(
            f'<circle class="point" cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" data-version="{escape(version)}" '
            f'data-value="{value!r}"><title>{escape(version)}: {number(value)}</title></circle>'
        )
    middle = LEFT + plot_w / 2
    parts.append(
        f'<text class="axis" x="{middle:.0f}" y="{HEIGHT - 6}" text-anchor="middle">{escape(axis)}</text></svg>'
    )
    return "".join(parts)
