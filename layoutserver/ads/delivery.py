"""A :class:`~layoutserver.ads.decisions.model.DeliveryState` over the database, for one page
decision.

The engine asks line item by line item; this answers from two queries made on the first
question of each kind, for every candidate of the page at once: the goal counts of the
candidates with a goal (lifetime, since the start of the site-local day and hour), and the
user's impressions of the candidates with caps (flight, week, day, hour). Answers are memoised
for the request. The boundaries are the ones the engine asks for; any other ``since`` costs one
more (memoised) query.

Counts are stored per UTC hour, so they are exact at site-local hour boundaries for time zones
a whole number of hours from UTC (those with a :30 or :45 offset count the hour bucket that
started before the boundary as after it).
"""

from __future__ import annotations

import functools
import threading
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta, tzinfo
from time import monotonic
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, case, func, select

from layoutserver.ads.decisions.context import SharedVerdicts
from layoutserver.ads.decisions.model import GoalMetric, PageRequest
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.models import AdCount, UserCount
from layoutserver.db import Database, UTCDateTime
from layoutserver.prepared_select import InListSelect

_IN_CHUNK = 500

NO_SOURCE = "-"
"""A ``skip_source`` no row has (epochs are hex): every row counts, as without Redis."""


GOAL_COUNTS_MAX_AGE = 1.0
"""Seconds a process reuses the goal counts of a set of line items. Goals and pacing then lag
the counters by at most this long (a line item may overshoot its goal by what one process
serves in that time); caps are never read from here: a reader's counts are read per request."""


