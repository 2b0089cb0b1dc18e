"""Rules across the slots of one page: competitive exclusion, roadblocks, one creative once."""

from __future__ import annotations

from typing import Any

from adfactory import (
    BANNER,
    LEADERBOARD,
    RECTANGLE,
    chosen,
    creative,
    decide,
    line_item,
    reasons,
    request,
    slot,
    snapshot,
)

from layoutserver.ads.decisions.model import LineItemSpec, Size, SlotSpec, Targeting, Tier
from layoutserver.ads.decisions.roadblocks import assign_distinct

SKYSCRAPER = Size(160, 600)
RECT_ONLY = {"*": (RECTANGLE,)}
PAGE = ("top", "side-1", "side-2")


def page_slots(side_2: tuple[Size, ...] = (RECTANGLE,)) -> list[SlotSpec]:
    return [
        slot("top", {"*": (LEADERBOARD,)}),
        slot("side-1", RECT_ONLY),
        slot("side-2", {"*": side_2}),
    ]


def roadblock(item_id: int = 50, **kw: Any) -> LineItemSpec:
    return line_item(
        item_id,
        roadblock=True,
        creatives=(
            creative(item_id * 100, LEADERBOARD),
            creative(item_id * 100 + 1, RECTANGLE),
            creative(item_id * 100 + 2, RECTANGLE),
        ),
        **kw,
    )


def fillers() -> list[LineItemSpec]:
    return [line_item(n, sizes=(LEADERBOARD, RECTANGLE), weight=1) for n in (1, 2, 3)]


def test_line_items_sharing_an_exclusion_label_never_share_a_page() -> None:
    slots = [slot(code, RECT_ONLY) for code in ("a", "b", "c")]
    items = [
        line_item(1, exclusion_labels=frozenset({"auto"})),
        line_item(2, exclusion_labels=frozenset({"auto", "bank"})),
        line_item(3, exclusion_labels=frozenset({"bank"})),
        line_item(4, tier=Tier.HOUSE),
    ]
    snap = snapshot(slots, items)
    together = set()
    for seed in range(300):
        decided = decide(snap, request("a", "b", "c"), seed=seed)
        ids = {d.line_item_id for d in decided.slots.values()}
        assert not {1, 2} <= ids and not {2, 3} <= ids
        together.add(frozenset(ids))
    assert frozenset({1, 3, 4}) in together  # labels that differ may share a page


def test_exclusion_reason_names_the_label() -> None:
    slots = [slot(code, RECT_ONLY) for code in ("a", "b")]
    items = [
        line_item(1, priority=1, exclusion_labels=frozenset({"auto"})),
        line_item(2, priority=2, exclusion_labels=frozenset({"auto"})),
    ]
    decided = decide(snapshot(slots, items), request("a", "b"), explain=True)
    assert chosen(decided) == {"a": 1, "b": None}
    assert reasons(decided, "b") == {1: "creative already on page", 2: "exclusion: auto"}


def test_the_same_creative_never_twice_on_a_page() -> None:
    promo = creative(900)
    slots = [slot(code, RECT_ONLY, when_empty="house", house_creative_id=900) for code in "abc"]
    snap = snapshot(slots, [line_item(1)], house=[promo])
    for seed in range(10):
        decided = decide(snap, request("a", "b", "c"), seed=seed)
        ids = [d.creative.id for d in decided.slots.values() if d.creative is not None]
        assert ids == [100, 900]
        assert decided.slots["b"].house and decided.slots["c"].empty


def test_a_roadblock_fills_all_its_slots() -> None:
    snap = snapshot(page_slots(), [roadblock(), *fillers()])
    for seed in range(20):
        decided = decide(snap, request(*PAGE), seed=seed, explain=True)
        assert chosen(decided) == {"top": 50, "side-1": 50, "side-2": 50}
        creatives = {d.creative.id for d in decided.slots.values() if d.creative}
        assert creatives == {5000, 5001, 5002}
        assert reasons(decided, "side-1")[50] == "chosen"
        assert reasons(decided, "side-1")[1] == "roadblock: li-50"  # names the holder


