"""A snapshot revised by a configuration change (``Snapshot.apply``), without building it again.

Each changed line item leaves the shelves it was on and joins those it belongs on now
(:meth:`.index.SlotIndex.revised`); the maps by id take the changes on top of what they share
with the snapshot revised (:mod:`.layered`), the boundaries and the creatives kept by counting
what uses them. A slot whose sizes changed, or a new slot, is
indexed afresh: it is the one change whose cost follows the number of line items (the line
items targeting every slot are candidates of a new slot). The result equals
``Snapshot.build`` of the changed configuration (``tests/ads/decisions/test_revision.py``).
Page plans and the other memos start empty: they hold buckets and reasons of the old one.
"""

from __future__ import annotations

import bisect
import dataclasses
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .entries import Entry, make_entry, servable
from .index import SlotIndex
from .layered import GONE, Layered
from .line_items import LineItems
from .model import ConfigChange, CreativeSpec

if TYPE_CHECKING:
    from .snapshot import Snapshot


def revise_snapshot(snapshot: Snapshot, change: ConfigChange) -> Snapshot:
    entries = snapshot.entries
    removed: list[Entry] = []
    added: list[Entry] = []
    revised: dict[int, Any] = {}
    for item_id, item in change.line_items.items():
        old = entries.get(item_id)
        if old is not None and old.item == item:
            continue  # re-read as it was
        if old is not None:
            removed.append(old)
            revised[item_id] = GONE
        if item is not None and servable(item):
            entry = revised[item_id] = make_entry(item, snapshot.timezone)
            added.append(entry)
    new_entries = entries.revised(revised)
    slots = {slot.code: slot for slot in change.slots}
    index: dict[str, SlotIndex] = {}
    ordered: list[Entry] | None = None
    for code, slot in slots.items():
        kept = snapshot.index.get(code)
        if kept is None or kept.slot.sizes != slot.sizes:
            if ordered is None:
                ordered = sorted(new_entries.values(), key=lambda entry: entry.order)
            index[code] = SlotIndex.build(slot, ordered)
        else:
            index[code] = kept.revised(slot, removed, added)
    boundaries, moments = _moments(snapshot.boundaries, snapshot.moments, removed, added)
    house = {creative.id: creative for creative in change.house_creatives}
    creatives, uses = _creatives(snapshot.creatives, snapshot.creative_uses,
                                 snapshot.house, house, removed, added)
    return dataclasses.replace(
        snapshot, version=change.version, slots=slots, line_items=LineItems(new_entries),
        creatives=creatives, index=index, entries=new_entries, boundaries=boundaries,
        moments=moments, creative_uses=uses, house=frozenset(house), plans={}, static={},
        memo={},
    )


def _moments(boundaries: Sequence[float], moments: Layered[float, int],
             removed: list[Entry], added: list[Entry]
             ) -> tuple[Sequence[float], Layered[float, int]]:
    if not removed and not added:
        return boundaries, moments
    counts: dict[float, Any] = {}
    sorted_moments = array("d", boundaries)  # one block of memory: a copy is a memcpy
    for entry in removed:
        for moment in (entry.start, entry.end):
            left = counts.get(moment, moments.get(moment, 0)) - 1
            counts[moment] = left
            if not left:
                del sorted_moments[bisect.bisect_left(sorted_moments, moment)]
    for entry in added:
        for moment in (entry.start, entry.end):
            before = counts.get(moment, moments.get(moment, 0))
            if not before:
                sorted_moments.insert(bisect.bisect_left(sorted_moments, moment), moment)
            counts[moment] = before + 1
    return sorted_moments, moments.revised(
        {moment: count or GONE for moment, count in counts.items()})


def _creatives(
    creatives: Layered[int, CreativeSpec], uses: Layered[int, int], old_house: frozenset[int],
    house: dict[int, CreativeSpec], removed: list[Entry], added: list[Entry],
) -> tuple[Layered[int, CreativeSpec], Layered[int, int]]:
    if not removed and not added and old_house == house.keys() and all(
            creatives.get(key) == creative for key, creative in house.items()):
        return creatives, uses
    specs: dict[int, Any] = {}
    counts: dict[int, Any] = {}
    unused = set(old_house)
    for entry in removed:
        for creative in entry.item.creatives:
            left = counts.get(creative.id, uses.get(creative.id, 0)) - 1
            counts[creative.id] = left
            if not left:
                unused.add(creative.id)
    for entry in added:
        for creative in entry.item.creatives:
            counts[creative.id] = counts.get(creative.id, uses.get(creative.id, 0)) + 1
            specs[creative.id] = creative
    for creative_id in unused:
        if not counts.get(creative_id, uses.get(creative_id, 0)) and creative_id not in house:
            specs[creative_id] = GONE
    specs.update(house)
    return creatives.revised(specs), uses.revised(
        {creative_id: count or GONE for creative_id, count in counts.items()})
