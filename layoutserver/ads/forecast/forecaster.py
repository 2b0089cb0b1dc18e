"""A forecast: three runs of the simulation over the same sampled requests, from now to the end
of the proposed flight.

1. **without** the proposal: what every booked line item delivers as things stand;
2. **booked**: with the proposal as proposed (its goal, pacing, weight): what it would deliver
   (*forecast*), and what each booked line item delivers beside it; the difference from run 1
   is what that line item would *lose*;
3. **open**: with the proposal's open variant (weight 0, no goal, ``asap``;
   :func:`~.proposal.open_variant`): what is *available* to it, i.e. what the line items of its
   rank and above leave of what its targeting, day-parts, caps and sizes allow; and what it
   *matched* (the slot opportunities its targeting and sizes allow, whoever fills them).

The goal is *reachable* when the booked run's forecast meets it: over the flight for a
lifetime goal, on every whole day of the flight for a daily one (:data:`SHORT_BY` absorbs the
fraction of an impression even pacing keeps in hand).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from layoutserver.ads.decisions.model import LineItemSpec
from layoutserver.ads.decisions.snapshot import Snapshot

from .focus import focus_of
from .proposal import OPEN_ID, flight, open_variant, with_line_item
from .sampling import SamplePlan, sample_requests
from .simulation import Delivered, Outcome, SampleRandom, seeded_state, simulate
from .traffic import TrafficProfile

SHORT_BY = 0.01
"""A forecast within this share under the goal still reaches it."""


@dataclass(frozen=True)
class Settings:
    samples: int = 1500
    """Sampled ad requests per run (the forecast's cost is about three times this many page
    decisions)."""
    pages_per_reader: float = 3.0
    """Ad requests a reader makes a day (the reader model of :mod:`.sampling`)."""
    seed: int = 0


@dataclass(frozen=True)
class Day:
    day: date
    requests: float
    """Ad requests expected that day (site-wide)."""
    matched: float
    available: float
    forecast: float


@dataclass(frozen=True)
class Competitor:
    line_item: LineItemSpec
    without: float
    """Its forecast delivery up to the proposal's end without the proposal."""
    beside: float
    """The same with the proposal booked."""

    @property
    def loss(self) -> float:
        return self.without - self.beside


@dataclass(frozen=True)
class Forecast:
    proposal: LineItemSpec
    start: datetime
    """When the forecast starts: the proposal's start, or now if that is later."""
    end: datetime
    days: tuple[Day, ...]
    competitors: tuple[Competitor, ...]
    """Booked line items that would deliver less, the largest loss first."""
    delivery: Mapping[int, float]
    """Every line item's forecast delivery from now to the end, with the proposal booked (the
    proposal's too)."""
    margin: float
    """About two standard errors of the forecast delivery from sampling (impressions)."""
    reachable: bool | None
    """None without a goal."""
    short_days: tuple[date, ...]
    """Days a daily goal is not met."""
    samples: int
    weight: float
    """Ad requests one sample stands for where the proposal may serve (elsewhere, more)."""
    click_rate: float
    """The click rate a click goal is forecast with."""

    @property
    def matched(self) -> float:
        return sum(day.matched for day in self.days)

    @property
    def available(self) -> float:
        return sum(day.available for day in self.days)

    @property
    def forecast(self) -> float:
        return sum(day.forecast for day in self.days)


