"""Copying the Redis counters and their replay guards into the database, periodically and
idempotently, and applying the counts queued in the database while Redis was unreachable.

A flush runs under a lock shared by every host: a random owner token with a short lifetime
(:data:`LOCK_SECONDS`), renewed by its holder before each step and released only by it, so a
holder that died or lost Redis keeps it at most a few seconds (a lock persisted by Redis's
append-only file expires all the same). In order:

1. **Restore** (a new epoch only: Redis lost its data, or is new): the replay guards of
   ``ad_token_uses`` still valid are set in Redis, in batches in (``used_at``, ``kind``,
   ``token_id``) order with the position kept in Redis (equal times are fine), then the epoch
   is marked ready. Until then counts are queued in the database, never counted in Redis.
2. **Apply** the counts queued in ``ad_pending_counts`` (Redis unreachable when they came):
   each runs through Redis's counting script, so a token Redis counted before (or since) is
   not counted again; then the rows are deleted (applying one twice counts it once).
3. **Copy**: one script reads every hour window of the epoch (``w:H``) and the guards set since
   the last flush (``guards``) at one instant; one database transaction writes the windows'
   **absolute** values into ``ad_counts`` under ``source`` = the epoch (keeping the larger of
   stored and new: a window flushed twice counts once) and the guards into ``ad_token_uses``;
   then the copied guards are trimmed from the list. So every count in ``ad_counts`` has its
   guard in the database, which is what the restore of step 1 relies on. A window more than an
   hour old is flushed a last time and dropped from the set (its hash expires two days later).
4. Readers' cap counts taken in the database move into Redis; expired guards are purged.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, delete, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from layoutserver.ads.counting import COLUMNS, LETTERS, Tracked
from layoutserver.ads.models import AdCount, PendingCount, TokenUse, UserCount
from layoutserver.ads.redis_counts import (
    USER_KEY_MIN_TTL,
    Calendar,
    NotReady,
    RedisCounts,
    hour_number,
    parse_guard_entry,
)
from layoutserver.background import Periodic
from layoutserver.db import Database, upsert_insert
from layoutserver.redis_store import ERRORS

log = logging.getLogger(__name__)

LOCK_SECONDS = 5.0
"""The flush lock's lifetime, renewed before each step and batch of a flush."""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_SNAPSHOT = """
local windows = {}
for _, hour in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  windows[#windows + 1] = hour
  windows[#windows + 1] = redis.call('HGETALL', ARGV[1] .. hour)
end
return {windows, redis.call('LRANGE', KEYS[2], 0, -1)}
"""
"""KEYS: the windows set, the guards list; ARGV: the prefix of window keys. Answers
[[hour, [field, value, ...], ...], [guard entry, ...]], read at one instant."""
_BATCH = 1000


class LockLost(Exception):
    """The flush lock expired or was taken while this flush held it."""


@dataclass
class FlushReport:
    windows: int = 0
    rows: int = 0
    """Count rows written (absolute values; unchanged ones included)."""
    finished: list[int] = field(default_factory=list)
    """Hour windows flushed for the last time."""
    guards_saved: int = 0
    """Redis's replay guards copied into the database with their counts."""
    guards_restored: int = 0
    """Guards set again in a Redis that lost its data (a new epoch)."""
    pending_applied: int = 0
    """Queued counts Redis counted."""
    pending_replays: int = 0
    """Queued counts Redis refused: the token was counted before."""
    user_rows_moved: int = 0
    guards_purged: int = 0
    waiting: bool = False
    """The epoch is still restoring its guards (nothing applied or copied yet)."""
    skipped: bool = False
    """Another process held the flush lock (or took it over)."""


class _Lock:
    """The flush lock as one holder holds it."""

    def __init__(self, flusher: Flusher, key: str) -> None:
        self.key = key
        self.owner = secrets.token_hex(8)
        self._flusher = flusher

    def take(self) -> bool:
        client = self._flusher.counts.store.client
        return bool(client.set(self.key, self.owner, nx=True, px=int(LOCK_SECONDS * 1000)))

    def renew(self) -> None:
        if not self._flusher._renew(keys=[self.key],
                                    args=[self.owner, int(LOCK_SECONDS * 1000)]):
            raise LockLost

    def release(self) -> None:
        self._flusher._release(keys=[self.key], args=[self.owner])


class Flusher:
    def __init__(self, database: Database, counts: RedisCounts, guard_seconds: int,
                 clock: Callable[[], datetime]) -> None:
        """``clock``: the site clock counts are timed by (pinned in the demo and tests)."""
        self._database = database
        self._clock = clock
        self.counts = counts
        self._guard_seconds = guard_seconds
        client = counts.store.client
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._snapshot = client.register_script(_SNAPSHOT)
        self._unreleased: _Lock | None = None

    @property
    def lock_key(self) -> str:
        """Not under the epoch: a flush of a lost epoch and one of the new never overlap."""
        return f"{self.counts.store.prefix}flush-lock"

    def flush(self, now: datetime | None = None) -> FlushReport:
        """One flush under the shared lock (every step is idempotent; the lock saves duplicate
        work and keeps restores in order). ``now``: the site clock's, unless given."""
        now = now or self._clock()
        report = FlushReport()
        if self._unreleased is not None:  # Redis failed as we released it last time
            self._unreleased.release()
            self._unreleased = None
        epoch = self.counts.epoch(refresh=True)  # a Redis that lost its data has a new epoch
        lock = _Lock(self, self.lock_key)
        if not lock.take():
            report.skipped = True
            return report
        try:
            if not self.counts.ready(epoch):
                self._restore_guards(epoch, now, lock, report)
            if not self.counts.ready(epoch):
                report.waiting = True
                return report
            self._apply_pending(lock, report)
            lock.renew()
            self._flush_windows(epoch, now, report)
            lock.renew()
            self._reconcile(now, report)
        except (LockLost, NotReady):
            report.skipped = True
        finally:
            try:
                lock.release()
            except ERRORS:
                self._unreleased = lock
                raise
        return report

    # -- a new epoch: the database's guards -> Redis -------------------------------------------

    def _restore_guards(self, epoch: str, now: datetime, lock: _Lock,
                        report: FlushReport) -> None:
        counts = self.counts
        client = counts.store.client
        valid_since = now - timedelta(seconds=self._guard_seconds)
        position = counts.key("restore-position", epoch)
        while True:
            lock.renew()
            raw = client.get(position)
            query = select(TokenUse).where(TokenUse.used_at >= valid_since)
            if raw is not None:
                used_at, kind, token_id = json.loads(raw)
                at = datetime.fromisoformat(used_at)
                query = query.where(or_(
                    TokenUse.used_at > at,
                    and_(TokenUse.used_at == at, or_(
                        TokenUse.kind > kind,
                        and_(TokenUse.kind == kind, TokenUse.token_id > token_id)))))
            with self._database.session() as session:
                uses = session.execute(
                    query.order_by(TokenUse.used_at, TokenUse.kind, TokenUse.token_id)
                    .limit(_BATCH)
                ).scalars().all()
                batch = [(use.kind, use.token_id, use.used_at) for use in uses]
            pipe = client.pipeline(transaction=False)
            for kind, token_id, used_at in batch:
                left = self._guard_seconds - int((now - used_at).total_seconds())
                pipe.set(counts.key(f"g:{kind[0]}:{token_id}", epoch), "1", nx=True,
                         ex=max(left, 1))
            if batch:
                last = batch[-1]
                pipe.set(position, json.dumps([last[2].isoformat(), last[0], last[1]]),
                         ex=86400)
            pipe.execute()
            report.guards_restored += len(batch)
            if len(batch) < _BATCH:
                break
        lock.renew()
        counts.mark_ready(epoch)
        client.delete(position)

    # -- counts queued in the database -> Redis ------------------------------------------------

    def _apply_pending(self, lock: _Lock, report: FlushReport) -> None:
        after = 0
        while True:
            lock.renew()
            with self._database.session() as session:
                rows = session.execute(
                    select(PendingCount).where(PendingCount.id > after)
                    .order_by(PendingCount.id).limit(_BATCH)
                ).scalars().all()
                queued = [(row.id, row.kind, _tracked(row), row.counted_at) for row in rows]
            if not queued:
                return
            for _, kind, tracked, counted_at in queued:
                # the reader's cap count was added to ad_user_counts when it was queued
                if self.counts.record(LETTERS[kind[0]], tracked, counted_at, None,
                                      count_user=False):
                    report.pending_applied += 1
                else:
                    report.pending_replays += 1
            ids = [one[0] for one in queued]
            with self._database.session() as session:
                session.execute(delete(PendingCount).where(PendingCount.id.in_(ids)))
            after = ids[-1]

    # -- counters and guards -> database -------------------------------------------------------

    def _flush_windows(self, epoch: str, now: datetime, report: FlushReport) -> None:
        counts = self.counts
        client = counts.store.client
        windows_key = counts.key("windows", epoch)
        guards_key = counts.key("guards", epoch)
        windows, entries = self._snapshot(keys=[windows_key, guards_key],
                                          args=[counts.key("w:", epoch)])
        hours = [(int(windows[n]), _parse(_pairs(windows[n + 1])))
                 for n in range(0, len(windows), 2)]
        guards = [parse_guard_entry(entry) for entry in entries]
        with self._database.session() as session:
            for hour, rows in hours:
                for (line_item, creative, slot), values in rows.items():
                    _store_max(session, {
                        "line_item_id": line_item, "creative_id": creative, "slot": slot,
                        "hour": datetime.fromtimestamp(hour * 3600, UTC), "source": epoch,
                    }, values)
                report.rows += len(rows)
            _save_guards(session, guards)
        report.windows = len(hours)
        report.guards_saved = len(guards)
        if guards:
            client.ltrim(guards_key, len(guards), -1)
        current = hour_number(now)
        for hour, _ in hours:
            if hour < current - 1:
                client.srem(windows_key, hour)
                client.expire(counts.key(f"w:{hour}", epoch), 2 * 86400)
                report.finished.append(hour)

    # -- readers' cap counts taken in the database -> Redis; expired guards --------------------

    def _reconcile(self, now: datetime, report: FlushReport) -> None:
        counts = self.counts
        client = counts.store.client
        with self._database.session() as session:
            rows = session.execute(select(UserCount).limit(_BATCH)).scalars().all()
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
            purged = session.execute(delete(TokenUse).where(TokenUse.used_at < valid_since))
            report.guards_purged = int(getattr(purged, "rowcount", 0) or 0)


def _tracked(row: PendingCount) -> Tracked:
    decision_id = row.token_id[: len(row.token_id) - len(row.slot) - 1]
    return Tracked(decision_id, row.slot, row.line_item_id, row.creative_id, row.user_key)


def _pairs(flat: Sequence[Any]) -> dict[Any, Any]:
    return {flat[n]: flat[n + 1] for n in range(0, len(flat), 2)}


def _save_guards(session: Session, guards: Sequence[tuple[str, str, int]]) -> None:
    """Insert guards (kind letter, token id, unix time) into ``ad_token_uses``; those there
    already are left as they are."""
    for start in range(0, len(guards), _BATCH):
        values = [{"token_id": token_id, "kind": LETTERS[letter],
                   "used_at": datetime.fromtimestamp(moment, UTC)}
                  for letter, token_id, moment in guards[start : start + _BATCH]]
        session.execute(upsert_insert(session, TokenUse).values(values)
                        .on_conflict_do_nothing())


def _parse(fields: dict[Any, Any]) -> dict[tuple[int, int, str], dict[str, int]]:
    """``k|line item|creative|slot`` -> count, as (line item, creative, slot) -> the
    ``ad_counts`` columns' values (one per kind)."""
    rows: dict[tuple[int, int, str], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(COLUMNS.values(), 0))
    for raw_name, raw_value in fields.items():
        name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
        letter, line_item, creative, slot = name.split("|", 3)
        rows[(int(line_item), int(creative), slot)][COLUMNS[LETTERS[letter]]] = int(raw_value)
    return rows


def _store_max(session: Session, key: dict[str, Any], values: dict[str, int]) -> None:
    """Upsert the row with ``key`` to at least these counts (never lower: idempotent)."""
    table: Table = AdCount.__table__  # type: ignore[assignment]
    postgres = session.get_bind().dialect.name == "postgresql"
    larger = func.greatest if postgres else func.max  # SQLite's max() of two is scalar
    statement = upsert_insert(session, AdCount).values(**key, **values)
    session.execute(statement.on_conflict_do_update(
        index_elements=list(key),
        set_={column: larger(table.c[column], statement.excluded[column])
              for column in values},
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
        except SQLAlchemyError as error:
            log.warning("ads flush: database unreachable (%s); will retry",
                        type(error).__name__)
