"""Purging edge caches by surrogate key.

:func:`enqueue_purge` writes the keys a change touched into the change's own transaction (so a
purge is never lost, and never sent for a change that rolled back). A :class:`PurgeSender`
sends what is queued to each configured endpoint, from that endpoint's cursor: an edge that is
down gets every purge it missed once it answers again, in one request. Purges are idempotent,
so two processes sending the same batch do no harm.

Two endpoint styles (setting ``EDGE_PURGE``, one string ``"STYLE URL"`` per edge):

* ``xkey``: ``PURGE <url>`` with ``xkey-purge: <keys>``, answered by the shipped VCL
  (``config/edge/varnish.vcl``) with Varnish's xkey vmod;
* ``fastly``: ``POST <url>`` with ``Surrogate-Key: <keys>`` and ``Fastly-Key`` (setting
  ``EDGE_PURGE_TOKEN``), as Fastly's purge-by-keys API takes it
  (``https://api.fastly.com/service/<id>/purge``).
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from layoutserver.db import Database
from layoutserver.edge.keys import header_value
from layoutserver.edge.models import PurgeCursor, PurgeRequest

log = logging.getLogger(__name__)

STYLES = ("xkey", "fastly")
#: Queued purges older than this are dropped when the next is queued: an edge's copy of any
#: response is older than its longest TTL by then anyway.
KEEP_QUEUED = timedelta(days=1)
#: Requests sent to one endpoint in one go (their keys joined).
BATCH = 200
#: The longest wait between attempts at an endpoint that keeps failing.
MAX_BACKOFF_SECONDS = 30.0


class PurgeSettingError(ValueError):
    pass


@dataclass(frozen=True)
class PurgeEndpoint:
    style: str
    url: str
    token: str = ""

    @classmethod
    def parse(cls, text: str, token: str = "") -> PurgeEndpoint:
        """``"xkey http://varnish:6081/"`` or ``"fastly https://api.fastly.com/..."``."""
        style, _, url = text.strip().partition(" ")
        url = url.strip()
        if style not in STYLES or not url.startswith(("http://", "https://")):
            raise PurgeSettingError(
                f"EDGE_PURGE: {text!r} is not 'STYLE URL' with STYLE one of "
                f"{', '.join(STYLES)} and an http(s) URL")
        return cls(style, url, token)

    def request(self, keys: Sequence[str]) -> urllib.request.Request:
        value = header_value(keys)
        if self.style == "xkey":
            return urllib.request.Request(self.url, method="PURGE",  # noqa: S310 - parse checks
                                          headers={"xkey-purge": value})
        headers = {"Surrogate-Key": value, "Accept": "application/json"}
        if self.token:
            headers["Fastly-Key"] = self.token
        return urllib.request.Request(self.url, method="POST",  # noqa: S310 - parse checks
                                      headers=headers)


def enqueue_purge(session: Session, keys: Iterable[str], now: datetime | None = None) -> None:
    """Queue a purge of ``keys`` in ``session``'s transaction (and drop long-sent ones)."""
    now = now or datetime.now(UTC)
    session.add(PurgeRequest(keys=header_value(sorted(set(keys))), created_at=now))
    session.execute(delete(PurgeRequest).where(PurgeRequest.created_at < now - KEEP_QUEUED))


Send = Callable[[urllib.request.Request, float], int]


def _send(request: urllib.request.Request, timeout: float) -> int:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


class PurgeSender:
    """Sends queued purges to each endpoint from its cursor; an endpoint that fails is tried
    again later, waiting twice as long each time (at most ``MAX_BACKOFF_SECONDS``)."""

    def __init__(self, database: Database, endpoints: Sequence[PurgeEndpoint],
                 timeout: float = 2.0, send: Send = _send) -> None:
        self.database = database
        self.endpoints = tuple(endpoints)
        self.timeout = timeout
        self._send = send
        self._retry_at: dict[str, tuple[float, float]] = {}
        """Per endpoint URL: (monotonic time of the next attempt, the wait after that)."""

    def send_pending(self) -> int:
        """Send what each endpoint has not had yet; the number of purge requests sent."""
        sent = 0
        for endpoint in self.endpoints:
            retry_at, _ = self._retry_at.get(endpoint.url, (0.0, 0.0))
            if time.monotonic() < retry_at:
                continue
            sent += self._send_to(endpoint)
        return sent

    def _send_to(self, endpoint: PurgeEndpoint) -> int:
        with self.database.session() as session:
            cursor = self._cursor(session, endpoint.url)
            rows = session.execute(
                select(PurgeRequest.id, PurgeRequest.keys).where(PurgeRequest.id > cursor)
                .order_by(PurgeRequest.id).limit(BATCH)).all()
        if not rows:
            return 0
        keys = sorted({key for _, text in rows for key in text.split()})
        try:
            status = self._send(endpoint.request(keys), self.timeout)
        except OSError as error:
            status, why = 0, str(error)
        else:
            why = f"HTTP {status}"
        if not 200 <= status < 300:
            self._back_off(endpoint, why)
            return 0
        self._retry_at.pop(endpoint.url, None)
        last = rows[-1][0]
        with self.database.session() as session:
            session.execute(update(PurgeCursor).where(
                PurgeCursor.endpoint == endpoint.url, PurgeCursor.last_id < last)
                .values(last_id=last))
        log.info("edge purge: %s %s: %d key(s) of %d change(s)", endpoint.style, endpoint.url,
                 len(keys), len(rows))
        return 1

    def _cursor(self, session: Session, url: str) -> int:
        """The endpoint's cursor; a new endpoint starts at the end of the queue (what it
        cached before it was configured expires by its TTLs)."""
        found = session.scalar(select(PurgeCursor.last_id).where(PurgeCursor.endpoint == url))
        if found is not None:
            return int(found)
        last = int(session.scalar(select(func.coalesce(func.max(PurgeRequest.id), 0))) or 0)
        session.add(PurgeCursor(endpoint=url, last_id=last))
        return last

    def _back_off(self, endpoint: PurgeEndpoint, why: str) -> None:
        _, wait = self._retry_at.get(endpoint.url, (0.0, 0.0))
        wait = min(max(wait * 2, 0.5), MAX_BACKOFF_SECONDS)
        self._retry_at[endpoint.url] = (time.monotonic() + wait, wait)
        log.warning("edge purge: %s %s failed (%s); trying again in %.1f s",
                    endpoint.style, endpoint.url, why, wait)
