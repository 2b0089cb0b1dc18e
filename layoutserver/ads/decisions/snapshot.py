"""An immutable, indexed view of the ad configuration that the engine decides against.

A snapshot is built once per configuration version and shared by every request and thread.
Its index answers "which line items could fill slot X of a page in section Y" with dict lookups,
so the cost of a decision follows the number of line items competing for that slot and section,
not the number of line items on the server:

``slot code -> section (None: pages of no indexed section) -> Bucket``

A bucket holds the slot's candidates for that section (line items targeting the section plus the
ones targeting no section), grouped by ``(tier, priority)`` best first; roadblocks are kept apart
because they are decided for the whole page before the per-slot waterfall. A decision draws from
the bucket narrowed to the line items with a creative for the slot's sizes on the request's
device (:meth:`Snapshot.fitting`); the full bucket is what the explain view lists.

Settled at build time: which of a line item's creatives fit the slot, per device class of the
slot's sizes (``Candidate.fits``); and a line item that is not a roadblock and has no creative
fitting any size of a slot is not indexed for that slot at all. Roadblocks stay indexed for
every slot they target, since a slot they cannot fill must stop them from filling the others.

Buckets are merged on first use and kept (a few per slot and section: one per device class),
so that building a snapshot of 10,000 line items stays quick. So are page plans (the slots of
a page with their buckets) and static eligibility reasons (:meth:`Snapshot.static_reasons`),
so that pages alike do that work once. Nothing else changes after :meth:`Snapshot.build`; two
threads filling the same memo at once merely both do the work.
"""

from __future__ import annotations

import bisect
import fnmatch
import functools
import heapq
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from .lottery import MIN_WEIGHT
from .model import CreativeSpec, LineItemSpec, PageRequest, Size, SlotSpec
from .pacing import MAX_BOOST

Rank = tuple[int, int]
"""``(tier, priority)``: lower is better."""

ANY_DEVICE = "*"


@dataclass(frozen=True, slots=True, eq=False)
class Entry:
    """A line item with what the engine needs precomputed: its rank, its flight as POSIX
    timestamps and its path patterns compiled into one regular expression."""

    item: LineItemSpec
    rank: Rank
    start: float
    end: float
    paths: re.Pattern[str] | None
    envelope: float
    """The largest factor pacing may multiply its weight by: ``MAX_BOOST`` for an even line
    item with a goal, else 1."""

    @property
    def order(self) -> tuple[int, int, int]:
        return (self.rank[0], self.rank[1], self.item.id)


@dataclass(frozen=True, slots=True, eq=False)
class Candidate:
    """A line item as a candidate for one slot."""

    entry: Entry
    fits: Mapping[str, tuple[CreativeSpec, ...]]
    """Creatives of a size the slot accepts, by the key of ``SlotSpec.sizes`` (a device class
    or ``"*"``); keys without a fitting creative are absent."""


@dataclass(frozen=True, slots=True)
class Group:
    """Candidates of one ``(tier, priority)``, by line item id, with the running totals of
    their envelope weights, for drawing one by bisection (see ``engine._sample``)."""

    rank: Rank
    candidates: tuple[Candidate, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, rank: Rank, candidates: Iterable[Candidate]) -> Group:
        members = tuple(candidates)
        weights = (max(c.entry.item.weight, MIN_WEIGHT) * c.entry.envelope for c in members)
        return cls(rank, members, tuple(itertools.accumulate(weights)))


@dataclass(frozen=True, slots=True)
class Bucket:
    """The candidates of one slot for pages of one section."""

    groups: tuple[Group, ...]
    """Line items that are not roadblocks, best group first."""
    roadblocks: tuple[Candidate, ...]
    """Roadblock line items, best first."""
    everything: tuple[Candidate, ...] = ()
    """Every candidate, roadblocks included, best first (see :meth:`candidates`)."""

    def __len__(self) -> int:
        return len(self.everything)

    def candidates(self) -> tuple[Candidate, ...]:
        """Every candidate, roadblocks included, best first (for explanations, and for the
        delivery counters a page may read): merged once, when the bucket is."""
        return self.everything


EMPTY_BUCKET = Bucket((), ())


def size_key(slot: SlotSpec, device: str) -> str:
    """The key of ``slot.sizes`` that :meth:`SlotSpec.sizes_for` reads for ``device``."""
    return device if slot.sizes.get(device) else ANY_DEVICE


