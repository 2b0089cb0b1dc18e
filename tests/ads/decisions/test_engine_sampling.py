"""Large groups are decided by rejection sampling: the same lottery as checking every
candidate, weights and pacing factors included."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from adfactory import NOW, TZ, chosen, decide, line_item, reasons, request, slot, snapshot

from layoutserver.ads.decisions.context import PageContext
from layoutserver.ads.decisions.engine import MAX_DRAWS, SCAN_UP_TO, decide_page
from layoutserver.ads.decisions.model import Goal, Targeting, Tier
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.decisions.state import InMemoryDeliveryState

ELSEWHERE = Targeting(page_types=frozenset({"front"}))


def shares(snap: Snapshot, state: InMemoryDeliveryState, runs: int = 10_000) -> dict[int, float]:
    rng = random.Random(99)
    wins = Counter(
        decide_page(snap, request(), state, rng).slots["top"].line_item_id for _ in range(runs)
    )
    return {item_id: count / runs for item_id, count in wins.items() if item_id is not None}


def test_weights_are_honoured_in_a_large_group_with_ineligible_members() -> None:
    items = [line_item(n, weight=n % 7 + 1) for n in range(1, 31)]
    items += [line_item(n, weight=50, targeting=ELSEWHERE) for n in range(31, 41)]
    assert len(items) > SCAN_UP_TO
    observed = shares(snapshot([slot("top")], items), InMemoryDeliveryState(TZ))
    total = sum(n % 7 + 1 for n in range(1, 31))
    assert set(observed) <= set(range(1, 31))
    for n in range(1, 31):
        assert abs(observed.get(n, 0) - (n % 7 + 1) / total) < 0.02


def test_pacing_factors_weigh_in_as_in_the_full_lottery() -> None:
    """Line items behind schedule win in proportion to weight times pacing factor."""
    daily = Goal("impressions", 24_000, "daily")
    items = [line_item(n, weight=2) for n in range(1, 11)]
    items += [line_item(n, weight=1, goal=daily, pacing="even") for n in range(11, 15)]
    snap = snapshot([slot("top")], items)
    state = InMemoryDeliveryState(TZ)
    noon = NOW.replace(hour=12, minute=0)
    # 6,000 each in the morning: 1,500 due in the 12:00 hour, 750 by 12:30; behind by
    # 750, 550, 350 and 150 at 12:30
    for n, this_hour in zip(range(11, 15), (0, 200, 400, 600), strict=True):
        for k in range(6000):
            state.record_impression(n, None, noon - timedelta(hours=6, seconds=-k * 3))
        for k in range(this_hour):
            state.record_impression(n, None, noon + timedelta(seconds=k))
    now = noon + timedelta(minutes=30)
    context = PageContext(snap, request(now=now), state)
    entries = {n: entry for n, entry in snap.entries.items()}
    weights = {n: context.delivery(entry).weight for n, entry in entries.items()}
    assert [round(weights[n], 3) for n in range(11, 15)] == [2.0, 1.733, 1.467, 1.2]
    rng = random.Random(5)
    runs = 20_000
    wins = Counter(
        decide_page(snap, request(now=now), state, rng).slots["top"].line_item_id
        for _ in range(runs)
    )
    total = sum(weights.values())
    for n, weight in weights.items():
        assert abs(wins[n] / runs - weight / total) < 0.015, (n, wins[n], weight / total)


def test_a_large_group_with_few_usable_members_falls_back_to_the_full_lottery() -> None:
    items = [line_item(n, weight=1000, targeting=ELSEWHERE) for n in range(1, 60)]
    items.append(line_item(60, weight=1))
    snap = snapshot([slot("top")], items)
    for seed in range(10):
        assert chosen(decide(snap, request(), seed=seed)) == {"top": 60}
    assert MAX_DRAWS < 60 * 1000  # the draws alone would almost never find it


def test_explain_covers_every_member_of_a_sampled_group() -> None:
    items = [line_item(n) for n in range(1, 21)]
    items += [line_item(n, targeting=ELSEWHERE) for n in range(21, 26)]
    items.append(line_item(26, tier=Tier.HOUSE))
    decided = decide(snapshot([slot("top")], items), request(), seed=3, explain=True)
    found = reasons(decided, "top")
    winner = chosen(decided)["top"]
    assert winner in range(1, 21)
    assert found[winner] == "chosen"
    assert [found[n] for n in range(1, 21) if n != winner] == ["lost the lottery"] * 19
    assert [found[n] for n in range(21, 26)] == ["targeting: page type"] * 5
    assert found[26] == "lower priority"
    plain = decide(snapshot([slot("top")], items), request(), seed=3)
    assert plain.slots == decided.slots
