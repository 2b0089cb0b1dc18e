"""A snapshot revised by a configuration change (``Snapshot.apply``), without building it again.

Each changed line item leaves the shelves it was on and joins those it belongs on now
(:meth:`.index.SlotIndex.revised`); the maps by id are copied and patched, the boundaries and
the creatives kept by counting what uses them. A slot whose sizes changed, or a new slot, is
indexed afresh: it is the one change whose cost follows the number of line items (the line
items targeting every slot are candidates of a new slot). The result equals
``Snapshot.build`` of the changed configuration (``tests/ads/decisions/test_revision.py``).
Page plans and the other memos start empty: they hold buckets and reasons of the old one.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .entries import Entry, make_entry, servable
from .index import SlotIndex
from .model import ConfigChange, CreativeSpec

if TYPE_CHECKING:
    from .snapshot import Snapshot


def revise_snapshot(snapshot: Snapshot, change: ConfigChange) -> Snapshot:
    entries = dict(snapshot.entries)
    line_items = dict(snapshot.line_items)
    removed: list[Entry] = []
    added: list[Entry] = []
    for item_id, item in change.line_items.items():
        old = entries.get(item_id)
        if old is not None and old.item == item:
            continue  # re-read as it was
        if old is not None:
            removed.append(entries.pop(item_id))
            del line_items[item_id]
        if item is not None and servable(item):
            entry = entries[item_id] = make_entry(item, snapshot.timezone)
            line_items[item_id] = item
            added.append(entry)
    slots = {slot.code: slot for slot in change.slots}
    index: dict[str, SlotIndex] = {}
    ordered: list[Entry] | None = None
    for code, slot in slots.items():
        kept = snapshot.index.get(code)
        if kept is None or kept.slot.sizes != slot.sizes:
            if ordered is None:
                ordered = sorted(entries.values(), key=lambda entry: entry.order)
            index[code] = SlotIndex.build(slot, ordered)
        else:
            index[code] = kept.revised(slot, removed, added)
    boundaries, moments = _moments(snapshot.boundaries, snapshot.moments, removed, added)
    house = {creative.id: creative for creative in change.house_creatives}
    creatives, uses = _creatives(snapshot.creatives, snapshot.creative_uses,
                                 snapshot.house, house, removed, added)
    return dataclasses.replace(
        snapshot, version=change.version, slots=slots, line_items=line_items,
        creatives=creatives, index=index, entries=entries, boundaries=boundaries,
        moments=moments, creative_uses=uses, house=frozenset(house), plans={}, static={},
        memo={},
    )


def _moments(boundaries: tuple[float, ...], moments: Mapping[float, int],
             removed: list[Entry], added: list[Entry]
             ) -> tuple[tuple[float, ...], Mapping[float, int]]:
    if not removed and not added:
        return boundaries, moments
    counts = dict(moments)
    sorted_moments = list(boundaries)
    for entry in removed:
        for moment in (entry.start, entry.end):
            left = counts[moment] - 1
            if left:
                counts[moment] = left
            else:
                del counts[moment]
                del sorted_moments[bisect.bisect_left(sorted_moments, moment)]
    for entry in added:
        for moment in (entry.start, entry.end):
            if moment not in counts:
                bisect.insort(sorted_moments, moment)
            counts[moment] = counts.get(moment, 0) + 1
    return tuple(sorted_moments), counts


def _creatives(
    creatives: Mapping[int, CreativeSpec], uses: Mapping[int, int], old_house: frozenset[int],
    house: dict[int, CreativeSpec], removed: list[Entry], added: list[Entry],
) -> tuple[Mapping[int, CreativeSpec], Mapping[int, int]]:
    if not removed and not added and old_house == house.keys() and all(
            creatives.get(key) == creative for key, creative in house.items()):
        return creatives, uses
    revised = dict(creatives)
    counts = dict(uses)
    unused = set(old_house)
    for entry in removed:
        for creative in entry.item.creatives:
            left = counts[creative.id] - 1
            if left:
                counts[creative.id] = left
            else:
                del counts[creative.id]
                unused.add(creative.id)
    for entry in added:
        for creative in entry.item.creatives:
            counts[creative.id] = counts.get(creative.id, 0) + 1
            revised[creative.id] = creative
    for creative_id in unused:
        if creative_id not in counts and creative_id not in house:
            revised.pop(creative_id, None)
    revised.update(house)
    return revised, counts
