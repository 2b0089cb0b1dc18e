"""A snapshot revised change by change holds exactly what a build of the changed configuration
holds, index included, and decides the same: over random sequences of changes to small
configurations (line items added, edited, paused, resumed and deleted; creatives changed under
the line items that show them; slots resized, relabelled, added and removed; house creatives
moved)."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta
from typing import Any

import pytest
from adfactory import NOW, TZ, line_item
from ads_snapshots import described

from layoutserver.ads.decisions.engine import decide_page
from layoutserver.ads.decisions.model import (
    ConfigChange,
    CreativeSpec,
    FrequencyCap,
    Goal,
    LineItemSpec,
    PageRequest,
    Size,
    SlotSpec,
    Targeting,
    Tier,
)
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.decisions.state import InMemoryDeliveryState

SIZES = (Size(728, 90), Size(300, 250), Size(320, 50))
SECTIONS = ("world", "sport", "arts")
CODES = ("top", "side", "foot", "extra")
MOMENTS = tuple(NOW + timedelta(hours=hours) for hours in (-48, -2, 1, 3, 30, 72))


class Configuration:
    """A small ad configuration that changes at random, as the database would report each
    change: every slot and house creative, and the line items a change touched."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.creatives = {n: self._creative(n) for n in range(1, 13)}
        self.slots: dict[str, SlotSpec] = {code: self._slot(code) for code in CODES[:3]}
        self.items: dict[int, LineItemSpec] = {}
        for _ in range(rng.randint(0, 12)):
            self._add()
        self.version = 1

    def _creative(self, creative_id: int, **kw: Any) -> CreativeSpec:
        size = kw.pop("size", self.rng.choice(SIZES))
        return CreativeSpec(creative_id, "image", size, f"https://example.com/{creative_id}",
                            image_url="/c.png", **kw)

    def _slot(self, code: str) -> SlotSpec:
        rng = self.rng
        sizes = {"desktop": tuple(rng.sample(SIZES, rng.randint(1, 2)))}
        if rng.random() < 0.6:
            sizes["mobile"] = (rng.choice(SIZES),)
        if rng.random() < 0.3:
            sizes["*"] = (rng.choice(SIZES),)
        house = rng.choice([None, *self.creatives]) if rng.random() < 0.4 else None
        return SlotSpec(code, code.title(), sizes, label=rng.choice(["Ad", ""]),
                        enabled=rng.random() < 0.9, when_empty="house" if house else "collapse",
                        house_creative_id=house)

    def _item(self, item_id: int) -> LineItemSpec:
        rng = self.rng
        start, end = sorted(rng.sample(MOMENTS, 2))
        creatives = tuple(self.creatives[n]
                          for n in sorted(rng.sample(list(self.creatives), rng.randint(0, 3))))
        targeting = Targeting(
            slots=frozenset(rng.sample(CODES, rng.randint(1, 2))) if rng.random() < 0.4
            else frozenset(),
            sections=frozenset(rng.sample(SECTIONS, rng.randint(1, 2))) if rng.random() < 0.5
            else frozenset(),
            devices=frozenset({rng.choice(("desktop", "mobile", "tablet"))})
            if rng.random() < 0.3 else frozenset(),
        )
        return line_item(
            item_id, tier=rng.choice(list(Tier)), priority=rng.randint(1, 3),
            creatives=creatives, start=start, end=end, weight=rng.randint(0, 4),
            status=rng.choice(["active"] * 5 + ["paused", "draft"]), targeting=targeting,
            roadblock=rng.random() < 0.15, pacing=rng.choice(["even", "asap"]),
            goal=Goal("impressions", 50, "daily") if rng.random() < 0.3 else None,
            caps=(FrequencyCap(2, "day"),) if rng.random() < 0.2 else (),
        )

    def _add(self) -> int:
        item_id = max(self.items, default=0) + 1
        self.items[item_id] = self._item(item_id)
        return item_id

    def change(self) -> ConfigChange:
        """One to three random changes, as one version."""
        rng = self.rng
        touched: set[int] = set()
        for _ in range(rng.randint(1, 3)):
            operation = rng.choice(["add", "edit", "status", "delete", "creative", "slot",
                                    "new slot", "drop slot", "batch"])
            ids = list(self.items)
            if operation == "batch":  # an import's batch: edits and additions by the dozen
                for item_id in rng.sample(ids, min(len(ids), 20)):
                    self.items[item_id] = self._item(item_id)
                    touched.add(item_id)
                touched.update(self._add() for _ in range(rng.randint(15, 30)))
            elif operation == "add" or (not ids and operation in ("edit", "status", "delete")):
                touched.add(self._add())
            elif operation == "edit":
                item_id = rng.choice(ids)
                self.items[item_id] = self._item(item_id)
                touched.add(item_id)
            elif operation == "status":
                item_id = rng.choice(ids)
                status = "paused" if self.items[item_id].status == "active" else "active"
                self.items[item_id] = dataclasses.replace(self.items[item_id], status=status)
                touched.add(item_id)
            elif operation == "delete":
                item_id = rng.choice(ids)
                del self.items[item_id]
                touched.add(item_id)
            elif operation == "creative":
                touched |= self._change_creative(rng.choice(list(self.creatives)))
            elif operation == "slot":
                code = rng.choice(list(self.slots))
                self.slots[code] = self._slot(code)
            elif operation == "new slot" and len(self.slots) < len(CODES):
                code = rng.choice([c for c in CODES if c not in self.slots])
                self.slots[code] = self._slot(code)
            elif operation == "drop slot" and len(self.slots) > 1:
                del self.slots[rng.choice(list(self.slots))]
        self.version += 1
        return ConfigChange(self.version, tuple(self.slots.values()), self.house(),
                            {item_id: self.items.get(item_id) for item_id in touched})

    def _change_creative(self, creative_id: int) -> set[int]:
        """A creative's size or link changes: every line item showing it is re-read."""
        changed = self._creative(creative_id)
        self.creatives[creative_id] = changed
        touched = set()
        for item_id, item in self.items.items():
            if any(creative.id == creative_id for creative in item.creatives):
                creatives = tuple(changed if c.id == creative_id else c for c in item.creatives)
                self.items[item_id] = dataclasses.replace(item, creatives=creatives)
                touched.add(item_id)
        return touched

    def house(self) -> tuple[CreativeSpec, ...]:
        named = {slot.house_creative_id for slot in self.slots.values()}
        return tuple(self.creatives[n] for n in sorted(named - {None}) if n is not None)

    def build(self) -> Snapshot:
        return Snapshot.build(self.slots.values(), self.items.values(), TZ, self.version,
                              self.house())


