"""A line item as the snapshot indexes it (:class:`Entry`), and as a candidate for one slot
(:class:`Candidate`): what the engine needs precomputed, worked out once per line item (and
slot) when it is indexed, never per page."""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from .lottery import MIN_WEIGHT
from .model import CreativeSpec, LineItemSpec, Size, SlotSpec
from .pacing import MAX_BOOST

Rank = tuple[int, int]
"""``(tier, priority)``: lower is better."""
Order = tuple[int, int, int]
"""``(tier, priority, line item id)``: the order candidates are kept in."""

ANY_DEVICE = "*"


@dataclass(frozen=True, slots=True, eq=False)
class Entry:
    """A line item with what the engine needs precomputed: its rank, its flight as POSIX
    timestamps and its path patterns compiled into one regular expression."""

    item: LineItemSpec
    rank: Rank
    order: Order
    start: float
    end: float
    paths: re.Pattern[str] | None
    envelope: float
    """The largest factor pacing may multiply its weight by: ``MAX_BOOST`` for an even line
    item with a goal, else 1."""
    draw_weight: float
    """Its weight (at least ``MIN_WEIGHT``) times its envelope: its share of a group's
    draws (see ``engine._sample``)."""
    per_page: bool
    """It targets tags or paths: facts of one page, checked per page
    (``PageContext.static_reason``)."""

    def targets(self, slot_code: str) -> bool:
        """Whether it targets the slot ``slot_code`` (naming no slot: every slot)."""
        slots = self.item.targeting.slots
        return not slots or slot_code in slots


@dataclass(frozen=True, slots=True, eq=False)
class Candidate:
    """A line item as a candidate for one slot."""

    entry: Entry
    fits: Mapping[str, tuple[CreativeSpec, ...]]
    """Creatives of a size the slot accepts, by the key of ``SlotSpec.sizes`` (a device class
    or ``"*"``); keys without a fitting creative are absent, and so are the keys of devices
    its targeting leaves out (it can never serve there)."""


def size_key(slot: SlotSpec, device: str) -> str:
    """The key of ``slot.sizes`` that :meth:`SlotSpec.sizes_for` reads for ``device``."""
    return device if slot.sizes.get(device) else ANY_DEVICE


def _aware(moment: datetime, timezone: ZoneInfo) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone)


@functools.lru_cache(maxsize=4096)
def _path_pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """fnmatch patterns (case-sensitive) as one expression; line items often share them."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


@functools.lru_cache(maxsize=1024)
def _rank(tier: int, priority: int) -> Rank:
    """One tuple per rank, shared by its line items."""
    return (tier, priority)


def make_entry(item: LineItemSpec, timezone: ZoneInfo) -> Entry:
    """Naive ``start``/``end`` datetimes are taken as site-local time (the time zone the
    trafficker thinks in)."""
    paths = _path_pattern(tuple(item.targeting.paths)) if item.targeting.paths else None
    envelope = MAX_BOOST if item.goal is not None and item.pacing == "even" else 1.0
    rank = _rank(int(item.tier), item.priority)
    return Entry(
        item=item,
        rank=rank,
        order=(rank[0], rank[1], item.id),
        start=_aware(item.start, timezone).timestamp(),
        end=_aware(item.end, timezone).timestamp(),
        paths=paths,
        envelope=envelope,
        draw_weight=max(item.weight, MIN_WEIGHT) * envelope,
        per_page=bool(item.targeting.tags) or paths is not None,
    )


def servable(item: LineItemSpec) -> bool:
    """Only active line items with creatives can serve; the snapshot indexes no other."""
    return item.status == "active" and bool(item.creatives)


class Fitter:
    """Which creatives of a line item fit one slot's sizes, by size key."""

    def __init__(self, slot: SlotSpec) -> None:
        accepts: dict[Size, list[str]] = {}
        for key, accepted in slot.sizes.items():
            for size in dict.fromkeys(accepted):
                accepts.setdefault(size, []).append(key)
        self._accepts = {size: tuple(keys) for size, keys in accepts.items()}
        self._keys = tuple(key for key, accepted in slot.sizes.items() if accepted)
        self._named = frozenset(self._keys) - {ANY_DEVICE}

    def fits(self, item: LineItemSpec) -> dict[str, tuple[CreativeSpec, ...]]:
        found: dict[str, list[CreativeSpec]] = {}
        accepts = self._accepts
        for creative in item.creatives:
            for key in accepts.get(creative.size, ()):
                found.setdefault(key, []).append(creative)
        # in the order of the slot's keys, as a reader of ``SlotSpec.sizes`` expects; a line
        # item's own tuple where all its creatives fit
        every = item.creatives
        return {key: every if len(found[key]) == len(every) else tuple(found[key])
                for key in self._keys if key in found}

    def _serves(self, key: str, devices: frozenset[str]) -> bool:
        """Whether a line item targeting ``devices`` may serve on a device whose size key is
        ``key``: a device class named in the slot's sizes, or ``"*"`` for all the others."""
        return key in devices if key != ANY_DEVICE else not devices <= self._named

    def candidate(self, entry: Entry) -> Candidate | None:
        """``entry`` as a candidate for the slot; None when it cannot fill the slot at all (no
        fitting creative) and is not a roadblock (which must be seen failing)."""
        item = entry.item
        fits = self.fits(item)
        if not fits and not item.roadblock:
            return None
        devices = item.targeting.devices
        if devices:  # listed (explain says why it never serves there), never drawn
            fits = {key: found for key, found in fits.items() if self._serves(key, devices)}
        return Candidate(entry, fits)
