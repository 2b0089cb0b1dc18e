"""The purge queue: each content or layout change writes the keys it touched, in its own
transaction; each edge's sender reads the queue from its cursor, so a purge is sent to an edge
that was down as soon as it answers again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from layoutserver.db import Base, UTCDateTime


class PurgeRequest(Base):
    __tablename__ = "edge_purges"

    id: Mapped[int] = mapped_column(primary_key=True)
    keys: Mapped[str] = mapped_column(Text)
    """Surrogate keys, separated by spaces."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PurgeCursor(Base):
    """How far one edge endpoint has been purged: every request up to ``last_id``."""

    __tablename__ = "edge_purge_cursors"

    endpoint: Mapped[str] = mapped_column(String(500), primary_key=True)
    last_id: Mapped[int] = mapped_column(default=0)