def forecast(snapshot: Snapshot, profile: TrafficProfile, proposal: LineItemSpec, now: datetime,
             delivered: Mapping[int, Delivered], click_rates: Mapping[int, float],
             default_click_rate: float, settings: Settings = Settings()) -> Forecast:
    """Forecast ``proposal`` (id ``PROPOSAL_ID``, active, with stand-in creatives) booked into
    ``snapshot`` at ``now``. ``delivered``: line items' counts so far; ``click_rates``: the
    clicks per impression of line items with a click goal (``default_click_rate`` for those
    without one)."""
    start, end = flight(proposal, snapshot)
    if end <= now:
        raise ValueError("the proposed flight ends before now: nothing to forecast")
    begin = max(start, now)
    # memos of the forecast's own: the simulated pages would crowd out those of served pages
    base = snapshot.with_line_items((), f"{snapshot.version}+forecast")
    booked_snapshot = with_line_item(base, proposal)
    plan = sample_requests(profile, now, end, settings.samples, settings.pages_per_reader,
                           SampleRandom(settings.seed), focus_of(booked_snapshot, proposal))
    click_rate = click_rates.get(proposal.id, default_click_rate)
    # a click goal's line item without a rate of its own (new) clicks at the network's
    rates = {item.id: click_rates.get(item.id, default_click_rate)
             for item in (*snapshot.line_items.values(), proposal) if _clicks(item)}

    def run(booked: Snapshot, watch: LineItemSpec | None = None) -> Outcome:
        return simulate(booked, plan, seeded_state(snapshot, now, delivered), rates,
                        settings.seed, watch=watch)

    without = run(base)
    booked = run(booked_snapshot)
    opened_item = open_variant(proposal)
    opened = run(with_line_item(base, opened_item), watch=opened_item)
    days = _days(plan, begin, end, snapshot, booked.impressions.get(proposal.id, {}),
                 opened.impressions.get(OPEN_ID, {}), opened.matched)
    total = sum(day.forecast for day in days)
    weight = min((sample.weight for sample in plan.samples), default=1.0)
    won = booked.samples_won.get(proposal.id, 0)
    reachable, short = _reachable(proposal, days, total, click_rate, begin, end,
                                  snapshot.timezone)
    return Forecast(
        proposal=proposal, start=begin, end=end, days=days,
        competitors=_competitors(snapshot, without, booked, weight),
        delivery={item_id: booked.total(item_id) for item_id in booked.impressions},
        margin=2 * total / math.sqrt(won) if won else weight,
        reachable=reachable, short_days=short, samples=len(plan.samples),
        weight=weight, click_rate=click_rate,
    )


def _clicks(item: LineItemSpec) -> bool:
    return item.goal is not None and item.goal.metric == "clicks"


def _days(plan: SamplePlan, begin: datetime, end: datetime, snapshot: Snapshot,
          forecast: Mapping[date, float], available: Mapping[date, float],
          matched: Mapping[date, float]) -> tuple[Day, ...]:
    zone = snapshot.timezone
    first = begin.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    days = []
    day = first
    while day <= last:
        days.append(Day(day, plan.expected.get(day, 0.0), matched.get(day, 0.0),
                        available.get(day, 0.0), forecast.get(day, 0.0)))
        day += timedelta(days=1)
    return tuple(days)


def _reachable(proposal: LineItemSpec, days: tuple[Day, ...], total: float, click_rate: float,
               begin: datetime, end: datetime, zone: tzinfo) -> tuple[bool | None,
                                                                     tuple[date, ...]]:
    """Whether the forecast meets the goal, and the days it falls short of a daily goal (the
    whole days of the flight; a flight of no whole day: its days)."""
    goal = proposal.goal
    if goal is None:
        return None, ()
    rate = click_rate if goal.metric == "clicks" else 1.0
    need = goal.amount * (1 - SHORT_BY)
    if goal.period == "lifetime":
        return total * rate >= need, ()
    whole = [day for day in days
             if datetime.combine(day.day, time(), zone) >= begin
             and datetime.combine(day.day + timedelta(days=1), time(), zone) <= end]
    short = tuple(day.day for day in whole or days if day.forecast * rate < need)
    return not short, short


def _competitors(snapshot: Snapshot, without: Outcome, booked: Outcome,
                 weight: float) -> tuple[Competitor, ...]:
    found = []
    for item_id, item in snapshot.line_items.items():
        before, after = without.total(item_id), booked.total(item_id)
        if before - after >= weight:  # at least one sample's worth
            found.append(Competitor(item, before, after))
    found.sort(key=lambda c: (-c.loss, c.line_item.id))
    return tuple(found)