def pages(rng: random.Random) -> list[PageRequest]:
    return [PageRequest(slots=tuple(rng.sample(CODES, rng.randint(1, 4))),
                        now=rng.choice(MOMENTS) + timedelta(minutes=30),
                        device=rng.choice(("desktop", "mobile", "tablet")),
                        section=rng.choice((*SECTIONS, None, "other")),
                        user_key=rng.choice(("reader", None)))
            for _ in range(4)]


@pytest.mark.parametrize("seed", range(40))
def test_a_revised_snapshot_is_a_build_of_the_changed_configuration(seed: int) -> None:
    rng = random.Random(seed)
    configuration = Configuration(rng)
    snapshot = configuration.build()
    for _ in range(10):
        change = configuration.change()
        snapshot = snapshot.apply(change)
        built = configuration.build()
        assert described(snapshot) == described(built)
        state = InMemoryDeliveryState(TZ)
        for page in pages(rng):
            for explain in (False, True):
                assert decide_page(snapshot, page, state, random.Random(seed), explain) == \
                    decide_page(built, page, state, random.Random(seed), explain)


def test_a_revision_shares_what_the_change_did_not_touch() -> None:
    configuration = Configuration(random.Random(3))
    for n in range(1, 4):
        configuration.items[100 + n] = line_item(100 + n, targeting=Targeting(
            slots=frozenset({"top"}), sections=frozenset({"world"})))
    snapshot = configuration.build()
    sport = snapshot.index["top"].shelf("sport")
    side = snapshot.index["side"]
    paused = dataclasses.replace(configuration.items[101], status="paused")
    revised = snapshot.apply(ConfigChange(2, tuple(configuration.slots.values()),
                                          configuration.house(), {101: paused}))
    assert 101 not in revised.line_items and 101 in snapshot.line_items  # the old one stays
    assert revised.index["side"] is side  # a slot it does not target: untouched
    assert revised.index["top"].shelf("sport") is sport  # a section it does not target
    assert [c.entry.item.id for c in revised.index["top"].shelf("world").candidates()
            if c.entry.item.id > 100] == [102, 103]
