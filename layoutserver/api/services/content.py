"""Sections, authors, articles and editorial lists: read, create, update, delete.

No Flask here: every function takes a SQLAlchemy ``Session`` (the caller's transaction), the
actor's name (for the audit log) and plain, JSON-like dicts. Input is validated with the import
schemas of ``layoutserver.content.schemas``; a change is recorded in the audit log and bumps the
content version in the same transaction, so it shows on the next page request.

A resource is shown as the import format shows it (``dump``): references by slug, article
datetimes as ISO 8601 strings in UTC (so a resource shows the same, and has the same ETag,
however its time was given).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast

from marshmallow import Schema, ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from layoutserver.api.services.errors import Conflict, Invalid, Messages, NotFound
from layoutserver.auth.audit import Action, record_change
from layoutserver.content.models import Article, Author, EditorialList, EditorialPick, Section, Tag
from layoutserver.content.sanitize import sanitize_html
from layoutserver.content.schemas import (
    ArticleSchema,
    AuthorSchema,
    EditorialListSchema,
    SectionSchema,
)
from layoutserver.content.version import article_scopes, bump_content_version
from layoutserver.db import take_write_lock

Kind = Literal["section", "author", "article", "editorial_list"]
Row = Section | Author | Article | EditorialList
Dump = dict[str, Any]


@dataclass(frozen=True)
class _Spec:
    model: type[Row]
    schema: type[Schema]
    key: str  # the field naming the resource: slug, or name for editorial lists


_SPECS: dict[Kind, _Spec] = {
    "section": _Spec(Section, SectionSchema, "slug"),
    "author": _Spec(Author, AuthorSchema, "slug"),
    "article": _Spec(Article, ArticleSchema, "slug"),
    "editorial_list": _Spec(EditorialList, EditorialListSchema, "name"),
}
KINDS: tuple[Kind, ...] = tuple(_SPECS)


def input_schema(kind: Kind, *, partial: bool = False) -> Schema:
    """The schema a create (or, ``partial``, an update: every field optional, the key not
    allowed) validates with."""
    spec = _SPECS[kind]
    if partial:
        return spec.schema(partial=True, exclude=(spec.key,))
    return spec.schema()


def dump(kind: Kind, row: Row) -> Dump:
    """``row`` as the API shows it."""
    spec = _SPECS[kind]
    if isinstance(row, Article):
        values: dict[str, Any] = {
            "slug": row.slug, "title": row.title, "excerpt": row.excerpt,
            "body_html": row.body_html, "published_at": row.published_at.astimezone(UTC),
            "section": row.section.slug if row.section else None,
            "author": row.author.slug if row.author else None,
            "tags": sorted(tag.name for tag in row.tags),
        }
    elif isinstance(row, EditorialList):
        values = {"name": row.name, "title": row.title,
                  "articles": [pick.article.slug for pick in row.picks]}
    else:
        values = {name: getattr(row, name) for name in spec.schema().fields}
    dumped: Dump = spec.schema().dump(values)
    return dumped


def _find(session: Session, kind: Kind, key: str, *, lock: bool = False) -> Row:
    spec = _SPECS[kind]
    column = getattr(spec.model, spec.key)
    query = select(spec.model).where(column == key)
    if lock:
        query = query.with_for_update(of=spec.model)
        take_write_lock(session, spec.model)
    row = session.scalar(query)
    if row is None:
        raise NotFound(kind, key)
    return cast(Row, row)


def get(session: Session, kind: Kind, key: str, *, lock: bool = False) -> Dump:
    """``lock``: hold the row until the transaction ends (``SELECT ... FOR UPDATE``; on SQLite,
    which has no row locks, the database's write lock), for a check, such as If-Match, that
    the change made next relies on."""
    return dump(kind, _find(session, kind, key, lock=lock))


@dataclass(frozen=True)
class ArticleFilters:
    section: str | None = None
    author: str | None = None
    tag: str | None = None
    published_after: datetime | None = None
    published_before: datetime | None = None


def list_items(
    session: Session, kind: Kind, *, offset: int = 0, limit: int = 20,
    filters: ArticleFilters | None = None,
) -> tuple[list[Dump], int]:
    """One page of ``kind`` (articles newest first, the others by key) and the total count.
    ``filters`` apply to articles only (``ValueError`` otherwise)."""
    spec = _SPECS[kind]
    query: Select[Any] = select(spec.model)
    if filters is not None:
        if kind != "article":
            raise ValueError("only articles are filtered")
        query = _filter_articles(query, filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if kind == "article":
        query = query.order_by(Article.published_at.desc(), Article.id.desc())
    else:
        query = query.order_by(getattr(spec.model, spec.key))
    rows = session.scalars(query.offset(offset).limit(limit)).unique()
    return [dump(kind, row) for row in rows], int(total)


def _filter_articles(query: Select[Any], filters: ArticleFilters) -> Select[Any]:
    if filters.section is not None:
        query = query.where(Article.section.has(Section.slug == filters.section))
    if filters.author is not None:
        query = query.where(Article.author.has(Author.slug == filters.author))
    if filters.tag is not None:
        query = query.where(Article.tags.any(Tag.name == filters.tag))
    if filters.published_after is not None:
        query = query.where(Article.published_at >= filters.published_after)
    if filters.published_before is not None:
        query = query.where(Article.published_at < filters.published_before)
    return query


def _load(kind: Kind, data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise Invalid({"_schema": ["Invalid input type."]})
    try:
        loaded: dict[str, Any] = input_schema(kind, partial=partial).load(data)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {
            "_schema": error.messages}
        raise Invalid(messages) from error
    return loaded


def create(session: Session, actor: str, kind: Kind, data: Mapping[str, Any]) -> Dump:
    """Create a ``kind`` from ``data``; ``Invalid`` or ``Conflict`` (its key is taken)."""
    spec = _SPECS[kind]
    values = _load(kind, data, partial=False)
    key = values[spec.key]
    column = getattr(spec.model, spec.key)
    if session.scalar(select(spec.model.id).where(column == key)) is not None:
        raise Conflict(f"there is already a {kind.replace('_', ' ')} {key!r}",
                       {spec.key: [f"Already taken: {key!r}."]})
    row = spec.model()
    _apply(session, kind, row, values)
    session.add(row)
    session.flush()
    after = dump(kind, row)
    _changed(session, actor, "create", kind, key, None, after)
    return after


def update(
    session: Session, actor: str, kind: Kind, key: str, data: Mapping[str, Any]
) -> Dump:
    """Change the fields of ``data`` (the others are kept); ``NotFound`` or ``Invalid``.
    An update that changes nothing is not recorded and does not bump the version."""
    row = _find(session, kind, key)
    values = _load(kind, data, partial=True)
    before = dump(kind, row)
    _apply(session, kind, row, values)
    session.flush()
    after = dump(kind, row)
    if after != before:
        _changed(session, actor, "update", kind, key, before, after)
    return after


def delete(session: Session, actor: str, kind: Kind, key: str) -> None:
    """Delete a ``kind``; ``NotFound``, or ``Conflict`` for a section or author that articles
    still name. Deleting an article takes it out of the editorial lists that pick it."""
    row = _find(session, kind, key)
    if isinstance(row, Section | Author):
        column = Article.section_id if isinstance(row, Section) else Article.author_id
        used = session.scalar(select(func.count()).where(column == row.id)) or 0
        if used:
            raise Conflict(f"{used} article(s) still name {kind} {key!r}")
    before = dump(kind, row)
    if isinstance(row, Article):
        for pick in session.scalars(select(EditorialPick).where(EditorialPick.article == row)):
            session.delete(pick)
    session.delete(row)
    session.flush()
    _changed(session, actor, "delete", kind, key, before, None)


def _changed(
    session: Session, actor: str, action: Action, kind: Kind, key: str,
    before: Dump | None, after: Dump | None,
) -> None:
    record_change(session, actor, action, kind, key, before, after)
    scopes = {"article": article_scopes(key), "editorial_list": ("lists",)}.get(kind)
    bump_content_version(session, scopes)  # a section or author: every scope


def _apply(session: Session, kind: Kind, row: Row, values: dict[str, Any]) -> None:
    """Set ``values`` (loaded by the kind's schema) on ``row``, resolving references."""
    if isinstance(row, Article):
        _apply_article(session, row, values)
    elif isinstance(row, EditorialList):
        _apply_list(session, row, values)
    else:
        for name, value in values.items():
            setattr(row, name, value)


def _apply_article(session: Session, row: Article, values: dict[str, Any]) -> None:
    errors: Messages = {}
    if "section" in values:
        section = _reference(session, Section, values.pop("section"), "section", errors)
        if "section" not in errors:
            row.section = section
    if "author" in values:
        author = _reference(session, Author, values.pop("author"), "author", errors)
        if "author" not in errors:
            row.author = author
    if errors:
        raise Invalid(errors)
    if "tags" in values:
        names = list(dict.fromkeys(values.pop("tags")))
        known = {t.name: t for t in session.scalars(select(Tag).where(Tag.name.in_(names)))}
        row.tags = [known.get(name) or Tag(name=name) for name in names]
    if "body_html" in values:
        values["body_html"] = sanitize_html(values["body_html"])
    for name, value in values.items():
        setattr(row, name, value)


_Ref = TypeVar("_Ref", Section, Author)


def _reference(
    session: Session, model: type[_Ref], slug: str | None, field: str, errors: Messages
) -> _Ref | None:
    if slug is None:
        return None
    found = session.scalar(select(model).where(model.slug == slug))
    if found is None:
        errors[field] = [f"Unknown {field} {slug!r}."]
    return found


def _apply_list(session: Session, row: EditorialList, values: dict[str, Any]) -> None:
    if "articles" in values:
        slugs: list[str] = values.pop("articles")
        found = {a.slug: a for a in session.scalars(select(Article).where(Article.slug.in_(slugs)))}
        errors = {i: [f"Unknown article {slug!r}."] for i, slug in enumerate(slugs)
                  if slug not in found}
        seen: set[str] = set()
        for i, slug in enumerate(slugs):
            if slug in seen:
                errors[i] = [f"Duplicate article {slug!r}."]
            seen.add(slug)
        if errors:
            raise Invalid({"articles": errors})
        if row.picks:  # (list, position) is unique: delete the old picks first
            row.picks.clear()
            session.flush()
        row.picks.extend(
            EditorialPick(article=found[slug], position=n) for n, slug in enumerate(slugs)
        )
    for name, value in values.items():
        setattr(row, name, value)
