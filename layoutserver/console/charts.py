"""Delivery charts as inline SVG, drawn on the server: bars per day with a dashed pace line, and
delivery so far against an even pace to the goal.

No JavaScript and nothing fetched: the SVG scales to its container (``viewBox``), bars and lines
have a ``<title>`` (shown on hover and read by screen readers).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 24, 28
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


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
    slot = PLOT_W / max(len(days), 1)
    parts = [*_open(f"{series.title} per day"), *_axis(top), *_day_labels(days, slot)]
    for index, (day, value) in enumerate(zip(days, series.values, strict=True)):
        height = PLOT_H * value / top
        parts.append(
            f'<rect class="chart-bar chart-bar--{escape(series.css_class)}" '
            f'x="{LEFT + index * slot + slot * 0.15:.1f}" y="{TOP + PLOT_H - height:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{height:.1f}">'
            f"<title>{escape(day)}: {value:,}</title></rect>"
        )
    if series.pace is not None:
        y = _y(series.pace, top)
        parts.append(f'<line class="chart-pace" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"><title>Pace: {series.pace:,.0f} a day'
                     f"</title></line>")
        parts.append(f'<text class="chart-pace-label" x="{WIDTH - RIGHT}" y="{y - 4:.1f}" '
                     f'text-anchor="end">pace {series.pace:,.0f}/day</text>')
    return _close(parts)


def cumulative_chart(days: Sequence[str], delivered: Sequence[int], expected: Sequence[float],
                     metric: str, unit: str | None = None) -> Markup:
    """Delivery so far (a line through each day's running total; ``delivered`` may stop
    before ``days`` do, at today) against where an even pace to the goal would be by the end
    of each day (dashed). ``unit``: what the metric counts, as the title says it (default:
    the metric)."""
    top = nice_ceiling(max([*delivered, *expected, 1]))
    slot = PLOT_W / max(len(days), 1)

    def points(values: Sequence[float]) -> str:
        return " ".join(f"{LEFT + (i + 0.5) * slot:.1f},{_y(v, top):.1f}"
                        for i, v in enumerate(values))

    parts = [
        *_open(f"{(unit or metric).capitalize()} so far against the goal"), *_axis(top),
        *_day_labels(days, slot),
        f'<polyline class="chart-pace" fill="none" points="{points(expected)}">'
        "<title>Even pace to the goal</title></polyline>",
        f'<polyline class="chart-line chart-line--{escape(metric)}" fill="none" '
        f'points="{points(delivered)}"><title>Delivered so far</title></polyline>',
    ]
    if delivered:
        last = len(delivered) - 1
        parts.append(f'<circle class="chart-dot chart-dot--{escape(metric)}" r="4" '
                     f'cx="{LEFT + (last + 0.5) * slot:.1f}" cy="{_y(delivered[last], top):.1f}">'
                     f"<title>{escape(days[last])}: {delivered[last]:,}</title></circle>")
        parts.append(f'<text class="chart-pace-label" x="{WIDTH - RIGHT}" y="{TOP + 12}" '
                     f'text-anchor="end">{escape(days[last])}: {delivered[last]:,} delivered, '
                     f"{expected[last]:,.0f} on pace</text>")
    return _close(parts)


def _y(value: float, top: int) -> float:
    return TOP + PLOT_H * (1 - value / top)


def _open(title: str) -> Iterator[str]:
    yield (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">')
    yield f'<text class="chart-title" x="{LEFT}" y="15">{escape(title)}</text>'


def _axis(top: int) -> Iterator[str]:
    for fraction in (0, 0.5, 1):
        y = TOP + PLOT_H * (1 - fraction)
        yield (f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
               f'y2="{y:.1f}"/>')
        yield (f'<text class="chart-axis" x="{LEFT - 6}" y="{y + 4:.1f}" '
               f'text-anchor="end">{_number(top * fraction)}</text>')


def _day_labels(days: Sequence[str], slot: float) -> Iterator[str]:
    """Month-day under every few days, at most about eight labels."""
    every = max(1, round(len(days) / 8))
    for index, day in enumerate(days):
        if index % every == 0:
            yield (f'<text class="chart-axis" x="{LEFT + (index + 0.5) * slot:.1f}" '
                   f'y="{HEIGHT - 8}" text-anchor="middle">{escape(day[5:])}</text>')


def _close(parts: list[str]) -> Markup:
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text is escaped, the rest numbers


def _number(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"
