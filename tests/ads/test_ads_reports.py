"""Delivery reports (:mod:`layoutserver.ads.reports`): counts written through
:func:`layoutserver.ads.counting.record` at chosen instants, read back by site-local day or hour."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from layoutserver.ads.counting import Kind, Tracked, record
from layoutserver.ads.models import Creative, LineItem
from layoutserver.ads.reports import Report, delivery_report, to_csv
from layoutserver.db import get_database

NEW_YORK = ZoneInfo("America/New_York")
OCT_10 = date(2024, 10, 10)
_decisions = itertools.count()


@pytest.fixture
def app(small_app: Callable[..., Flask]) -> Flask:
    return small_app()


@pytest.fixture
def ids(app: Flask) -> dict[str, int]:
    """Line item and creative ids by name (``acme``, ``house``, ``acme-1``, ``house-1``)."""
    with get_database(app).session() as session:
        named = [*session.execute(select(LineItem.name, LineItem.id)),
                 *session.execute(select(Creative.name, Creative.id))]
        return {name: id_ for name, id_ in named}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def hit(app: Flask, at: datetime, line_item: int, creative: int, slot: str = "top",
        impressions: int = 1, clicks: int = 0, measurable: int = 0, viewable: int = 0) -> None:
    """Count ``impressions``, ``clicks``, ``measurable`` and ``viewable`` at ``at``, each as
    its own page decision."""
    wanted: dict[Kind, int] = {"impression": impressions, "click": clicks,
                               "measurable": measurable, "viewable": viewable}
    with get_database(app).session() as session:
        for kind, times in wanted.items():
            for _ in range(times):
                tracked = Tracked(f"d{next(_decisions)}", slot, line_item, creative)
                assert record(session, kind, tracked, at)


def report(app: Flask, start: date = OCT_10, end: date | None = None, **options: Any) -> Report:
    options.setdefault("timezone", NEW_YORK)
    with get_database(app).session() as session:
        return delivery_report(session, start=start, end=end or start, **options)


def table(found: Report, *columns: str) -> list[tuple[Any, ...]]:
    return [(row.period, *(getattr(row, c) for c in columns), row.impressions, row.clicks)
            for row in found.rows]


def test_daily_totals_by_line_item(app: Flask, ids: dict[str, int]) -> None:
    acme, house = ids["acme"], ids["house"]
    hit(app, utc("2024-10-10T13:05:00"), acme, ids["acme-1"], impressions=3, clicks=1)
    hit(app, utc("2024-10-10T22:59:00"), acme, ids["acme-1"], impressions=1)
    hit(app, utc("2024-10-10T14:00:00"), house, ids["house-1"], impressions=2)
    hit(app, utc("2024-10-11T15:00:00"), acme, ids["acme-1"], impressions=4, clicks=2)
    hit(app, utc("2024-10-13T15:00:00"), acme, ids["acme-1"], impressions=9)  # after the range

    found = report(app, OCT_10, date(2024, 10, 12), group_by=["line_item"])

    assert table(found, "line_item_id", "line_item_name", "creative_id", "slot") == [
        ("2024-10-10", acme, "acme", None, None, 4, 1),
        ("2024-10-10", house, "house", None, None, 2, 0),
        ("2024-10-11", acme, "acme", None, None, 4, 2),
    ]
    assert found.rows[0].ctr == 0.25
    assert (found.totals.impressions, found.totals.clicks) == (10, 3)
    assert found.totals.ctr == pytest.approx(0.3)


def test_measurable_viewable_and_the_rate_per_line_item_creative_and_slot(
    app: Flask, ids: dict[str, int]
) -> None:
    acme, acme_1, house, house_1 = ids["acme"], ids["acme-1"], ids["house"], ids["house-1"]
    hit(app, utc("2024-10-10T13:00:00"), acme, acme_1, "top", impressions=4, measurable=4,
        viewable=3)
    hit(app, utc("2024-10-10T15:00:00"), acme, acme_1, "side", impressions=2, measurable=1)
    hit(app, utc("2024-10-10T13:00:00"), house, house_1, "top", impressions=5)  # no script

    found = report(app, group_by=["line_item", "creative", "slot"])

    assert [(row.line_item_name, row.creative_name, row.slot, row.impressions, row.measurable,
             row.viewable, row.viewability) for row in found.rows] == [
        ("acme", "acme-1", "side", 2, 1, 0, 0.0),
        ("acme", "acme-1", "top", 4, 4, 3, 0.75),
        ("house", "house-1", "top", 5, 0, 0, None),  # not measured: no rate, not 0 %
    ]
    totals = found.totals
    assert (totals.impressions, totals.measurable, totals.viewable) == (11, 5, 3)
    assert totals.viewability == pytest.approx(0.6)


def test_ungrouped_report_has_one_row_per_day(app: Flask, ids: dict[str, int]) -> None:
    hit(app, utc("2024-10-10T13:00:00"), ids["acme"], ids["acme-1"], impressions=2)
    hit(app, utc("2024-10-10T14:00:00"), ids["house"], ids["house-1"], "side", impressions=3)
    assert table(report(app), "line_item_id", "slot") == [("2024-10-10", None, None, 5, 0)]


def test_by_slot_and_creative_in_the_order_asked(app: Flask, ids: dict[str, int]) -> None:
    acme, acme_1, house_1 = ids["acme"], ids["acme-1"], ids["house-1"]
    hit(app, utc("2024-10-10T13:00:00"), acme, acme_1, "top", impressions=2, clicks=1)
    hit(app, utc("2024-10-10T16:00:00"), acme, acme_1, "top", impressions=1)
    hit(app, utc("2024-10-10T13:00:00"), acme, acme_1, "side", impressions=5)
    hit(app, utc("2024-10-10T13:00:00"), 0, house_1, "side", impressions=7)  # slot house ad

    found = report(app, group_by=("slot", "creative"))

    assert found.group_by == ("slot", "creative")
    assert table(found, "slot", "creative_id", "creative_name", "line_item_id") == [
        ("2024-10-10", "side", acme_1, "acme-1", None, 5, 0),
        ("2024-10-10", "side", house_1, "house-1", None, 7, 0),
        ("2024-10-10", "top", acme_1, "acme-1", None, 3, 1),
    ]


def test_the_house_creative_and_deleted_line_items_have_no_name(
    app: Flask, ids: dict[str, int]
) -> None:
    hit(app, utc("2024-10-10T13:00:00"), 0, ids["house-1"], impressions=1)
    hit(app, utc("2024-10-10T13:00:00"), 999, 998, impressions=1)
    found = report(app, group_by=["line_item", "creative"])
    assert table(found, "line_item_id", "line_item_name", "creative_id", "creative_name") == [
        ("2024-10-10", 0, None, ids["house-1"], "house-1", 1, 0),
        ("2024-10-10", 999, None, 998, None, 1, 0),
    ]


def test_hourly_buckets_are_labelled_by_local_hour_with_offset(
    app: Flask, ids: dict[str, int]
) -> None:
    acme, acme_1 = ids["acme"], ids["acme-1"]
    hit(app, utc("2024-10-10T14:00:00"), acme, acme_1, impressions=1)
    hit(app, utc("2024-10-10T14:59:59"), acme, acme_1, impressions=1, clicks=1)
    hit(app, utc("2024-10-10T16:30:00"), acme, acme_1, impressions=3)

    found = report(app, granularity="hour")

    assert table(found) == [
        ("2024-10-10T10:00:00-04:00", 2, 1),
        ("2024-10-10T12:00:00-04:00", 3, 0),
    ]
    assert found.rows[0].ctr == 0.5


def test_a_day_is_the_site_day_not_the_utc_day(app: Flask, ids: dict[str, int]) -> None:
    """03:30 UTC on Oct 11 is 23:30 on Oct 10 in New York; 04:00 UTC is Oct 11 00:00 there."""
    acme, acme_1 = ids["acme"], ids["acme-1"]
    hit(app, utc("2024-10-10T03:59:00"), acme, acme_1, impressions=1)  # Oct 9, 23:59 local
    hit(app, utc("2024-10-11T03:30:00"), acme, acme_1, impressions=2)
    hit(app, utc("2024-10-11T04:00:00"), acme, acme_1, impressions=4)

    assert table(report(app, OCT_10)) == [("2024-10-10", 2, 0)]
    assert table(report(app, date(2024, 10, 9), date(2024, 10, 11))) == [
        ("2024-10-09", 1, 0), ("2024-10-10", 2, 0), ("2024-10-11", 4, 0),
    ]
    assert table(report(app, OCT_10, timezone=ZoneInfo("UTC"))) == [("2024-10-10", 1, 0)]
    hourly = report(app, OCT_10, granularity="hour")
    assert table(hourly) == [("2024-10-10T23:00:00-04:00", 2, 0)]


def test_a_zone_east_of_utc_labels_days_by_local_date(app: Flask, ids: dict[str, int]) -> None:
    """Berlin's Oct 10 starts at 22:00 UTC on Oct 9."""
    berlin = ZoneInfo("Europe/Berlin")
    hit(app, utc("2024-10-09T21:30:00"), ids["acme"], ids["acme-1"], impressions=1)
    hit(app, utc("2024-10-09T22:30:00"), ids["acme"], ids["acme-1"], impressions=2)
    assert table(report(app, OCT_10, timezone=berlin)) == [("2024-10-10", 2, 0)]
    assert table(report(app, OCT_10, timezone=berlin, granularity="hour")) == [
        ("2024-10-10T00:00:00+02:00", 2, 0)]


