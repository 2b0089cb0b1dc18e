"""Delivery reports: ``/admin/reports`` (every line item, every creative and the top slots over a
range of site days, with CTR and viewability), ``/admin/reports/line-item/<name>`` (one line
item's delivery per day against its goal, as SVG charts with the pace line, its top slots, CTR
and viewability) and ``/admin/reports/delivery.csv``
(the same rows as CSV). The numbers are :func:`layoutserver.ads.reports.delivery_report`'s, the
CSV its :func:`~layoutserver.ads.reports.to_csv`. For the ``reports`` area (admin, adops,
viewer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from layoutserver.ads import config_service as ads_service
from layoutserver.ads.extension import get_ads
from layoutserver.ads.models import LineItem
from layoutserver.ads.reports import (
    COUNTED,
    MAX_DAYS,
    GroupBy,
    Report,
    ReportRow,
    delivery_report,
    to_csv,
)
from layoutserver.console.access import requires
from layoutserver.console.blueprint import blueprint
from layoutserver.console.charts import Series, bar_chart, cumulative_chart
from layoutserver.console.pacing import daily_pace, expected_by, goal_unit
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.services import NotFound

DEFAULT_DAYS = 14
TOP_SLOTS = 10
CHARTS = (("impressions", "Impressions"), ("viewable", "Viewable impressions"),
          ("clicks", "Clicks"))
"""The line item report's bar charts: a count and its title."""


@dataclass(frozen=True)
class Range:
    start: date
    end: date
    error: str = ""

    def days(self) -> list[str]:
        count = (self.end - self.start).days + 1
        return [(self.start + timedelta(days=n)).isoformat() for n in range(max(count, 0))]


def _range(default_start: date, default_end: date) -> Range:
    """The ``start`` and ``end`` of the query string, or the defaults; a bad one is reported
    and the defaults used."""
    try:
        start = date.fromisoformat(request.args.get("start") or default_start.isoformat())
        end = date.fromisoformat(request.args.get("end") or default_end.isoformat())
    except ValueError:
        return Range(default_start, default_end, "Dates are written YYYY-MM-DD; showing the "
                                                 "default range instead.")
    if end < start:
        return Range(default_start, default_end, f"The end ({end}) is before the start "
                                                 f"({start}); showing the default range.")
    if (end - start).days + 1 > MAX_DAYS:
        return Range(end - timedelta(days=MAX_DAYS - 1), end,
                     f"A report covers at most {MAX_DAYS} days; showing the last {MAX_DAYS}.")
    return Range(start, end)


def _today() -> date:
    return get_core().site_view().now.date()


def _report(session: Session, span: Range, group_by: Sequence[GroupBy],
            line_item_ids: list[int] | None = None) -> Report:
    get_ads().flush_counts()  # counts still in Redis, too
    return delivery_report(session, start=span.start, end=span.end,
                           timezone=get_core().timezone, group_by=group_by,
                           line_item_ids=line_item_ids)


def _summed(report: Report, group: str, names: Sequence[str]) -> list[ReportRow]:
    """A report grouped by ``group`` (with the fields ``names`` beside it), summed over its
    days, the most impressions first."""
    sums: dict[Any, list[Any]] = {}
    for row in report.rows:
        key = getattr(row, group)
        found = sums.setdefault(key, [{name: getattr(row, name) for name in names},
                                      [0] * len(COUNTED)])
        for index, name in enumerate(COUNTED):
            found[1][index] += getattr(row, name)
    rows = [ReportRow(period=f"{report.start}..{report.end}", **{group: key}, **fields,
                      **dict(zip(COUNTED, counted, strict=True)))
            for key, (fields, counted) in sums.items()]
    rows.sort(key=lambda row: (-row.impressions, str(getattr(row, (*names, group)[0]) or "")))
    return rows


def top_slots(report: Report, limit: int = TOP_SLOTS) -> list[ReportRow]:
    """A report grouped by slot, summed over its days, the most impressions first."""
    return _summed(report, "slot", ())[:limit]


def by_line_item(report: Report) -> list[ReportRow]:
    """A report grouped by line item, summed over its days, the most impressions first."""
    return _summed(report, "line_item_id", ("line_item_name",))


def by_creative(report: Report) -> list[ReportRow]:
    """A report grouped by creative, summed over its days, the most impressions first."""
    return _summed(report, "creative_id", ("creative_name",))


