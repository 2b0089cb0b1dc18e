"""Layouts in the database: each page type's published version and draft, every version ever
published (append-only), and the layouts version every serving process polls.

A version is kept as the TOML text of its layout, the format of ``config/layouts/*.toml``: a
version seeded from a file holds that file byte for byte, so exporting it gives the file back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from layoutserver.db import Base, UTCDateTime


class PageLayout(Base):
    """One page type: which version is published, its draft, and what the deploy last seeded."""

    __tablename__ = "layouts"

    page_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    published: Mapped[int]
    """The number of the published version."""
    draft_source: Mapped[str | None] = mapped_column(Text)
    """The draft's TOML text; None when there is no draft."""
    draft_base: Mapped[int | None]
    """The version that was published when the draft was started."""
    draft_revision: Mapped[int] = mapped_column(default=0)
    """Bumped by every save of a draft (and by publishing it): part of the draft's ETag."""
    draft_by: Mapped[str | None] = mapped_column(String(150))
    draft_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    seeded_digest: Mapped[str | None] = mapped_column(String(16))
    """The digest of the file the last deploy imported (``layouts.seeding``)."""
    seeded_version: Mapped[int | None]
    """The version that file became: while it is still the published one, a deploy of a changed
    file is imported; once a runtime edit was published, a changed file is a pending conflict."""
    pending_source: Mapped[str | None] = mapped_column(Text)
    """A deployed file that was not imported because of a newer runtime edit."""
    pending_digest: Mapped[str | None] = mapped_column(String(16))
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LayoutVersion(Base):
    """One published version of a page type's layout: never changed, never deleted."""

    __tablename__ = "layout_versions"

    page_type: Mapped[str] = mapped_column(
        ForeignKey("layouts.page_type", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    """The layout's TOML text."""
    digest: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(20))
    """How it came to be: ``file`` (seeded at a deploy), ``import``, ``draft`` or ``restore``."""
    restored_from: Mapped[int | None]
    created_by: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    summary: Mapped[str] = mapped_column(Text)
    """What changed from the version published before it, in words."""


class LayoutsState(Base):
    """The layouts version: bumped in the transaction of every publish, so each process loads
    the published layouts again when it next polls it (``Database.read_version``)."""

    __tablename__ = "layouts_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