@dataclass(frozen=True, slots=True, eq=False)
class SlotIndex:
    """The candidates of one slot by section, and the buckets merged from them so far."""

    untargeted: tuple[Candidate, ...]
    """Line items targeting no section, by :attr:`Entry.order`."""
    by_section: Mapping[str, tuple[Candidate, ...]]
    """Line items targeting each section, by :attr:`Entry.order`."""
    merged: dict[tuple[str | None, str | None], Bucket] = field(default_factory=dict)

    def bucket(self, section: str | None, size_key: str | None = None) -> Bucket:
        """All candidates for pages of ``section``; with ``size_key``, only those (roadblocks
        aside) with a creative for the slot's sizes under that key."""
        if section not in self.by_section:
            section = None  # sections nobody targets share one entry
        key = (section, size_key)
        found = self.merged.get(key)
        if found is None:
            found = self.merged[key] = self._merge(section, size_key)
        return found

    def _merge(self, section: str | None, size_key: str | None) -> Bucket:
        targeted = self.by_section[section] if section is not None else ()
        candidates = heapq.merge(targeted, self.untargeted, key=_order)
        if size_key is not None:
            candidates = (c for c in candidates if c.entry.item.roadblock or size_key in c.fits)
        return _bucket(candidates)


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    slot: SlotSpec
    fitting: Bucket
    size_key: str


@dataclass(frozen=True, slots=True)
class PagePlan:
    codes: tuple[str, ...]
    """The requested slot codes, duplicates dropped."""
    slots: tuple[PlannedSlot, ...]
    """The known and enabled ones, in request order."""


MAX_PLANS = 4096
"""Page plans, and sets of static reasons, a snapshot keeps at most (it starts afresh)."""


@dataclass(frozen=True)
class Snapshot:
    version: int | str
    timezone: ZoneInfo
    slots: Mapping[str, SlotSpec]
    line_items: Mapping[int, LineItemSpec]
    """The active line items that have creatives: the only ones that can serve."""
    creatives: Mapping[int, CreativeSpec]
    """Every creative by id: those of all line items given (any status) and house creatives."""
    index: Mapping[str, SlotIndex]
    plans: dict[tuple[object, ...], PagePlan] = field(
        default_factory=dict, compare=False, repr=False)
    """Page plans made so far (see :meth:`plan`)."""
    boundaries: tuple[float, ...] = ()
    """Every line item's start and end (POSIX timestamps), sorted: between two of them, no
    line item starts or ends."""
    static: dict[tuple[object, ...], dict[int, str | None]] = field(
        default_factory=dict, compare=False, repr=False)
    """Eligibility reasons that need no delivery counters, by the facts they depend on (see
    :meth:`static_reasons`)."""
    memo: dict[tuple[object, ...], object] = field(
        default_factory=dict, compare=False, repr=False)
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
        items = list(line_items)
        creatives: dict[int, CreativeSpec] = {}
        for item in items:
            for creative in item.creatives:
                creatives.setdefault(creative.id, creative)
        for creative in house_creatives:
            creatives[creative.id] = creative
        entries = sorted(
            (
                _entry(item, timezone)
                for item in items
                if item.status == "active" and item.creatives
            ),
            key=lambda entry: entry.order,
        )
        per_slot: dict[str, list[Entry]] = {code: [] for code in slot_map}
        for entry in entries:
            for code in entry.item.targeting.slots or slot_map:
                if code in per_slot:
                    per_slot[code].append(entry)
        index = {code: _slot_index(slot_map[code], per_slot[code]) for code in slot_map}
        boundaries = tuple(sorted({moment for entry in entries
                                   for moment in (entry.start, entry.end)}))
        return cls(
            version=version,
            timezone=timezone,
            slots=slot_map,
            line_items={entry.item.id: entry.item for entry in entries},
            creatives=creatives,
            index=index,
            boundaries=boundaries,
        )

    def bucket(self, slot_code: str, section: str | None) -> Bucket:
        """Every candidate for a slot on a page of ``section`` (empty for an unknown slot)."""
        slot_index = self.index.get(slot_code)
        return EMPTY_BUCKET if slot_index is None else slot_index.bucket(section)

    def plan(self, slot_codes: Sequence[str], section: str | None, device: str) -> PagePlan:
        """The slots a page decision runs, worked out once per slot list, section and device:
        the codes without duplicates, and each known, enabled one with its candidates for the
        device (:meth:`fitting`) and its size key."""
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
            plan = PagePlan(codes, tuple(planned))
            if len(self.plans) >= MAX_PLANS:  # slot lists may come from callers of /ads/decide
                self.plans.clear()
            self.plans[key] = plan
        return plan

    def static_reasons(self, request: PageRequest, now: float, weekday: int,
                       hour: int) -> dict[int, str | None]:
        """Where a page decision keeps each line item's schedule, day-parting, targeting and
        consent reason (``PageContext.static_reason``), shared by every page with the same
        facts: the request's targeting facts, whether it has a user key, the site-local
        weekday and hour, and where ``now`` falls among the line items' starts and ends. The
        reasons depend on nothing else, so pages alike decide against the same, filled in
        as line items are first checked."""
        key = (request.page_type, request.section, request.tags, request.device,
               tuple(sorted(request.key_values.items())) if request.key_values else (),
               request.path, request.user_key is None, weekday, hour,
               bisect.bisect_right(self.boundaries, now))
        reasons = self.static.get(key)
        if reasons is None:
            if len(self.static) >= MAX_PLANS:  # paths and key-values come from requests
                self.static.clear()
            reasons = self.static[key] = {}
        return reasons

    def fitting(self, slot_code: str, section: str | None, size_key: str) -> Bucket:
        """:meth:`bucket` without the line items (roadblocks aside) that have no creative for
        the slot's sizes under ``size_key`` (see :func:`size_key`): what a decision draws from.
        """
        slot_index = self.index.get(slot_code)
        return EMPTY_BUCKET if slot_index is None else slot_index.bucket(section, size_key)


