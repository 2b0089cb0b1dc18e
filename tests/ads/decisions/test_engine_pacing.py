"""Goals and pacing, over simulated days of traffic."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from adfactory import (
    DAILY_CURVE,
    TZ,
    Simulation,
    chosen,
    decide,
    hourly_views,
    line_item,
    request,
    slot,
    snapshot,
)

from layoutserver.ads.decisions.model import Goal, Tier
from layoutserver.ads.decisions.pacing import MAX_BOOST, even_factor
from layoutserver.ads.decisions.state import InMemoryDeliveryState

DAY = datetime(2024, 10, 10, tzinfo=TZ)
DAILY_6000 = Goal("impressions", 6000, "daily")


@pytest.mark.parametrize("curve", [None, DAILY_CURVE], ids=["uniform", "daily-curve"])
@pytest.mark.parametrize("rival_weight", [0, 3], ids=["alone", "rival"])
def test_even_daily_goal_is_spread_over_the_day(
    curve: tuple[float, ...] | None, rival_weight: int
) -> None:
    items = [
        line_item(1, goal=DAILY_6000, pacing="even"),
        line_item(9, tier=Tier.HOUSE),
    ]
    if rival_weight:
        items.append(line_item(2, weight=rival_weight))
    sim = Simulation(snapshot([slot("top")], items))
    sim.day(DAY, hourly_views(2000, curve))
    assert abs(sim.total(1) - 6000) <= 600
    share = 6000 / 24
    assert max(sim.per_hour(1)) <= 2 * share, sim.per_hour(1)
    # stepping back when ahead leaves the rest of the traffic to others
    assert sim.total(9) + sim.total(2) + sim.total(1) == sum(hourly_views(2000, curve))


def test_asap_with_the_same_goal_finishes_early() -> None:
    items = [
        line_item(1, goal=DAILY_6000, pacing="asap"),
        line_item(9, tier=Tier.HOUSE),
    ]
    sim = Simulation(snapshot([slot("top")], items))
    sim.day(DAY, hourly_views(2000))
    hours = sim.per_hour(1)
    assert sim.total(1) == 6000
    assert hours[:3] == [2000, 2000, 2000]
    assert sum(hours[3:]) == 0


def test_goal_reached_stops_delivery_and_the_next_group_fills() -> None:
    items = [
        line_item(
            1, tier=Tier.SPONSORSHIP, goal=Goal("impressions", 150, "lifetime"), pacing="asap"
        ),
        line_item(2),
    ]
    sim = Simulation(snapshot([slot("top")], items))
    sim.day(DAY, [100] * 4)
    assert sim.total(1) == 150
    assert sim.per_hour(1) == [100, 50, 0, 0]
    assert sim.total(2) == 250
    state = sim.state
    assert state.delivered(1, "impressions", None) == 150
    decided = decide(sim.snap, request(now=DAY + timedelta(hours=5)), state, explain=True)
    assert chosen(decided) == {"top": 2}
    assert {c.line_item_id: c.reason for c in decided.considered["top"]}[1] == "goal reached"


def test_click_goal_counts_clicks() -> None:
    item = line_item(1, goal=Goal("clicks", 2, "daily"), pacing="asap")
    snap = snapshot([slot("top")], [item])
    state = InMemoryDeliveryState(TZ)
    now = DAY + timedelta(hours=10)
    for _ in range(5):
        state.record_impression(1, None, now)
    assert chosen(decide(snap, request(now=now), state)) == {"top": 1}
    state.record_click(1, None, now)
    state.record_click(1, None, now)
    assert chosen(decide(snap, request(now=now), state)) == {"top": None}
    # a new site-local day, a new daily goal
    assert chosen(decide(snap, request(now=DAY + timedelta(days=1)), state)) == {"top": 1}


def test_daily_goal_starts_again_each_site_local_day() -> None:
    items = [line_item(1, goal=Goal("impressions", 2400, "daily"), pacing="even")]
    sim = Simulation(snapshot([slot("top")], items))
    sim.day(DAY, hourly_views(1000) * 2)
    hours = sim.per_hour(1)
    for day in (hours[:24], hours[24:]):
        assert abs(sum(day) - 2400) <= 240
        assert max(day) <= 200


def test_lifetime_even_goal_over_three_days() -> None:
    start = DAY
    item = line_item(
        1,
        goal=Goal("impressions", 9000, "lifetime"),
        pacing="even",
        start=start,
        end=start + timedelta(days=3),
    )
    sim = Simulation(snapshot([slot("top")], [item, line_item(9, tier=Tier.HOUSE)]))
    sim.day(start, hourly_views(500, DAILY_CURVE) * 3)
    hours = sim.per_hour(1)
    assert abs(sum(hours) - 9000) <= 900
    for day in range(3):
        assert abs(sum(hours[day * 24 : day * 24 + 24]) - 3000) <= 300
    assert max(hours) <= 2 * 9000 / 72


def test_even_daily_goal_on_the_25_hour_day_of_a_dst_change() -> None:
    """2024-11-03 in New York has 25 hours; the goal is spread over all of them."""
    day = datetime(2024, 11, 3, tzinfo=TZ)
    items = [line_item(1, goal=Goal("impressions", 5000, "daily"), pacing="even")]
    sim = Simulation(snapshot([slot("top")], items))
    sim.day(day, [1000] * 25)  # 25 absolute hours
    hours = sim.per_hour(1)
    assert abs(sum(hours) - 5000) <= 500
    assert max(hours) <= 2 * 5000 / 25


def test_even_factor() -> None:
    window = (0.0, 86_400.0)
    first_hour = (0.0, 3600.0)
    # on schedule: 250 an hour, half way through the first hour 125 delivered
    assert even_factor(6000, 120, 120, window, first_hour, 1800.0) == pytest.approx(1.04, 0.01)
    assert even_factor(6000, 125, 125, window, first_hour, 1800.0) is None
    # behind: the weight grows, and more so near the end of the slice
    behind = even_factor(6000, 50, 50, window, first_hour, 1800.0)
    later = even_factor(6000, 50, 50, window, first_hour, 3500.0)
    assert behind is not None and later is not None
    assert 1 < behind < later == MAX_BOOST
    # a shortfall from earlier hours is spread over the hours left, not caught up at once
    evening = (72_000.0, 75_600.0)
    # budget (6000 - 4000) / 4 h = 500 this hour: 240 half way through is on schedule
    assert even_factor(6000, 4240, 240, window, evening, 72_000.0 + 1800) == pytest.approx(
        1.04, 0.01
    )
    assert even_factor(6000, 4251, 251, window, evening, 72_000.0 + 1800) is None


def test_tiny_even_goal_is_spread_not_front_loaded() -> None:
    items = [line_item(1, goal=Goal("impressions", 6, "daily"), pacing="even")]
    sim = Simulation(snapshot([slot("top")], items))
    sim.day(DAY, [50] * 24)
    hours = sim.per_hour(1)
    assert sum(hours) == 6
    assert max(hours) == 1
    assert sum(hours[:8]) <= 3
