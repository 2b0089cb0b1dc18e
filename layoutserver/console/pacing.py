"""Where a line item's delivery stands against an even pace to its goal: the pace numbers of
the delivery report (``reports.py``) and the ``delivered`` and ``pace`` columns of the line
items' list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from layoutserver.ads.extension import get_ads
from layoutserver.ads.reports import delivered_by_name
from layoutserver.core import get_core

ON_PACE = 0.1
"""Delivery within this share of an even pace's is "on pace"."""


def delivery_columns(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add ``delivered`` and ``pace`` to line items as the list shows them: what was counted
    against the goal (or impressions, without one) and where that stands against an even pace
    to the goal now (one query for the page of rows)."""
    get_ads().flush_counts()
    timezone = get_core().timezone
    now = get_core().site_view().now
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    names = [row["name"] for row in rows]
    ever = delivered_by_name(session, names)
    today = delivered_by_name(session, names, since=midnight)
    for row in rows:
        goal = row["goal"]
        daily = bool(goal) and goal["period"] == "daily"
        metric = goal["metric"] if goal else "impressions"
        count = (today if daily else ever).get(row["name"], {}).get(metric, 0)
        unit = goal_unit(metric)
        if not goal:
            row["delivered"], row["pace"] = f"{count:,} {unit}", "no goal"
            continue
        amount = int(goal["amount"])
        start = datetime.fromisoformat(row["start"]).astimezone(timezone)
        end = datetime.fromisoformat(row["end"]).astimezone(timezone)
        row["delivered"] = (f"{count:,} of {amount:,} {unit}{' today' if daily else ''} "
                            f"({100 * count / amount:.0f}%)")
        if daily:
            expected = amount * min((now - midnight).total_seconds() / 86400, 1.0)
        else:
            expected = expected_by(amount, start, end, now)
        row["pace"] = pace_state(count, amount, expected, now < start, now >= end) + (
            " (asap)" if row["pacing"] == "asap" else "")


def goal_unit(metric: str) -> str:
    """What a goal metric counts, as the console says it."""
    return "viewable impressions" if metric == "viewable" else metric


def pace_state(count: int, amount: int, expected: float, before: bool, after: bool) -> str:
    if count >= amount:
        return "goal met"
    if before:
        return "not started"
    if after:
        return "ended short"
    if expected <= 0:
        return "on pace"
    ratio = count / expected
    if ratio > 1 + ON_PACE:
        return f"ahead ({100 * ratio:.0f}% of even)"
    if ratio < 1 - ON_PACE:
        return f"behind ({100 * ratio:.0f}% of even)"
    return "on pace"


def daily_pace(goal: dict[str, Any] | None, start: datetime, end: datetime) -> float | None:
    """The amount a day that meets the goal evenly: a daily goal's amount, or a lifetime goal
    spread over the flight (by its length in hours, so a partial first day counts as such)."""
    if not goal:
        return None
    if goal["period"] == "daily":
        return float(goal["amount"])
    days = max((end - start).total_seconds() / 86400, 1 / 24)
    return float(goal["amount"]) / days


def expected_by(amount: int, start: datetime, end: datetime, moment: datetime) -> float:
    """How much of a lifetime goal of ``amount`` an even pace has delivered at ``moment``."""
    share = (moment - start).total_seconds() / max((end - start).total_seconds(), 1)
    return amount * min(max(share, 0.0), 1.0)
