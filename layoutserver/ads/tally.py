"""Where counts go and where the engine reads them: Redis when the app has one and it answers,
the database otherwise.

With Redis every count is one atomic script (guard, counters, cap counts) acknowledged only
after Redis applied it; a background flush copies the counters and their guards into the
database (``layoutserver.ads.flush``). While Redis is unreachable (or its epoch waits for its
guards to be restored) a count is queued in the database (``ad_pending_counts``), committed
before the response; the next flush after Redis answers again applies it through Redis's replay
guard, so Redis alone decides whether a token counts and none counts twice. Without Redis at
all, a count is a database transaction committed before the response (the embedded default).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select

from layoutserver.ads.counting import Kind, Tracked, queue, record
from layoutserver.ads.decisions.model import PageRequest
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.delivery import DatabaseDeliveryState, GoalCounts
from layoutserver.ads.models import TokenUse
from layoutserver.ads.redis_counts import EpochMoved, NotReady, RedisCounts
from layoutserver.ads.redis_delivery import RedisDeliveryState
from layoutserver.db import Database
from layoutserver.redis_store import ERRORS

log = logging.getLogger(__name__)

Counted = Callable[[Kind, Tracked], None]
RECORD_ERRORS: tuple[type[BaseException], ...] = (*ERRORS, EpochMoved)


class Tally:
    def __init__(
        self, database: Database, redis: RedisCounts | None,
        line_item_end: Callable[[int], datetime | None],
    ) -> None:
        """``line_item_end(id)``: when a line item ends (how long a reader's cap counts of it
        are kept in Redis)."""
        self.database = database
        self.redis = redis
        self.goal_counts = GoalCounts()
        self._line_item_end = line_item_end
        self.listeners: list[Counted] = []
        """Called after each count (metrics)."""

    def _redis_up(self) -> RedisCounts | None:
        redis = self.redis
        return redis if redis is not None and redis.store.breaker.closed() else None

    def record(self, kind: Kind, tracked: Tracked, now: datetime) -> bool:
        """Count ``tracked`` once for ``kind``, durably, before returning; False (nothing
        counted) for a replay."""
        counted = self._record(kind, tracked, now)
        if counted:
            for listener in self.listeners:
                listener(kind, tracked)
        return counted

    def record_all(self, kind: Kind, tracked: Iterable[Tracked], now: datetime) -> None:
        for one in tracked:
            self.record(kind, one, now)

    def _record(self, kind: Kind, tracked: Tracked, now: datetime) -> bool:
        redis = self._redis_up()
        if redis is not None:
            until = self._line_item_end(tracked.line_item_id) if tracked.user_key else None
            try:
                try:
                    return redis.record(kind, tracked, now, until)
                except NotReady:
                    if not self._nothing_to_restore(redis):
                        raise
                    return redis.record(kind, tracked, now, until)
            except NotReady:
                pass  # queued below; the flush restores the guards, then applies it
            except RECORD_ERRORS as error:
                redis.store.breaker.trip(error)
        with self.database.session() as session:
            if self.redis is None:
                return record(session, kind, tracked, now)
            return queue(session, kind, tracked, now)

    def _nothing_to_restore(self, redis: RedisCounts) -> bool:
        """A new epoch with no guards in the database to restore (a new Redis, or a new
        deployment) is ready at once: marks it so and answers True."""
        with self.database.session() as session:
            if session.execute(select(TokenUse.token_id).limit(1)).first() is not None:
                return False
        redis.mark_ready(redis.epoch())
        return True

    def delivery_state(
        self, snapshot: Snapshot, request: PageRequest, new_reader: bool
    ) -> DatabaseDeliveryState:
        redis = self._redis_up()
        if redis is not None:
            return RedisDeliveryState(self.database, redis, snapshot, request, new_reader,
                                      self.goal_counts)
        return DatabaseDeliveryState(self.database, snapshot, request, new_reader,
                                     self.goal_counts)
