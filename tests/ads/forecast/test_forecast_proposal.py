"""A proposal added to a snapshot without a rebuild holds exactly what ``Snapshot.build`` would,
index included, and draws from the same groups, roadblocks and weights for every slot, section
and size key; the snapshot it was added to is left as it was."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from ads_snapshots import described
from forecastworld import SLOTS, line_items

from layoutserver.ads.decisions.buckets import Bucket
from layoutserver.ads.decisions.entries import ANY_DEVICE
from layoutserver.ads.decisions.model import LineItemSpec, Size, Targeting, Tier
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.forecast.proposal import (
    OPEN_ID,
    PROPOSAL_ID,
    open_variant,
    stand_in_creatives,
    with_line_item,
)

TZ = ZoneInfo("America/New_York")
SECTIONS = (None, "world", "sport", "business", "culture", "brand-new")


def shape(bucket: Bucket) -> tuple[object, ...]:
    groups = [(g.rank, [c.entry.item.id for c in g.candidates], g.total) for g in bucket.groups]
    return groups, [c.entry.item.id for c in bucket.roadblocks]


def proposal(**kw: object) -> LineItemSpec:
    return replace(line_items(3)[4], id=PROPOSAL_ID, creatives=stand_in_creatives(
        PROPOSAL_ID, [Size(300, 250), Size(320, 50)]), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("proposed", [
    proposal(),  # two sections, every slot
    proposal(targeting=Targeting(sections=frozenset({"brand-new"}), slots=frozenset({"mid"}))),
    proposal(targeting=Targeting(), roadblock=True, tier=Tier.SPONSORSHIP, priority=1),
    proposal(targeting=Targeting(slots=frozenset({"side"})), priority=4, weight=7),
], ids=["sections", "a new section", "roadblock", "into a group"])
def test_an_added_line_item_indexes_as_a_rebuild_would(proposed: LineItemSpec) -> None:
    items = line_items(3)
    base = Snapshot.build(SLOTS, items, TZ, version=1)
    for code in base.slots:  # buckets merged before, as serving merges them
        base.fitting(code, "world", "desktop")
    before = described(base)
    added = with_line_item(base, proposed)
    rebuilt = Snapshot.build(SLOTS, [*items, proposed], TZ, version=added.version)
    assert described(added) == described(rebuilt)
    for code in base.slots:
        for section in SECTIONS:
            assert [c.entry.item.id for c in added.bucket(code, section).candidates()] == \
                [c.entry.item.id for c in rebuilt.bucket(code, section).candidates()]
            for key in ("desktop", "mobile", ANY_DEVICE):
                assert shape(added.fitting(code, section, key)) == \
                    shape(rebuilt.fitting(code, section, key)), (code, section, key)
    assert described(base) == before
    assert PROPOSAL_ID not in base.line_items
    assert shape(base.fitting("top", "world", "desktop")) == shape(
        Snapshot.build(SLOTS, items, TZ, version=3).fitting("top", "world", "desktop"))


def test_a_copy_without_line_items_shares_all_but_its_memos() -> None:
    base = Snapshot.build(SLOTS, line_items(3), TZ, version=1)
    plan = base.plan(("top", "side"), "world", "desktop")
    copied = base.with_line_items((), "1+copy")
    assert described(copied) == {**described(base), "version": "1+copy"}
    assert copied.index["top"] is base.index["top"]  # composed buckets shared
    assert not copied.plans and base.plans == {(("top", "side"), "world", "desktop"): plan}


def test_the_open_variant_takes_only_what_its_rank_leaves() -> None:
    proposed = proposal(goal=None, weight=5, pacing="even")
    opened = open_variant(proposed)
    assert (opened.id, opened.weight, opened.goal, opened.pacing) == (OPEN_ID, 0, None, "asap")
    assert [c.size for c in opened.creatives] == [c.size for c in proposed.creatives]
    assert not {c.id for c in opened.creatives} & {c.id for c in proposed.creatives}
    assert (opened.tier, opened.priority, opened.caps, opened.targeting, opened.start,
            opened.end) == (proposed.tier, proposed.priority, proposed.caps, proposed.targeting,
                            proposed.start, proposed.end)
