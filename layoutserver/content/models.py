"""SQLAlchemy models of the content widgets show."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from layoutserver.db import Base, UTCDateTime

article_tags = Table(
    "article_tags",
    Base.metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    # The article's own published_at, copied here by the importer (the one writer of this
    # table) whenever it writes the article's tags or moves its date: a tag's articles, newest
    # first, are then one range of the index below, read in order and stopped at the page's
    # end. Sorted by the article's column instead, a tag on half the archive would have half
    # the archive read and sorted for every page of it.
    Column("published_at", UTCDateTime, nullable=False),
    # The primary key finds an article's tags; this finds a tag's articles, newest first.
    Index("ix_article_tags_tag_published", "tag_id", "published_at", "article_id"),
)


class Section(Base):
    __tablename__ = "sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Author(Base):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    bio: Mapped[str] = mapped_column(Text, default="")
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(500))
    """The author's profile page, wherever it is (structured data links to it)."""


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Article(Base):
    __tablename__ = "articles"
    # Every list of articles is newest first (published_at, then id): a section's or an
    # author's list reads its own index range, however few of the articles are theirs
    # (the published_at index alone would be walked and filtered row by row).
    __table_args__ = (
        Index("ix_articles_section_published", "section_id", "published_at", "id"),
        Index("ix_articles_author_published", "author_id", "published_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    excerpt: Mapped[str] = mapped_column(Text, default="")
    # Always stored sanitized: see layoutserver.content.sanitize.
    body_html: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the article last changed after it was created; None: never."""
    # The lead image: its URL (None: none), alt text and size in pixels.
    image_url: Mapped[str | None] = mapped_column(String(500))
    image_alt: Mapped[str] = mapped_column(String(500), default="", server_default="")
    image_width: Mapped[int | None] = mapped_column(Integer)
    image_height: Mapped[int | None] = mapped_column(Integer)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("authors.id"))

    section: Mapped[Section | None] = relationship(lazy="joined")
    author: Mapped[Author | None] = relationship(lazy="joined")
    # Read only: the importer writes the links, with the article's date (above); deleting an
    # article deletes its links by the foreign key's cascade.
    tags: Mapped[list[Tag]] = relationship(secondary=article_tags, lazy="selectin",
                                           viewonly=True)


class EditorialList(Base):
    """An ordered pick of articles, such as "Must read"."""

    __tablename__ = "editorial_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    picks: Mapped[list[EditorialPick]] = relationship(
        order_by="EditorialPick.position", cascade="all, delete-orphan", lazy="selectin"
    )


class EditorialPick(Base):
    __tablename__ = "editorial_picks"
    # The article index: the picks of an article deleted (and the foreign key's cascade).
    __table_args__ = (UniqueConstraint("list_id", "position"),
                      Index("ix_editorial_picks_article", "article_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("editorial_lists.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    article: Mapped[Article] = relationship(lazy="joined")


class ContentScope(Base):
    """The version of one part of the content: ``article:<slug>``, ``articles`` (any article
    list), ``lists`` (editorial lists), ``all``. A widget's cached output is keyed by the scopes
    it depends on, so an edit invalidates the fragments it affects and leaves the rest cached."""

    __tablename__ = "content_scopes"

    name: Mapped[str] = mapped_column(String(250), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class ContentState(Base):
    """One row whose version changes whenever content changes; fragment cache keys carry it."""

    __tablename__ = "content_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
