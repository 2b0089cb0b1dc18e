"""The ads config version: bumped in the same transaction as any ad configuration change, so
every process sees the change when it next reads the version (at most ``VERSION_POLL_SECONDS``
later; the process that made it, at once) and rebuilds its snapshot."""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from layoutserver.ads.models import AdsState
from layoutserver.db import increment

STATE_ID = 1
VERSION_SQL = "SELECT version FROM ads_state WHERE id = 1"
"""One indexed read; what the snapshot source polls (``Database.read_version``)."""
VERSION_QUERY = text(VERSION_SQL)


def bump_ads_version(session: Session) -> int:
    """Increment the version in ``session``'s transaction (one upsert, so two writers cannot
    both write N + 1) and return it; the row is created at 1 if missing."""
    return increment(session, AdsState, {"id": STATE_ID})


def read_ads_version(connection: Session | Connection) -> int:
    return int(connection.execute(VERSION_QUERY).scalar() or 0)
