"""The ads config version: moved in the same transaction as any ad configuration change, with
the change written to the change log under it (``change_log``), so every process sees the
change when it next reads the version (at most ``VERSION_POLL_SECONDS`` later; the process that
made it, at once) and revises its snapshot."""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from layoutserver.ads.change_log import STATE_ID, log_version

__all__ = ["STATE_ID", "VERSION_SQL", "bump_ads_version", "read_ads_version"]

VERSION_SQL = "SELECT version FROM ads_state WHERE id = 1"
"""One indexed read; what the snapshot source polls (``Database.read_version``)."""
VERSION_QUERY = text(VERSION_SQL)


def bump_ads_version(session: Session) -> int:
    """Move the version in ``session``'s transaction, logging what the session changed in
    the ad configuration under it (:func:`change_log.log_version`), and return it."""
    return log_version(session)


def read_ads_version(connection: Session | Connection) -> int:
    return int(connection.execute(VERSION_QUERY).scalar() or 0)
