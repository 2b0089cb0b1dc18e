"""The simulation: sampled ad requests decided one after the other by the engine's own
``decide_page``, each impression recorded as delivered (``weight`` times), so that goals, caps
and pacing work on the counts they would see.

Every run of one forecast decides the same samples (moments, kinds, readers), and each sample's
lottery draws from a random source seeded by the sample's number (:class:`SampleRandom`): a
page the proposal does not touch is decided alike in the runs with and without it, unless the
counts it reads differ. The differences between runs are then the proposal's doing, not noise.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from layoutserver.ads.decisions.context import PageContext
from layoutserver.ads.decisions.engine import decide_page
from layoutserver.ads.decisions.entries import Entry
from layoutserver.ads.decisions.model import LineItemSpec, PageRequest
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.decisions.state import InMemoryDeliveryState

from .proposal import entry_of
from .sampling import SamplePlan

_MASK = (1 << 64) - 1


class SampleRandom(random.Random):
    """A random source reseeded per sample at little cost (``random.Random.seed`` costs ten
    microseconds): SplitMix64, which is plenty for lotteries."""

    def __init__(self, seed: int = 0) -> None:
        self._state = seed & _MASK
        super().__init__(seed)

    def seed(self, a: object = None, version: int = 2) -> None:
        self._state = hash(a) & _MASK

    def random(self) -> float:
        self._state = state = (self._state + 0x9E3779B97F4A7C15) & _MASK
        mixed = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        mixed = ((mixed ^ (mixed >> 27)) * 0x94D049BB133111EB) & _MASK
        return ((mixed ^ (mixed >> 31)) >> 11) * (1.0 / (1 << 53))

    def getstate(self) -> tuple[int, ...]:
        return (self._state,)

    def setstate(self, state: tuple[int, ...]) -> None:
        self._state = state[0]


@dataclass(frozen=True)
class Delivered:
    """A line item's counts when the simulation starts: lifetime, today, this hour."""

    impressions: tuple[int, int, int] = (0, 0, 0)
    clicks: tuple[int, int, int] = (0, 0, 0)


@dataclass
class Outcome:
    """What one run delivered, per line item and site-local day (impressions, in requests:
    samples times their weight)."""

    impressions: dict[int, dict[date, float]] = field(default_factory=dict)
    samples_won: dict[int, int] = field(default_factory=dict)
    """Slots each line item won among the samples (how many samples its figures rest on)."""
    matched: dict[date, float] = field(default_factory=dict)
    """Slot opportunities the watched line item's targeting matched, per day (see
    :func:`simulate`)."""

    def total(self, line_item_id: int) -> float:
        return sum(self.impressions.get(line_item_id, {}).values())


def seeded_state(snapshot: Snapshot, now: datetime,
                 delivered: Mapping[int, Delivered]) -> InMemoryDeliveryState:
    """A delivery state holding what was delivered before ``now``: each count put where the
    engine's questions find it (before today, earlier today, this hour)."""
    state = InMemoryDeliveryState(snapshot.timezone)
    local = now.astimezone(snapshot.timezone)
    hour = local.replace(minute=0, second=0, microsecond=0)
    day = datetime.combine(local.date(), time(), tzinfo=local.tzinfo)
    moments = (day - timedelta(hours=1), day, hour)
    for item_id, counts in delivered.items():
        for record, (lifetime, today, this_hour) in ((state.record_impression, counts.impressions),
                                                     (state.record_click, counts.clicks)):
            parts = (lifetime - today, today - this_hour, this_hour)
            for moment, count in zip(moments, parts, strict=True):
                if count > 0:
                    record(item_id, None, moment, count)
    return state


def simulate(snapshot: Snapshot, plan: SamplePlan, state: InMemoryDeliveryState,
             click_rates: Mapping[int, float], seed: int,
             watch: LineItemSpec | None = None) -> Outcome:
    """Decide every sample of ``plan`` in order, recording impressions (and, for line items
    in ``click_rates``, clicks at their rate) in ``state``. With ``watch`` (a line item of
    ``snapshot``), also count the slot opportunities its schedule, day-parts, targeting and
    consent allow and its creatives fit: what it *matched*."""
    outcome = Outcome()
    rng = SampleRandom()
    impressions = outcome.impressions
    won = outcome.samples_won
    watched = entry_of(snapshot, watch) if watch is not None else None
    for number, sample in enumerate(plan.samples):
        rng.seed(seed * 1_000_003 + number)
        weight = sample.weight
        request = sample.kind.request(sample.at, sample.user_key)
        if watched is not None:
            _match(snapshot, request, state, watched, sample.day, weight, outcome)
        decision = decide_page(snapshot, request, state, rng)
        for slot in decision.slots.values():
            item_id = slot.line_item_id
            if item_id is None:
                continue
            state.record_impression(item_id, sample.user_key, sample.at, weight)
            rate = click_rates.get(item_id)
            if rate:
                state.record_click(item_id, None, sample.at, weight * rate)
            by_day = impressions.get(item_id)
            if by_day is None:
                by_day = impressions[item_id] = {}
            by_day[sample.day] = by_day.get(sample.day, 0.0) + weight
            won[item_id] = won.get(item_id, 0) + 1
    return outcome


def _match(snapshot: Snapshot, request: PageRequest, state: InMemoryDeliveryState,
           watched: Entry, day: date, weight: float, outcome: Outcome) -> None:
    """Add the slot opportunities of ``request`` that ``watched`` matches (the engine's own
    static eligibility check, then a creative of a size the slot takes on this device)."""
    page = PageContext(snapshot, request, state)
    if page.static_reason(watched) is not None:
        return
    targeted = watched.item.targeting.slots
    fitting = 0
    for planned in snapshot.plan(request.slots, request.section, request.device).slots:
        if targeted and planned.slot.code not in targeted:
            continue
        sizes = planned.slot.sizes.get(planned.size_key, ())
        if any(creative.size in sizes for creative in watched.item.creatives):
            fitting += 1
    if fitting:
        outcome.matched[day] = outcome.matched.get(day, 0.0) + fitting * weight
