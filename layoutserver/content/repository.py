"""Queries widgets use, returning read-only views.

Column selects on a pooled connection rather than ORM objects: these run on every uncached
render, and the ORM's unit of work buys nothing for reads (``make bench`` with caching disabled
measures them). Each call takes its own connection, so widgets may run on render threads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import Integer, Select, String, bindparam, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from layoutserver.content.models import (
    Article,
    Author,
    ContentScope,
    EditorialList,
    EditorialPick,
    Section,
    Tag,
    article_tags,
)
from layoutserver.content.views import (
    ArticleImage,
    ArticleSummary,
    ArticleView,
    AuthorView,
    EditorialListView,
    SectionView,
)
from layoutserver.db import Database
from layoutserver.prepared_select import PreparedSelect

#: Any select (SQLAlchemy 2.1 types a select by its column types).
AnySelect = Select[*tuple[Any, ...]]

#: Joins an article's tags into one column (group_concat / string_agg), saving a round trip.
TAG_SEPARATOR = "\x1f"

VERSION_SQL = "SELECT version FROM content_state WHERE id = 1"
#: Scope versions a process keeps per content version (then it reads them again).
MAX_SCOPES_KEPT = 10_000

SUMMARY_COLUMNS = (Article.slug, Article.title, Article.excerpt, Article.published_at,
                   Section.slug, Section.name)


class ContentRepository:
    """The read side of content; the ``ContentSource`` a widget's render context carries."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._scopes: ScopeVersions | None = None

    def version(self) -> int:
        """The content version: it changes whenever content is imported or edited."""
        return self._database.read_version(VERSION_SQL)

    def scope_versions(self, version: int) -> Mapping[str, int]:
        """The content scopes' versions (``content_scopes``) at content ``version``: each read
        by its key when first asked for, and kept in this process until the content version
        moves. Not all of them at once: there is a scope per article ever changed."""
        kept = self._scopes
        if kept is None or kept.version != version:
            kept = self._scopes = ScopeVersions(version, self._scope_version)
        return kept

    def _scope_version(self, name: str) -> int | None:
        rows = self._database.read_rows(_prepared("scope"), {"name": name})
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    def article(self, slug: str, *, published_before: datetime | None = None) -> ArticleView | None:
        """The article, unless it is scheduled after ``published_before``."""
        rows = self._database.read_rows(_prepared("article", published_before is not None),
                                        {"slug": slug, "before": published_before})
        if not rows:
            return None
        row = rows[0]
        tags = sorted(row[12].split(TAG_SEPARATOR)) if row[12] else []
        image_url, image_alt, width, height = row[15:19]
        return ArticleView(
            slug=row[1],
            title=row[2],
            excerpt=row[3],
            body_html=Markup(row[4]),  # noqa: S704 - sanitized when stored
            published_at=row[5],
            section=_section(row[6], row[7]),
            author=None if row[8] is None else AuthorView(row[8], row[9], row[10], row[11],
                                                          row[13]),
            tags=tuple(tags),
            modified_at=row[14],
            image=None if image_url is None else ArticleImage(image_url, image_alt, width,
                                                              height),
        )

    def section(self, slug: str) -> SectionView | None:
        rows = self._database.read_rows(_prepared("section"), {"slug": slug})
        return SectionView(rows[0][0], rows[0][1]) if rows else None

    def latest_articles(
        self,
        limit: int,
        *,
        offset: int = 0,
        exclude: Collection[str] = (),
        section: str | None = None,
        published_before: datetime | None = None,
    ) -> list[ArticleSummary]:
        """Newest first; ``exclude`` holds slugs, ``section`` a section slug."""
        # one slug (the article shown) as "!=": an IN list is rewritten on every execution
        query = _prepared("latest", bool(exclude), len(exclude) > 1, section is not None,
                          published_before is not None)
        excluded: list[str] | str = list(exclude)
        if len(exclude) == 1:
            excluded = excluded[0]
        parameters = {"exclude": excluded, "before": published_before, "limit": limit,
                      "offset": offset}
        if section is not None:
            found = self._database.read_rows(_prepared("section_id"), {"slug": section})
            if not found:
                return []
            parameters["section_id"] = found[0][0]
        return [_summary(row) for row in self._database.read_rows(query, parameters)]

    def editorial_list(
        self, name: str, *, published_before: datetime | None = None
    ) -> EditorialListView | None:
        """The list in its editors' order, without picks scheduled after ``published_before``."""
        rows = self._database.read_rows(_prepared("picks", published_before is not None),
                                        {"name": name, "before": published_before})
        if rows:
            title = rows[0][-1]
        else:  # an empty list, or one whose picks are all scheduled for later
            found = self._database.read_rows(_prepared("list_title"), {"name": name})
            if not found:
                return None
            title = found[0][0]
        return EditorialListView(name, title, tuple(_summary(row) for row in rows))


