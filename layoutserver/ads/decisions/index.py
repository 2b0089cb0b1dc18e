"""The index of one slot's candidates, built once and then revised line item by line item.

``SlotIndex`` -> audience (a section; ``None``: line items targeting no section) -> ``Shelf``

A shelf holds the slot's candidates for that audience: all of them in :data:`Order`, the
roadblocks apart, and per size key of the slot the others with a creative for it, as one
:class:`Part` per ``(tier, priority)``. A page of section ``s`` draws from two shelves, ``s``'s
and the one of line items targeting no section (:mod:`.buckets` puts them side by side), so a
line item is kept on the shelves of its own sections only, and a change to it revises those
shelves: a few slices of tuples and one part's running totals per size key, whatever the
number of line items elsewhere (:meth:`SlotIndex.revised`).

Everything here is immutable: a revision makes new shelves and shares the unchanged ones, so
pages deciding against the previous snapshot are never disturbed.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .entries import Candidate, Entry, Fitter, Order, Rank
from .model import SlotSpec

Audience = str | None
"""A section, or None for the line items targeting no section."""

FEW = 16
"""Up to this many changes, a sorted tuple is revised by bisection, one slice at a time;
more are merged in one pass."""

T = TypeVar("T")


def order_of(candidate: Candidate) -> Order:
    return candidate.entry.order


def revise(items: tuple[Candidate, ...], removed: Sequence[Order],
           added: Sequence[Candidate]) -> tuple[Candidate, ...]:
    """``items`` (sorted by :func:`order_of`) without the candidates at ``removed`` and with
    ``added`` (in any order)."""
    if len(removed) + len(added) > FEW:
        gone = set(removed)
        kept = [c for c in items if c.entry.order not in gone]
        return tuple(heapq.merge(kept, sorted(added, key=order_of), key=order_of))
    for order in removed:
        at = bisect.bisect_left(items, order, key=order_of)
        if at < len(items) and items[at].entry.order == order:
            items = items[:at] + items[at + 1:]
    for candidate in added:
        at = bisect.bisect_left(items, candidate.entry.order, key=order_of)
        items = (*items[:at], candidate, *items[at:])
    return items


@dataclass(frozen=True, slots=True)
class Part:
    """Candidates of one ``(tier, priority)`` on one shelf and size key, by line item id, with
    the running totals of their draw weights (for drawing one by bisection)."""

    rank: Rank
    candidates: tuple[Candidate, ...]
    cumulative: array[float]
    """Running totals, in one block of memory (a bisection over it touches a few cache
    lines, not a float object per step)."""
    total: float

    @classmethod
    def of(cls, rank: Rank, candidates: tuple[Candidate, ...]) -> Part:
        weights = (c.entry.draw_weight for c in candidates)
        cumulative = array("d", itertools.accumulate(weights))
        return cls(rank, candidates, cumulative, cumulative[-1])

    def revised(self, removed: Sequence[Order], added: Sequence[Candidate]) -> Part | None:
        """None when nothing is left."""
        candidates = revise(self.candidates, removed, added)
        if not candidates:
            return None
        # the running totals before the first change stay as they are
        first = min([order_of(c) for c in added] + list(removed))
        at = bisect.bisect_left(candidates, first, key=order_of)
        kept = self.cumulative[:at]
        start = kept[-1] if kept else 0.0
        rest = itertools.accumulate((c.entry.draw_weight for c in candidates[at:]),
                                    initial=start)
        next(rest)
        cumulative = kept + array("d", rest)
        return Part(self.rank, candidates, cumulative, cumulative[-1])


@dataclass(frozen=True, slots=True)
class Shelf:
    """A slot's candidates for one audience. No tuple of them all is kept: a revision would
    copy it whole, and the collector's young generation would then walk every candidate it
    holds (tens of milliseconds a change at 100,000 line items); :meth:`candidates` merges
    them when asked."""

    size: int
    """How many candidates it holds."""
    roadblocks: tuple[Candidate, ...]
    """Roadblocks in :data:`Order`, whether a creative of theirs fits or not: a slot they
    cannot fill must stop them from filling the others."""
    idle: tuple[Candidate, ...]
    """The other candidates in no part, in :data:`Order`: their device targeting leaves out
    every size key they have a creative for (listed by explanations, never drawn)."""
    parts: Mapping[str, tuple[Part, ...]]
    """Per size key, the other candidates with a creative for it, one part per rank, best
    first."""

    @classmethod
    def of(cls, candidates: Sequence[Candidate], keys: Sequence[str]) -> Shelf:
        """``candidates`` must come in :data:`Order`."""
        parts: dict[str, tuple[Part, ...]] = {}
        plain = [c for c in candidates if not c.entry.item.roadblock]
        for key in keys:
            fitting = (c for c in plain if key in c.fits)
            parts[key] = tuple(
                Part.of(rank, tuple(members))
                for rank, members in itertools.groupby(fitting, key=_rank)
            )
        roadblocks = tuple(c for c in candidates if c.entry.item.roadblock)
        return cls(len(candidates), roadblocks, tuple(c for c in plain if not c.fits), parts)

    def __len__(self) -> int:
        return self.size

    def candidates(self) -> Iterator[Candidate]:
        """Every candidate, roadblocks included, in :data:`Order` (explanations and the
        delivery counters a page may read): the parts of every size key merged, each
        candidate once."""
        merged = heapq.merge(self.roadblocks, self.idle,
                             *(part.candidates for ranked in self.parts.values()
                               for part in ranked), key=order_of)
        last = None
        for candidate in merged:
            if candidate is not last:
                yield candidate
            last = candidate

    def revised(self, removed: Sequence[Candidate], added: Sequence[Candidate]) -> Shelf:
        """Without the candidates ``removed`` (as they are on this shelf), with ``added``."""
        roadblocks = revise(self.roadblocks,
                            [c.entry.order for c in removed if c.entry.item.roadblock],
                            [c for c in added if c.entry.item.roadblock])
        idle = revise(self.idle, [c.entry.order for c in removed if _idle(c)],
                      [c for c in added if _idle(c)])
        parts = dict(self.parts)
        for key, ranked in self.parts.items():
            gone = [c for c in removed if not c.entry.item.roadblock and key in c.fits]
            new = [c for c in added if not c.entry.item.roadblock and key in c.fits]
            if gone or new:
                parts[key] = _revise_parts(ranked, gone, new)
        return Shelf(self.size - len(removed) + len(added), roadblocks, idle, parts)


def _idle(candidate: Candidate) -> bool:
    return not candidate.fits and not candidate.entry.item.roadblock


def _rank(candidate: Candidate) -> Rank:
    return candidate.entry.rank


def _revise_parts(parts: tuple[Part, ...], removed: Sequence[Candidate],
                  added: Sequence[Candidate]) -> tuple[Part, ...]:
    by_rank = {part.rank: part for part in parts}
    changes: dict[Rank, tuple[list[Order], list[Candidate]]] = {}
    for candidate in removed:
        changes.setdefault(candidate.entry.rank, ([], []))[0].append(candidate.entry.order)
    for candidate in added:
        changes.setdefault(candidate.entry.rank, ([], []))[1].append(candidate)
    for rank, (gone, new) in changes.items():
        part = by_rank.get(rank)
        revised = (part.revised(gone, new) if part is not None
                   else Part.of(rank, tuple(sorted(new, key=order_of))) if new else None)
        if revised is None:
            by_rank.pop(rank, None)
        else:
            by_rank[rank] = revised
    return tuple(by_rank[rank] for rank in sorted(by_rank))


EMPTY_SHELF = Shelf(0, (), (), {})


@dataclass(frozen=True, slots=True, eq=False)
class SlotIndex:
    """The candidates of one slot, by audience; and what has been composed from them so far
    (:mod:`.buckets`, per section and size key: filled on first use)."""

    slot: SlotSpec
    shelves: Mapping[Audience, Shelf]
    composed: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    @classmethod
    def build(cls, slot: SlotSpec, entries: Iterable[Entry]) -> SlotIndex:
        """The index of ``entries`` (in :data:`Order`; those not targeting the slot are left
        out)."""
        fitter = Fitter(slot)
        by_audience: dict[Audience, list[Candidate]] = {None: []}
        for entry in entries:
            if not entry.targets(slot.code):
                continue
            candidate = fitter.candidate(entry)
            if candidate is None:
                continue
            for audience in _audiences(entry):
                by_audience.setdefault(audience, []).append(candidate)
        keys = _keys(slot)
        return cls(slot, {audience: Shelf.of(members, keys)
                          for audience, members in by_audience.items()})

    def shelf(self, audience: Audience) -> Shelf:
        return self.shelves.get(audience, EMPTY_SHELF)

    def revised(self, slot: SlotSpec, removed: Iterable[Entry],
                added: Iterable[Entry]) -> SlotIndex:
        """This index for ``slot`` (of the same sizes as :attr:`slot`) without ``removed`` and
        with ``added`` (line items not targeting the slot are passed over)."""
        fitter = Fitter(slot)  # the slot's sizes are those the removed were indexed with
        gone = _by_audience(fitter, slot.code, removed)
        new = _by_audience(fitter, slot.code, added)
        if not gone and not new:
            return self if slot is self.slot else SlotIndex(slot, self.shelves, self.composed)
        shelves = dict(self.shelves)
        keys = _keys(slot)
        for audience in gone.keys() | new.keys():
            shelf = self.shelves.get(audience)
            revised = (shelf.revised(gone.get(audience, ()), new.get(audience, ()))
                       if shelf is not None else Shelf.of(sorted(new[audience], key=order_of),
                                                          keys))
            if revised.size or audience is None:
                shelves[audience] = revised
            else:
                shelves.pop(audience, None)
        return SlotIndex(slot, shelves)

    def memo(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        """What ``make`` composes from this index, kept under ``key``."""
        found = self.composed.get(key)
        if found is None:
            found = self.composed[key] = make()
        return found


def _keys(slot: SlotSpec) -> tuple[str, ...]:
    return tuple(key for key, accepted in slot.sizes.items() if accepted)


def _audiences(entry: Entry) -> Iterable[Audience]:
    sections = entry.item.targeting.sections
    return sections if sections else (None,)


def _by_audience(fitter: Fitter, code: str, entries: Iterable[Entry]
                 ) -> dict[Audience, list[Candidate]]:
    """``entries`` as the slot's candidates (those targeting it and indexed in it), by
    audience."""
    found: dict[Audience, list[Candidate]] = {}
    for entry in entries:
        if not entry.targets(code):
            continue
        candidate = fitter.candidate(entry)
        if candidate is not None:
            for audience in _audiences(entry):
                found.setdefault(audience, []).append(candidate)
    return found
