"""Recorded traffic as the forecast reads it: ad requests per kind of page and site-local hour of
the week, averaged over the hours recorded.

An *ad request* is one page decision: the slots a page (or an ``/ads/decide`` call) asks for
together, each one slot opportunity. Its :class:`PageKind` holds what targeting reads of it,
bounded (``layoutserver.ads.forecast.folding`` says how). The model of the weeks to come is
seasonal by day of the week and hour of the day: the requests of a kind expected in a future
hour are the mean of that kind's requests over the recorded hours with the same site-local
weekday and hour (:meth:`TrafficProfile.expected`). No trend: a site growing fast is
forecast at its average over the weeks kept.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from layoutserver.ads.decisions.model import PageRequest

WEEK_HOURS = 7 * 24


class PageKind(NamedTuple):
    """What the traffic record keeps of one ad request: every fact targeting reads but the
    reader (``keyed`` says whether there was a user key) and the slug."""

    slots: tuple[str, ...]
    device: str
    section: str | None
    page_type: str
    keyed: bool
    """The reader had a user key (consent allowed one): frequency-capped line items may serve."""
    key_values: tuple[tuple[str, str], ...] = ()
    """Sorted by key."""
    tags: tuple[str, ...] = ()
    """Sorted."""
    path: str = "/"

    def request(self, now: datetime, user_key: str | None) -> PageRequest:
        """A page request of this kind, for the engine."""
        return PageRequest(slots=self.slots, now=now, device=self.device,
                           page_type=self.page_type, section=self.section,
                           tags=frozenset(self.tags), path=self.path,
                           key_values=dict(self.key_values), user_key=user_key)


def week_hour(moment: datetime, timezone: ZoneInfo) -> int:
    """The site-local hour of the week of ``moment``: 0 is Monday 00:00-01:00."""
    local = moment.astimezone(timezone)
    return local.weekday() * 24 + local.hour


def hours_per_week_hour(start: datetime, end: datetime, timezone: ZoneInfo) -> list[float]:
    """How much of ``[start, end)`` (``start`` at an hour boundary) falls on each site-local
    hour of the week, in hours (the last hour may be a part of one)."""
    counts = [0.0] * WEEK_HOURS
    seconds = max((end - start).total_seconds(), 0.0)
    hours, part = divmod(seconds, 3600)
    full_weeks, rest = divmod(int(hours), WEEK_HOURS)
    if full_weeks:
        counts = [float(full_weeks)] * WEEK_HOURS
        start += timedelta(hours=full_weeks * WEEK_HOURS)
    for n in range(rest):
        counts[week_hour(start + timedelta(hours=n), timezone)] += 1
    if part:
        counts[week_hour(start + timedelta(hours=rest), timezone)] += part / 3600
    return counts


@dataclass(frozen=True)
class HourMix:
    """The requests expected in one hour of the week: the kinds, and running totals of their
    expected requests (to draw a kind by bisection)."""

    kinds: tuple[PageKind, ...]
    cumulative: tuple[float, ...]
    _keyed: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    def keyed_by_device(self) -> dict[str, float]:
        """Expected requests with a user key, by device class (worked out once)."""
        if not self._keyed and self.kinds:
            for kind, count in self.counts().items():
                if kind.keyed:
                    self._keyed[kind.device] = self._keyed.get(kind.device, 0.0) + count
        return self._keyed

    @property
    def total(self) -> float:
        return self.cumulative[-1] if self.cumulative else 0.0

    def draw(self, point: float) -> PageKind:
        """The kind at ``point`` in ``[0, total)``."""
        index = bisect.bisect_right(self.cumulative, point)
        return self.kinds[min(index, len(self.kinds) - 1)]

    def counts(self) -> dict[PageKind, float]:
        """Each kind's expected requests."""
        before = (0.0, *self.cumulative[:-1])
        return {kind: total - earlier
                for kind, total, earlier in zip(self.kinds, self.cumulative, before, strict=True)}

    def split(self, accept: Callable[[PageKind], bool]) -> tuple[HourMix, HourMix]:
        """The kinds ``accept`` accepts, and the others."""
        counts = self.counts()
        inside = {kind: count for kind, count in counts.items() if accept(kind)}
        return HourMix.of(inside), HourMix.of({kind: count for kind, count in counts.items()
                                               if kind not in inside})

    @classmethod
    def of(cls, expected: Mapping[PageKind, float]) -> HourMix:
        kinds = tuple(kind for kind, count in expected.items() if count > 0)
        return cls(kinds, tuple(itertools.accumulate(expected[kind] for kind in kinds)))


EMPTY_MIX = HourMix((), ())


class TrafficProfile:
    """Requests per hour of the week and kind, summed over the recorded hours, and the number of
    recorded hours of each hour of the week (``hours``)."""

    def __init__(self, timezone: ZoneInfo, sums: Iterable[tuple[int, PageKind, int]],
                 hours: Sequence[float]) -> None:
        """``sums``: (hour of the week, kind, requests summed over the recorded hours);
        ``hours``: how many hours of each hour of the week were recorded (the hour under way
        counts as the part of it gone)."""
        if len(hours) != WEEK_HOURS:
            raise ValueError(f"hours: one count per hour of the week ({WEEK_HOURS})")
        self.timezone = timezone
        self.hours = tuple(hours)
        self._sums: list[dict[PageKind, int]] = [{} for _ in range(WEEK_HOURS)]
        for hour, kind, requests in sums:
            found = self._sums[hour]
            found[kind] = found.get(kind, 0) + requests
        self._mixes: dict[int, HourMix] = {}

    @property
    def recorded_hours(self) -> float:
        return sum(self.hours)

    def expected(self, hour: int) -> HourMix:
        """Requests expected in a coming hour ``hour`` of the week, by kind: the mean over the
        recorded hours of that weekday and hour; for one never recorded (less than a week of
        traffic), the mean over the recorded hours of that hour of the day on any weekday; for
        an hour of the day never recorded, the mean of every recorded hour."""
        mix = self._mixes.get(hour)
        if mix is None:
            mix = self._mixes[hour] = HourMix.of(self._mean(self._fallback(hour)))
        return mix

    def _fallback(self, hour: int) -> list[int]:
        if self.hours[hour]:
            return [hour]
        same_time = [h for h in range(hour % 24, WEEK_HOURS, 24) if self.hours[h]]
        return same_time or [h for h in range(WEEK_HOURS) if self.hours[h]]

    def _mean(self, hours: list[int]) -> dict[PageKind, float]:
        recorded = sum(self.hours[h] for h in hours)
        expected: dict[PageKind, float] = {}
        for h in hours:
            for kind, requests in self._sums[h].items():
                expected[kind] = expected.get(kind, 0.0) + requests / recorded
        return expected

    def mix_at(self, moment: datetime) -> HourMix:
        """:meth:`expected` for the site-local hour ``moment`` falls in."""
        if not self.recorded_hours:
            return EMPTY_MIX
        return self.expected(week_hour(moment, self.timezone))