def test_a_roadblock_that_cannot_fill_one_slot_is_not_used_at_all() -> None:
    snap = snapshot(page_slots(side_2=(SKYSCRAPER,)), [roadblock(), *fillers()])
    decided = decide(snap, request(*PAGE), explain=True)
    assert 50 not in chosen(decided).values()
    assert chosen(decided)["top"] in {1, 2, 3}
    for code in PAGE:
        assert reasons(decided, code)[50] == "roadblock: no creative fits side-2"
    # the slot it cannot fill is not on this page: it fills the others
    decided = decide(snap, request("top", "side-1"))
    assert chosen(decided) == {"top": 50, "side-1": 50}


def test_a_roadblock_needs_a_distinct_creative_per_slot() -> None:
    one_rectangle = line_item(
        50, roadblock=True, creatives=(creative(5000, LEADERBOARD), creative(5001, RECTANGLE))
    )
    decided = decide(snapshot(page_slots(), [one_rectangle, *fillers()]), request(*PAGE))
    assert 50 not in chosen(decided).values()


def test_a_roadblock_only_targets_its_slots_and_pages() -> None:
    targeted = roadblock(targeting=Targeting(slots=frozenset({"side-1", "side-2"})))
    decided = decide(snapshot(page_slots(), [targeted, *fillers()]), request(*PAGE))
    assert chosen(decided)["side-1"] == chosen(decided)["side-2"] == 50
    assert chosen(decided)["top"] in {1, 2, 3}
    mobile_only = roadblock(targeting=Targeting(devices=frozenset({"mobile"})))
    decided = decide(snapshot(page_slots(), [mobile_only, *fillers()]), request(*PAGE))
    assert 50 not in chosen(decided).values()


def test_a_roadblock_yields_to_a_better_line_item_in_any_of_its_slots() -> None:
    sponsor = line_item(
        7,
        tier=Tier.SPONSORSHIP,
        sizes=(RECTANGLE,),
        targeting=Targeting(slots=frozenset({"side-2"})),
    )
    snap = snapshot(page_slots(), [roadblock(), sponsor, *fillers()])
    decided = decide(snap, request(*PAGE), explain=True)
    assert chosen(decided)["side-2"] == 7
    assert 50 not in chosen(decided).values()
    assert reasons(decided, "top")[50] == "lower priority"
    # ... unless that line item is not eligible
    ended_sponsor = line_item(7, tier=Tier.SPONSORSHIP, end=request().now)
    decided = decide(snapshot(page_slots(), [roadblock(), ended_sponsor]), request(*PAGE))
    assert set(chosen(decided).values()) == {50}


def test_a_roadblock_beats_line_items_of_its_rank_and_below() -> None:
    same_rank = line_item(8, sizes=(LEADERBOARD, RECTANGLE), weight=1000)
    snap = snapshot(page_slots(), [roadblock(weight=1), same_rank])
    for seed in range(20):
        assert set(chosen(decide(snap, request(*PAGE), seed=seed)).values()) == {50}


def test_the_better_of_two_roadblocks_goes_first() -> None:
    first = roadblock(50, priority=1)
    second = roadblock(60, priority=2)
    decided = decide(snapshot(page_slots(), [first, second]), request(*PAGE), explain=True)
    assert set(chosen(decided).values()) == {50}
    assert reasons(decided, "top")[60] == "roadblock: slot taken"


def test_a_roadblock_excludes_line_items_sharing_its_label() -> None:
    targeted = roadblock(
        targeting=Targeting(slots=frozenset({"side-1", "side-2"})),
        exclusion_labels=frozenset({"airline"}),
    )
    rival = line_item(1, sizes=(LEADERBOARD,), exclusion_labels=frozenset({"airline"}))
    other = line_item(2, tier=Tier.HOUSE, sizes=(LEADERBOARD,))
    decided = decide(snapshot(page_slots(), [targeted, rival, other]), request(*PAGE), explain=True)
    assert chosen(decided) == {"top": 2, "side-1": 50, "side-2": 50}
    assert reasons(decided, "top")[1] == "exclusion: airline"


def test_assign_distinct_finds_a_matching_that_greedy_misses() -> None:
    a, b = creative(1), creative(2, BANNER)
    # slot 0 prefers a, but a is the only option of slot 1
    assert assign_distinct([[a, b], [a]]) == [b, a]
    assert assign_distinct([[a], [a]]) is None
    assert assign_distinct([]) == []
