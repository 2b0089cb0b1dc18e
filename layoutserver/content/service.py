"""Sections, authors, articles and editorial lists: read, create, update, delete.

No Flask here: every function takes a SQLAlchemy ``Session`` (the caller's transaction), the
actor's name (for the audit log) and plain, JSON-like dicts. Input is validated with the import
schemas of :mod:`layoutserver.content.schemas` and written by the importer
(:class:`~layoutserver.content.importer.ContentImport`: the same reference checks, the same
sanitizing, the same row values), so an object created here is exactly what importing it would
create. A change is recorded in the audit log and bumps the content version in the same
transaction, so it shows on the next page request.

A resource is shown as the import format shows it (``dump``): references by slug, article
datetimes as ISO 8601 strings in UTC (so a resource shows the same, and has the same ETag,
however its time was given). An update is a merge: the fields given replace those shown, and
the result is validated as a whole. The key (slug, or an editorial list's name) cannot be
changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from layoutserver.content.importer import ContentImport
from layoutserver.content.models import (
    Article,
    Author,
    EditorialList,
    EditorialPick,
    Section,
    Tag,
    article_tags,
)
from layoutserver.content.repository import one_of_few
from layoutserver.content.schemas import (
    ArticleSchema,
    AuthorSchema,
    EditorialListSchema,
    SectionSchema,
)
from layoutserver.content.scopes import article_scopes
from layoutserver.content.version import bump_content_version
from layoutserver.keyset import Page, SortKey, Window, count_up_to, fetch
from layoutserver.services import Conflict, Domain, Dump, Resource

Kind = Literal["section", "author", "article", "editorial_list"]
Row = Section | Author | Article | EditorialList

_RESOURCES: dict[Kind, Resource] = {
    "section": Resource("section", Section, SectionSchema, "slug", "sections"),
    "author": Resource("author", Author, AuthorSchema, "slug", "authors"),
    "article": Resource("article", Article, ArticleSchema, "slug", "articles"),
    "editorial_list": Resource("editorial_list", EditorialList, EditorialListSchema, "name",
                               "editorial_lists"),
}
KINDS: tuple[Kind, ...] = tuple(_RESOURCES)


def input_schema(kind: Kind, *, partial: bool = False) -> Any:
    """The schema a create (or, ``partial``, an update) of ``kind`` validates with."""
    return _RESOURCES[kind].input_schema(partial=partial)


def dump(kind: Kind, row: Row) -> Dump:
    """``row`` as the API shows it."""
    spec = _RESOURCES[kind]
    if isinstance(row, Article):
        values: dict[str, Any] = {
            "slug": row.slug, "title": row.title, "excerpt": row.excerpt,
            "body_html": row.body_html, "published_at": row.published_at.astimezone(UTC),
            "modified_at": (None if row.modified_at is None
                            else row.modified_at.astimezone(UTC)),
            "section": row.section.slug if row.section else None,
            "author": row.author.slug if row.author else None,
            "tags": sorted(tag.name for tag in row.tags),
            "image": None if row.image_url is None else {
                "url": row.image_url, "alt": row.image_alt, "width": row.image_width,
                "height": row.image_height},
        }
    elif isinstance(row, EditorialList):
        values = {"name": row.name, "title": row.title,
                  "articles": [pick.article.slug for pick in row.picks]}
    else:
        values = {name: getattr(row, name) for name in spec.schema().fields}
    dumped: Dump = spec.schema().dump(values)
    return dumped


def get(session: Session, kind: Kind, key: str, *, lock: bool = False) -> Dump:
    """``kind`` ``key`` as the API shows it; ``NotFound``. ``lock``: see :meth:`Resource.find`."""
    return _DOMAIN.get(session, kind, key, lock=lock)


@dataclass(frozen=True)
class ArticleFilters:
    section: str | None = None
    author: str | None = None
    tag: str | None = None
    published_after: datetime | None = None
    published_before: datetime | None = None


#: The order of each kind's list: articles newest first, the others by key (each unique last).
ORDERS: dict[Kind, SortKey] = {
    "article": SortKey("articles", (Article.published_at, Article.id), descending=True),
    "section": SortKey("sections", (Section.slug,)),
    "author": SortKey("authors", (Author.slug,)),
    "editorial_list": SortKey("editorial_lists", (EditorialList.name,)),
}
ARTICLE_ORDER = ORDERS["article"]
TAG_ORDER = SortKey("articles", (article_tags.c.published_at, article_tags.c.article_id),
                    descending=True, attributes=("published_at", "id"))
"""A tag's articles: :data:`ARTICLE_ORDER` read from the tag's links, which carry each
article's date (the same cursors)."""


