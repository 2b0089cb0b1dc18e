"""Sampling and the three runs on a flat week of one kind of page (one slot): the samples stand
for the traffic, a narrow proposal gets its focus, priorities take what they should, frequency
caps follow the reader model, and even pacing spreads a daily goal."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from layoutserver.ads.decisions.model import (
    CreativeSpec,
    FrequencyCap,
    Goal,
    LineItemSpec,
    Size,
    SlotSpec,
    Tier,
)
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.forecast.forecaster import Forecast, Settings, forecast
from layoutserver.ads.forecast.proposal import PROPOSAL_ID, stand_in_creatives
from layoutserver.ads.forecast.sampling import FOCUS_SHARE, Focus, sample_requests
from layoutserver.ads.forecast.traffic import WEEK_HOURS, PageKind, TrafficProfile

TZ = ZoneInfo("Europe/Paris")
NOW = datetime(2024, 10, 7, tzinfo=TZ)  # a Monday
RECT = Size(300, 250)
SLOT = SlotSpec("top", "Top", {"*": (RECT,)})
PAGE = PageKind(("top",), "desktop", "world", "article", True)
PER_HOUR = 100
SETTINGS = Settings(samples=1500, pages_per_reader=3.0, seed=5)


def flat(*kinds: tuple[PageKind, int]) -> TrafficProfile:
    """Each kind's requests every hour of the week (one recorded week)."""
    return TrafficProfile(TZ, [(hour, kind, count) for hour in range(WEEK_HOURS)
                               for kind, count in kinds], [1.0] * WEEK_HOURS)


def item(item_id: int, tier: Tier = Tier.STANDARD, priority: int = 5,
         **kw: object) -> LineItemSpec:
    return LineItemSpec(
        id=item_id, name=f"li-{item_id}", campaign_id=1, advertiser_id=1, tier=tier,
        priority=priority, start=NOW - timedelta(days=30), end=NOW + timedelta(days=60),
        creatives=(CreativeSpec(item_id, "image", RECT, "https://x.example/"),),
        **kw)  # type: ignore[arg-type]


def proposed(**kw: object) -> LineItemSpec:
    """A week from NOW, one creative of the slot's size."""
    week = {"start": NOW, "end": NOW + timedelta(days=7), **kw}
    return replace(item(PROPOSAL_ID), creatives=stand_in_creatives(PROPOSAL_ID, [RECT]),
                   **week)  # type: ignore[arg-type]


def run(items: list[LineItemSpec], proposal: LineItemSpec,
        profile: TrafficProfile | None = None, click_rate: float = 0.0) -> Forecast:
    snapshot = Snapshot.build([SLOT], items, TZ, version=1)
    return forecast(snapshot, profile or flat((PAGE, PER_HOUR)), proposal, NOW, {}, {},
                    click_rate, SETTINGS)


def test_samples_stand_for_the_traffic_and_a_narrow_focus_gets_half_of_them() -> None:
    rare = PAGE._replace(section="culture")
    profile = flat((PAGE, 980), (rare, 20))
    end = NOW + timedelta(days=7)
    plan = sample_requests(profile, NOW, end, 2000, 3.0, random.Random(1))
    assert len(plan.samples) == pytest.approx(2000, abs=1)
    assert sum(s.weight for s in plan.samples) == pytest.approx(1000 * 7 * 24, rel=0.001)
    assert list(plan.expected.values()) == pytest.approx([24000.0] * 7)
    assert [s.at for s in plan.samples] == sorted(s.at for s in plan.samples)
    assert sum(s.kind == rare for s in plan.samples) == pytest.approx(40, abs=8)

    focus = Focus(kinds=lambda kind: kind.section == "culture", hours=lambda _: True)
    plan = sample_requests(profile, NOW, end, 2000, 3.0, random.Random(1), focus)
    focused = [s for s in plan.samples if s.kind == rare]
    assert len(focused) == pytest.approx(2000 * FOCUS_SHARE, abs=1)
    assert len(plan.samples) == pytest.approx(2000, abs=1)
    assert sum(s.weight for s in focused) == pytest.approx(20 * 7 * 24, rel=0.001)
    assert sum(s.weight for s in plan.samples) == pytest.approx(1000 * 7 * 24, rel=0.001)
    # readers: a day's requests of a device class over 3 a reader, sampled at the rate
    day = [s for s in plan.samples if s.day == NOW.date() and s.kind != rare]
    readers = {s.user_key for s in day}
    expected = 1000 * 24 / 3 / day[0].weight
    assert len(readers) == pytest.approx(expected * (1 - math.exp(-3)), rel=0.15)


def test_what_ranks_above_takes_is_not_available_and_what_ranks_below_loses() -> None:
    found = run([item(1, Tier.SPONSORSHIP, 1), item(2, Tier.HOUSE)], proposed())
    assert found.matched == pytest.approx(PER_HOUR * 24 * 7, rel=0.01)
    assert found.available == found.forecast == 0
    assert found.competitors == ()

    found = run([item(2, Tier.HOUSE)], proposed(goal=Goal("impressions", 7000, "lifetime")))
    assert found.available == pytest.approx(found.matched, rel=0.01)
    assert found.forecast == pytest.approx(7000, rel=0.03) and found.reachable
    (house,) = found.competitors
    assert house.line_item.id == 2 and house.loss == pytest.approx(found.forecast, rel=0.03)
    assert found.delivery[2] == pytest.approx(PER_HOUR * 24 * 7 - 7000, rel=0.03)


def test_a_cap_of_one_a_day_leaves_each_reader_one_impression() -> None:
    found = run([item(2, Tier.HOUSE)], proposed(caps=(FrequencyCap(1, "day"),)))
    readers = PER_HOUR * 24 / SETTINGS.pages_per_reader
    seen_one = 1 - math.exp(-SETTINGS.pages_per_reader)  # Poisson: a reader seen that day
    for day in found.days:
        assert day.available == pytest.approx(readers * seen_one, rel=0.08)
    # without a user key, a capped line item never serves
    anonymous = flat((PAGE._replace(keyed=False), PER_HOUR))
    found = run([item(2, Tier.HOUSE)], proposed(caps=(FrequencyCap(1, "day"),)), anonymous)
    assert found.matched == found.available == 0


def test_even_pacing_spreads_a_daily_goal_and_says_which_days_fall_short() -> None:
    found = run([item(2, Tier.HOUSE)], proposed(goal=Goal("impressions", 600, "daily")))
    assert [round(day.forecast, -1) for day in found.days] == [600] * 7
    assert found.reachable and found.short_days == ()
    # a line item ranked above wants 2,000 of the 2,400 a day: 400 are left
    competing = [item(3, Tier.STANDARD, 4, goal=Goal("impressions", 2000, "daily"))]
    found = run(competing, proposed(goal=Goal("impressions", 600, "daily"),
                                    start=NOW + timedelta(days=2)))
    assert found.start == NOW + timedelta(days=2) and len(found.days) == 5
    assert found.reachable is False and len(found.short_days) == 5
    assert found.available == pytest.approx(400 * 5, rel=0.1)
    # even pacing keeps it from some of what is left (as it would serving: the engine's rule)
    assert found.forecast < found.available


def test_a_click_goal_is_paced_on_the_clicks_its_impressions_bring() -> None:
    found = run([item(2, Tier.HOUSE)], proposed(goal=Goal("clicks", 1200, "lifetime")),
                click_rate=0.1)
    assert found.click_rate == 0.1 and found.reachable
    assert found.forecast == pytest.approx(12_000, rel=0.05)  # 1,200 clicks at 10 %