@blueprint.get("/reports")
@requires("reports")
def reports_home() -> str:
    today = _today()
    span = _range(today - timedelta(days=DEFAULT_DAYS - 1), today)
    with get_database().session() as session:
        items = _report(session, span, ("line_item",))
        creatives = _report(session, span, ("creative",))
        slots = _report(session, span, ("slot",))
    return render_template("console/reports.html", span=span, totals=items.totals,
                           line_items=by_line_item(items), creatives=by_creative(creatives),
                           slots=top_slots(slots))


@blueprint.get("/reports/line-item/<path:name>")
@requires("reports")
def line_item_report(name: str) -> str:
    with get_database().session() as session:
        try:
            item = ads_service.get(session, "line_item", name)
        except NotFound as error:
            abort(404, str(error))
        line_item_id = session.scalar(select(LineItem.id).where(LineItem.name == name))
        timezone = get_core().timezone
        flight_start = datetime.fromisoformat(item["start"]).astimezone(timezone)
        flight_end = datetime.fromisoformat(item["end"]).astimezone(timezone)
        last_day = (flight_end - timedelta(microseconds=1)).date()
        span = _range(flight_start.date(), last_day)
        if (span.end - span.start).days + 1 > MAX_DAYS and not span.error:
            span = Range(span.end - timedelta(days=MAX_DAYS - 1), span.end)
        daily = _report(session, span, (), [line_item_id or 0])
        slots = _report(session, span, ("slot",), [line_item_id or 0])
        goal = item["goal"]
        earlier = 0
        if goal and goal["period"] == "lifetime" and span.start > flight_start.date():
            before = Range(max(flight_start.date(), span.start - timedelta(days=MAX_DAYS)),
                           span.start - timedelta(days=1))
            totals = _report(session, before, (), [line_item_id or 0]).totals
            earlier = getattr(totals, goal["metric"])
    days = span.days()
    by_day = {row.period: row for row in daily.rows}
    per_day = {name: [getattr(by_day[d], name) if d in by_day else 0 for d in days]
               for name in COUNTED}
    pace = daily_pace(goal, flight_start, flight_end)
    metric = goal["metric"] if goal else None
    charts = [bar_chart(days, Series(title, per_day[name], name,
                                     pace if metric == name else None))
              for name, title in CHARTS]
    delivered = None
    if goal:
        values = per_day[goal["metric"]]
        delivered = sum(values)
        if goal["period"] == "lifetime":
            totals_by_day = list(accumulate(values, initial=earlier))[1:]
            running = [total for day, total in zip(days, totals_by_day, strict=True)
                       if day <= _today().isoformat()]
            expected = [expected_by(goal["amount"], flight_start, flight_end,
                                    _end_of(day, timezone)) for day in days]
            charts.insert(0, cumulative_chart(days, running, expected, goal["metric"],
                                              goal_unit(goal["metric"])))
            delivered = running[-1] if running else earlier
    return render_template("console/report_line_item.html", item=item, span=span,
                           charts=charts, totals=daily.totals, slots=top_slots(slots),
                           rows=[ReportRow(period=day, impressions=imps, clicks=clicks,
                                           measurable=measurable, viewable=viewable)
                                 for day, imps, clicks, measurable, viewable
                                 in zip(days, *(per_day[name] for name in COUNTED),
                                        strict=True)], goal=goal,
                           goal_unit=goal_unit(metric or ""),
                           pace=pace, delivered=delivered, as_of=min(span.end, _today()))


def _end_of(day: str, timezone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(),
                            tzinfo=timezone)


@blueprint.get("/reports/delivery.csv")
@requires("reports")
def delivery_csv() -> Response:
    """``?start=&end=&group_by=line_item&group_by=slot&line_item=NAME``: per day, as CSV."""
    today = _today()
    span = _range(today - timedelta(days=DEFAULT_DAYS - 1), today)
    if span.error:
        abort(400, span.error.split(";")[0] + ".")
    groups = request.args.getlist("group_by")
    names = request.args.getlist("line_item")
    with get_database().session() as session:
        ids = None
        if names:
            found = dict(session.execute(select(LineItem.name, LineItem.id)
                                         .where(LineItem.name.in_(names))).all())
            unknown = [name for name in names if name not in found]
            if unknown:
                abort(404, f"Unknown line item(s): {', '.join(map(repr, unknown))}.")
            ids = list(found.values())
        try:
            report = _report(session, span, groups, ids)  # type: ignore[arg-type]
        except ValueError as error:
            abort(400, str(error))
    filename = f"delivery-{span.start}-{span.end}.csv"
    return Response(to_csv(report), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
