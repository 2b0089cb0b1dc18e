"""Delivery reports: impressions, clicks, CTR, and measurable and viewable impressions with the
viewability rate, over a date range in the site time zone, by day or hour, optionally by line
item, creative and slot. The admin API and the web console both call
:func:`delivery_report` (and :func:`to_csv`); nothing here knows about HTTP.

Counts are stored per UTC hour (:class:`~layoutserver.ads.models.AdCount`). The local range
``[start 00:00, end + 1 day 00:00)`` becomes two UTC instants for the query, which sums in SQL per
UTC hour and grouping column; each stored hour then goes to the site-local day or hour its start
falls in. A local day thus has 23, 24 or 25 hourly buckets across a DST change. Hourly rows are
labelled by the stored hour's start in site time with its offset (``2024-11-03T01:00:00-04:00``
and ``2024-11-03T01:00:00-05:00`` are two rows); in a zone with a half-hour offset that label is
at half past.

Periods (and groups) without delivery are left out rather than reported as zeros.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from layoutserver.ads.models import AdCount, Creative, LineItem

Granularity = Literal["day", "hour"]
GroupBy = Literal["line_item", "creative", "slot"]

MAX_DAYS = 366
MAX_HOURLY_DAYS = 31

_COLUMNS = {"line_item": AdCount.line_item_id, "creative": AdCount.creative_id,
            "slot": AdCount.slot}
COUNTED = ("impressions", "clicks", "measurable", "viewable")
"""The counts of a row (and of the totals), as ``ad_counts`` names its columns."""
_COUNTS = tuple(getattr(AdCount, name) for name in COUNTED)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Totals:
    impressions: int
    clicks: int
    measurable: int = 0
    """Impressions whose viewability the browser measured (docs/viewability.md)."""
    viewable: int = 0
    """Measurable impressions that met the viewability rule."""
    ctr: float | None = field(init=False)
    """clicks / impressions; None when there were no impressions."""
    viewability: float | None = field(init=False)
    """viewable / measurable; None when nothing was measured."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ctr", _ratio(self.clicks, self.impressions))
        object.__setattr__(self, "viewability", _ratio(self.viewable, self.measurable))


@dataclass(frozen=True, kw_only=True)
class ReportRow:
    """One period and group. The group fields not in the report's ``group_by`` are None; so is a
    name whose row no longer exists (counts outlive the configuration), and the line item name
    of a slot's house creative (``line_item_id`` 0)."""

    period: str
    """ISO date (daily) or ISO datetime with the site offset (hourly)."""
    line_item_id: int | None = None
    line_item_name: str | None = None
    creative_id: int | None = None
    creative_name: str | None = None
    slot: str | None = None
    impressions: int
    clicks: int
    measurable: int = 0
    viewable: int = 0
    ctr: float | None = field(init=False)
    viewability: float | None = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ctr", _ratio(self.clicks, self.impressions))
        object.__setattr__(self, "viewability", _ratio(self.viewable, self.measurable))


@dataclass(frozen=True)
class Report:
    start: date
    end: date
    timezone: ZoneInfo
    granularity: Granularity
    group_by: tuple[GroupBy, ...]
    rows: tuple[ReportRow, ...]
    """Sorted by period, then by the group values in ``group_by`` order."""
    totals: Totals


def delivery_report(
    session: Session,
    *,
    start: date,
    end: date,
    timezone: ZoneInfo,
    granularity: Granularity = "day",
    group_by: Sequence[GroupBy] = (),
    line_item_ids: Collection[int] | None = None,
    creative_ids: Collection[int] | None = None,
    slots: Collection[str] | None = None,
) -> Report:
    """Delivery from ``start`` to ``end`` (both included, site-local dates). A filter left None
    does not filter; an empty one matches nothing. Raises ValueError for a bad request."""
    groups = _validate(start, end, granularity, group_by)
    utc_start = _utc_midnight(start, timezone)
    utc_end = _utc_midnight(end + timedelta(days=1), timezone)
    columns = [_COLUMNS[name] for name in groups]
    query = (
        select(AdCount.hour, *columns, *(func.sum(column) for column in _COUNTS))
        .where(AdCount.hour >= utc_start, AdCount.hour < utc_end)
        .group_by(AdCount.hour, *columns)
    )
    if line_item_ids is not None:
        query = query.where(AdCount.line_item_id.in_(line_item_ids))
    if creative_ids is not None:
        query = query.where(AdCount.creative_id.in_(creative_ids))
    if slots is not None:
        query = query.where(AdCount.slot.in_(slots))

    sums: dict[tuple[datetime, tuple[Any, ...]], list[int]] = {}
    for hour, *values in session.execute(query):
        period = _period_start(hour, timezone, granularity)
        key = (period, tuple(values[:len(groups)]))
        found = sums.setdefault(key, [0] * len(_COUNTS))
        for index, value in enumerate(values[len(groups):]):
            found[index] += int(value or 0)

    names = _Names(session, groups, [group for _, group in sums])
    rows = tuple(
        ReportRow(period=_label(period, timezone, granularity), impressions=impressions,
                  clicks=clicks, measurable=measurable, viewable=viewable,
                  **names.fields(dict(zip(groups, group, strict=True))))
        for (period, group), (impressions, clicks, measurable, viewable) in sorted(sums.items())
    )
    return Report(start, end, timezone, granularity, groups, rows, totals_of(rows))


