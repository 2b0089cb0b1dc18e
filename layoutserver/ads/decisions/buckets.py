"""What a page decision draws from for one slot: the slot's two shelves for the page's section
(the section's own line items, and those targeting no section) side by side, without copying
either (:class:`Bucket`); and every candidate of the slot for a section (:class:`SlotCandidates`,
the explain view).

Composing a bucket costs a walk over the ranks of two shelves, not over their candidates, so
a snapshot revised by a configuration change composes its buckets again at no cost that grows
with the number of line items.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from .entries import Candidate, Rank
from .index import Audience, Part, Shelf, SlotIndex, order_of


class Group:
    """The candidates of one ``(tier, priority)`` in a bucket: its part on the section's
    shelf, its part on the shelf of line items targeting no section, or both."""

    __slots__ = ("_members", "first", "parts", "rank", "second", "size", "total")

    def __init__(self, rank: Rank, parts: tuple[Part, ...]) -> None:
        self.rank = rank
        self.parts = parts
        self.first = parts[0]
        self.second = parts[1] if len(parts) > 1 else None
        self.size = sum(len(part.candidates) for part in parts)
        self.total = sum(part.total for part in parts)
        self._members = self.first.candidates if self.second is None else None

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        """Every member, by line item id (the parts merged on first use)."""
        members = self._members
        if members is None:
            members = self._members = tuple(
                heapq.merge(*(part.candidates for part in self.parts), key=order_of))
        return members

    def pick(self, point: float) -> Candidate:
        """The member at ``point`` of ``[0, total)`` on the members' running draw weights."""
        part = self.first
        if self.second is not None and point >= part.total:
            point -= part.total
            part = self.second
        cumulative = part.cumulative
        at = bisect.bisect_right(cumulative, point)
        return part.candidates[at] if at < len(cumulative) else part.candidates[-1]


@dataclass(frozen=True, slots=True)
class Bucket:
    """The candidates of one slot for pages of one section, with a creative for one size key
    (roadblocks aside)."""

    groups: tuple[Group, ...]
    """Line items that are not roadblocks, best group first."""
    roadblocks: tuple[Candidate, ...]
    """Roadblock line items, best first."""


EMPTY_BUCKET = Bucket((), ())


@dataclass(frozen=True, slots=True)
class SlotCandidates:
    """Every candidate of one slot for pages of one section, roadblocks included."""

    shelves: tuple[Shelf, ...]

    def __len__(self) -> int:
        return sum(len(shelf) for shelf in self.shelves)

    def candidates(self) -> tuple[Candidate, ...]:
        """Best first (merged on each call: for explanations and what callers keep)."""
        if len(self.shelves) == 1:
            return tuple(self.shelves[0].candidates())
        return tuple(heapq.merge(*(shelf.candidates() for shelf in self.shelves), key=order_of))


NO_CANDIDATES = SlotCandidates(())


def _shelves(index: SlotIndex, section: str | None) -> tuple[Shelf, ...]:
    untargeted = index.shelf(None)
    if section is None or section not in index.shelves:
        return (untargeted,)
    return (index.shelf(section), untargeted)


def audience(index: SlotIndex, section: str | None) -> Audience:
    """The section's own shelf, or None for a section nobody targets (they share one)."""
    return section if section is not None and section in index.shelves else None


def slot_candidates(index: SlotIndex, section: str | None) -> SlotCandidates:
    return SlotCandidates(_shelves(index, section))


def bucket(index: SlotIndex, section: str | None, size_key: str) -> Bucket:
    """What a decision draws from for the slot on a page of ``section``, for the size key of
    the request's device: composed once per section and size key, kept with the index."""
    key = (audience(index, section), size_key)
    return index.memo(key, lambda: _compose(_shelves(index, section), size_key))


def _compose(shelves: tuple[Shelf, ...], size_key: str) -> Bucket:
    by_rank: dict[Rank, list[Part]] = {}
    for shelf in shelves:
        for part in shelf.parts.get(size_key, ()):
            by_rank.setdefault(part.rank, []).append(part)
    groups = tuple(Group(rank, tuple(by_rank[rank])) for rank in sorted(by_rank))
    roadblocks = (shelves[0].roadblocks if len(shelves) == 1 else
                  tuple(heapq.merge(*(shelf.roadblocks for shelf in shelves), key=order_of)))
    return Bucket(groups, roadblocks)


def members(group: Group) -> Iterator[Candidate]:
    """A group's candidates part by part (no merge), for checks whose order does not
    matter."""
    for part in group.parts:
        yield from part.candidates