class ScopeVersions(Mapping[str, int]):
    """The scopes' versions at one content version, each read (``read``: None for a scope
    never bumped) when first asked for. Keeps at most :data:`MAX_SCOPES_KEPT`: a long tail of
    distinct articles asks for a scope each."""

    def __init__(self, version: int, read: Callable[[str], int | None]) -> None:
        self.version = version
        self._read = read
        self._known: dict[str, int | None] = {}

    def __getitem__(self, name: str) -> int:
        try:
            found = self._known[name]
        except KeyError:
            found = self._read(name)
            if len(self._known) >= MAX_SCOPES_KEPT:
                self._known.clear()
            self._known[name] = found
        if found is None:
            raise KeyError(name)
        return found

    def __iter__(self) -> Iterator[str]:
        """The scopes read so far (not every scope there is)."""
        return iter([name for name, value in self._known.items() if value is not None])

    def __len__(self) -> int:
        return sum(value is not None for value in self._known.values())


@functools.cache
def _prepared(kind: str, *flags: bool) -> PreparedSelect:
    """The query shape as a prepared select (``Database.read_rows``)."""
    return PreparedSelect(_statement(kind, *flags))


def _statement(kind: str, *flags: bool) -> AnySelect:
    """Each query shape is built once, with bound parameters, and reused: the queries run on
    every uncached render, and from one render to the next only their parameters change."""
    if kind == "article":
        tags = (
            select(joined_names(Tag.name))
            .join(article_tags, article_tags.c.tag_id == Tag.id)
            .where(article_tags.c.article_id == Article.id)
            .scalar_subquery()
        )
        query: AnySelect = (
            select(Article.id, Article.slug, Article.title, Article.excerpt, Article.body_html,
                   Article.published_at, Section.slug, Section.name, Author.slug, Author.name,
                   Author.bio, Author.avatar_url, tags, Author.url, Article.modified_at,
                   Article.image_url, Article.image_alt, Article.image_width,
                   Article.image_height)
            .outerjoin(Section, Article.section_id == Section.id)
            .outerjoin(Author, Article.author_id == Author.id)
            .where(Article.slug == bindparam("slug"))
        )
        return _published(query, *flags)
    if kind == "section":
        return select(Section.slug, Section.name).where(Section.slug == bindparam("slug"))
    if kind == "section_id":
        return select(Section.id).where(Section.slug == bindparam("slug"))
    if kind == "scope":
        return select(ContentScope.version).where(ContentScope.name == bindparam("name"))
    if kind == "latest":
        excluding, several, in_section, scheduled = flags
        latest: AnySelect = _summaries().order_by(Article.published_at.desc(), Article.id.desc())
        if excluding and several:
            latest = latest.where(Article.slug.not_in(bindparam("exclude", expanding=True)))
        elif excluding:
            latest = latest.where(Article.slug != bindparam("exclude"))
        if in_section:
            latest = latest.where(Article.section_id == one_of_few("section_id"))
        latest = _published(latest, scheduled)
        return latest.limit(bindparam("limit")).offset(bindparam("offset"))
    if kind == "picks":
        picks: AnySelect = (
            _summaries(EditorialList.title)
            .join(EditorialPick, EditorialPick.article_id == Article.id)
            .join(EditorialList, EditorialList.id == EditorialPick.list_id)
            .where(EditorialList.name == bindparam("name"))
            .order_by(EditorialPick.position)
        )
        return _published(picks, *flags)
    if kind == "list_title":
        return select(EditorialList.title).where(EditorialList.name == bindparam("name"))
    raise ValueError(kind)


def one_of_few(name: str) -> Any:
    """A parameter for the id of a section or an author, written into the SQL (an integer
    read from the database): PostgreSQL then plans each of them with its own statistics. With
    a bound value, once the statement is prepared, it plans for any section, expecting each
    to hold its share of the articles, and walks every article newest first to find the few
    of a small one. A site has few sections and authors: as many statements, each planned
    once."""
    return bindparam(name, type_=Integer(), literal_execute=True)


class joined_names(FunctionElement[str]):
    """``aggregate_strings(column, TAG_SEPARATOR)`` with the separator written into the SQL.
    SQLAlchemy's own binds it as a literal-execute parameter, which makes it rewrite the
    statement on every execution of the article query."""

    type = String()
    inherit_cache = True


@compiles(joined_names)
def _aggregate_strings(element: joined_names, compiler: SQLCompiler, **kw: Any) -> str:
    """Other databases: SQLAlchemy's own ``aggregate_strings``."""
    column = next(iter(element.clauses))
    return compiler.process(func.aggregate_strings(column, TAG_SEPARATOR), **kw)


@compiles(joined_names, "sqlite")
def _group_concat(element: joined_names, compiler: SQLCompiler, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, '{TAG_SEPARATOR}')"


@compiles(joined_names, "postgresql")
def _string_agg(element: joined_names, compiler: SQLCompiler, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses, **kw)}, '{TAG_SEPARATOR}')"


def _published(query: AnySelect, scheduled: bool) -> AnySelect:
    return query.where(Article.published_at <= bindparam("before")) if scheduled else query


def _summaries(*extra: Any) -> AnySelect:
    return select(*SUMMARY_COLUMNS, *extra).outerjoin(Section, Article.section_id == Section.id)


def _summary(row: Sequence[Any]) -> ArticleSummary:
    return ArticleSummary(row[0], row[1], row[2], row[3], _section(row[4], row[5]))


def _section(slug: str | None, name: str | None) -> SectionView | None:
    return None if slug is None or name is None else SectionView(slug, name)
