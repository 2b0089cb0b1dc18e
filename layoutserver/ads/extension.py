"""The per-app state of ad serving: the snapshot source, the ad server (``PageContext.ads``),
the signing secret and the site clock. Bound by :func:`layoutserver.ads.binding.init_app`."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from flask import Flask, current_app

from layoutserver.ads.flush import BackgroundFlush, Flusher
from layoutserver.ads.forecasts import Forecasts
from layoutserver.ads.page_views import DatabasePageViews, RedisPageViews
from layoutserver.ads.redis_counts import RedisCounts
from layoutserver.ads.service import AdServer
from layoutserver.ads.snapshot_source import SnapshotSource
from layoutserver.ads.tally import Tally
from layoutserver.ads.tokens import Tokens, instance_secret
from layoutserver.ads.traffic import BackgroundTrafficFlush, TrafficRecorder
from layoutserver.core import Core
from layoutserver.db import Database
from layoutserver.redis_store import ERRORS, get_redis
from layoutserver.settings import SettingsError

EXTENSION_KEY = "layoutserver.ads"


class AdsExtension:
    """The per-app state of ad serving; routes find it with :func:`get_ads`."""

    def __init__(self, app: Flask, database: Database, core: Core) -> None:
        self.config = app.config
        self.sessions = database.sessionmaker
        self._core = core
        self._instance_path = app.instance_path
        self._tokens: Tokens | None = None
        self._lock = threading.Lock()
        self.snapshots = SnapshotSource(database, core.timezone,
                                        revise=app.config["ADS_SNAPSHOT_REVISIONS"])
        store = get_redis(app)
        guard_seconds = int(app.config["ADS_TOKEN_MAX_AGE"]) + 3600
        self.redis_counts = (None if store is None
                             else RedisCounts(store, core.timezone, guard_seconds))
        self.tally = Tally(database, self.redis_counts, self._line_item_end)
        self.flusher = (None if self.redis_counts is None
                        else Flusher(database, self.redis_counts, guard_seconds, self.now))
        interval = float(app.config["ADS_FLUSH_SECONDS"])
        self.background_flush = (None if self.flusher is None or interval <= 0
                                 else BackgroundFlush(self.flusher, interval))
        page_views = (DatabasePageViews(database) if store is None
                      else RedisPageViews(store))
        self.server = AdServer(self.snapshots, self.tally, self.tokens, app.config, app.url_map,
                               seed=app.config["ADS_SEED"], page_views=page_views)
        self.traffic = TrafficRecorder(database, core.timezone, app.config, self.now)
        self.forecasts = Forecasts(database, app.config)
        self.server.traffic = self.traffic.note
        every = float(app.config["ADS_TRAFFIC_FLUSH_SECONDS"])
        self.background_traffic = (None if every <= 0
                                   else BackgroundTrafficFlush(self.traffic, every))

    def tokens(self) -> Tokens:
        """The token signer, made on first use: without ``SECRET_KEY`` that is when the
        instance folder's secret is read or created."""
        if self._tokens is None:
            with self._lock:
                if self._tokens is None:
                    secret = self.config["SECRET_KEY"] or instance_secret(self._instance_path)
                    self._tokens = Tokens(secret, int(self.config["ADS_TOKEN_MAX_AGE"]))
        return self._tokens

    def flush_counts(self) -> None:
        """Copy the Redis counters into the database now, so that a report read next includes
        every acknowledged count. Best effort: skipped when another process holds the flush
        lock or Redis is unreachable (the report then lags by at most ``ADS_FLUSH_SECONDS``)."""
        if self.flusher is None or not self.flusher.counts.store.breaker.closed():
            return
        try:
            self.flusher.flush()
        except ERRORS as error:
            self.flusher.counts.store.breaker.trip(error)

    def _line_item_end(self, line_item_id: int) -> datetime | None:
        item = self.snapshots.current().line_items.get(line_item_id)
        return None if item is None else item.end

    def now(self) -> datetime:
        """The site clock (pinned in the demo): what decisions and counts are timed by."""
        return self._core.site_view().now


def get_ads(app: Any = None) -> AdsExtension:
    extension: AdsExtension = (app or current_app).extensions[EXTENSION_KEY]
    return extension


def check_settings(config: Any) -> None:
    for key in ("ADS_TOKEN_MAX_AGE", "ADS_USER_COOKIE_DAYS"):
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise SettingsError(f"{key} must be a positive whole number, not {value!r}")
    seed = config["ADS_SEED"]
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise SettingsError(f"ADS_SEED must be a whole number or unset, not {seed!r}")
    if config["ADS_DELIVERY"] not in ("server", "client"):
        raise SettingsError(f"ADS_DELIVERY must be 'server' or 'client', not "
                            f"{config['ADS_DELIVERY']!r}")
    if not isinstance(config["ADS_SNAPSHOT_REVISIONS"], bool):
        raise SettingsError(f"ADS_SNAPSHOT_REVISIONS must be true or false, not "
                            f"{config['ADS_SNAPSHOT_REVISIONS']!r}")
    if not config["ADS_USER_COOKIE"]:
        raise SettingsError("ADS_USER_COOKIE must name a cookie")
