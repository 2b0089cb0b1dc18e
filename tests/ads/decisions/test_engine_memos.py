"""What a snapshot keeps between page decisions (page plans, static eligibility reasons) never
changes a decision: the same page decided on a fresh snapshot and on a used one agrees, and a
kept reason is only reused while everything it depends on is the same."""

from __future__ import annotations

import random
from datetime import timedelta

from adfactory import NOW, TZ, chosen, decide, line_item, reasons, request, slot, snapshot

from layoutserver.ads.decisions import decide_page
from layoutserver.ads.decisions.context import GOAL_REACHED, SharedVerdicts
from layoutserver.ads.decisions.model import DayPart, FrequencyCap, Goal, Targeting, Tier
from layoutserver.ads.decisions.state import InMemoryDeliveryState


def test_a_line_item_starting_mid_hour_is_eligible_from_its_start() -> None:
    start = NOW + timedelta(minutes=20)
    items = [line_item(1, start=start), line_item(2, weight=1e-6)]
    snap = snapshot([slot("top")], items)
    before = decide(snap, request(now=start - timedelta(seconds=1)), explain=True)
    assert reasons(before, "top")[1] == "schedule: not started"
    after = decide(snap, request(now=start), explain=True)
    assert chosen(after) == {"top": 1}
    ended = decide(snap, request(now=NOW + timedelta(days=30)), explain=True)
    assert reasons(ended, "top")[1] == "schedule: ended"


def test_kept_reasons_follow_the_request_and_the_hour() -> None:
    mornings = (DayPart(frozenset(range(7)), 6, 12),)
    items = [line_item(1, targeting=Targeting(devices=frozenset({"mobile"}))),
             line_item(2, dayparts=mornings), line_item(3, weight=1e-6)]
    snap = snapshot([slot("top")], items)
    for _ in range(2):  # the second round reads what the first one kept
        assert reasons(decide(snap, request(device="desktop"), explain=True), "top")[1] == \
            "targeting: device"
        assert reasons(decide(snap, request(device="mobile"), explain=True), "top")[1] != \
            "targeting: device"
        assert reasons(decide(snap, request(now=NOW), explain=True), "top")[2] == "daypart"
        morning = NOW.replace(hour=9)
        assert reasons(decide(snap, request(now=morning), explain=True), "top")[2] != "daypart"


def test_a_used_snapshot_decides_as_a_fresh_one() -> None:
    items = [line_item(n, weight=n) for n in range(1, 6)]
    used = snapshot([slot("top"), slot("side")], items)
    for seed in range(50):
        decide(used, request("top", "side", device="mobile"), seed=seed)
    for seed in range(20):
        fresh = snapshot([slot("top"), slot("side")], items)
        page = request("top", "side", "top")
        assert decide(used, page, seed=seed) == decide(fresh, page, seed=seed)


def test_shared_verdicts_are_reused_for_line_items_without_caps_only() -> None:
    goal = Goal("impressions", 1000, "lifetime")
    items = [line_item(1, goal=goal, pacing="asap", weight=1000), line_item(2, weight=1e-6),
             line_item(3, tier=Tier.SPONSORSHIP, caps=(FrequencyCap(5, "day"),))]
    snap = snapshot([slot("top"), slot("side")], items)
    state = InMemoryDeliveryState(TZ)
    page = request("top", "side", user_key="reader-1")
    shared: SharedVerdicts = {}
    first = decide_page(snap, page, state, random.Random(0), shared=shared)
    # the capped line item won a slot, the line item with a goal the other; only the
    # verdict of the one without caps is shared (caps are the reader's own)
    assert sorted(chosen(first).values()) == [1, 3]
    assert 3 not in shared and shared[1].reason is None
    # a page deciding on the same counts takes the shared verdict: here, the goal is reached
    shared[1] = GOAL_REACHED
    for seed in range(20):
        taken = chosen(decide_page(snap, page, state, random.Random(seed), shared=shared))
        assert taken["top"] != 1 != taken["side"]
        assert 1 in chosen(decide_page(snap, page, state, random.Random(seed))).values()


def test_capped_verdicts_are_shared_among_new_readers_only() -> None:
    capped = line_item(3, tier=Tier.SPONSORSHIP, caps=(FrequencyCap(1, "day"),))
    snap = snapshot([slot("top")], [capped, line_item(2, weight=1e-6)])
    state = InMemoryDeliveryState(TZ)
    state.record_impression(3, "returning", NOW - timedelta(hours=1))  # its cap is reached
    shared: SharedVerdicts = {}
    new = request("top", user_key="made-just-now")
    assert chosen(decide_page(snap, new, state, random.Random(0), shared=shared,
                              new_reader=True)) == {"top": 3}
    assert shared[3].reason is None
    # a returning reader neither takes the new readers' verdict nor leaves its own
    returning = request("top", user_key="returning")
    assert chosen(decide_page(snap, returning, state, random.Random(0), shared=shared)) == {
        "top": 2}
    assert shared[3].reason is None
    shared[3] = GOAL_REACHED  # and a new reader takes the shared one
    assert chosen(decide_page(snap, new, state, random.Random(0), shared=shared,
                              new_reader=True)) == {"top": 2}