@pytest.mark.parametrize(("day", "hours", "first", "last"), [
    (date(2024, 10, 10), 24, "2024-10-10T00:00:00-04:00", "2024-10-10T23:00:00-04:00"),
    (date(2024, 3, 10), 23, "2024-03-10T00:00:00-05:00", "2024-03-10T23:00:00-04:00"),
    (date(2024, 11, 3), 25, "2024-11-03T00:00:00-04:00", "2024-11-03T23:00:00-05:00"),
])
def test_a_site_day_has_as_many_hours_as_its_clock(
    app: Flask, ids: dict[str, int], day: date, hours: int, first: str, last: str
) -> None:
    """One impression in every UTC hour from two days before to two days after: the local
    day gets exactly its own 23, 24 or 25 of them."""
    moment = datetime.combine(day, datetime.min.time(), tzinfo=UTC) - timedelta(days=2)
    for _ in range(24 * 5):
        hit(app, moment, ids["acme"], ids["acme-1"])
        moment += timedelta(hours=1)

    hourly = report(app, day, granularity="hour")
    assert len(hourly.rows) == hours
    assert (hourly.rows[0].period, hourly.rows[-1].period) == (first, last)
    assert hourly.totals.impressions == hours
    assert table(report(app, day)) == [(day.isoformat(), hours, 0)]


