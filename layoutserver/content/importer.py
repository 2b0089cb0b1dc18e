"""Import content from a JSON document (format: docs/content-format.md), idempotently.

The whole document is validated before anything is written, and everything is written in one
transaction. Rows are matched by slug (editorial lists by name) and only rewritten where a value
differs, so importing the same document twice changes nothing and leaves the content version,
and with it every cached fragment, alone.

Rows are read and written with SQLAlchemy Core, a statement per kind of change for the whole
document (the rows it names read by key, one query per kind; the new ones inserted in one
``executemany``, the changed ones updated in another), not an ORM object and a flush per row:
a streamed archive is imported a batch at a time through here (``content/streaming.py``), and
the API and the console write one object at a time through here too, so what an import writes
is what an edit writes.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from layoutserver.content.models import (
    Article,
    Author,
    EditorialList,
    EditorialPick,
    Section,
    Tag,
    article_tags,
)
from layoutserver.content.sanitize import sanitize_html
from layoutserver.content.schemas import DocumentSchema
from layoutserver.content.scopes import article_scopes
from layoutserver.content.version import bump_content_version
from layoutserver.db import Database
from layoutserver.importing import (
    ImportReport,
    flatten,
    in_chunks,
    read_json,
    run_import,
    select_by_keys,
)


class ContentImportError(ValueError):
    """The document is invalid; each of ``messages`` starts with the path of the problem."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages)
        super().__init__("invalid content document:\n" + "\n".join(self.messages))


Item = dict[str, Any]  # one loaded section, author, article or editorial list
_KEY_FIELD = {"sections": "slug", "authors": "slug", "articles": "slug", "editorial_lists": "name"}

SECTIONS: Table = Section.__table__  # type: ignore[assignment]
AUTHORS: Table = Author.__table__  # type: ignore[assignment]
ARTICLES: Table = Article.__table__  # type: ignore[assignment]
LISTS: Table = EditorialList.__table__  # type: ignore[assignment]
PICKS: Table = EditorialPick.__table__  # type: ignore[assignment]
TAGS: Table = Tag.__table__  # type: ignore[assignment]

#: An article's columns an import compares and writes (``modified_at`` has rules of its own).
ARTICLE_COLUMNS = ("slug", "title", "excerpt", "body_html", "published_at", "image_url",
                   "image_alt", "image_width", "image_height", "section_id", "author_id")


def load_document(document: Mapping[str, Any]) -> dict[str, list[Item]]:
    """Validate ``document`` on its own (no database) or raise ContentImportError."""
    try:
        loaded: dict[str, list[Item]] = DocumentSchema().load(document)
    except ValidationError as error:
        raise ContentImportError(list(flatten(error.messages))) from error
    return loaded


def _duplicates(path: str, keys: Sequence[str], kind: str = "") -> Iterator[str]:
    first: dict[str, int] = {}
    for i, key in enumerate(keys):
        if first.setdefault(key, i) != i:
            where = f"{path}[{i}].{_KEY_FIELD[kind]}" if kind else f"{path}[{i}]"
            yield f"{where}: Duplicate '{key}' (first at {path}[{first[key]}])."


