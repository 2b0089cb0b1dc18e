"""The traffic record: ad requests per kind of page and UTC hour, kept ``ADS_TRAFFIC_WEEKS``
weeks, what forecasts are made from (``docs/forecasting.md``).

Recording is in process memory: the ad server notes each request it decides (a page, an edge's
page view, an ``/ads/decide`` call: :meth:`TrafficRecorder.note`, a dict increment under a lock,
no I/O), folded into its bounded kind (``layoutserver.ads.forecast.folding``). Every
``ADS_TRAFFIC_FLUSH_SECONDS`` a thread of the process writes what piled up in one transaction
(:meth:`TrafficRecorder.flush`): each kind once in ``ad_traffic_kinds``, the hour's counts
added to ``ad_traffic`` and to the hour of the week's sums in ``ad_traffic_profile``. Every
process adds its own counts (``INSERT ... ON CONFLICT DO UPDATE``), so workers and hosts add up;
it is the same with Redis (the counts never go through it). A flush that fails (the database
unreachable) keeps its counts for the next one. A serving process that exits normally flushes
first; one killed outright loses at most its last interval of counts. (With the interval 0 there
is no such thread: whoever holds the recorder flushes it, as the tests do.)

Once an hour a flush also prunes: the hours older than the weeks kept are deleted and taken off
the sums, in one transaction (``DELETE ... RETURNING``, so two processes pruning at once take
each row off once).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import threading
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, delete, exists, update
from sqlalchemy.exc import SQLAlchemyError

from layoutserver.ads.decisions.model import PageRequest
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.forecast.folding import Folder, TargetedFollower
from layoutserver.ads.forecast.traffic import PageKind, week_hour
from layoutserver.ads.traffic_models import AdTraffic, AdTrafficKind, AdTrafficProfile
from layoutserver.background import Periodic
from layoutserver.db import Database, upsert_insert
from layoutserver.settings import SettingsError

log = logging.getLogger(__name__)

Pending = dict[tuple[int, PageKind], int]
"""Requests not written yet, by UTC hour number and kind."""
_CHUNK = 500
_PROFILE: Table = AdTrafficProfile.__table__  # type: ignore[assignment]
_TAKE_OFF = (update(_PROFILE)
             .where(_PROFILE.c.week_hour == bindparam("w"), _PROFILE.c.kind == bindparam("k"))
             .values(requests=_PROFILE.c.requests - bindparam("n")))
_EMPTIED = delete(_PROFILE).where(_PROFILE.c.week_hour == bindparam("w"),
                                  _PROFILE.c.kind == bindparam("k"), _PROFILE.c.requests <= 0)


def digest(kind: PageKind) -> str:
    """The stored name of a kind: a digest of its facts."""
    text = json.dumps(list(kind), separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def kind_row(kind: PageKind) -> dict[str, Any]:
    return {"kind": digest(kind), "slots": " ".join(kind.slots), "device": kind.device,
            "section": kind.section or "", "page_type": kind.page_type, "keyed": kind.keyed,
            "key_values": json.dumps([list(pair) for pair in kind.key_values]),
            "tags": json.dumps(list(kind.tags)), "path": kind.path}


def page_kind(row: Any) -> PageKind:
    """The kind an ``ad_traffic_kinds`` row holds."""
    return PageKind(
        slots=tuple(row.slots.split()), device=row.device, section=row.section or None,
        page_type=row.page_type, keyed=bool(row.keyed),
        key_values=tuple((key, value) for key, value in json.loads(row.key_values)),
        tags=tuple(json.loads(row.tags)), path=row.path)


class TrafficRecorder:
    """One app's traffic record in this process; thread-safe."""

    def __init__(self, database: Database, timezone: ZoneInfo, config: Any,
                 clock: Callable[[], datetime]) -> None:
        """``clock``: the site clock requests are timed by (pinned in the demo and tests)."""
        self.database = database
        self._clock = clock
        self.timezone = timezone
        self.weeks = int(config["ADS_TRAFFIC_WEEKS"])
        self._targeted = TargetedFollower(config["ADS_FORECAST_KEYS"],
                                          config["ADS_FORECAST_TAGS"])
        self._values = int(config["ADS_FORECAST_VALUES"])
        self._lock = threading.Lock()
        self._pending: Pending = {}
        self._folder: tuple[object, Folder] | None = None
        self._hour = -1
        self._pruned = -1

    # -- the serving path -----------------------------------------------------------------------

    def note(self, request: PageRequest, snapshot: Snapshot) -> None:
        """Count one ad request (its slots the configuration knows, once each). Never raises:
        the record must not cost a page its ads (a failure is logged, the request uncounted)."""
        try:
            known = snapshot.slots
            slots = tuple(code for code in dict.fromkeys(request.slots) if code in known)
            if not slots:
                return
            folder = self._folder_of(snapshot)
            hour = int(request.now.timestamp()) // 3600
            with self._lock:
                if hour != self._hour:
                    folder.new_hour()
                    self._hour = hour
                key = (hour, folder.fold(request, slots))
                self._pending[key] = self._pending.get(key, 0) + 1
        except Exception:
            log.exception("traffic record: an ad request was not counted")

    def _folder_of(self, snapshot: Snapshot) -> Folder:
        kept = self._folder
        if kept is not None and kept[0] is snapshot:
            return kept[1]
        folder = Folder(self._targeted(snapshot), self._values)
        self._folder = (snapshot, folder)  # a new configuration: the hour's bounds start over
        return folder

    # -- writing --------------------------------------------------------------------------------

    def flush(self, now: datetime | None = None) -> int:
        """Write the counts noted so far; prune once an hour (of ``now``, the site clock's
        unless given). Returns the rows written. Counts a failed write did not store are kept
        for the next flush (and the error raised)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        try:
            self._write(pending)
        except SQLAlchemyError:
            with self._lock:
                for key, count in pending.items():
                    self._pending[key] = self._pending.get(key, 0) + count
            raise
        hour = int((now or self._clock()).timestamp()) // 3600
        if hour != self._pruned:
            self.prune(datetime.fromtimestamp(hour * 3600, UTC))
            self._pruned = hour
        return len(pending)

    def _write(self, pending: Pending) -> None:
        if not pending:
            return
        kinds = {kind: kind_row(kind) for _, kind in pending}
        hours = {hour: datetime.fromtimestamp(hour * 3600, UTC) for hour, _ in pending}
        rows = [{"hour": hours[hour], "week_hour": week_hour(hours[hour], self.timezone),
                 "kind": kinds[kind]["kind"], "requests": count}
                for (hour, kind), count in pending.items()]
        sums: dict[tuple[int, str], int] = {}
        for row in rows:
            key = (row["week_hour"], row["kind"])
            sums[key] = sums.get(key, 0) + row["requests"]
        with self.database.session() as session:
            session.execute(upsert_insert(session, AdTrafficKind).on_conflict_do_nothing(),
                            list(kinds.values()))
            hourly = upsert_insert(session, AdTraffic)
            session.execute(hourly.on_conflict_do_update(
                index_elements=["hour", "kind"],
                set_={"requests": AdTraffic.requests + hourly.excluded.requests}), rows)
            summed = upsert_insert(session, AdTrafficProfile)
            session.execute(summed.on_conflict_do_update(
                index_elements=["week_hour", "kind"],
                set_={"requests": AdTrafficProfile.requests + summed.excluded.requests}),
                [{"week_hour": w, "kind": k, "requests": n} for (w, k), n in sums.items()])

    def prune(self, now: datetime) -> int:
        """Delete the hours before the weeks kept and take them off the sums; sums at zero and
        kinds no sum names any more go too. Returns the hourly rows deleted."""
        cutoff = now - timedelta(weeks=self.weeks)
        with self.database.session() as session:
            gone = session.execute(delete(AdTraffic).where(AdTraffic.hour < cutoff).returning(
                AdTraffic.week_hour, AdTraffic.kind, AdTraffic.requests)).all()
            sums: dict[tuple[int, str], int] = {}
            for hour, kind, requests in gone:
                sums[(hour, kind)] = sums.get((hour, kind), 0) + requests
            if sums:
                connection = session.connection()
                connection.execute(_TAKE_OFF, [{"w": hour, "k": kind, "n": requests}
                                               for (hour, kind), requests in sums.items()])
                connection.execute(_EMPTIED, [{"w": hour, "k": kind} for hour, kind in sums])
            touched = sorted({kind for _, kind in sums})
            for start in range(0, len(touched), _CHUNK):
                session.execute(delete(AdTrafficKind).where(
                    AdTrafficKind.kind.in_(touched[start : start + _CHUNK]),
                    ~exists().where(AdTrafficProfile.kind == AdTrafficKind.kind)))
            return len(gone)

    def pending(self) -> int:
        """Requests noted and not written yet."""
        with self._lock:
            return sum(self._pending.values())


_LIVE: weakref.WeakSet[TrafficRecorder] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    """A serving process that exits normally (a gunicorn worker restarting) writes what it
    noted."""
    for recorder in list(_LIVE):
        if not recorder.pending():
            continue
        try:
            recorder.flush()
        except Exception:  # nothing more to do at exit than say so
            log.warning("traffic record: the last counts of this process were not written")


class BackgroundTrafficFlush(Periodic):
    """A thread per process writing the noted counts every ``interval`` seconds; errors are
    logged, the counts kept for the next round."""

    def __init__(self, recorder: TrafficRecorder, interval: float) -> None:
        super().__init__("traffic-flush", interval, self._flush)
        self._recorder = recorder

    def start(self) -> None:
        _LIVE.add(self._recorder)  # and write at exit
        super().start()

    def _flush(self) -> None:
        try:
            self._recorder.flush()
        except SQLAlchemyError as error:
            log.warning("traffic record: database unreachable (%s); will retry",
                        type(error).__name__)


def check_settings(config: Any) -> None:
    for key in ("ADS_TRAFFIC_WEEKS", "ADS_FORECAST_VALUES", "ADS_FORECAST_SAMPLES",
                "ADS_FORECAST_MAX_DAYS"):
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise SettingsError(f"{key} must be a positive whole number, not {value!r}")
    for key in ("ADS_TRAFFIC_FLUSH_SECONDS", "ADS_FORECAST_PAGES_PER_READER"):
        value = config[key]
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise SettingsError(f"{key} must be a number (0 or more), not {value!r}")
    if config["ADS_FORECAST_PAGES_PER_READER"] <= 0:
        raise SettingsError("ADS_FORECAST_PAGES_PER_READER must be more than 0")
    for key in ("ADS_FORECAST_KEYS", "ADS_FORECAST_TAGS"):
        config[key] = _names(key, config[key])


def _names(key: str, value: Any) -> list[str]:
    """A list of names, or a comma-separated string of them (from the environment)."""
    if isinstance(value, str):
        value = [name.strip() for name in value.split(",") if name.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise SettingsError(f"{key} must be a list of names, not {value!r}")
    return list(value)
