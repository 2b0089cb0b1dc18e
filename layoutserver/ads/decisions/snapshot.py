"""An immutable, indexed view of the ad configuration that the engine decides against.

A snapshot is built once (:meth:`Snapshot.build`) and then follows the configuration by
revisions (:meth:`Snapshot.apply`: a new snapshot sharing what a change did not touch); each
is shared by every request and thread. Its index (:mod:`.index`) answers "which line items
could fill slot X of a page in section Y" with dict lookups, so the cost of a decision follows
the number of line items competing for that slot and section, not the number of line items on
the server; what a decision draws from is composed from it per slot, section and device
(:mod:`.buckets`).

Settled when a line item is indexed: which of its creatives fit the slot, per device class of
the slot's sizes (``Candidate.fits``); and a line item that is not a roadblock and has no
creative fitting any size of a slot is not indexed for that slot at all. Roadblocks stay
indexed for every slot they target, since a slot they cannot fill must stop them from filling
the others.

Kept on first use: page plans (the slots of a page with their buckets, and the roadblocks that
target them) and static eligibility reasons (:meth:`Snapshot.static_reasons`), so that pages
alike do that work once. Nothing else changes after a snapshot is made; two threads filling
the same memo at once merely both do the work.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .buckets import EMPTY_BUCKET, NO_CANDIDATES, Bucket, SlotCandidates, bucket, slot_candidates
from .entries import Candidate, Entry, Rank, make_entry, servable, size_key
from .index import SlotIndex
from .layered import Layered
from .line_items import LineItems
from .model import ConfigChange, CreativeSpec, LineItemSpec, PageRequest, SlotSpec
from .revision import revise_snapshot


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    slot: SlotSpec
    fitting: Bucket
    size_key: str


@dataclass(frozen=True, slots=True)
class PlannedRoadblock:
    """A roadblock that targets slots of a page, with its candidate for each (by position in
    :attr:`PagePlan.slots`)."""

    entry: Entry
    targets: tuple[tuple[int, Candidate], ...]


@dataclass(frozen=True, slots=True)
class PagePlan:
    codes: tuple[str, ...]
    """The requested slot codes, duplicates dropped."""
    slots: tuple[PlannedSlot, ...]
    """The known and enabled ones, in request order."""
    roadblocks: tuple[tuple[Rank, tuple[PlannedRoadblock, ...]], ...]
    """The roadblocks targeting those slots, by rank, best first."""
    placeable: tuple[tuple[Rank, tuple[PlannedRoadblock, ...]], ...]
    """Those of :attr:`roadblocks` with a creative for each slot they target on this device
    (the others can never be placed on such a page)."""
    shared: tuple[tuple[int, ...], ...]
    """For each rank of :attr:`placeable`, the positions in :attr:`slots` that every
    roadblock of that rank and the worse ones targets: once one of them is taken, or held by
    a better line item, none of those roadblocks can be placed."""


MAX_PLANS = 4096
"""Page plans, and sets of static reasons, a snapshot keeps at most (it starts afresh)."""


@dataclass(frozen=True, eq=False)
class Snapshot:
    version: int | str
    timezone: ZoneInfo
    slots: Mapping[str, SlotSpec]
    line_items: Mapping[int, LineItemSpec]
    """The active line items that have creatives: the only ones that can serve."""
    creatives: Layered[int, CreativeSpec]
    """Every creative by id: those of :attr:`line_items` and house creatives."""
    index: Mapping[str, SlotIndex]
    entries: Layered[int, Entry] = field(default_factory=lambda: Layered({}), repr=False)
    """:attr:`line_items` as indexed, by id."""
    boundaries: Sequence[float] = ()
    """Every line item's start and end (POSIX timestamps), sorted: between two of them, no
    line item starts or ends."""
    moments: Layered[float, int] = field(default_factory=lambda: Layered({}), repr=False)
    """How many starts and ends fall on each of :attr:`boundaries`."""
    creative_uses: Layered[int, int] = field(default_factory=lambda: Layered({}), repr=False)
    """How many of :attr:`line_items` show each creative."""
    house: frozenset[int] = frozenset()
    """The ids of the house creatives given."""
    plans: dict[tuple[object, ...], PagePlan] = field(default_factory=dict, repr=False)
    """Page plans made so far (see :meth:`plan`)."""
    static: dict[tuple[object, ...], dict[Entry, str | None]] = field(
        default_factory=dict, repr=False)
    """Eligibility reasons that need no delivery counters, by the facts they depend on (see
    :meth:`static_reasons`)."""
    memo: dict[tuple[object, ...], object] = field(default_factory=dict, repr=False)
    """Whatever a caller works out from this snapshot alone, kept with it (the delivery state's
    candidate ids per page: ``layoutserver.ads.delivery.candidates``)."""

    @classmethod
    def build(
        cls,
        slots: Iterable[SlotSpec],
        line_items: Iterable[LineItemSpec],
        timezone: ZoneInfo,
        version: int | str,
        house_creatives: Iterable[CreativeSpec] = (),
    ) -> Snapshot:
        """Index the configuration. Naive ``start``/``end`` datetimes of line items are taken
        as site-local time (the time zone the trafficker thinks in)."""
        slot_map = {slot.code: slot for slot in slots}
        entries = sorted((make_entry(item, timezone) for item in line_items if servable(item)),
                         key=lambda entry: entry.order)
        creatives: dict[int, CreativeSpec] = {}
        uses: dict[int, int] = {}
        moments: dict[float, int] = {}
        for entry in entries:
            for creative in entry.item.creatives:
                creatives.setdefault(creative.id, creative)
                uses[creative.id] = uses.get(creative.id, 0) + 1
            for moment in (entry.start, entry.end):
                moments[moment] = moments.get(moment, 0) + 1
        house = {creative.id: creative for creative in house_creatives}
        creatives.update(house)
        by_id = Layered({entry.item.id: entry for entry in entries})
        return cls(
            version=version,
            timezone=timezone,
            slots=slot_map,
            line_items=LineItems(by_id),
            creatives=Layered(creatives),
            index={code: SlotIndex.build(slot, entries) for code, slot in slot_map.items()},
            entries=by_id,
            boundaries=array("d", sorted(moments)),
            moments=Layered(moments),
            creative_uses=Layered(uses),
            house=frozenset(house),
        )

    def apply(self, change: ConfigChange) -> Snapshot:
        """The snapshot of the configuration after ``change``: equal to :meth:`build` of it,
        made by revising only what the change touches (see :mod:`.revision`)."""
        return revise_snapshot(self, change)

    def with_line_items(self, items: Iterable[LineItemSpec], version: int | str) -> Snapshot:
        """This snapshot with ``items`` added, each in place of the line item of its id if
        there is one: a configuration that is not stored (a forecast's proposal), by
        :meth:`apply`. Without items, a copy that shares everything but its memos (page plans,
        reasons), which start empty; this snapshot is left as it is."""
        house = tuple(self.creatives[creative_id] for creative_id in sorted(self.house))
        return self.apply(ConfigChange(version, tuple(self.slots.values()), house,
                                       {item.id: item for item in items}))

    def bucket(self, slot_code: str, section: str | None) -> SlotCandidates:
        """Every candidate for a slot on a page of ``section`` (none for an unknown slot)."""
        slot_index = self.index.get(slot_code)
        return NO_CANDIDATES if slot_index is None else slot_candidates(slot_index, section)

    def fitting(self, slot_code: str, section: str | None, size_key: str) -> Bucket:
        """What a decision draws from: the line items (roadblocks aside) that have a creative
        for the slot's sizes under ``size_key`` (see :func:`.entries.size_key`)."""
        slot_index = self.index.get(slot_code)
        return EMPTY_BUCKET if slot_index is None else bucket(slot_index, section, size_key)

    def plan(self, slot_codes: Sequence[str], section: str | None, device: str) -> PagePlan:
        """The slots a page decision runs, worked out once per slot list, section and device:
        the codes without duplicates, each known, enabled one with its candidates for the
        device (:meth:`fitting`) and its size key, and the roadblocks targeting them."""
        key = (tuple(slot_codes), section, device)
        plan = self.plans.get(key)
        if plan is None:
            codes = tuple(dict.fromkeys(slot_codes))
            planned = []
            for code in codes:
                slot = self.slots.get(code)
                if slot is not None and slot.enabled:
                    size = size_key(slot, device)
                    planned.append(PlannedSlot(slot, self.fitting(code, section, size), size))
            plan = _plan(codes, planned)
            if len(self.plans) >= MAX_PLANS:  # slot lists may come from callers of /ads/decide
                self.plans.clear()
            self.plans[key] = plan
        return plan

    def static_reasons(self, request: PageRequest, now: float, weekday: int,
                       hour: int) -> dict[Entry, str | None]:
        """Where a page decision keeps each line item's schedule, day-parting, targeting
        (tags and paths aside) and consent reason (``PageContext.static_reason``), shared by
        every page with the same facts: the request's page type, section, device and
        key-values, whether it has a user key, the site-local weekday and hour, and where
        ``now`` falls among the line items' starts and ends. The reasons depend on nothing
        else, so pages alike decide against the same, filled in as line items are first
        checked. (A page's tags and path differ from article to article: the few line items
        targeting them are checked per page.)"""
        key = (request.page_type, request.section, request.device,
               tuple(sorted(request.key_values.items())) if request.key_values else (),
               request.user_key is None, weekday, hour,
               bisect.bisect_right(self.boundaries, now))
        reasons = self.static.get(key)
        if reasons is None:
            if len(self.static) >= MAX_PLANS:  # key-values come from requests
                self.static.clear()
            reasons = self.static[key] = {}
        return reasons


def _plan(codes: tuple[str, ...], planned: Sequence[PlannedSlot]) -> PagePlan:
    targets: dict[int, list[tuple[int, Candidate]]] = {}
    for position, slot in enumerate(planned):
        for candidate in slot.fitting.roadblocks:
            targets.setdefault(candidate.entry.item.id, []).append((position, candidate))
    by_rank: dict[Rank, list[PlannedRoadblock]] = {}
    for targeted in targets.values():
        entry = targeted[0][1].entry
        by_rank.setdefault(entry.rank, []).append(PlannedRoadblock(entry, tuple(targeted)))
    roadblocks = tuple((rank, tuple(by_rank[rank])) for rank in sorted(by_rank))
    placeable = []
    for rank, ranked in roadblocks:
        fitting = tuple(roadblock for roadblock in ranked if all(
            planned[position].size_key in candidate.fits
            for position, candidate in roadblock.targets))
        if fitting:
            placeable.append((rank, fitting))
    shared: list[tuple[int, ...]] = []
    common: set[int] | None = None
    for _, fitting in reversed(placeable):
        for roadblock in fitting:
            positions = {position for position, _ in roadblock.targets}
            common = positions if common is None else common & positions
        shared.append(tuple(sorted(common or ())))
    return PagePlan(codes, tuple(planned), roadblocks, tuple(placeable),
                    tuple(reversed(shared)))
