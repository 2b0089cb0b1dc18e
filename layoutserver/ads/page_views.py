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
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from layoutserver.ads.models import PageViewDecision
from layoutserver.db import Database
from layoutserver.redis_store import ERRORS, RedisStore
from layoutserver.widgets import ServedAd

log = logging.getLogger(__name__)

#: How long a page view's decision is kept: its includes arrive within a second or two.
KEEP_SECONDS = 300
#: How long an include waits for the include that claimed the page view to store its decision
#: before it decides the page itself (the claimer failed or died).
WAIT_SECONDS = 2.0
POLL_SECONDS = 0.01

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


class PageViews(Protocol):
    def once(self, key: str, decide: Callable[[], Decision]) -> Decision:
        """The page view's decision: ``decide()``'s if this call claimed ``key``, else the
        claimer's."""


class DatabasePageViews:
    """Claims with an insert of the key (the primary key lets one insert win), then stores
    the decision in that row; old rows are deleted by the claims that come after them."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def once(self, key: str, decide: Callable[[], Decision]) -> Decision:
        now = datetime.now(UTC)
        try:
            with self.database.session() as session:
                session.execute(delete(PageViewDecision).where(
                    PageViewDecision.created_at < now - timedelta(seconds=KEEP_SECONDS)))
                session.add(PageViewDecision(key=key, decision=None, created_at=now))
        except IntegrityError:
            found = self._wait(key)
            return found if found is not None else decide()
        decision = decide()
        with self.database.session() as session:
            session.execute(update(PageViewDecision).where(PageViewDecision.key == key)
                            .values(decision=dump(decision)))
        return decision

    def _wait(self, key: str) -> Decision | None:
        give_up = time.monotonic() + WAIT_SECONDS
        while True:
            with self.database.session() as session:
                text = session.scalar(select(PageViewDecision.decision)
                                      .where(PageViewDecision.key == key))
            if text:
                return load(text)
            if time.monotonic() > give_up:
                log.warning("page view %s: no decision after %.1f s; deciding alone",
                            key[:12], WAIT_SECONDS)
                return None
            time.sleep(POLL_SECONDS)


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
        give_up = time.monotonic() + WAIT_SECONDS
        while True:
            text = self.store.client.get(key)
            if isinstance(text, bytes):
                return load(text.decode())
            if time.monotonic() > give_up:
                log.warning("page view %s: no decision after %.1f s; deciding alone",
                            key[-64:-52], WAIT_SECONDS)
                return None
            time.sleep(POLL_SECONDS)