class ContentImport:
    """One import in one session, with the existing rows it touches read by slug or name:
    :meth:`errors` first, then :meth:`write`. The content service writes through it too."""

    def __init__(self, session: Session, doc: dict[str, list[Item]]) -> None:
        self.session, self.doc = session, doc
        arts, lists = doc["articles"], doc["editorial_lists"]
        refs = [x["section"] for x in arts if x["section"]]
        self.sections = _rows(session, SECTIONS, "slug", self._keys("sections") + refs)
        refs = [x["author"] for x in arts if x["author"]]
        self.authors = _rows(session, AUTHORS, "slug", self._keys("authors") + refs)
        refs = [slug for x in lists for slug in x["articles"]]
        self.articles = _rows(session, ARTICLES, "slug", self._keys("articles") + refs)
        self.lists = _rows(session, LISTS, "name", self._keys("editorial_lists"))
        names = [tag for x in arts for tag in x["tags"]]
        self.tags: dict[str, int] = {
            name: row.id for name, row in select_by_keys(session, TAGS.c.name, names,
                                                         TAGS.c.name, TAGS.c.id).items()}
        self.statuses: Counter[str] = Counter()
        self.scopes: set[str] | None = set()
        """The content scopes the import changed; None once a section or author changed (their
        changes show on many pages: every scope is bumped)."""

    def _keys(self, kind: str) -> list[str]:
        return [item[_KEY_FIELD[kind]] for item in self.doc[kind]]

    def errors(self) -> list[str]:
        """Duplicates in the document, and references to nothing in it or in the database."""
        errors = [m for kind in _KEY_FIELD for m in _duplicates(kind, self._keys(kind), kind)]
        known = {kind: set(self._keys(kind)) for kind in ("sections", "authors", "articles")}
        known["sections"] |= self.sections.keys()
        known["authors"] |= self.authors.keys()
        known["articles"] |= self.articles.keys()
        for i, art in enumerate(self.doc["articles"]):
            for ref in ("section", "author"):
                if art[ref] is not None and art[ref] not in known[ref + "s"]:
                    errors.append(f"articles[{i}].{ref}: Unknown {ref} '{art[ref]}'.")
        for i, lst in enumerate(self.doc["editorial_lists"]):
            path = f"editorial_lists[{i}].articles"
            errors += _duplicates(path, lst["articles"])
            errors += [
                f"{path}[{j}]: Unknown article '{slug}'."
                for j, slug in enumerate(lst["articles"])
                if slug not in known["articles"]
            ]
        return errors

    def write(self) -> ImportReport:
        if self._upsert(SECTIONS, "slug", self.sections, self.doc["sections"]):
            self.scopes = None
        if self._upsert(AUTHORS, "slug", self.authors, self.doc["authors"]):
            self.scopes = None
        self._write_articles()
        self._write_lists()
        counts = self.statuses
        return ImportReport(counts["created"], counts["updated"], counts["unchanged"])

    def _upsert(self, table: Table, key: str, rows: dict[str, dict[str, Any]],
                items: Sequence[Mapping[str, Any]]) -> bool:
        """Write ``items`` as ``rows`` (the existing ones) say: whether any row changed."""
        plan = [(values, _status(rows.get(values[key]), values)) for values in items]
        self._save(table, key, rows, plan)
        return any(status != "unchanged" for _values, status in plan)

    def _save(self, table: Table, key: str, rows: dict[str, dict[str, Any]],
              plan: Sequence[tuple[Mapping[str, Any], str]]) -> None:
        """Count each row's status; insert the created rows in one statement (``rows`` then
        hold them, with their ids) and update the updated ones in another, writing all the
        columns given."""
        new: list[Mapping[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for values, status in plan:
            self.statuses[status] += 1
            if status == "created":
                new.append(values)
            elif status == "updated":
                row = rows[values[key]]
                changed.append({**values, "b_id": row["id"]})
                row.update(values)
        if new:
            # then the new ids by key: RETURNING in a given order is a statement per row on
            # SQLite, where a plain executemany is one
            self.session.execute(insert(table), new)
            ids = select_by_keys(self.session, table.c[key], [values[key] for values in new],
                                 table.c[key], table.c.id)
            for values in new:
                rows[values[key]] = {**values, "id": ids[values[key]].id}
        if changed:
            self.session.execute(update(table).where(table.c.id == bindparam("b_id")), changed)

    def _write_articles(self) -> None:
        arts = self.doc["articles"]
        tagged = _tags_of(self.session, [self.articles[art["slug"]]["id"] for art in arts
                                         if art["slug"] in self.articles])
        plan: list[tuple[Mapping[str, Any], str]] = []
        linked: list[tuple[str, list[str]]] = []  # (slug, tags) of articles whose tags are new
        relinked: list[dict[str, Any]] = []
        dated: list[dict[str, Any]] = []
        for art in arts:
            values = self._values(art)
            before = self.articles.get(art["slug"])
            names = list(dict.fromkeys(art["tags"]))
            given = art["modified_at"]
            if before is None:
                plan.append(({**values, "modified_at": given}, "created"))
                linked.append((art["slug"], names))
                continue
            retag = set(names) != tagged.get(before["id"], set())  # order carries no meaning
            status = "updated" if retag else _status(before, values)
            modified = before["modified_at"]
            if given is not None and given != modified:
                modified, status = given, "updated"
            elif status == "updated":  # changed, the date left as it was: dated now
                modified = datetime.now(UTC)
            plan.append(({**values, "modified_at": modified}, status))
            if retag:
                relinked.append({"b_id": before["id"]})
                linked.append((art["slug"], names))
            elif values["published_at"] != before["published_at"]:
                dated.append({"b_id": before["id"], "published_at": values["published_at"]})
        self._save(ARTICLES, "slug", self.articles, plan)
        for written, status in plan:
            if status != "unchanged":
                self._touch(article_scopes(written["slug"]))
        execute = self.session.execute
        if relinked:
            execute(delete(article_tags).where(article_tags.c.article_id == bindparam("b_id")),
                    relinked)
        self._create_tags([name for _slug, names in linked for name in names])
        links = [{"article_id": row["id"], "tag_id": self.tags[name],
                  "published_at": row["published_at"]}
                 for slug, names in linked for row in (self.articles[slug],) for name in names]
        if links:
            execute(insert(article_tags), links)
        if dated:
            execute(update(article_tags).where(article_tags.c.article_id == bindparam("b_id")),
                    dated)

    def _values(self, art: Item) -> dict[str, Any]:
        """The article's row as the document gives it (``modified_at`` aside)."""
        image = art["image"] or {}
        section, author = art["section"], art["author"]
        return {
            "slug": art["slug"], "title": art["title"], "excerpt": art["excerpt"],
            "body_html": sanitize_html(art["body_html"]), "published_at": art["published_at"],
            "image_url": image.get("url"), "image_alt": image.get("alt", ""),
            "image_width": image.get("width"), "image_height": image.get("height"),
            "section_id": self.sections[section]["id"] if section else None,
            "author_id": self.authors[author]["id"] if author else None,
        }

    def _write_lists(self) -> None:
        lists = self.doc["editorial_lists"]
        was_picked = _picks_of(self.session, [row["id"] for row in self.lists.values()])
        plan: list[tuple[Mapping[str, Any], str]] = []
        repicked: list[str] = []
        for lst in lists:
            values = {"name": lst["name"], "title": lst["title"]}
            before = self.lists.get(lst["name"])
            status = _status(before, values)
            picked = [self.articles[slug]["id"] for slug in lst["articles"]]
            if before is None or picked != was_picked.get(before["id"], []):
                repicked.append(lst["name"])
                if before is not None:
                    status = "updated"
            plan.append((values, status))
        self._save(LISTS, "name", self.lists, plan)
        if any(status != "unchanged" for _values, status in plan):
            self._touch(("lists",))
        if not repicked:
            return
        ids = {name: self.lists[name]["id"] for name in repicked}
        self.session.execute(delete(PICKS).where(PICKS.c.list_id.in_(ids.values())))
        picks = [{"list_id": ids[lst["name"]], "article_id": self.articles[slug]["id"],
                  "position": n}
                 for lst in lists if lst["name"] in ids for n, slug in enumerate(lst["articles"])]
        if picks:
            self.session.execute(insert(PICKS), picks)

    def _touch(self, scopes: Iterable[str]) -> None:
        if self.scopes is not None:
            self.scopes.update(scopes)

    def _create_tags(self, names: Sequence[str]) -> None:
        """Create the tags of ``names`` that do not exist yet."""
        missing = sorted({name for name in names if name not in self.tags})
        if missing:
            self.session.execute(insert(TAGS), [{"name": name} for name in missing])
            made = select_by_keys(self.session, TAGS.c.name, missing, TAGS.c.name, TAGS.c.id)
            self.tags.update((name, row.id) for name, row in made.items())


def _status(row: Mapping[str, Any] | None, values: Mapping[str, Any]) -> str:
    """What writing ``values`` does to ``row`` (None: there is none)."""
    if row is None:
        return "created"
    # aware datetimes compare as instants
    return "updated" if any(row[name] != value for name, value in values.items()) else "unchanged"


def _rows(session: Session, table: Table, key: str, values: Iterable[str]
          ) -> dict[str, dict[str, Any]]:
    """Every column of ``table``'s rows whose ``key`` is one of ``values``, by key."""
    found = select_by_keys(session, table.c[key], values, *table.c)
    return {name: dict(row._mapping) for name, row in found.items()}


def _tags_of(session: Session, article_ids: Sequence[int]) -> dict[int, set[str]]:
    """The tag names of each of the articles."""
    tagged: dict[int, set[str]] = {}
    for row in _rows_in(session, article_tags.c.article_id, article_ids, TAGS.c.name,
                        join=(TAGS, TAGS.c.id == article_tags.c.tag_id)):
        tagged.setdefault(row[0], set()).add(row[1])
    return tagged


def _picks_of(session: Session, list_ids: Sequence[int]) -> dict[int, list[int]]:
    """The article ids each of the lists picks, in order."""
    picked: dict[int, list[int]] = {}
    rows = _rows_in(session, PICKS.c.list_id, list_ids, PICKS.c.article_id,
                    order=PICKS.c.position)
    for list_id, article_id in rows:
        picked.setdefault(list_id, []).append(article_id)
    return picked


def _rows_in(session: Session, key: Any, values: Sequence[int], *columns: Any,
             join: tuple[Table, Any] | None = None, order: Any = None
             ) -> list[tuple[Any, ...]]:
    """``key`` and ``columns`` of the rows whose ``key`` is one of ``values``, ordered by
    ``key`` then ``order`` when given."""
    query = select(key, *columns)
    if join is not None:
        query = query.join(*join)
    if order is not None:
        query = query.order_by(key, order)
    return [tuple(row) for row in in_chunks(query, key, values, session.execute)]


def import_content(database: Database, document: Mapping[str, Any]) -> ImportReport:
    """Validate ``document``, then upsert it in one transaction; raise ContentImportError."""
    doc = load_document(document)
    return run_import(database, lambda session: ContentImport(session, doc),
                      ContentImportError,
                      lambda session, job: bump_content_version(session, job.scopes))


def import_file(database: Database, path: str | os.PathLike[str]) -> ImportReport:
    """Import a UTF-8 JSON file of the format import_content takes."""
    return import_content(database, read_json(path, ContentImportError))
