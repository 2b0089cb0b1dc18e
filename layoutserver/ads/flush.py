"""Copying the Redis counters into the database, periodically and idempotently.

A flush reads each hour window this epoch has counts for (``w:H``) and writes its **absolute**
values into ``ad_counts`` under ``source`` = the epoch, keeping the larger of what is stored and
what Redis holds. So a window flushed twice counts once, two hosts flushing at once write the same
rows, and a flush that dies half-way is finished by the next. A window more than an hour old is
flushed a last time and dropped from the set (its hash expires two days later).

The flush also reconciles what was counted in the database while Redis was unreachable: readers'
cap counts move into Redis (so caps see them) and the replay guards of tokens still valid are
copied, so such a token is not counted again once Redis is back. Old replay guards are purged.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from layoutserver.ads.models import AdCount, TokenUse, UserCount
from layoutserver.ads.redis_counts import USER_KEY_MIN_TTL, Calendar, RedisCounts, hour_number
from layoutserver.background import Periodic
from layoutserver.db import Database, upsert_insert
from layoutserver.redis_store import ERRORS

log = logging.getLogger(__name__)

LOCK_SECONDS = 60
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RECONCILE_BATCH = 1000


@dataclass
class FlushReport:
    windows: int = 0
    rows: int = 0
    """Count rows written (absolute values; unchanged ones included)."""
    finished: list[int] = field(default_factory=list)
    """Hour windows flushed for the last time."""
    user_rows_moved: int = 0
    guards_copied: int = 0
    guards_purged: int = 0
    skipped: bool = False
    """Another process held the flush lock."""


class Flusher:
    def __init__(self, database: Database, counts: RedisCounts, guard_seconds: int,
                 clock: Callable[[], datetime]) -> None:
        """``clock``: the site clock counts are timed by (pinned in the demo and tests)."""
        self._database = database
        self._clock = clock
        self.counts = counts
        self._guard_seconds = guard_seconds
        client = counts.store.client
        self._release = client.register_script(_RELEASE)

    def flush(self, now: datetime | None = None) -> FlushReport:
        """One flush under a lock shared by every host (a flush is idempotent; the lock only
        saves duplicate work). ``now``: the site clock's, unless given."""
        now = now or self._clock()
        report = FlushReport()
        client = self.counts.store.client
        self.counts.epoch(refresh=True)  # a Redis that lost its data has a new epoch
        lock = self.counts.key("flush-lock")
        owner = secrets.token_hex(8)
        if not client.set(lock, owner, nx=True, ex=LOCK_SECONDS):
            report.skipped = True
            return report
        try:
            self._flush_windows(now, report)
            self._reconcile(now, report)
        finally:
            self._release(keys=[lock], args=[owner])
        return report

    # -- counters -> database ------------------------------------------------------------------

    def _flush_windows(self, now: datetime, report: FlushReport) -> None:
        counts = self.counts
        client = counts.store.client
        epoch = counts.epoch()
        windows_key = counts.key("windows", epoch)
        hours = sorted(int(hour) for hour in client.smembers(windows_key))
        current = hour_number(now)
        for hour in hours:
            window_key = counts.key(f"w:{hour}", epoch)
            rows = _parse(client.hgetall(window_key))
            with self._database.session() as session:
                for (line_item, creative, slot), (impressions, clicks) in rows.items():
                    _store_max(session, {
                        "line_item_id": line_item, "creative_id": creative, "slot": slot,
                        "hour": datetime.fromtimestamp(hour * 3600, UTC), "source": epoch,
                    }, impressions, clicks)
            report.windows += 1
            report.rows += len(rows)
            if hour < current - 1:
                client.srem(windows_key, hour)
                client.expire(window_key, 2 * 86400)
                report.finished.append(hour)

    # -- database (counted while Redis was down) -> Redis --------------------------------------

    def _reconcile(self, now: datetime, report: FlushReport) -> None:
        counts = self.counts
        client = counts.store.client
        with self._database.session() as session:
            rows = session.execute(select(UserCount).limit(_RECONCILE_BATCH)).scalars().all()
            if rows:
                pipe = client.pipeline(transaction=True)
                for row in rows:
                    calendar = Calendar(row.hour, counts.timezone)
                    key = counts.key(f"u:{row.line_item_id}:{row.user_key}")
                    for name in ("t", f"w:{calendar.week}", f"d:{calendar.day}",
                                 f"h:{calendar.hour}"):
                        pipe.hincrby(key, name, row.impressions)
                    pipe.expire(key, USER_KEY_MIN_TTL, nx=True)
                pipe.execute()
                for row in rows:
                    session.delete(row)
                report.user_rows_moved = len(rows)
            valid_since = now - timedelta(seconds=self._guard_seconds)
            marker = counts.key("guards-copied")
            copied = client.get(marker)
            since = (datetime.fromisoformat(copied.decode()) if isinstance(copied, bytes)
                     else valid_since)
            uses = session.execute(
                select(TokenUse).where(TokenUse.used_at >= max(since, valid_since))
                .order_by(TokenUse.used_at).limit(_RECONCILE_BATCH)
            ).scalars().all()
            if uses:
                pipe = client.pipeline(transaction=False)
                for use in uses:
                    pipe.set(counts.key(f"g:{use.kind[0]}:{use.token_id}"), "1", nx=True,
                             ex=self._guard_seconds)
                pipe.set(marker, uses[-1].used_at.isoformat())
                pipe.execute()
                report.guards_copied = len(uses)
            purged = session.execute(delete(TokenUse).where(TokenUse.used_at < valid_since))
            report.guards_purged = int(getattr(purged, "rowcount", 0) or 0)


def _parse(fields: dict[Any, Any]) -> dict[tuple[int, int, str], list[int]]:
    """``k|line item|creative|slot`` -> count, as (line item, creative, slot) -> [i, c]."""
    rows: dict[tuple[int, int, str], list[int]] = defaultdict(lambda: [0, 0])
    for raw_name, raw_value in fields.items():
        name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
        letter, line_item, creative, slot = name.split("|", 3)
        rows[(int(line_item), int(creative), slot)][0 if letter == "i" else 1] = int(raw_value)
    return rows


def _store_max(session: Session, key: dict[str, Any], impressions: int, clicks: int) -> None:
    """Upsert the row with ``key`` to at least these counts (never lower: idempotent)."""
    table: Table = AdCount.__table__  # type: ignore[assignment]
    postgres = session.get_bind().dialect.name == "postgresql"
    larger = func.greatest if postgres else func.max  # SQLite's max() of two is scalar
    statement = upsert_insert(session, AdCount).values(**key, impressions=impressions,
                                                       clicks=clicks)
    session.execute(statement.on_conflict_do_update(
        index_elements=list(key),
        set_={"impressions": larger(table.c.impressions, statement.excluded.impressions),
              "clicks": larger(table.c.clicks, statement.excluded.clicks)},
    ))


class BackgroundFlush(Periodic):
    """A thread per process flushing every ``interval`` seconds (the shared lock keeps it to
    one flush at a time across hosts). Errors are logged, never raised."""

    def __init__(self, flusher: Flusher, interval: float) -> None:
        super().__init__("ads-flush", interval, self._flush)
        self._flusher = flusher

    def _flush(self) -> None:
        try:
            self._flusher.flush()
        except ERRORS as error:
            log.warning("ads flush: Redis unreachable (%s); will retry", error)