def test_the_repeated_hour_of_the_fall_change_is_two_rows(
    app: Flask, ids: dict[str, int]
) -> None:
    hit(app, utc("2024-11-03T05:10:00"), ids["acme"], ids["acme-1"], impressions=1)  # 01:10 EDT
    hit(app, utc("2024-11-03T06:10:00"), ids["acme"], ids["acme-1"], impressions=2)  # 01:10 EST
    found = report(app, date(2024, 11, 3), granularity="hour")
    assert table(found) == [
        ("2024-11-03T01:00:00-04:00", 1, 0),
        ("2024-11-03T01:00:00-05:00", 2, 0),
    ]


def test_ctr_with_zero_impressions_is_none(app: Flask, ids: dict[str, int]) -> None:
    """A click counted in an hour (and group) without impressions: no division error."""
    hit(app, utc("2024-10-10T13:00:00"), ids["acme"], ids["acme-1"], impressions=0, clicks=2)
    found = report(app, group_by=["line_item"])
    assert table(found) == [("2024-10-10", 0, 2)]
    assert found.rows[0].ctr is None
    assert found.totals.ctr is None
    assert to_csv(found).endswith(f"\r\n2024-10-10,{ids['acme']},acme,0,2,,0,0,\r\n")


def test_an_empty_report(app: Flask) -> None:
    found = report(app)
    assert found.rows == ()
    assert (found.totals.impressions, found.totals.clicks, found.totals.ctr) == (0, 0, None)
    assert to_csv(found) == "day,impressions,clicks,ctr,measurable,viewable,viewability\r\n"


