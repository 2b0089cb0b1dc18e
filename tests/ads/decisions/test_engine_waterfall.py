"""The priority waterfall, the weighted lottery, house fallback and determinism."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from adfactory import (
    BANNER,
    LEADERBOARD,
    RECTANGLE,
    TZ,
    chosen,
    creative,
    decide,
    line_item,
    request,
    slot,
    snapshot,
)

from layoutserver.ads.decisions.engine import decide_page
from layoutserver.ads.decisions.model import Tier
from layoutserver.ads.decisions.state import InMemoryDeliveryState


def test_sponsorship_beats_standard_beats_house() -> None:
    items = [
        line_item(1, tier=Tier.HOUSE, priority=1),
        line_item(2, tier=Tier.STANDARD, priority=9),
        line_item(3, tier=Tier.SPONSORSHIP, priority=12),
    ]
    for seed in range(20):
        assert chosen(decide(snapshot([slot("top")], items), request(), seed=seed)) == {"top": 3}
    assert chosen(decide(snapshot([slot("top")], items[:2]), request())) == {"top": 2}
    assert chosen(decide(snapshot([slot("top")], items[:1]), request())) == {"top": 1}


def test_lower_priority_number_wins_inside_a_tier() -> None:
    items = [line_item(1, priority=8, weight=100), line_item(2, priority=4, weight=1)]
    snap = snapshot([slot("top")], items)
    assert {chosen(decide(snap, request(), seed=seed))["top"] for seed in range(30)} == {2}


def test_a_lower_tier_fills_when_the_higher_is_ineligible() -> None:
    sponsor = line_item(1, tier=Tier.SPONSORSHIP, sizes=(LEADERBOARD,))
    standard = line_item(2, tier=Tier.STANDARD, sizes=(BANNER,))
    house = line_item(3, tier=Tier.HOUSE, sizes=(BANNER, LEADERBOARD))
    snap = snapshot([slot("top")], [sponsor, standard, house])
    assert chosen(decide(snap, request(device="desktop"))) == {"top": 1}
    # on mobile the sponsorship has no fitting creative: the standard line item fills
    assert chosen(decide(snap, request(device="mobile"))) == {"top": 2}
    ended = line_item(2, end=request().now, sizes=(BANNER,))
    snap = snapshot([slot("top")], [sponsor, ended, house])
    assert chosen(decide(snap, request(device="mobile"))) == {"top": 3}


@pytest.mark.parametrize("weights", [(1, 3, 6), (1, 1, 1), (5, 1, 14)])
def test_weights_are_honoured_within_two_points(weights: tuple[int, int, int]) -> None:
    items = [line_item(n + 1, weight=w) for n, w in enumerate(weights)]
    snap = snapshot([slot("top")], items)
    state = InMemoryDeliveryState(TZ)
    rng = random.Random(2024)
    wins = Counter(
        decide_page(snap, request(), state, rng).slots["top"].line_item_id for _ in range(10_000)
    )
    total = sum(weights)
    for n, weight in enumerate(weights):
        assert abs(wins[n + 1] / 10_000 - weight / total) < 0.02, (wins, weights)


def test_creatives_of_the_winner_are_chosen_among_the_fitting_ones() -> None:
    item = line_item(
        1,
        creatives=(creative(11, RECTANGLE), creative(12, RECTANGLE), creative(13, BANNER)),
    )
    snap = snapshot([slot("side", {"desktop": (RECTANGLE,), "mobile": (BANNER,)})], [item])
    seen = Counter()
    for seed in range(200):
        decided = decide(snap, request("side"), seed=seed).slots["side"]
        assert decided.creative is not None
        assert decided.size == RECTANGLE
        seen[decided.creative.id] += 1
    assert set(seen) == {11, 12}
    assert decide(snap, request("side", device="mobile")).slots["side"].creative == creative(
        13, BANNER
    )


def test_a_device_without_sizes_of_its_own_uses_the_any_device_sizes() -> None:
    snap = snapshot([slot("top", {"*": (RECTANGLE,), "mobile": (BANNER,)})], [line_item(1)])
    assert chosen(decide(snap, request(device="tablet"))) == {"top": 1}
    assert chosen(decide(snap, request(device="mobile"))) == {"top": None}


def test_house_creative_when_nothing_is_eligible() -> None:
    promo = creative(900, RECTANGLE)
    house_slot = slot("top", when_empty="house", house_creative_id=900)
    snap = snapshot([house_slot], [line_item(1, sizes=(LEADERBOARD,))], house=[promo])
    decided = decide(snap, request(device="desktop")).slots["top"]
    assert decided.line_item_id == 1 and not decided.house
    snap = snapshot([house_slot], [line_item(1, end=request().now)], house=[promo])
    decided = decide(snap, request()).slots["top"]
    assert decided.house and decided.creative == promo and decided.size == RECTANGLE
    assert decided.line_item_id is None
    # the house creative does not fit a mobile slot: collapse
    assert decide(snap, request(device="mobile")).slots["top"].empty


def test_house_creative_may_be_a_line_items_creative() -> None:
    paused = line_item(5, status="paused")
    house = [slot("top", when_empty="house", house_creative_id=500)]
    snap = snapshot(house, [paused], house=paused.creatives)
    assert snap.line_items == {}
    decided = decide(snap, request()).slots["top"]
    assert decided.house and decided.creative is not None and decided.creative.id == 500
    # not given as a house creative, only a line item that can serve brings it
    assert set(snapshot(house, [line_item(5)]).creatives) == {500}
    assert decide(snapshot(house, [paused]), request()).slots["top"].empty


def test_collapse_unknown_and_disabled_slots() -> None:
    slots = [slot("top"), slot("off", enabled=False), slot("house", when_empty="house")]
    snap = snapshot(slots, [])
    decision = decide(snap, request("top", "off", "nope", "house"))
    assert list(decision.slots) == ["top", "off", "nope", "house"]
    for decided in decision.slots.values():
        assert decided.empty and decided.size is None and not decided.house


def test_disabled_slot_gets_nothing_even_with_candidates() -> None:
    snap = snapshot([slot("top", enabled=False)], [line_item(1)])
    assert chosen(decide(snap, request())) == {"top": None}


def test_snapshot_keeps_only_active_line_items_with_creatives() -> None:
    items = [
        line_item(1),
        line_item(2, status="paused"),
        line_item(3, status="draft"),
        line_item(4, creatives=()),
    ]
    snap = snapshot([slot("top")], items)
    assert set(snap.line_items) == {1}
    assert set(snap.creatives) == {100}  # those that can serve (and house creatives)


def test_same_seed_same_page_and_explain_does_not_change_the_decision() -> None:
    items = [line_item(n, weight=n, priority=n % 3) for n in range(1, 30)]
    slots = [slot(code) for code in ("a", "b", "c")]
    snap = snapshot(slots, items)
    for seed in range(25):
        plain = decide(snap, request("a", "b", "c"), seed=seed)
        again = decide(snap, request("a", "b", "c"), seed=seed)
        explained = decide(snap, request("a", "b", "c"), seed=seed, explain=True)
        assert plain.slots == again.slots == explained.slots
        assert plain.considered == {}
