"""SQLAlchemy models of the recorded traffic (``layoutserver.ads.traffic``): ad requests per kind
of page and UTC hour, and their sums per site-local hour of the week, which forecasts read.

A kind (``ad_traffic_kinds``) is stored once, under the digest of its facts; the hourly rows and
the sums name it by that digest. No foreign keys to the ad configuration: traffic outlives the
slots and line items it was recorded under.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from layoutserver.db import Base, UTCDateTime

DIGEST_LENGTH = 32


class AdTrafficKind(Base):
    """The facts of one kind of ad request (``layoutserver.ads.forecast.traffic.PageKind``)."""

    __tablename__ = "ad_traffic_kinds"

    kind: Mapped[str] = mapped_column(String(DIGEST_LENGTH), primary_key=True)
    slots: Mapped[str] = mapped_column(Text)
    """Slot codes separated by spaces, in the order asked."""
    device: Mapped[str] = mapped_column(String(20))
    section: Mapped[str] = mapped_column(Text)
    """``""`` for pages of no section."""
    page_type: Mapped[str] = mapped_column(Text)
    keyed: Mapped[bool] = mapped_column(Boolean)
    key_values: Mapped[str] = mapped_column(Text)
    """A JSON list of ``[key, value]`` pairs, sorted."""
    tags: Mapped[str] = mapped_column(Text)
    """A JSON list, sorted."""
    path: Mapped[str] = mapped_column(Text)


class AdTraffic(Base):
    """Ad requests of one kind in one UTC hour (upserted, added to by every process)."""

    __tablename__ = "ad_traffic"
    __table_args__ = (UniqueConstraint("hour", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed: the prune deletes the hours older than the weeks kept.
    hour: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    week_hour: Mapped[int] = mapped_column(Integer)
    """The site-local hour of the week of ``hour`` when it was recorded (0: Monday 00:00)."""
    kind: Mapped[str] = mapped_column(String(DIGEST_LENGTH))
    requests: Mapped[int] = mapped_column(Integer, default=0)


class AdTrafficProfile(Base):
    """Ad requests of one kind summed over the kept hours of one site-local hour of the week:
    what ``ad_traffic`` holds, added to as it is written and taken from as it is pruned."""

    __tablename__ = "ad_traffic_profile"

    # kind first: the prune finds a kind's sums by it
    kind: Mapped[str] = mapped_column(String(DIGEST_LENGTH), primary_key=True)
    week_hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
