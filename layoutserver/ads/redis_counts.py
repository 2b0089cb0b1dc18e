"""Impression, click, measurable and viewable counters, frequency-cap counters and token replay
guards in Redis, shared by every host and updated atomically: one Lua script per count.

Keys live under an **epoch**: a random id kept in Redis (``<prefix>epoch``). Counts flushed into
the database carry the epoch as their ``source`` (``layoutserver.ads.flush``), so a Redis that
lost its data (a new epoch) never overwrites or hides what was flushed before: goal counts are
the database's rows of other sources plus this epoch's counters.

Per epoch (``E`` = ``<prefix><epoch>:``, ``H`` = UTC hour number, ``k`` = ``i``, ``c``, ``m`` or
``v``: the kind's first letter):

=====================  =====================================================================
``E g:k:<token id>``    the replay guard, set once, expires after the token's lifetime
``E w:H``               hash ``k|line item|creative|slot`` -> count: the window the flush copies
``E windows``           set of the hours ``w:H`` holds counts for (until flushed for good)
``E li:<id>:k``         a line item's count in this epoch; ``...:d:<local date>`` the site-local
                        day's, ``...:h:H`` the hour's (goals and pacing; not for ``m``, which
                        no goal counts)
``E u:<id>:<user>``     hash of one reader's impressions of a capped line item: ``t`` (flight),
                        ``w:<monday>``, ``d:<date>``, ``h:H``
``E guards``            list of ``k|<token id>|<unix time>``: the guards set since the last
                        flush, which copies them into ``ad_token_uses`` with the counters
``E ready``             set once the epoch may count: at once for a database with no replay
                        guards, else after a flush restored them (a Redis that lost its data)
=====================  =====================================================================

Until its epoch is ready a count is refused with :class:`NotReady` (the caller queues it in the
database, as while Redis is unreachable): a Redis that lost its data never counts a token whose
count was flushed before, because its guard is restored first.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from layoutserver.ads.counting import Kind, Tracked
from layoutserver.redis_store import RedisStore

DAY_KEY_TTL = 3 * 86400
HOUR_KEY_TTL = 2 * 86400
GOAL_KINDS: tuple[Kind, ...] = ("impression", "click", "viewable")
"""The kinds a line item's counters are kept for (what goals and pacing read), in the order
:meth:`RedisCounts.goal_counts` answers them."""
USER_KEY_MIN_TTL = 8 * 86400
"""A reader's cap counts live at least a week (weekly caps) and until the line item ends."""

_RECORD = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('EXISTS', KEYS[9]) == 0 then return -2 end
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return 0 end
redis.call('RPUSH', KEYS[10], ARGV[12])
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
redis.call('SADD', KEYS[4], ARGV[4])
if ARGV[5] == '1' then
  redis.call('INCR', KEYS[5])
  redis.call('INCR', KEYS[6])
  redis.call('EXPIRE', KEYS[6], ARGV[10])
  redis.call('INCR', KEYS[7])
  redis.call('EXPIRE', KEYS[7], ARGV[11])
end
if ARGV[6] ~= '0' then
  redis.call('HINCRBY', KEYS[8], 't', 1)
  redis.call('HINCRBY', KEYS[8], ARGV[7], 1)
  redis.call('HINCRBY', KEYS[8], ARGV[8], 1)
  redis.call('HINCRBY', KEYS[8], ARGV[9], 1)
  redis.call('EXPIRE', KEYS[8], ARGV[6])
end
return 1
"""
"""KEYS: epoch, guard, window, windows, line item total, day, hour, user, ready, guards.
ARGV: epoch, guard TTL, window field, hour number, count the line item (1/0), user TTL (0: no
user), the user's week, day and hour fields, day and hour key TTLs, the guards list entry.
Answers 1 (counted), 0 (a replay), -1 (the epoch moved: Redis lost its data; the caller reads
the new epoch and tries again) or -2 (the epoch is not ready: nothing counted)."""


class EpochMoved(Exception):
    """Redis's epoch is not the one this process knew: its data was lost or flushed."""


class NotReady(Exception):
    """The epoch's replay guards are not restored yet: Redis must not count now."""


def guard_entry(kind: Kind | str, token_id: str, moment: datetime) -> str:
    """An entry of ``E guards``: ``k|<token id>|<unix time>``."""
    return f"{kind[0]}|{token_id}|{int(moment.timestamp())}"


