"""Read-only views of content handed to widgets: plain frozen values, safe to cache and share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup


@dataclass(frozen=True, slots=True)
class SectionView:
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class AuthorView:
    slug: str
    name: str
    bio: str
    avatar_url: str | None
    url: str | None = None
    """The author's profile page."""


@dataclass(frozen=True, slots=True)
class ArticleImage:
    """An article's lead image: a URL or a site path, its alt text, its size in pixels (when
    known)."""

    url: str
    alt: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class ArticleView:
    slug: str
    title: str
    excerpt: str
    #: Sanitized on import, so it is markup.
    body_html: Markup
    published_at: datetime
    section: SectionView | None
    author: AuthorView | None
    tags: tuple[str, ...]
    modified_at: datetime | None = None
    """When it last changed after it was created; None: never."""
    image: ArticleImage | None = None


@dataclass(frozen=True, slots=True)
class ArticleSummary:
    """An article as a list shows it: no body, author or tags (lists are read on every page)."""

    slug: str
    title: str
    excerpt: str
    published_at: datetime
    section: SectionView | None


@dataclass(frozen=True, slots=True)
class EditorialListView:
    name: str
    title: str
    articles: tuple[ArticleSummary, ...]


#: What a page is about: the article of an article page, the section of a section front.
Subject = ArticleView | SectionView
