"""Sampled ad requests of the hours to come: what the simulation decides.

The requests expected from the traffic profile over ``[start, end)`` are sampled, at most
``budget`` of them. Each sample stands for the same number of requests (its ``weight``), with
one exception: when the requests in *focus* (the kinds and hours a proposal's targeting, flight
and day-parts match) are less than :data:`FOCUS_BELOW` of the whole, they get
:data:`FOCUS_SHARE` of the samples, so a proposal matching 2 % of the traffic is forecast from
half the samples rather than 2 % of them; the rest keeps every other line item's pacing and
goals moving. Inside an hour the samples are spread over its kinds systematically (a random
offset, then evenly along the running totals of the kinds' expected requests), so a kind gets
its share without the noise of independent draws; each gets a random moment of the hour.

**Readers.** Frequency caps count a reader's impressions, so each sample with a user key gets a
sampled reader. The model: a reader makes ``pages_per_reader`` ad requests a day on average, on
one device class, spread at random over the site's requests of that day (so over the kinds of
page in proportion to their traffic); readers come back every day. Sampling requests at a rate
samples readers at that rate: a day's sampled requests of a device class are shared at random
by ``readers x rate`` sampled readers, each standing for ``weight`` readers alike (its
impressions count once for its caps, ``weight`` times for goals). With a focus sampled apart,
each part has readers of its own: a line item serving in both sees a reader's impressions of
one part only, so its caps bind a little later than they would (by at most the focus's share
of its readers' requests, under :data:`FOCUS_BELOW`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from .traffic import HourMix, PageKind, TrafficProfile

HOUR = timedelta(hours=1)
FOCUS_BELOW = 0.1
FOCUS_SHARE = 0.5



@dataclass(frozen=True)
class Focus:
    """The requests in focus: of the kinds ``kinds`` accepts, in the hours ``hours`` accepts
    (given each hour's start)."""

    kinds: Callable[[PageKind], bool]
    hours: Callable[[datetime], bool]


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    day: date
    """The site-local day of ``at``."""
    kind: PageKind
    weight: float
    """Requests it stands for."""
    user_key: str | None = None


@dataclass(frozen=True)
class SamplePlan:
    samples: tuple[Sample, ...]
    """In time order."""
    expected: dict[date, float]
    """Requests expected per site-local day (the whole of them, not the samples')."""


@dataclass
class _Stratum:
    hours: list[tuple[datetime, float, HourMix]]
    """Each hour's start (or ``start``), covered seconds and expected requests by kind."""

    @property
    def total(self) -> float:
        return sum(mix.total * span / 3600 for _, span, mix in self.hours)


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def sample_requests(profile: TrafficProfile, start: datetime, end: datetime, budget: int,
                    pages_per_reader: float, rng: random.Random,
                    focus: Focus | None = None) -> SamplePlan:
    """Sample the requests of ``[start, end)`` (aware datetimes)."""
    if budget < 1 or pages_per_reader <= 0:
        raise ValueError("budget and pages_per_reader must be positive")
    timezone = profile.timezone
    strata = (_Stratum([]), _Stratum([]))  # in focus, the rest
    expected: dict[date, float] = {}
    keyed: dict[tuple[date, str], float] = {}
    splits: dict[int, tuple[HourMix, HourMix]] = {}  # by mix: the profile keeps each one
    moment = floor_hour(start.astimezone(UTC))  # whole UTC hours, as traffic is recorded
    while moment < end:
        begin = max(moment, start)
        span = (min(moment + HOUR, end) - begin).total_seconds()
        mix = profile.mix_at(moment)
        if mix.total > 0:
            day = begin.astimezone(timezone).date()
            expected[day] = expected.get(day, 0.0) + mix.total * span / 3600
            for device, requests in mix.keyed_by_device().items():
                keyed[(day, device)] = keyed.get((day, device), 0.0) + requests * span / 3600
            if focus is None or not focus.hours(moment):
                strata[1].hours.append((begin, span, mix))
            else:
                split = splits.get(id(mix))
                if split is None:
                    split = splits[id(mix)] = mix.split(focus.kinds)
                strata[0].hours.append((begin, span, split[0]))
                strata[1].hours.append((begin, span, split[1]))
        moment += HOUR
    focused, rest = strata[0].total, strata[1].total
    if focused + rest <= 0:
        return SamplePlan((), expected)
    share = focused / (focused + rest)
    if 0 < share < FOCUS_BELOW:
        share = FOCUS_SHARE
    else:  # one rate for every request: the strata are one
        strata = (_Stratum([]), _Stratum([*strata[0].hours, *strata[1].hours]))
        strata[1].hours.sort(key=lambda hour: hour[0])
        focused, rest, share = 0.0, focused + rest, 0.0
    samples: list[Sample] = []
    quota = budget * share
    for stratum, total in ((strata[0], focused), (strata[1], rest)):
        if total > 0 and quota >= 1:
            rate = min(1.0, quota / total)
            readers = {key: max(1, round(requests / pages_per_reader * rate))
                       for key, requests in keyed.items()}
            samples.extend(_stratum(stratum, rate, readers, rng, timezone))
        quota = budget - len(samples)  # what the focus could not use goes to the rest
    samples.sort(key=lambda sample: sample.at)
    return SamplePlan(tuple(samples), expected)


def _stratum(stratum: _Stratum, rate: float, readers: dict[tuple[date, str], int],
             rng: random.Random, timezone: object) -> list[Sample]:
    samples: list[Sample] = []
    carried = rng.random()
    for begin, span, mix in stratum.hours:
        wanted = mix.total * span / 3600 * rate
        count = math.floor(carried + wanted)
        carried += wanted - count
        if count:
            day = begin.astimezone(timezone).date()  # type: ignore[arg-type]
            samples.extend(_hour(mix, day, begin, span, count, 1 / rate, rng))
    return _with_readers(samples, readers, rng)


def _hour(mix: HourMix, day: date, begin: datetime, span: float, count: int, weight: float,
          rng: random.Random) -> list[Sample]:
    offset, total = rng.random(), mix.total
    picks = [mix.draw((offset + n) / count * total) for n in range(count)]
    moments = sorted(rng.random() * span for _ in range(count))
    rng.shuffle(picks)
    return [Sample(begin + timedelta(seconds=seconds), day, kind, weight)
            for seconds, kind in zip(moments, picks, strict=True)]


def _with_readers(samples: list[Sample], readers: dict[tuple[date, str], int],
                  rng: random.Random) -> list[Sample]:
    """Give each sample with a user key one of its day's and device class's ``readers``."""
    out = []
    for sample in samples:
        kind = sample.kind
        if kind.keyed:
            reader = rng.randrange(readers[(sample.day, kind.device)])
            sample = replace(sample, user_key=f"{kind.device}-{reader}")
        out.append(sample)
    return out
