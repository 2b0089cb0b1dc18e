"""Delivery counters in memory: for tests, simulations and the bench.

Counts are kept per site-local hour (not as a list of events), with running totals, so "since"
queries cost a binary search whatever the traffic. Answers are exact for a ``since`` at a
site-local hour boundary — the start of an hour, a day or an ISO week, which is all the engine
asks; an hour bucket that started before ``since`` is not counted.

A forecast's simulation (``layoutserver.ads.forecast``) records sampled page views, each standing
for many: an impression may count as more than one (``count``, not necessarily whole), while the
sampled reader's own count still goes up by one (the sample's reader stands for that many
readers alike). Counts are answered in whole impressions, rounded down.
"""

from __future__ import annotations

import bisect
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from .model import GoalMetric

K = TypeVar("K")


class _Series:
    """Counts per hour bucket: bucket starts (ascending) and running totals."""

    __slots__ = ("starts", "totals")

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.totals: list[float] = []

    def add(self, start: float, count: float) -> None:
        starts, totals = self.starts, self.totals
        if starts and starts[-1] == start:
            totals[-1] += count
            return
        if not starts or start > starts[-1]:
            starts.append(start)
            totals.append((totals[-1] if totals else 0) + count)
            return
        # Out of order (rare): insert or add, then shift the running totals after it.
        index = bisect.bisect_left(starts, start)
        if starts[index] != start:
            starts.insert(index, start)
            totals.insert(index, totals[index - 1] if index else 0)
        for later in range(index, len(totals)):
            totals[later] += count

    def since(self, moment: float | None) -> int:
        if not self.totals:
            return 0
        total = self.totals[-1]
        if moment is not None:
            index = bisect.bisect_left(self.starts, moment)
            total -= self.totals[index - 1] if index else 0
        return int(total + 1e-9)  # whole impressions; the margin absorbs float sums


class InMemoryDeliveryState:
    """A :class:`~layoutserver.ads.decisions.model.DeliveryState` kept in dicts."""

    def __init__(self, timezone: ZoneInfo) -> None:
        self.timezone = timezone
        self._delivered: dict[tuple[int, GoalMetric], _Series] = {}
        self._users: dict[tuple[str, int], _Series] = {}

    def _bucket(self, at: datetime) -> float:
        if at.tzinfo is None:
            raise ValueError("delivery times must be aware datetimes")
        local = at.astimezone(self.timezone)
        into_hour = local.minute * 60 + local.second + local.microsecond / 1_000_000
        return at.timestamp() - into_hour

    @staticmethod
    def _add(table: dict[K, _Series], key: K, start: float, count: float = 1) -> None:
        series = table.get(key)
        if series is None:
            series = table[key] = _Series()
        series.add(start, count)

    @staticmethod
    def _count(table: dict[K, _Series], key: K, since: datetime | None) -> int:
        series = table.get(key)
        if series is None:
            return 0
        return series.since(None if since is None else since.timestamp())

    def record_impression(self, line_item_id: int, user_key: str | None, at: datetime,
                          count: float = 1) -> None:
        """An impression, counted ``count`` times for the line item (a simulation's sample)
        and once for ``user_key``."""
        start = self._bucket(at)
        self._add(self._delivered, (line_item_id, "impressions"), start, count)
        if user_key is not None:
            self._add(self._users, (user_key, line_item_id), start)

    def record_click(self, line_item_id: int, user_key: str | None, at: datetime,
                     count: float = 1) -> None:
        """A click; ``user_key`` is accepted for symmetry (caps count impressions only)."""
        self._add(self._delivered, (line_item_id, "clicks"), self._bucket(at), count)

    def record_viewable(self, line_item_id: int, at: datetime) -> None:
        """A viewable impression (its beacon's time: it counts toward a ``viewable`` goal)."""
        self._add(self._delivered, (line_item_id, "viewable"), self._bucket(at))

    def delivered(self, line_item_id: int, metric: GoalMetric, since: datetime | None) -> int:
        return self._count(self._delivered, (line_item_id, metric), since)

    def user_impressions(self, user_key: str, line_item_id: int, since: datetime | None) -> int:
        return self._count(self._users, (user_key, line_item_id), since)
