"""The ads config version: bumped in the same transaction as any ad configuration change, so
every process sees the change on its next request and rebuilds its snapshot."""

from __future__ import annotations

from sqlalchemy import Connection, select, text, update
from sqlalchemy.orm import Session

from layoutserver.ads.models import AdsState

STATE_ID = 1
VERSION_SQL = "SELECT version FROM ads_state WHERE id = 1"
"""One indexed read; what the snapshot source asks once per request."""
VERSION_QUERY = text(VERSION_SQL)


def bump_ads_version(session: Session) -> int:
    """Increment the version in ``session``'s transaction (a single ``UPDATE ... + 1``, so two
    writers cannot both write N + 1) and return it; the row is created at 1 if missing."""
    result = session.execute(
        update(AdsState).where(AdsState.id == STATE_ID).values(version=AdsState.version + 1)
    )
    if getattr(result, "rowcount", 0) == 0:
        session.add(AdsState(id=STATE_ID, version=1))
        session.flush()
        return 1
    version = session.scalar(select(AdsState.version).where(AdsState.id == STATE_ID))
    return int(version or 0)


def read_ads_version(connection: Session | Connection) -> int:
    return int(connection.execute(VERSION_QUERY).scalar() or 0)