@pytest.mark.parametrize(("filters", "expected"), [
    ({"line_item_ids": ["acme"]}, [("acme", "side", 2), ("acme", "top", 1)]),
    ({"creative_ids": ["house-1"]}, [("house", "side", 4)]),
    ({"slots": ["side"]}, [("acme", "side", 2), ("house", "side", 4)]),
    ({"line_item_ids": ["acme"], "slots": ["side"]}, [("acme", "side", 2)]),
    ({"slots": []}, []),
])
def test_filters(
    app: Flask, ids: dict[str, int], filters: dict[str, Sequence[str]],
    expected: list[tuple[str, str, int]],
) -> None:
    """A filter left out does not filter; an empty one matches nothing."""
    hit(app, utc("2024-10-10T13:00:00"), ids["acme"], ids["acme-1"], "top", impressions=1)
    hit(app, utc("2024-10-10T13:00:00"), ids["acme"], ids["acme-1"], "side", impressions=2)
    hit(app, utc("2024-10-10T13:00:00"), ids["house"], ids["house-1"], "side", impressions=4)
    options: dict[str, Any] = {key: [v if key == "slots" else ids[v] for v in values]
               for key, values in filters.items()}

    found = report(app, group_by=["line_item", "slot"], **options)

    assert [(row.line_item_name, row.slot, row.impressions) for row in found.rows] == sorted(
        expected, key=lambda row: (ids[row[0]], row[1]))


def test_csv_content(app: Flask, ids: dict[str, int]) -> None:
    acme, acme_1 = ids["acme"], ids["acme-1"]
    hit(app, utc("2024-10-10T13:00:00"), acme, acme_1, "top", impressions=3, clicks=1,
        measurable=3, viewable=2)
    hit(app, utc("2024-10-11T13:00:00"), acme, acme_1, "top", impressions=7)

    found = report(app, OCT_10, date(2024, 10, 11), group_by=["slot", "line_item"])

    assert to_csv(found) == (
        "day,slot,line_item_id,line_item_name,impressions,clicks,ctr,measurable,viewable,"
        "viewability\r\n"
        f"2024-10-10,top,{acme},acme,3,1,0.3333,3,2,0.6667\r\n"
        f"2024-10-11,top,{acme},acme,7,0,0.0000,0,0,\r\n"
    )


def test_csv_of_an_hourly_report_quotes_what_needs_it(app: Flask, ids: dict[str, int]) -> None:
    hit(app, utc("2024-10-10T13:00:00"), ids["acme"], ids["acme-1"], 'say "hi", top',
        impressions=2, clicks=1)
    found = report(app, granularity="hour", group_by=["slot"])
    assert to_csv(found) == (
        "hour,slot,impressions,clicks,ctr,measurable,viewable,viewability\r\n"
        '2024-10-10T09:00:00-04:00,"say ""hi"", top",2,1,0.5000,0,0,\r\n'
    )


def test_csv_cells_that_would_be_formulas_are_defused(app: Flask, ids: dict[str, int]) -> None:
    hit(app, utc("2024-10-10T13:00:00"), ids["acme"], ids["acme-1"], "=HYPERLINK(1)",
        impressions=2)
    found = report(app, group_by=["slot"])
    assert to_csv(found).splitlines()[1] == "2024-10-10,'=HYPERLINK(1),2,0,0.0000,0,0,"


@pytest.mark.parametrize(("options", "message"), [
    ({"start": date(2024, 10, 10), "end": date(2024, 10, 9)}, "is before start"),
    ({"start": date(2024, 1, 1), "end": date(2025, 1, 1)}, "at most 366"),
    ({"granularity": "week"}, "unknown granularity 'week'"),
    ({"group_by": ["line_item", "advertiser"]}, "unknown group_by 'advertiser'"),
    ({"group_by": ["slot", "slot"]}, "given twice"),
    ({"group_by": "slot"}, "not one string"),
    ({"start": date(2024, 10, 1), "end": date(2024, 11, 1), "granularity": "hour"},
     "at most 31 days"),
])
def test_bad_requests_raise_value_error(
    app: Flask, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        report(app, **options)


@pytest.mark.parametrize(("start", "end", "granularity"), [
    (date(2024, 1, 1), date(2024, 12, 31), "day"),  # 366 days (a leap year)
    (date(2024, 10, 1), date(2024, 10, 31), "hour"),  # 31 days
])
def test_the_longest_ranges_allowed(
    app: Flask, start: date, end: date, granularity: str
) -> None:
    assert report(app, start, end, granularity=granularity).rows == ()