class GoalCounts:
    """Goal counts kept briefly per process: one query a second instead of one per page.

    Beside each set of counts it keeps the engine's verdicts drawn from them
    (``decide_page(shared=...)``: goal reached, pacing), so that pages within the counts'
    lifetime do not work them out again; they go with the counts."""

    def __init__(self, max_age: float = GOAL_COUNTS_MAX_AGE) -> None:
        self._max_age = max_age
        self._kept: dict[tuple[Any, ...], tuple[float, dict[int, tuple[int, ...]],
                                                SharedVerdicts]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[dict[int, tuple[int, ...]], SharedVerdicts] | None:
        """The counts kept for ``key`` and the verdicts drawn from them; None once stale."""
        kept = self._kept.get(key)
        if kept is None or kept[0] <= monotonic():
            return None
        return kept[1], kept[2]

    def put(self, key: tuple[Any, ...], counts: dict[int, tuple[int, ...]]) -> SharedVerdicts:
        """Keep fresh counts; returns the (empty) verdicts that go with them."""
        verdicts: SharedVerdicts = {}
        with self._lock:
            now = monotonic()
            self._kept = {k: v for k, v in self._kept.items() if v[0] > now}
            self._kept[key] = (now + self._max_age, counts, verdicts)
        return verdicts


class DatabaseDeliveryState:
    def __init__(
        self, database: Database, snapshot: Snapshot, request: PageRequest,
        new_reader: bool = False, goal_counts: GoalCounts | None = None,
    ) -> None:
        """``new_reader``: the user key was made for this request, so it has no impressions
        and its counts are not read."""
        self._database = database
        self._request = request
        self._week, self._day, self._hour = boundaries(request.now, snapshot.timezone)
        goals, caps = candidates(snapshot, request)
        self._goal_ids = goals
        self._cap_ids = caps if request.user_key is not None else ()
        self._goals: dict[int, tuple[int, ...]] | None = None
        self._users: dict[int, tuple[int, ...]] | None = {} if new_reader else None
        self._goal_counts = goal_counts
        self._version = snapshot.version
        self._verdicts: SharedVerdicts | None = None
        self._other: dict[tuple[Any, ...], int] = {}
        self.queries = 0
        """Queries made so far (the tests hold it to a small fixed number)."""

    # -- DeliveryState -------------------------------------------------------------------------

    def delivered(self, line_item_id: int, metric: GoalMetric, since: datetime | None) -> int:
        slot = self._slot(since, (None, self._day, self._hour))
        if slot is None:
            return self._one("goal", line_item_id, metric, since)
        if self._goals is None:
            self._goals = self._load_goals()
        counts = self._goals.get(line_item_id)
        if counts is None:
            return 0
        return counts[slot + GOAL_OFFSETS[metric]]

    def user_impressions(self, user_key: str, line_item_id: int, since: datetime | None) -> int:
        slot = self._slot(since, (None, self._week, self._day, self._hour))
        if slot is None or user_key != self._request.user_key:
            return self._one(user_key, line_item_id, "impressions", since)
        if self._users is None:
            self._users = self._load_users(user_key)
        counts = self._users.get(line_item_id)
        return 0 if counts is None else counts[slot]

    # -- queries -------------------------------------------------------------------------------

    @staticmethod
    def _slot(since: datetime | None, known: Sequence[datetime | None]) -> int | None:
        for index, boundary in enumerate(known):
            if since == boundary:  # aware datetimes compare as instants
                return index
        return None

    def _load_goals(self) -> dict[int, tuple[int, ...]]:
        # the snapshot's version too: the verdicts kept with the counts read line items' specs
        key = (self._goal_ids, self._day, self._hour, self._version)
        if self._goal_counts is not None:
            kept = self._goal_counts.get(key)
            if kept is not None:
                self._verdicts = kept[1]
                return kept[0]
        counts = self._read_goals()
        if self._goal_counts is not None:
            self._verdicts = self._goal_counts.put(key, counts)
        return counts

    def shared_verdicts(self) -> SharedVerdicts | None:
        """Verdicts shared by the pages that read the same kept goal counts (for
        ``decide_page``); None when counts are not kept (every page works them out)."""
        if self._goal_counts is None:
            return None
        if self._goals is None:
            self._goals = self._load_goals()
        return self._verdicts

    def _read_goals(self, skip_source: str = NO_SOURCE) -> dict[int, tuple[int, ...]]:
        return self._grouped(GOALS, self._goal_ids, {"day": self._day, "hour": self._hour,
                                                     "skip_source": skip_source})

    def _load_users(self, user_key: str) -> dict[int, tuple[int, ...]]:
        values = {"user_key": user_key, "week": self._week, "day": self._day, "hour": self._hour}
        return self._grouped(USERS, self._cap_ids, values)

    def _grouped(
        self, query: Select[Any] | InListSelect, ids: Sequence[int], values: dict[str, Any]
    ) -> dict[int, tuple[int, ...]]:
        found: dict[int, tuple[int, ...]] = {}
        if not ids:
            return found
        for start in range(0, len(ids), _IN_CHUNK):
            self.queries += 1
            chunk = list(ids[start : start + _IN_CHUNK])
            rows: Iterable[Any]
            if isinstance(query, InListSelect):
                rows = self._database.read_rows(query.prepared(len(chunk)),
                                                query.values(chunk, values))
            else:
                with self._database.reading() as connection:
                    rows = connection.execute(query, {**values, "ids": chunk}).all()
            for row in rows:
                found[int(row[0])] = tuple(int(value or 0) for value in row[1:])
        return found

    def _one(self, who: str, line_item_id: int, metric: str, since: datetime | None) -> int:
        memo = (who, line_item_id, metric, since)
        if memo in self._other:
            return self._other[memo]
        if who == "goal":
            column = GOAL_COLUMNS[metric]
            query = select(func.sum(column)).where(AdCount.line_item_id == line_item_id)
            if since is not None:
                query = query.where(AdCount.hour >= since)
        else:
            query = select(func.sum(UserCount.impressions)).where(
                UserCount.user_key == who, UserCount.line_item_id == line_item_id
            )
            if since is not None:
                query = query.where(UserCount.hour >= since)
        with self._database.reading() as connection:
            self.queries += 1
            value = self._other[memo] = int(connection.scalar(query) or 0)
        return value


def _since(value: Any, hour: Any, since: BindParameter[datetime] | None) -> Any:
    if since is None:
        return func.sum(value)
    return func.sum(case((hour >= since, value), else_=0))


# Built once: per request only the parameters change.
_IDS: BindParameter[int] = bindparam("ids", expanding=True)
_WEEK, _DAY, _HOUR = (bindparam(name, type_=UTCDateTime()) for name in ("week", "day", "hour"))
GOAL_COLUMNS: dict[str, Any] = {"impressions": AdCount.impressions, "clicks": AdCount.clicks,
                                "viewable": AdCount.viewable}
"""The ``ad_counts`` column of each goal metric, in the order of ``GOALS``' columns (and of
``RedisCounts.goal_counts``)."""
GOAL_OFFSETS = {metric: 3 * n for n, metric in enumerate(GOAL_COLUMNS)}
GOALS: Select[Any] = (
    select(
        AdCount.line_item_id,
        *(_since(column, AdCount.hour, since)
          for column in GOAL_COLUMNS.values() for since in (None, _DAY, _HOUR)),
    )
    .where(AdCount.line_item_id.in_(_IDS), AdCount.source != bindparam("skip_source"))
    .group_by(AdCount.line_item_id)
)
"""Impressions, clicks and viewable impressions of each line item: lifetime, today, this hour
(site-local), from every source but ``skip_source`` (the Redis epoch whose counters are read
instead)."""


def _users(count: int) -> Select[Any]:
    return (
        select(
            UserCount.line_item_id,
            *(_since(UserCount.impressions, UserCount.hour, since)
              for since in (None, _WEEK, _DAY, _HOUR)),
        )
        .where(UserCount.user_key == bindparam("user_key"),
               UserCount.line_item_id.in_([bindparam(name)
                                           for name in InListSelect.id_names(count)]))
        .group_by(UserCount.line_item_id)
    )


USERS = InListSelect(_users)
"""One reader's impressions of each line item: flight, this week, today, this hour. Read on
every page view with ads (the reader's caps), so prepared once per list length and run as
driver SQL on SQLite (``layoutserver/prepared_select.py``); the goal counts, read once a
second, keep SQLAlchemy's expanding IN."""


def boundaries(now: datetime, timezone: tzinfo) -> tuple[datetime, datetime, datetime]:
    """The site-local week, day and hour ``now`` is in (their starts), worked out once per
    UTC hour: counts are kept per UTC hour, so these are exact for time zones a whole number
    of hours from UTC, as the counts are."""
    return _hour_boundaries(int(now.timestamp()) // 3600, timezone)


@functools.lru_cache(maxsize=256)
def _hour_boundaries(hour: int, timezone: tzinfo) -> tuple[datetime, datetime, datetime]:
    local = datetime.fromtimestamp(hour * 3600, timezone)
    day = datetime.combine(local.date(), time(), tzinfo=local.tzinfo)
    return (day - timedelta(days=local.weekday()), day,
            local.replace(minute=0, second=0, microsecond=0))


def candidates(snapshot: Snapshot, request: PageRequest) -> tuple[tuple[int, ...],
                                                                  tuple[int, ...]]:
    """Ids of the line items that may compete for the page's slots now: those with a goal,
    and those with frequency caps. Kept with the snapshot per slot list, section and place of
    ``now`` among the line items' starts and ends (nothing else changes the answer)."""
    now = request.now.timestamp()
    key = ("delivery", request.slots, request.section, bisect_right(snapshot.boundaries, now))
    found = snapshot.memo.get(key)
    if found is None:
        if len(snapshot.memo) >= 10000:  # slot lists may come from callers of /ads/decide
            snapshot.memo.clear()
        found = snapshot.memo[key] = _candidates(snapshot, request, now)
    return found  # type: ignore[return-value]


def _candidates(snapshot: Snapshot, request: PageRequest, now: float
                ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    goals: dict[int, None] = {}
    caps: dict[int, None] = {}
    for code in dict.fromkeys(request.slots):
        entries: Iterable[Any] = (c.entry for c in snapshot.bucket(code, request.section)
                                  .candidates())
        for entry in entries:
            if not entry.start <= now < entry.end:
                continue
            if entry.item.goal is not None:
                goals[entry.item.id] = None
            if entry.item.caps:
                caps[entry.item.id] = None
    return tuple(goals), tuple(caps)