def parse_guard_entry(raw: bytes | str) -> tuple[str, str, int]:
    """(kind letter, token id, unix time) of an entry of ``E guards``."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    letter, rest = text.split("|", 1)
    token_id, moment = rest.rsplit("|", 1)
    return letter, token_id, int(moment)


def hour_number(moment: datetime) -> int:
    return int(moment.timestamp()) // 3600


class Calendar:
    """The site-local day, week and hour labels of one moment, as keys and fields use them."""

    def __init__(self, moment: datetime, timezone: tzinfo) -> None:
        local = moment.astimezone(timezone)
        self.hour = hour_number(moment)
        self.day = local.date().isoformat()
        self.week = (local.date() - timedelta(days=local.weekday())).isoformat()


class RedisCounts:
    def __init__(self, store: RedisStore, timezone: tzinfo, guard_seconds: int) -> None:
        self.store = store
        self.timezone = timezone
        self._guard_seconds = guard_seconds
        self._record = store.client.register_script(_RECORD)
        self._epoch: str | None = None
        self.last_kept: dict[str, dict[int, tuple[int, ...]]] = {}
        """Per epoch: the database's goal counts of other sources this process read last, per
        line item (what decisions use while the database is unreachable)."""

    # -- the epoch -----------------------------------------------------------------------------

    @property
    def epoch_key(self) -> str:
        return f"{self.store.prefix}epoch"

    def epoch(self, refresh: bool = False) -> str:
        """This Redis's epoch, created when there is none (a new or emptied Redis)."""
        if self._epoch is None or refresh:
            client = self.store.client
            client.set(self.epoch_key, secrets.token_hex(4), nx=True)
            value = client.get(self.epoch_key)
            self._epoch = value.decode() if isinstance(value, bytes) else str(value)
        return self._epoch

    def key(self, name: str, epoch: str | None = None) -> str:
        return f"{self.store.prefix}{epoch or self.epoch()}:{name}"

    def ready(self, epoch: str) -> bool:
        return bool(self.store.client.exists(self.key("ready", epoch)))

    def mark_ready(self, epoch: str) -> None:
        """Let ``epoch`` count (its guards are restored, or there were none to restore)."""
        self.store.client.set(self.key("ready", epoch), "1")

    # -- counting ------------------------------------------------------------------------------

    def record(self, kind: Kind, tracked: Tracked, now: datetime, user_until: datetime | None,
               count_user: bool = True) -> bool:
        """Count ``tracked`` once for ``kind``; False when the token was counted before.
        ``user_until``: when the line item ends (a reader's cap counts are kept that long, and
        at least a week); unused without a user key. ``count_user`` False: leave the reader's
        cap counts alone (they were counted elsewhere). Raises :class:`NotReady` (nothing
        counted) while the epoch's guards are being restored."""
        try:
            return self._record_once(kind, tracked, now, user_until, count_user)
        except EpochMoved:
            self.epoch(refresh=True)
            return self._record_once(kind, tracked, now, user_until, count_user)

    def _record_once(self, kind: Kind, tracked: Tracked, now: datetime,
                     user_until: datetime | None, count_user: bool) -> bool:
        epoch = self.epoch()
        letter = kind[0]
        calendar = Calendar(now, self.timezone)
        item = tracked.line_item_id
        counts_user = (count_user and kind == "impression" and bool(tracked.user_key)
                       and item != 0)
        user_ttl = 0
        if counts_user:
            left = 0 if user_until is None else int((user_until - now).total_seconds())
            user_ttl = max(USER_KEY_MIN_TTL, left + 86400)
        keys = [
            self.epoch_key,
            self.key(f"g:{letter}:{tracked.token_id}", epoch),
            self.key(f"w:{calendar.hour}", epoch),
            self.key("windows", epoch),
            self.key(f"li:{item}:{letter}", epoch),
            self.key(f"li:{item}:{letter}:d:{calendar.day}", epoch),
            self.key(f"li:{item}:{letter}:h:{calendar.hour}", epoch),
            self.key(f"u:{item}:{tracked.user_key or ''}", epoch),
            self.key("ready", epoch),
            self.key("guards", epoch),
        ]
        args: list[Any] = [
            epoch, self._guard_seconds,
            f"{letter}|{item}|{tracked.creative_id}|{tracked.slot}", calendar.hour,
            "1" if item and kind in GOAL_KINDS else "0", user_ttl,
            f"w:{calendar.week}", f"d:{calendar.day}", f"h:{calendar.hour}",
            DAY_KEY_TTL, HOUR_KEY_TTL, guard_entry(kind, tracked.token_id, now),
        ]
        answer = int(self._record(keys=keys, args=args))
        if answer == -2:
            raise NotReady
        if answer < 0:
            raise EpochMoved
        return answer == 1

    # -- reading -------------------------------------------------------------------------------

    def goal_counts(self, ids: Sequence[int], now: datetime) -> dict[int, tuple[int, ...]]:
        """Each line item's counts in this epoch: impressions lifetime, today, this hour, then
        clicks the same, then viewable impressions (the layout of
        ``layoutserver.ads.delivery.GOALS``)."""
        if not ids:
            return {}
        calendar = Calendar(now, self.timezone)
        suffixes = ("", f":d:{calendar.day}", f":h:{calendar.hour}")

        def queue(pipe: Any) -> None:  # keys named per attempt: the epoch may have moved
            pipe.mget([self.key(f"li:{item}:{kind[0]}{suffix}")
                       for item in ids for kind in GOAL_KINDS for suffix in suffixes])

        found = self._read(queue)[0]
        width = 3 * len(GOAL_KINDS)
        return {item: tuple(int(value or 0) for value in found[width * n : width * (n + 1)])
                for n, item in enumerate(ids)}

    def user_counts(self, user_key: str, ids: Sequence[int], now: datetime
                    ) -> dict[int, tuple[int, ...]]:
        """One reader's impressions of each line item: flight, this week, today, this hour
        (the layout of ``layoutserver.ads.delivery.USERS``)."""
        if not ids:
            return {}
        calendar = Calendar(now, self.timezone)
        fields = ("t", f"w:{calendar.week}", f"d:{calendar.day}", f"h:{calendar.hour}")

        def queue(pipe: Any) -> None:
            for item in ids:
                pipe.hmget(self.key(f"u:{item}:{user_key}"), fields)

        found = self._read(queue)
        return {item: tuple(int(value or 0) for value in values)
                for item, values in zip(ids, found, strict=True)}

    def _read(self, queue: Any) -> list[Any]:
        """Run the reads ``queue`` puts on a pipeline, checking the epoch in the same round
        trip; on a moved epoch read it again and retry once."""
        for attempt in (1, 2):
            epoch = self.epoch()
            pipe = self.store.client.pipeline(transaction=False)
            pipe.get(self.epoch_key)
            queue(pipe)
            answers = pipe.execute()
            current = answers[0].decode() if isinstance(answers[0], bytes) else answers[0]
            if current == epoch:
                return list(answers[1:])
            self.epoch(refresh=True)
            if attempt == 2:
                break
        raise EpochMoved
