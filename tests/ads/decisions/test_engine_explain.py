"""The explain view, and the index that keeps candidates few."""

from __future__ import annotations

from datetime import datetime, timedelta

from adfactory import (
    BANNER,
    LEADERBOARD,
    NOW,
    RECTANGLE,
    TZ,
    chosen,
    creative,
    decide,
    line_item,
    reasons,
    request,
    slot,
    snapshot,
)

from layoutserver.ads.decisions.model import (
    DayPart,
    FrequencyCap,
    Goal,
    GoalMetric,
    LineItemSpec,
    Targeting,
    Tier,
)
from layoutserver.ads.decisions.state import InMemoryDeliveryState

RECT_ONLY = {"desktop": (RECTANGLE,), "mobile": (BANNER,)}


def test_every_candidate_gets_a_specific_reason() -> None:
    state = InMemoryDeliveryState(TZ)
    for _ in range(10):
        state.record_impression(7, None, NOW)  # goal reached
        state.record_impression(8, "reader", NOW)  # cap reached
    for _ in range(400):
        state.record_impression(9, None, NOW - timedelta(minutes=1))  # ahead of schedule
    items = [
        line_item(1, tier=Tier.SPONSORSHIP, start=NOW + timedelta(hours=1)),
        line_item(2, tier=Tier.SPONSORSHIP, end=NOW),
        line_item(3, tier=Tier.SPONSORSHIP, dayparts=(DayPart(frozenset(range(7)), 0, 6),)),
        line_item(4, tier=Tier.SPONSORSHIP, targeting=Targeting(page_types=frozenset({"front"}))),
        line_item(5, tier=Tier.SPONSORSHIP, targeting=Targeting(paths=("/sport/*",))),
        line_item(6, tier=Tier.SPONSORSHIP, sizes=(BANNER,)),
        line_item(7, tier=Tier.SPONSORSHIP, goal=Goal("impressions", 10, "lifetime")),
        line_item(8, tier=Tier.SPONSORSHIP, caps=(FrequencyCap(10, "week"),)),
        line_item(9, tier=Tier.SPONSORSHIP, goal=Goal("impressions", 1000, "daily")),
        line_item(10, priority=1, exclusion_labels=frozenset({"auto"})),
        line_item(11, priority=1, exclusion_labels=frozenset({"auto"})),
        line_item(12, priority=2),
        line_item(13, priority=2),
        line_item(14, tier=Tier.HOUSE),
    ]
    slots = [slot("a", RECT_ONLY), slot("b", RECT_ONLY), slot("c", RECT_ONLY)]
    req = request("a", "b", "c", page_type="article", path="/world/x", user_key="reader")
    decided = decide(snapshot(slots, items), req, state, explain=True)
    for code in ("a", "b", "c"):
        assert {c.line_item_id for c in decided.considered[code]} == set(range(1, 15))
        for consideration in decided.considered[code]:
            assert consideration.chosen == (consideration.reason == "chosen")
            assert consideration.chosen == (
                decided.slots[code].line_item_id == consideration.line_item_id
            )
    a = reasons(decided, "a")
    assert {n: a[n] for n in range(1, 10)} == {
        1: "schedule: not started",
        2: "schedule: ended",
        3: "daypart",
        4: "targeting: page type",
        5: "targeting: path",
        6: "size",
        7: "goal reached",
        8: "cap reached",
        9: "pacing: ahead of schedule",
    }
    winner_a = chosen(decided)["a"]
    assert winner_a in {10, 11}
    loser = 21 - winner_a
    assert a[winner_a] == "chosen" and a[loser] == "lost the lottery"
    assert a[12] == a[13] == a[14] == "lower priority"
    b = reasons(decided, "b")
    assert b[loser] == "exclusion: auto"
    assert b[winner_a] == "creative already on page"
    assert sorted([b[12], b[13]]) == ["chosen", "lost the lottery"]
    assert b[14] == "lower priority"
    c = reasons(decided, "c")
    assert chosen(decided)["c"] == ({12, 13} - {chosen(decided)["b"]}).pop()
    assert c[chosen(decided)["b"]] == "creative already on page"
    assert c[14] == "lower priority"


