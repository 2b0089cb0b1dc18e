"""The in-memory delivery counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from layoutserver.ads.decisions.model import DeliveryState
from layoutserver.ads.decisions.state import InMemoryDeliveryState

NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+05:30: local hours start at :30 UTC


def test_counts_since_site_local_hours_days_and_flight() -> None:
    state = InMemoryDeliveryState(NEW_YORK)
    day = datetime(2024, 10, 10, tzinfo=NEW_YORK)
    for hour in range(24):
        for _ in range(hour + 1):
            state.record_impression(1, "u", day + timedelta(hours=hour, minutes=30))
    state.record_impression(1, "u", day - timedelta(seconds=1))  # the day before
    assert state.delivered(1, "impressions", None) == 301
    assert state.delivered(1, "impressions", day) == 300
    assert state.delivered(1, "impressions", day + timedelta(hours=23)) == 24
    assert state.delivered(1, "impressions", day + timedelta(days=1)) == 0
    assert state.user_impressions("u", 1, day + timedelta(hours=22)) == 47
    assert state.user_impressions("v", 1, None) == 0
    assert state.delivered(2, "impressions", None) == 0
    assert state.delivered(1, "clicks", None) == 0


def test_clicks_are_counted_apart() -> None:
    state = InMemoryDeliveryState(NEW_YORK)
    now = datetime(2024, 10, 10, 12, tzinfo=NEW_YORK)
    state.record_click(1, "u", now)
    state.record_click(1, None, now)
    assert state.delivered(1, "clicks", None) == 2
    assert state.delivered(1, "impressions", None) == 0
    assert state.user_impressions("u", 1, None) == 0


def test_buckets_follow_site_local_hours_with_a_half_hour_offset() -> None:
    state = InMemoryDeliveryState(KOLKATA)
    hour_start = datetime(2024, 10, 10, 9, 0, tzinfo=KOLKATA)  # 03:30 UTC
    state.record_impression(1, None, hour_start - timedelta(seconds=1))
    state.record_impression(1, None, hour_start)
    state.record_impression(1, None, hour_start + timedelta(minutes=59))
    assert state.delivered(1, "impressions", hour_start) == 2
    assert state.delivered(1, "impressions", hour_start.astimezone(UTC)) == 2


def test_the_repeated_hour_of_a_dst_change_is_two_buckets() -> None:
    state = InMemoryDeliveryState(NEW_YORK)
    first = datetime(2024, 11, 3, 5, 10, tzinfo=UTC)  # 01:10 EDT
    second = datetime(2024, 11, 3, 6, 10, tzinfo=UTC)  # 01:10 EST
    state.record_impression(1, None, first)
    state.record_impression(1, None, second)
    assert state.delivered(1, "impressions", datetime(2024, 11, 3, 6, 0, tzinfo=UTC)) == 1


def test_out_of_order_records() -> None:
    state = InMemoryDeliveryState(NEW_YORK)
    base = datetime(2024, 10, 10, tzinfo=NEW_YORK)
    for hours in (5, 1, 3, 1, 7, 0, 5):
        state.record_impression(1, None, base + timedelta(hours=hours, minutes=5))
    expected = {0: 7, 1: 6, 2: 4, 3: 4, 4: 3, 5: 3, 6: 1, 7: 1, 8: 0}
    for hours, count in expected.items():
        assert state.delivered(1, "impressions", base + timedelta(hours=hours)) == count


def test_naive_times_are_refused() -> None:
    state = InMemoryDeliveryState(NEW_YORK)
    with pytest.raises(ValueError, match="aware"):
        state.record_impression(1, None, datetime(2024, 10, 10, 12))


def test_it_is_a_delivery_state() -> None:
    state: DeliveryState = InMemoryDeliveryState(NEW_YORK)
    assert state.delivered(1, "impressions", None) == 0