def totals_of(rows: Sequence[ReportRow]) -> Totals:
    """The counts of ``rows`` added up."""
    impressions, clicks, measurable, viewable = (sum(getattr(row, name) for row in rows)
                                                 for name in COUNTED)
    return Totals(impressions, clicks, measurable, viewable)


def delivered_by_name(session: Session, names: Collection[str],
                      since: datetime | None = None) -> dict[str, dict[str, int]]:
    """Each goal metric's count (impressions, clicks, viewable) for each named line item (since
    ``since``, else ever), in one query; line items with none are left out."""
    query = (select(LineItem.name, func.sum(AdCount.impressions), func.sum(AdCount.clicks),
                    func.sum(AdCount.viewable))
             .join(AdCount, AdCount.line_item_id == LineItem.id)
             .where(LineItem.name.in_(list(names))).group_by(LineItem.name))
    if since is not None:
        query = query.where(AdCount.hour >= since.astimezone(UTC))
    return {name: {"impressions": int(imps or 0), "clicks": int(clicks or 0),
                   "viewable": int(viewable or 0)}
            for name, imps, clicks, viewable in session.execute(query).all()}


def _validate(
    start: date, end: date, granularity: str, group_by: Sequence[str]
) -> tuple[GroupBy, ...]:
    if end < start:
        raise ValueError(f"end ({end}) is before start ({start})")
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise ValueError(f"the range is {days} days long; at most {MAX_DAYS} are allowed")
    if granularity not in get_args(Granularity):
        raise ValueError(f"unknown granularity {granularity!r}: use 'day' or 'hour'")
    if granularity == "hour" and days > MAX_HOURLY_DAYS:
        raise ValueError(
            f"an hourly report covers at most {MAX_HOURLY_DAYS} days; this range is {days}")
    if isinstance(group_by, str):  # a lone "slot" would otherwise read as s, l, o, t
        raise ValueError("group_by is a sequence of names, not one string")
    known: tuple[GroupBy, ...] = get_args(GroupBy)
    groups: list[GroupBy] = []
    for name in group_by:
        if name not in known:
            raise ValueError(f"unknown group_by {name!r}: use {', '.join(known)}")
        if name in groups:
            raise ValueError(f"group_by {name!r} is given twice")
        groups.append(name)
    return tuple(groups)


def _utc_midnight(day: date, timezone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone).astimezone(UTC)


def _period_start(hour: datetime, timezone: ZoneInfo, granularity: Granularity) -> datetime:
    """The UTC instant a stored hour's period starts at: the hour itself, or its local day's
    midnight (an instant, so periods sort in time order whatever their offsets)."""
    if granularity == "hour":
        return hour
    return _utc_midnight(hour.astimezone(timezone).date(), timezone)


def _label(period: datetime, timezone: ZoneInfo, granularity: Granularity) -> str:
    local = period.astimezone(timezone)
    return local.isoformat() if granularity == "hour" else local.date().isoformat()


class _Names:
    """The readable names of the line items and creatives a report shows, in two queries."""

    def __init__(
        self, session: Session, groups: tuple[GroupBy, ...], keys: list[tuple[Any, ...]]
    ) -> None:
        self.line_items: dict[int, str] = {}
        self.creatives: dict[int, str] = {}
        if "line_item" in groups:
            ids = {key[groups.index("line_item")] for key in keys}
            query = select(LineItem.id, LineItem.name).where(LineItem.id.in_(ids))
            self.line_items = {id_: name for id_, name in session.execute(query)}
        if "creative" in groups:
            ids = {key[groups.index("creative")] for key in keys}
            query = select(Creative.id, Creative.name).where(Creative.id.in_(ids))
            self.creatives = {id_: name for id_, name in session.execute(query)}

    def fields(self, group: dict[GroupBy, Any]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if "line_item" in group:
            found["line_item_id"] = group["line_item"]
            found["line_item_name"] = self.line_items.get(group["line_item"])
        if "creative" in group:
            found["creative_id"] = group["creative"]
            found["creative_name"] = self.creatives.get(group["creative"])
        if "slot" in group:
            found["slot"] = group["slot"]
        return found


_CSV_GROUP_COLUMNS: dict[GroupBy, tuple[str, ...]] = {
    "line_item": ("line_item_id", "line_item_name"),
    "creative": ("creative_id", "creative_name"),
    "slot": ("slot",),
}


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """Names typed by ad ops go to spreadsheets: text that a spreadsheet would run as a formula
    is prefixed with an apostrophe (OWASP's CSV injection guard); numbers are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(report: Report) -> str:
    """The report as CSV (RFC 4180, ``\\r\\n``): a header, then one line per row; the group
    columns are those of ``group_by``, in its order. CTR and viewability have 4 decimals,
    empty when undefined.
    No totals line (a consumer summing the column would count it twice). Text that would start
    a spreadsheet formula is prefixed with ``'``."""
    header = ["day" if report.granularity == "day" else "hour"]
    for name in report.group_by:
        header.extend(_CSV_GROUP_COLUMNS[name])
    groups = header[1:]
    header.extend(["impressions", "clicks", "ctr", "measurable", "viewable", "viewability"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in report.rows:
        cells: list[object] = [row.period]
        for column in groups:
            value = getattr(row, column)
            cells.append("" if value is None else _cell(value))
        cells.extend([row.impressions, row.clicks, _share(row.ctr), row.measurable,
                      row.viewable, _share(row.viewability)])
        writer.writerow(cells)
    return out.getvalue()


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
