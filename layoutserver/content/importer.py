"""Import content from a JSON document (format: docs/content-format.md), idempotently.

The whole document is validated before anything is written, and everything is written in one
transaction. Rows are matched by slug (editorial lists by name) and only rewritten where a value
differs, so importing the same document twice changes nothing and leaves the content version,
and with it every cached fragment, alone.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from layoutserver.content.models import Article, Author, EditorialList, EditorialPick, Section, Tag
from layoutserver.content.sanitize import sanitize_html
from layoutserver.content.schemas import DocumentSchema
from layoutserver.content.scopes import article_scopes
from layoutserver.content.version import bump_content_version
from layoutserver.db import Base, Database, upsert
from layoutserver.importing import ImportReport, fetch_by_keys, flatten, read_json, run_import

_M = TypeVar("_M", bound=Base)


class ContentImportError(ValueError):
    """The document is invalid; each of ``messages`` starts with the path of the problem."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages)
        super().__init__("invalid content document:\n" + "\n".join(self.messages))


Item = dict[str, Any]  # one loaded section, author, article or editorial list
_KEY_FIELD = {"sections": "slug", "authors": "slug", "articles": "slug", "editorial_lists": "name"}


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
    """One import in one session, with the existing rows it touches keyed by slug or name:
    :meth:`errors` first, then :meth:`write`. The content service writes through it too."""

    def __init__(self, session: Session, doc: dict[str, list[Item]]) -> None:
        self.session, self.doc = session, doc
        arts, lists = doc["articles"], doc["editorial_lists"]
        refs = [x["section"] for x in arts if x["section"]]
        self.sections = fetch_by_keys(session, Section, Section.slug, self._keys("sections") + refs)
        refs = [x["author"] for x in arts if x["author"]]
        self.authors = fetch_by_keys(session, Author, Author.slug, self._keys("authors") + refs)
        refs = [slug for x in lists for slug in x["articles"]]
        self.articles = fetch_by_keys(session, Article, Article.slug, self._keys("articles") + refs)
        names = self._keys("editorial_lists")
        self.lists = fetch_by_keys(session, EditorialList, EditorialList.name, names)
        self.tags = fetch_by_keys(session, Tag, Tag.name, [tag for x in arts for tag in x["tags"]])
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
        for sec in self.doc["sections"]:
            self._upsert(self.sections, Section, sec["slug"], sec)
        for aut in self.doc["authors"]:
            self._upsert(self.authors, Author, aut["slug"], aut)
        for art in self.doc["articles"]:
            image = art["image"] or {}
            values = {
                **art,
                "body_html": sanitize_html(art["body_html"]),
                "section": self.sections[art["section"]] if art["section"] else None,
                "author": self.authors[art["author"]] if art["author"] else None,
                "image_url": image.get("url"), "image_alt": image.get("alt", ""),
                "image_width": image.get("width"), "image_height": image.get("height"),
            }
            del values["image"]
            modified = values.pop("modified_at")
            names = list(dict.fromkeys(values.pop("tags")))
            was = self.articles[art["slug"]].modified_at if art["slug"] in self.articles else None
            row, status = self._upsert(self.articles, Article, art["slug"], values)
            if {tag.name for tag in row.tags} != set(names):  # tag order carries no meaning
                row.tags = [self._tag(name) for name in names]
                status = self._restate(status)
            status = self._modified(row, status, modified, was)
            if status != "unchanged":
                self._touch(article_scopes(art["slug"]))
        for lst in self.doc["editorial_lists"]:
            values = {"name": lst["name"], "title": lst["title"]}
            row_list, status = self._upsert(self.lists, EditorialList, lst["name"], values)
            picked = [self.articles[slug] for slug in lst["articles"]]
            if [pick.article for pick in row_list.picks] != picked:
                if row_list.picks:  # delete the old picks first: (list, position) is unique
                    row_list.picks.clear()
                    self.session.flush()
                row_list.picks.extend(
                    EditorialPick(article=article, position=n) for n, article in enumerate(picked)
                )
                status = self._restate(status)
            if status != "unchanged":
                self._touch(("lists",))
        counts = self.statuses
        return ImportReport(counts["created"], counts["updated"], counts["unchanged"])

    def _upsert(
        self, rows: dict[str, _M], model: type[_M], key: str, values: Mapping[str, Any]
    ) -> tuple[_M, str]:
        row, status = upsert(self.session, rows, model, key, values)
        self.statuses[status] += 1
        if status != "unchanged" and model in (Section, Author):
            self.scopes = None
        return row, status

    def _modified(self, row: Article, status: str, given: datetime | None,
                  was: datetime | None) -> str:
        """The article's modified date: the one ``given`` when it is new; else, when the
        article changed, now (a change that leaves the date as it was: an edit through the
        API or the console, which sends the date it read, or a document without one)."""
        if given is not None and given != was:
            row.modified_at = given
            return self._restate(status)
        if status == "updated":
            row.modified_at = datetime.now(UTC)
        elif status == "created":
            row.modified_at = given
        return status

    def _restate(self, status: str) -> str:
        """Count a row first found unchanged as updated: its tags or picks changed."""
        if status == "unchanged":
            self.statuses["unchanged"] -= 1
            self.statuses["updated"] += 1
            return "updated"
        return status

    def _touch(self, scopes: Iterable[str]) -> None:
        if self.scopes is not None:
            self.scopes.update(scopes)

    def _tag(self, name: str) -> Tag:
        if name not in self.tags:
            self.tags[name] = Tag(name=name)
            self.session.add(self.tags[name])
        return self.tags[name]


def import_content(database: Database, document: Mapping[str, Any]) -> ImportReport:
    """Validate ``document``, then upsert it in one transaction; raise ContentImportError."""
    doc = load_document(document)
    return run_import(database, lambda session: ContentImport(session, doc),
                      ContentImportError,
                      lambda session, job: bump_content_version(session, job.scopes))


def import_file(database: Database, path: str | os.PathLike[str]) -> ImportReport:
    """Import a UTF-8 JSON file of the format import_content takes."""
    return import_content(database, read_json(path, ContentImportError))
