"""Frequency caps: never exceeded, per site-local hour, day, ISO week and flight."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta

import pytest
from adfactory import (
    RECTANGLE,
    TZ,
    Simulation,
    chosen,
    creative,
    decide,
    line_item,
    reasons,
    request,
    slot,
    snapshot,
)

from layoutserver.ads.decisions.model import CapPeriod, FrequencyCap, Tier
from layoutserver.ads.decisions.state import InMemoryDeliveryState

START = datetime(2024, 10, 31, 20, 0, tzinfo=TZ)  # spans the DST change of 2024-11-03

PERIOD_KEY: dict[CapPeriod, Callable[[datetime], Hashable]] = {
    "hour": lambda local: (local.date(), local.hour, local.fold),
    "day": lambda local: local.date(),
    "week": lambda local: local.isocalendar()[:2],
    "flight": lambda local: 0,
}


@pytest.mark.parametrize(
    ("period", "limit", "every", "views"),
    [
        ("hour", 2, timedelta(minutes=7), 600),
        ("day", 5, timedelta(minutes=50), 400),
        ("week", 8, timedelta(hours=3), 200),
        ("flight", 3, timedelta(hours=1), 100),
    ],
)
def test_cap_is_never_exceeded(period: CapPeriod, limit: int, every: timedelta, views: int) -> None:
    flight = {"start": START - timedelta(days=1), "end": START + timedelta(days=60)}
    capped = line_item(1, tier=Tier.SPONSORSHIP, caps=(FrequencyCap(limit, period),), **flight)
    sim = Simulation(snapshot([slot("top")], [capped, line_item(2, **flight)]))
    served: Counter[Hashable] = Counter()
    moment = START.astimezone(UTC)
    for _ in range(views):
        decision = sim.view(request(now=moment, user_key="reader-1"))
        if decision.slots["top"].line_item_id == 1:
            served[PERIOD_KEY[period](moment.astimezone(TZ))] += 1
        moment += every
    assert served, "the capped line item never served"
    assert max(served.values()) == limit
    # the cap does not stop the page being filled: the uncapped line item takes over
    assert sim.total(1) + sim.total(2) == views
    if period == "week":
        assert len(served) >= 4


def test_several_caps_all_hold() -> None:
    capped = line_item(
        1, tier=Tier.SPONSORSHIP, caps=(FrequencyCap(1, "hour"), FrequencyCap(3, "day"))
    )
    sim = Simulation(snapshot([slot("top")], [capped, line_item(2)]))
    moment = datetime(2024, 10, 10, tzinfo=TZ).astimezone(UTC)
    per_day: Counter[object] = Counter()
    per_hour: Counter[object] = Counter()
    for _ in range(48 * 6):
        if sim.view(request(now=moment, user_key="u")).slots["top"].line_item_id == 1:
            local = moment.astimezone(TZ)
            per_day[local.date()] += 1
            per_hour[(local.date(), local.hour)] += 1
        moment += timedelta(minutes=10)
    assert max(per_hour.values()) == 1
    assert list(per_day.values()) == [3, 3]


def test_caps_are_per_user() -> None:
    capped = line_item(1, tier=Tier.SPONSORSHIP, caps=(FrequencyCap(1, "day"),))
    snap = snapshot([slot("top")], [capped, line_item(2)])
    state = InMemoryDeliveryState(TZ)
    state.record_impression(1, "seen-it", request().now)
    assert chosen(decide(snap, request(user_key="seen-it"), state)) == {"top": 2}
    assert chosen(decide(snap, request(user_key="someone-else"), state)) == {"top": 1}
    explained = decide(snap, request(user_key="seen-it"), state, explain=True)
    assert reasons(explained, "top")[1] == "cap reached"


def test_a_page_counts_its_own_impressions_against_the_cap() -> None:
    capped = line_item(
        1,
        tier=Tier.SPONSORSHIP,
        creatives=(creative(11), creative(12)),
        caps=(FrequencyCap(1, "day"),),
    )
    uncapped = line_item(2, creatives=(creative(21), creative(22)))
    sizes = {"*": (RECTANGLE,)}
    snap = snapshot([slot("a", sizes), slot("b", sizes)], [capped, uncapped])
    decided = decide(snap, request("a", "b", user_key="u"), explain=True)
    assert chosen(decided) == {"a": 1, "b": 2}
    assert reasons(decided, "b")[1] == "cap reached"
    # without a cap one line item may fill both slots, with different creatives
    decided = decide(snapshot([slot("a", sizes), slot("b", sizes)], [uncapped]), request("a", "b"))
    assert chosen(decided) == {"a": 2, "b": 2}
    assert decided.slots["a"].creative != decided.slots["b"].creative


def test_without_a_user_key_capped_line_items_are_skipped() -> None:
    """Consent denied (no user key): a cap cannot be kept, so a capped line item does not
    serve; line items without caps still do."""
    capped = line_item(1, tier=Tier.SPONSORSHIP, caps=(FrequencyCap(100, "flight"),))
    snap = snapshot([slot("top")], [capped, line_item(2)])
    decided = decide(snap, request(user_key=None), explain=True)
    assert chosen(decided) == {"top": 2}
    assert reasons(decided, "top") == {1: "cap: no user key", 2: "chosen"}
    assert chosen(decide(snap, request(user_key="u"))) == {"top": 1}
    only_capped = snapshot([slot("top")], [capped])
    assert chosen(decide(only_capped, request(user_key=None))) == {"top": None}
