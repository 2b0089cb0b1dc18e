"""The delivery state when the counters are in Redis (``layoutserver.ads.redis_counts``).

Goal counts are the database's rows of every other source (counts made while Redis was
unreachable, epochs before a Redis lost its data) plus this epoch's Redis counters, which are
exact across hosts the moment a beacon is acknowledged. A reader's cap counts come from Redis.
If Redis fails during a decision, the breaker trips and the rest of the decision reads the
database alone. If the database fails, the rows of other sources this process read last are
used, so pages keep their ads while it is away.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from layoutserver.ads.decisions.model import PageRequest
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.delivery import NO_SOURCE, DatabaseDeliveryState, GoalCounts
from layoutserver.ads.redis_counts import RedisCounts
from layoutserver.db import Database
from layoutserver.redis_store import ERRORS


class RedisDeliveryState(DatabaseDeliveryState):
    def __init__(
        self, database: Database, counts: RedisCounts, snapshot: Snapshot,
        request: PageRequest, new_reader: bool = False, goal_counts: GoalCounts | None = None,
    ) -> None:
        super().__init__(database, snapshot, request, new_reader, goal_counts)
        self._counts = counts

    def _read_goals(self, skip_source: str = NO_SOURCE) -> dict[int, tuple[int, ...]]:
        breaker = self._counts.store.breaker
        if breaker.closed():
            try:
                # Redis first: the read checks the epoch (and learns a new one), then the
                # database rows of every other source.
                live = self._counts.goal_counts(self._goal_ids, self._request.now)
                kept = self._read_kept(self._counts.epoch())
            except ERRORS as error:
                breaker.trip(error)
            else:
                return {item: _add(kept.get(item), counts) for item, counts in live.items()}
        return super()._read_goals()

    def _read_kept(self, epoch: str) -> dict[int, tuple[int, ...]]:
        """The database rows of every source but ``epoch``; while the database is unreachable,
        what this process last read of them (pages keep their ads; goals lag meanwhile)."""
        try:
            kept = super()._read_goals(skip_source=epoch)
        except SQLAlchemyError:
            last = self._counts.last_kept.get(epoch, {})
            return {item: last[item] for item in self._goal_ids if item in last}
        self._counts.last_kept.setdefault(epoch, {}).update(kept)
        return kept

    def _load_users(self, user_key: str) -> dict[int, tuple[int, ...]]:
        breaker = self._counts.store.breaker
        if breaker.closed():
            try:
                return self._counts.user_counts(user_key, self._cap_ids, self._request.now)
            except ERRORS as error:
                breaker.trip(error)
        return super()._load_users(user_key)


def _add(first: tuple[int, ...] | None, second: tuple[int, ...]) -> tuple[int, ...]:
    if first is None:
        return second
    return tuple(a + b for a, b in zip(first, second, strict=True))
