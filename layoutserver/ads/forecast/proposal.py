"""The proposed line item, and the snapshot it would be booked into.

A proposal is a :class:`~layoutserver.ads.decisions.model.LineItemSpec` like any other, with
:data:`PROPOSAL_ID` and one stand-in creative per size it would bring. :func:`with_line_item`
adds it to a snapshot without rebuilding the snapshot's index (a rebuild costs half a second
at 10,000 line items): the slots it does not target share the snapshot's index, those it does
get one whose buckets are the snapshot's with it inserted, and the result indexes exactly as
``Snapshot.build`` would (``tests/ads/forecast/test_forecast_proposal.py`` compares them).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from layoutserver.ads.decisions.model import CreativeSpec, LineItemSpec, Size
from layoutserver.ads.decisions.snapshot import (
    Bucket,
    Candidate,
    Entry,
    Group,
    SlotIndex,
    Snapshot,
    _entry,
    _fits,
)

PROPOSAL_ID = -1
"""The proposal's line item id: no stored line item has it."""
OPEN_ID = -2
"""The id of the proposal's open variant (:func:`open_variant`)."""
FOCUS_ID = -3
"""The id the proposal's targeting is checked under (``focus.focus_of``)."""


def stand_in_creatives(item_id: int, sizes: Iterable[Size]) -> tuple[CreativeSpec, ...]:
    """One creative per size, with ids no stored creative has (negative)."""
    return tuple(CreativeSpec(id=item_id * 1000 - n, kind="image", size=size,
                              click_url="https://forecast.invalid/")
                 for n, size in enumerate(dict.fromkeys(sizes)))


def open_variant(item: LineItemSpec) -> LineItemSpec:
    """The proposal as it would be with weight 0, no goal and ``asap`` pacing: it then takes
    only what the line items of its tier and priority and above leave (a weight of 0 loses
    every lottery it shares), and all of that. What it gets is what is *available*."""
    return replace(item, id=OPEN_ID, weight=0, goal=None, pacing="asap",
                   creatives=stand_in_creatives(OPEN_ID, (c.size for c in item.creatives)))


def with_line_item(snapshot: Snapshot, item: LineItemSpec) -> Snapshot:
    """``snapshot`` with ``item`` added (an active line item with creatives)."""
    entry = _entry(item, snapshot.timezone)
    index = dict(snapshot.index)
    for code in item.targeting.slots or snapshot.slots:
        slot = snapshot.slots.get(code)
        if slot is None:
            continue
        sizes = {key: frozenset(accepted) for key, accepted in slot.sizes.items() if accepted}
        fits = _fits(sizes, item)
        if fits or item.roadblock:
            index[code] = _WithCandidate.of(index[code], Candidate(entry, fits))
    creatives = dict(snapshot.creatives)
    for creative in item.creatives:
        creatives.setdefault(creative.id, creative)
    return Snapshot(
        version=f"{snapshot.version}+{item.id}",
        timezone=snapshot.timezone,
        slots=snapshot.slots,
        line_items={**snapshot.line_items, item.id: item},
        creatives=creatives,
        index=index,
        boundaries=tuple(sorted({*snapshot.boundaries, entry.start, entry.end})),
    )


@dataclass(frozen=True, slots=True, eq=False)
class _WithCandidate(SlotIndex):
    """A slot's index with one more candidate, whose buckets are the base index's (merged
    there once, as serving merges them) with the candidate put in its place: a bucket of
    10,000 line items costs milliseconds to merge, and a forecast reads hundreds."""

    base: SlotIndex | None = None
    candidate: Candidate | None = None

    @classmethod
    def of(cls, base: SlotIndex, candidate: Candidate) -> _WithCandidate:
        sections = candidate.entry.item.targeting.sections
        untargeted = base.untargeted
        by_section = dict(base.by_section)
        if not sections:
            untargeted = _insert(untargeted, candidate)
        for section in sections:
            by_section[section] = _insert(by_section.get(section, ()), candidate)
        return cls(untargeted=untargeted, by_section=by_section, base=base, candidate=candidate)

    def _merge(self, section: str | None, size_key: str | None) -> Bucket:
        base, candidate = self.base, self.candidate
        assert base is not None and candidate is not None
        found = base.bucket(section, size_key)
        item = candidate.entry.item
        if item.targeting.sections and section not in item.targeting.sections:
            return found
        if size_key is not None and not item.roadblock and size_key not in candidate.fits:
            return found
        return _bucket_with(found, candidate)


def _bucket_with(bucket: Bucket, candidate: Candidate) -> Bucket:
    """``bucket`` with ``candidate`` among its candidates, its group or the roadblocks."""
    everything = _insert(bucket.everything, candidate)
    if candidate.entry.item.roadblock:
        return Bucket(bucket.groups, _insert(bucket.roadblocks, candidate), everything)
    rank = candidate.entry.rank
    groups = list(bucket.groups)
    at = bisect.bisect_left(groups, rank, key=lambda group: group.rank)
    if at < len(groups) and groups[at].rank == rank:
        groups[at] = Group.of(rank, _insert(groups[at].candidates, candidate))
    else:
        groups.insert(at, Group.of(rank, (candidate,)))
    return Bucket(tuple(groups), bucket.roadblocks, everything)


def _insert(candidates: tuple[Candidate, ...], candidate: Candidate) -> tuple[Candidate, ...]:
    """``candidates`` (by ``Entry.order``) with ``candidate`` in its place."""
    at = bisect.bisect_left(candidates, candidate.entry.order, key=_order)
    return (*candidates[:at], candidate, *candidates[at:])


def _order(candidate: Candidate) -> tuple[int, int, int]:
    return candidate.entry.order


def entry_of(snapshot: Snapshot, item: LineItemSpec) -> Entry:
    """The engine's entry of ``item`` (its flight as timestamps, its rank)."""
    return _entry(item, snapshot.timezone)


def flight(item: LineItemSpec, snapshot: Snapshot) -> tuple[datetime, datetime]:
    """``item``'s start and end, aware (naive ones are site-local, as the engine reads them)."""
    zone = snapshot.timezone
    return tuple(moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
                 for moment in (item.start, item.end))  # type: ignore[return-value]