def list_items(
    session: Session, kind: Kind, window: Window, filters: ArticleFilters | None = None,
) -> Page[Dump]:
    """One page of ``kind`` in its order (:data:`ORDERS`), by keyset (``BadCursor``).
    ``filters`` apply to articles only (``ValueError`` otherwise)."""
    spec = _RESOURCES[kind]
    query: Select[Any] = select(spec.model)
    order = ORDERS[kind]
    if filters is not None:
        if kind != "article":
            raise ValueError("only articles are filtered")
        query, order = _filter_articles(session, query, filters)
    return fetch(session, query, order, window).map(lambda row: dump(kind, row))


def count(session: Session, kind: Kind, at_most: int) -> int:
    """How many of ``kind`` there are, counted up to ``at_most``."""
    return count_up_to(session, select(_RESOURCES[kind].model.id), at_most)


def _filter_articles(session: Session, query: Select[Any], filters: ArticleFilters
                     ) -> tuple[Select[Any], SortKey]:
    """The filtered query and its order. A section, author or tag filter is the id its slug
    or name names, read first and written into the SQL (see
    :func:`~layoutserver.content.repository.one_of_few`), so the articles are read from that
    section's or author's own index range, however few they are; an unknown one keeps none. A
    tag's articles are read from its links, in the order of the dates they carry
    (:data:`TAG_ORDER`): one index range, newest first, stopped at the page's end, however many
    articles the tag has."""
    published: Any = Article.published_at
    order = ARTICLE_ORDER
    if filters.tag is not None:
        query = query.join(article_tags, article_tags.c.article_id == Article.id)
        published, order = article_tags.c.published_at, TAG_ORDER
    named: tuple[tuple[Any, Any, Any, str | None], ...] = (
        (Article.section_id, Section.id, Section.slug, filters.section),
        (Article.author_id, Author.id, Author.slug, filters.author),
        (article_tags.c.tag_id, Tag.id, Tag.name, filters.tag))
    for column, row_id, key, value in named:
        if value is not None:
            found = session.scalar(select(row_id).where(key == value))
            query = query.where(column == one_of_few(column.key)).params(
                {column.key: found if found is not None else -1})
    if filters.published_after is not None:
        query = query.where(published >= filters.published_after)
    if filters.published_before is not None:
        query = query.where(published < filters.published_before)
    return query, order


def create(session: Session, actor: str, kind: Kind, data: Any) -> Dump:
    """Create a ``kind`` from ``data``; ``Invalid`` or ``Conflict`` (its key is taken)."""
    return _DOMAIN.create(session, actor, kind, _RESOURCES[kind].load(data))


def update(session: Session, actor: str, kind: Kind, key: str, data: Any) -> Dump:
    """Change the fields of ``data`` (the others are kept); ``NotFound`` or ``Invalid``.
    An update that changes nothing is not recorded and does not bump the version."""
    return _DOMAIN.update(session, actor, kind, key, data, _RESOURCES[kind].load)


def delete(session: Session, actor: str, kind: Kind, key: str) -> None:
    """Delete a ``kind``; ``NotFound``, or ``Conflict`` for a section or author that articles
    still name. Deleting an article takes it out of the editorial lists that pick it."""
    row = _RESOURCES[kind].find(session, key)
    if isinstance(row, Section | Author):
        column = Article.section_id if isinstance(row, Section) else Article.author_id
        used = session.scalar(select(func.count()).where(column == row.id)) or 0
        if used:
            raise Conflict(f"{used} article(s) still name {kind} {key!r}")
    if isinstance(row, Article):
        for pick in session.scalars(select(EditorialPick).where(EditorialPick.article == row)):
            session.delete(pick)
    _DOMAIN.remove(session, actor, kind, key, row)


def _bump(session: Session, kind: Kind, key: str) -> None:
    scopes = {"article": article_scopes(key), "editorial_list": ("lists",)}.get(kind)
    bump_content_version(session, scopes)  # a section or author: every scope


_DOMAIN = Domain(_RESOURCES, ContentImport, tuple(r.doc for r in _RESOURCES.values()), dump,
                 _bump)
