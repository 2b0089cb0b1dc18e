"""Queries widgets use, returning read-only views. Each call uses its own short session, so
widgets may run on render threads."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from layoutserver.content.models import Article, Author, EditorialList, Section
from layoutserver.content.views import (
    ArticleView,
    AuthorView,
    EditorialListView,
    SectionView,
)


class ContentRepository:
    """The read side of content; the ``ContentSource`` a widget's render context carries."""

    def __init__(self, sessions: sessionmaker) -> None:  # type: ignore[type-arg]
        self._sessions = sessions

    def version(self) -> int:
        """The content version: it changes whenever content is imported or edited."""
        with self._sessions() as session:
            value = session.execute(text("SELECT version FROM content_state WHERE id = 1")).scalar()
        return int(value or 0)

    def article(self, slug: str, *, published_before: datetime | None = None) -> ArticleView | None:
        """The article, unless it is scheduled after ``published_before``."""
        query = select(Article).where(Article.slug == slug)
        if published_before is not None:
            query = query.where(Article.published_at <= published_before)
        with self._sessions() as session:
            row = session.scalars(query).first()
            return None if row is None else article_view(row)

    def section(self, slug: str) -> SectionView | None:
        with self._sessions() as session:
            row = session.scalars(select(Section).where(Section.slug == slug)).first()
            return None if row is None else section_view(row)

    def latest_articles(
        self,
        limit: int,
        *,
        offset: int = 0,
        exclude: Collection[str] = (),
        section: str | None = None,
        published_before: datetime | None = None,
    ) -> list[ArticleView]:
        """Newest first; ``exclude`` holds slugs, ``section`` a section slug."""
        query = select(Article).order_by(Article.published_at.desc(), Article.id.desc())
        if exclude:
            query = query.where(Article.slug.not_in(list(exclude)))
        if section is not None:
            query = query.join(Article.section).where(Section.slug == section)
        if published_before is not None:
            query = query.where(Article.published_at <= published_before)
        with self._sessions() as session:
            rows = session.scalars(query.offset(offset).limit(limit)).unique().all()
            return [article_view(row) for row in rows]

    def editorial_list(
        self, name: str, *, published_before: datetime | None = None
    ) -> EditorialListView | None:
        """The list in its editors' order, without picks scheduled after ``published_before``."""
        with self._sessions() as session:
            row = session.scalars(select(EditorialList).where(EditorialList.name == name)).first()
            if row is None:
                return None
            return EditorialListView(
                name=row.name,
                title=row.title,
                articles=tuple(
                    article_view(pick.article)
                    for pick in row.picks
                    if published_before is None or pick.article.published_at <= published_before
                ),
            )


def section_view(row: Section) -> SectionView:
    return SectionView(slug=row.slug, name=row.name)


def author_view(row: Author) -> AuthorView:
    return AuthorView(slug=row.slug, name=row.name, bio=row.bio, avatar_url=row.avatar_url)


def article_view(row: Article) -> ArticleView:
    return ArticleView(
        slug=row.slug,
        title=row.title,
        excerpt=row.excerpt,
        body_html=Markup(row.body_html),  # noqa: S704 - sanitized when stored
        published_at=row.published_at,
        section=None if row.section is None else section_view(row.section),
        author=None if row.author is None else author_view(row.author),
        tags=tuple(sorted(tag.name for tag in row.tags)),
    )
