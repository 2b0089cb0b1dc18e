"""Delivery charts as inline SVG, drawn on the server: bars per day, with a dashed pace line.

No JavaScript and nothing fetched: the SVG scales to its container (``viewBox``), every bar has a
``<title>`` (its day and value, shown on hover and read by screen readers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 24, 28


@dataclass(frozen=True)
class Series:
    title: str
    values: Sequence[int]
    css_class: str
    """Bar colour, from the console's style sheet (``chart-bar--<class>``)."""
    pace: float | None = None
    """The daily amount the goal needs, drawn across the chart; None without such a goal."""


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5 x 10^n not below ``value`` (at least 1): the axis top."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if step * top >= value:
                return step * top
        top *= 10


def bar_chart(days: Sequence[str], series: Series) -> Markup:
    """One series per day as an SVG bar chart, ``days`` the ISO dates under the bars."""
    top = nice_ceiling(max([*series.values, series.pace or 0, 1]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(series.title)} per day" xmlns="http://www.w3.org/2000/svg">',
        f'<text class="chart-title" x="{LEFT}" y="15">{escape(series.title)} per day</text>',
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="chart-axis" x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{_number(top * fraction)}</text>')
    label_every = max(1, round(len(days) / 8))
    for index, (day, value) in enumerate(zip(days, series.values, strict=True)):
        height = plot_h * value / top
        x = LEFT + index * slot + slot * 0.15
        parts.append(
            f'<rect class="chart-bar chart-bar--{escape(series.css_class)}" x="{x:.1f}" '
            f'y="{TOP + plot_h - height:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}">'
            f"<title>{escape(day)}: {value:,}</title></rect>"
        )
        if index % label_every == 0:
            parts.append(f'<text class="chart-axis" x="{x + slot * 0.35:.1f}" '
                         f'y="{HEIGHT - 8}" text-anchor="middle">{escape(day[5:])}</text>')
    if series.pace is not None:
        y = TOP + plot_h * (1 - series.pace / top)
        parts.append(f'<line class="chart-pace" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"><title>Pace: {series.pace:,.0f} a day'
                     f"</title></line>")
        parts.append(f'<text class="chart-pace-label" x="{WIDTH - RIGHT}" y="{y - 4:.1f}" '
                     f'text-anchor="end">pace {series.pace:,.0f}/day</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text is escaped, the rest numbers


def _number(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"
