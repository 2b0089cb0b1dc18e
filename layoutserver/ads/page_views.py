"""One whole-page ad decision per page view, for pages an edge assembles from ESI includes.

An edge names each page view (``PAGE_VIEW_HEADER``, set by the shipped VCL on the top-level
request and copied to its includes). The first include of a page view to arrive *claims* it,
decides every ad slot of the page at once and stores the result; the page's other includes,
on any worker of any host, read that result and take their slot's share. So competitive
exclusion, roadblocks and "never the same creative twice" hold across the includes exactly as
on a page served whole, and each impression is counted once.

The store is Redis when ``REDIS_URL`` is set (shared by every host), else the database (shared
by every worker of the embedded default). A page view's key hashes its id with the reader's
key, the page and its query, so a page-view id guessed or replayed by another reader finds
nothing of anyone else's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Protocol

from markupsafe import Markup
from sqlalchemy import Table, delete, select, update

from layoutserver.ads.models import PageViewDecision
from layoutserver.db import Base, Database, dialect_insert
from layoutserver.redis_store import ERRORS, RedisStore
from layoutserver.widgets import ServedAd

log = logging.getLogger(__name__)

#: How long a page view's decision is kept: its includes arrive within a second or two.
KEEP_SECONDS = 300
#: How long an include waits for the include that claimed the page view to store its decision
#: before it decides the page itself (the claimer failed or died).
WAIT_SECONDS = 2.0
POLL_SECONDS = 0.01
#: How often one process deletes the rows of page views older than ``KEEP_SECONDS``.
PRUNE_SECONDS = 30.0

Decision = dict[str, ServedAd]


def page_view_key(page_view: str, user_key: str | None, page_type: str, slug: str,
                  query: Mapping[str, str]) -> str:
    parts = [page_view, user_key or "", page_type, slug,
             *(f"{name}={value}" for name, value in sorted(query.items()))]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def dump(decision: Decision) -> str:
    return json.dumps({code: {**asdict(ad), "html": str(ad.html)}
                       for code, ad in decision.items()})


def load(text: str) -> Decision:
    return {code: ServedAd(**{**fields, "html": Markup(fields["html"])})  # noqa: S704 - ours
            for code, fields in json.loads(text).items()}


def wait_for(read: Callable[[], Decision | None], key: str) -> Decision | None:
    """The decision another include is making for the page view, once ``read`` finds it;
    None (logged) if it has not come within ``WAIT_SECONDS``."""
    give_up = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < give_up:
        time.sleep(POLL_SECONDS)
        found = read()
        if found is not None:
            return found
    log.warning("page view %s: no decision after %.1f s; deciding alone", key[-64:][:12],
                WAIT_SECONDS)
    return None


class PageViews(Protocol):
    def once(self, key: str, decide: Callable[[], Decision]) -> Decision:
        """The page view's decision: ``decide()``'s if this call claimed ``key``, else the
        claimer's."""


class DatabasePageViews:
    """Reads first (the common case: a page's later includes), on the thread's read
    connection; a page view not there yet is claimed with an insert that does nothing when
    another got there first, and its row then gets the decision. Rows older than
    ``KEEP_SECONDS`` are deleted by a claim at most every ``PRUNE_SECONDS`` per process."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._pruned = 0.0
        self._table: Table = Base.metadata.tables[PageViewDecision.__tablename__]

    def once(self, key: str, decide: Callable[[], Decision]) -> Decision:
        found = self._read(key)
        if found is not None:
            return found
        if not self._claim(key):
            found = self._wait(key)
            return found if found is not None else decide()
        decision = decide()
        with self.database.engine.begin() as connection:
            connection.execute(update(self._table).where(self._table.c.key == key)
                               .values(decision=dump(decision)))
        return decision

    def _read(self, key: str) -> Decision | None:
        with self.database.reading() as connection:
            text = connection.scalar(select(self._table.c.decision)
                                     .where(self._table.c.key == key))
        return load(text) if text else None

    def _claim(self, key: str) -> bool:
        now = datetime.now(UTC)
        with self.database.engine.begin() as connection:
            if time.monotonic() - self._pruned > PRUNE_SECONDS:
                self._pruned = time.monotonic()
                connection.execute(delete(self._table).where(
                    self._table.c.created_at < now - timedelta(seconds=KEEP_SECONDS)))
            claimed = connection.execute(
                dialect_insert(connection, self._table)
                .values(key=key, decision=None, created_at=now)
                .on_conflict_do_nothing(index_elements=["key"]))
            return bool(claimed.rowcount == 1)

    def _wait(self, key: str) -> Decision | None:
        return wait_for(lambda: self._read(key), key)


class RedisPageViews:
    """Claims with ``SET NX`` on a claim key, stores the decision under the page view's key;
    both expire. With Redis unreachable, an include decides alone (its page may then show a
    creative twice, but it shows ads)."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store

    def once(self, key: str, decide: Callable[[], Decision]) -> Decision:
        client, prefix = self.store.client, f"{self.store.prefix}pv:"
        if not self.store.breaker.closed():
            return decide()
        try:
            claimed = client.set(f"{prefix}{key}:claim", b"1", nx=True, ex=KEEP_SECONDS)
            if not claimed:
                found = self._wait(f"{prefix}{key}")
                return found if found is not None else decide()
        except ERRORS as error:
            self.store.breaker.trip(error)
            return decide()
        decision = decide()
        try:
            client.set(f"{prefix}{key}", dump(decision).encode(), ex=KEEP_SECONDS)
        except ERRORS as error:
            self.store.breaker.trip(error)
        return decision

    def _wait(self, key: str) -> Decision | None:
        def read() -> Decision | None:
            text = self.store.client.get(key)
            return load(text.decode()) if isinstance(text, bytes) else None

        return wait_for(read, key)