def _aware(moment: datetime, timezone: ZoneInfo) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone)


@functools.lru_cache(maxsize=4096)
def _path_pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """fnmatch patterns (case-sensitive) as one expression; line items often share them."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def _entry(item: LineItemSpec, timezone: ZoneInfo) -> Entry:
    paths = _path_pattern(tuple(item.targeting.paths)) if item.targeting.paths else None
    return Entry(
        item=item,
        rank=(int(item.tier), item.priority),
        start=_aware(item.start, timezone).timestamp(),
        end=_aware(item.end, timezone).timestamp(),
        paths=paths,
        envelope=MAX_BOOST if item.goal is not None and item.pacing == "even" else 1.0,
    )


def _fits(
    sizes: Mapping[str, frozenset[Size]], item: LineItemSpec
) -> dict[str, tuple[CreativeSpec, ...]]:
    fits: dict[str, tuple[CreativeSpec, ...]] = {}
    for key, accepted in sizes.items():
        fitting = tuple(creative for creative in item.creatives if creative.size in accepted)
        if fitting:
            fits[key] = fitting
    return fits


def _slot_index(slot: SlotSpec, entries: list[Entry]) -> SlotIndex:
    untargeted: list[Candidate] = []
    by_section: dict[str, list[Candidate]] = {}
    sizes = {key: frozenset(accepted) for key, accepted in slot.sizes.items() if accepted}
    for entry in entries:
        fits = _fits(sizes, entry.item)
        if not fits and not entry.item.roadblock:
            continue
        candidate = Candidate(entry, fits)
        sections = entry.item.targeting.sections
        if not sections:
            untargeted.append(candidate)
        for section in sections:
            by_section.setdefault(section, []).append(candidate)
    return SlotIndex(
        untargeted=tuple(untargeted),
        by_section={section: tuple(members) for section, members in by_section.items()},
    )


def _order(candidate: Candidate) -> tuple[int, int, int]:
    return candidate.entry.order


def _bucket(candidates: Iterable[Candidate]) -> Bucket:
    """``candidates`` must come sorted by :attr:`Entry.order`."""
    everything = tuple(candidates)
    plain: list[Candidate] = []
    roadblocks: list[Candidate] = []
    for candidate in everything:
        (roadblocks if candidate.entry.item.roadblock else plain).append(candidate)
    return Bucket(groups=tuple(_groups(plain)), roadblocks=tuple(roadblocks),
                  everything=everything)


def _groups(candidates: list[Candidate]) -> Iterator[Group]:
    for rank, members in itertools.groupby(candidates, key=lambda c: c.entry.rank):
        yield Group.of(rank, members)
