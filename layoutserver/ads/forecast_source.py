"""What a forecast reads from the database: the traffic profile, what line items delivered so far
and their click rates. The queries of ``layoutserver.ads.forecasts``; every one reads by index
(``tests/test_query_plans.py``) but the profile, read whole by design (a row per kind of page and
hour of the week, whatever the traffic).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from layoutserver.ads.delivery import GOALS, NO_SOURCE, boundaries
from layoutserver.ads.forecast.simulation import Delivered
from layoutserver.ads.forecast.traffic import (
    WEEK_HOURS,
    PageKind,
    TrafficProfile,
    hours_per_week_hour,
)
from layoutserver.ads.models import AdCount
from layoutserver.ads.traffic import page_kind
from layoutserver.ads.traffic_models import AdTraffic, AdTrafficKind, AdTrafficProfile

_CHUNK = 500


class KindCache:
    """Kinds by digest, read once per process (a digest always names the same facts)."""

    def __init__(self) -> None:
        self._kinds: dict[str, PageKind] = {}

    def get(self, session: Session, digests: set[str]) -> dict[str, PageKind]:
        missing = sorted(digests.difference(self._kinds))
        for start in range(0, len(missing), _CHUNK):
            rows = session.scalars(select(AdTrafficKind).where(
                AdTrafficKind.kind.in_(missing[start : start + _CHUNK])))
            for row in rows:
                self._kinds[row.kind] = page_kind(row)
        return self._kinds


def traffic_profile(session: Session, timezone: ZoneInfo, now: datetime,
                    kinds: KindCache) -> tuple[TrafficProfile, datetime | None]:
    """The recorded traffic as the forecast reads it: the sums per hour of the week of every
    recorded hour but the one under way (its rows are taken off the sums), and how many hours
    of each hour of the week that is; and the first hour recorded."""
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = session.scalar(select(func.min(AdTraffic.hour)))
    sums: dict[tuple[int, str], int] = {}
    for week_hour, kind, requests in session.execute(select(
            AdTrafficProfile.week_hour, AdTrafficProfile.kind, AdTrafficProfile.requests)):
        sums[(week_hour, kind)] = requests
    for week_hour, kind, requests in session.execute(select(
            AdTraffic.week_hour, AdTraffic.kind, AdTraffic.requests)
            .where(AdTraffic.hour >= hour)):
        key = (week_hour, kind)
        if key in sums:
            sums[key] -= requests
    named = kinds.get(session, {kind for _, kind in sums})
    rows = [(week_hour, named[kind], requests) for (week_hour, kind), requests in sums.items()
            if requests > 0 and kind in named]
    recorded = (hours_per_week_hour(first, hour, timezone) if first is not None and first < hour
                else [0.0] * WEEK_HOURS)
    return TrafficProfile(timezone, rows, recorded), first


def delivered_so_far(session: Session, ids: Sequence[int], now: datetime,
                     timezone: ZoneInfo) -> dict[int, Delivered]:
    """Impressions and clicks of each line item: lifetime, today, this hour (site-local): the
    goal counts decisions read (``layoutserver.ads.delivery.GOALS``)."""
    _, day, hour = boundaries(now, timezone)
    found: dict[int, Delivered] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        for row in session.execute(GOALS, {"ids": chunk, "day": day, "hour": hour,
                                           "skip_source": NO_SOURCE}):
            values = [int(value or 0) for value in row[1:]]
            found[int(row[0])] = Delivered((values[0], values[1], values[2]),
                                           (values[3], values[4], values[5]))
    return found


def click_rates(session: Session, ids: Sequence[int], since: datetime
                ) -> tuple[dict[int, float], float]:
    """Clicks per impression since ``since``: of each line item in ``ids`` that served, and of
    every line item together (the rate a proposal's click goal is forecast with)."""
    rates: dict[int, float] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        rows = session.execute(
            select(AdCount.line_item_id, func.sum(AdCount.impressions), func.sum(AdCount.clicks))
            .where(AdCount.line_item_id.in_(chunk), AdCount.hour >= since)
            .group_by(AdCount.line_item_id))
        for line_item_id, impressions, clicks in rows:
            if impressions:
                rates[int(line_item_id)] = int(clicks or 0) / int(impressions)
    impressions, clicks = session.execute(
        select(func.sum(AdCount.impressions), func.sum(AdCount.clicks))
        .where(AdCount.hour >= since)).one()
    return rates, (int(clicks or 0) / int(impressions)) if impressions else 0.0