def test_explain_for_unknown_slots_is_empty() -> None:
    decided = decide(snapshot([slot("top")], [line_item(1)]), request("top", "nope"), explain=True)
    assert decided.considered["nope"] == ()
    assert [c.reason for c in decided.considered["top"]] == ["chosen"]


def test_explain_is_not_built_without_asking() -> None:
    decided = decide(snapshot([slot("top")], [line_item(1)]), request())
    assert decided.considered == {}


# -- the index --------------------------------------------------------------------------------


def crowd(count: int, first_id: int = 1000) -> list[LineItemSpec]:
    """Line items for other slots and other sections than the ones asked for below."""
    items = []
    for n in range(count):
        if n % 2:
            targeting = Targeting(slots=frozenset({"side"}))
        else:
            targeting = Targeting(sections=frozenset({f"section-{n % 40}"}))
        items.append(line_item(first_id + n, targeting=targeting, weight=n % 5 + 1))
    return items


def test_candidates_do_not_grow_with_line_items_for_other_slots_and_sections() -> None:
    own = [
        line_item(1, targeting=Targeting(sections=frozenset({"world"}))),
        line_item(2, targeting=Targeting(slots=frozenset({"top"}))),
        line_item(3, tier=Tier.HOUSE),
    ]
    slots = [slot("top"), slot("side")]
    req = request("top", section="world")
    small = decide(snapshot(slots, own), req, explain=True)
    large_snapshot = snapshot(slots, own + crowd(5000))
    large = decide(large_snapshot, req, explain=True)
    assert len(small.considered["top"]) == len(large.considered["top"]) == 3
    assert len(large_snapshot.bucket("top", "world")) == 3
    assert len(large_snapshot.bucket("top", None)) == 2
    assert len(large_snapshot.bucket("top", "unknown-section")) == 2
    assert len(large_snapshot.bucket("nope", "world")) == 0


def test_a_creative_that_fits_no_size_of_a_slot_keeps_it_out_of_the_slots_index() -> None:
    slots = [slot("top", {"*": (LEADERBOARD,)}), slot("side", {"*": (RECTANGLE,)})]
    items = [
        line_item(1, sizes=(LEADERBOARD,)),
        line_item(2, sizes=(LEADERBOARD,), roadblock=True),
        line_item(3, creatives=(creative(30, RECTANGLE), creative(31, LEADERBOARD))),
    ]
    snap = snapshot(slots, items)
    assert [c.entry.item.id for c in snap.bucket("side", None).candidates()] == [2, 3]
    assert [c.entry.item.id for c in snap.bucket("top", None).candidates()] == [1, 2, 3]


class CountingState(InMemoryDeliveryState):
    """Counts the delivery lookups a decision makes."""

    calls = 0

    def delivered(self, line_item_id: int, metric: GoalMetric, since: datetime | None) -> int:
        self.calls += 1
        return super().delivered(line_item_id, metric, since)

    def user_impressions(self, user_key: str, line_item_id: int, since: datetime | None) -> int:
        self.calls += 1
        return super().user_impressions(user_key, line_item_id, since)


def test_a_decision_stops_at_the_group_that_wins() -> None:
    """Without explain, line items below the winning group are not even checked."""
    goal = Goal("impressions", 10**6, "lifetime")
    below = [
        line_item(100 + n, priority=6 + n % 5, goal=goal, caps=(FrequencyCap(5, "day"),))
        for n in range(2000)
    ]
    winners = [line_item(1, priority=1, goal=goal, pacing="asap")]
    snap = snapshot([slot("top")], winners + below)
    state = CountingState(TZ)
    assert chosen(decide(snap, request(user_key="u"), state)) == {"top": 1}
    assert state.calls == 1
    decide(snap, request(user_key="u"), state, explain=True)
    assert state.calls > 2000
