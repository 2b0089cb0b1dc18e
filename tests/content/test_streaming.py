"""Streaming content import (``content/streaming.py``): JSON and JSON Lines read item by item,
written in batches of one transaction each; a bad item stops at its batch, a re-run completes
it; messages name the item or line; memory stays bounded as the document grows."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import aliased
from support import import_peak

from layoutserver.content.importer import import_content
from layoutserver.content.models import (
    Article,
    Author,
    EditorialList,
    EditorialPick,
    Section,
    Tag,
    article_tags,
)
from layoutserver.content.streaming import StoppedImport, import_path
from layoutserver.db import Database
from layoutserver.importing import ImportReport
from layoutserver.scratch import create_tables

LINE_KEY = {"sections": "section", "authors": "author", "articles": "article",
            "editorial_lists": "editorial_list"}


def _articles(count: int, section: str = "world") -> list[dict[str, Any]]:
    return [{"slug": f"story-{n}", "title": f"Story {n}", "body_html": f"<p>Body {n}</p>",
             "published_at": "2024-10-10T09:00:00Z", "section": section,
             "tags": [f"tag-{n % 3}"]} for n in range(count)]


def _write_lines(path: Path, document: dict[str, list[Any]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for kind in ("sections", "authors", "articles", "editorial_lists"):
            for item in document.get(kind, []):
                handle.write(json.dumps({LINE_KEY[kind]: item}) + "\n")
    return path


def _slugs(database: Database) -> set[str]:
    with database.session() as session:
        return set(session.scalars(select(Article.slug)))


def test_json_and_json_lines_import_the_same_rows(
    database: Database, demo: dict[str, Any], row_counts: Callable[[], dict[str, int]],
    tmp_path: Path, layoutserver_new_database: Callable[..., str],
) -> None:
    document = tmp_path / "content.json"
    document.write_text(json.dumps(demo))
    done = import_path(database, document, batch_size=4)
    assert done.report.created > 0 and done.report.updated == 0
    assert done.batches > 1
    from_json = row_counts()

    lines = _write_lines(tmp_path / "content.jsonl", demo)
    other = Database(layoutserver_new_database(create_tables))
    try:
        again = import_path(other, lines, batch_size=4)
        assert again.report == done.report
        assert _slugs(other) == _slugs(database)
    finally:
        other.dispose()
    assert row_counts() == from_json


FIRST: dict[str, list[Any]] = {
    "sections": [{"slug": "world", "name": "World"}, {"slug": "arts", "name": "Arts"}],
    "authors": [{"slug": "ann", "name": "Ann", "bio": "Writes.", "avatar_url": "/ann.png"},
                {"slug": "bo", "name": "Bo", "url": "https://example.com/bo"}],
    "articles": [
        {"slug": f"story-{n}", "title": f"Story {n}", "excerpt": f"About {n}.",
         "body_html": f"<p onclick='x()'>Body {n}</p><script>x()</script>",
         "published_at": f"2024-10-{10 + n}T09:00:00-04:00",
         "section": ("world", "arts", None)[n % 3], "author": ("ann", "bo", None)[n % 3],
         "tags": [f"tag-{n % 4}", f"tag-{n % 4}", "news", f"tag-{(n + 1) % 4}"][n % 2:],
         **({"image": {"url": "/lead.jpg", "alt": "Lead", "width": 800}} if n == 2 else {}),
         **({"modified_at": "2024-10-20T10:00:00Z"} if n == 3 else {})}
        for n in range(7)],
    "editorial_lists": [{"name": "must-read", "title": "Must read",
                         "articles": ["story-5", "story-0", "story-3"]}],
}


def _second(first: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """``first`` changed every way an article or list changes, plus a new article."""
    second = json.loads(json.dumps(first))
    sections, arts = second["sections"], second["articles"]
    sections[1]["name"] = "Arts and culture"
    arts[0]["title"] = "Story 0, revised"  # dated now
    arts[1]["tags"] = ["tag-9", "news"]  # new links
    arts[2]["published_at"] = "2024-09-01T09:00:00Z"  # links re-dated
    arts[3]["tags"] = list(reversed(arts[3]["tags"]))  # no change
    arts[4]["modified_at"] = "2024-10-21T10:00:00Z"  # only the date given
    arts[5]["section"], arts[5]["body_html"] = "arts", "<p>New body</p>"
    arts.append({"slug": "story-7", "title": "Story 7", "body_html": "<p>7</p>",
                 "published_at": "2024-10-30T09:00:00Z", "tags": ["news", "tag-10"]})
    second["editorial_lists"][0]["articles"] = ["story-7", "story-5"]
    return second


def _content(database: Database, since: datetime) -> dict[str, Any]:
    """Every content table's rows by their keys (ids are the database's), a modified date
    stamped since ``since`` shown as "now". Not the scopes: a batch that changes no section
    moves its articles' scopes where the whole document, which does, moves all of them."""
    linked = aliased(Article)
    statements: dict[str, Any] = {
        "sections": select(Section.slug, Section.name),
        "authors": select(Author.slug, Author.name, Author.bio, Author.avatar_url, Author.url),
        "tags": select(Tag.name),
        "articles": select(Article.slug, Article.title, Article.excerpt, Article.body_html,
                           Article.published_at, Article.modified_at, Article.image_url,
                           Article.image_alt, Article.image_width, Article.image_height,
                           Section.slug, Author.slug)
        .outerjoin(Section, Section.id == Article.section_id)
        .outerjoin(Author, Author.id == Article.author_id),
        "links": select(linked.slug, Tag.name, article_tags.c.published_at, linked.published_at)
        .join(linked, linked.id == article_tags.c.article_id)
        .join(Tag, Tag.id == article_tags.c.tag_id),
        "lists": select(EditorialList.name, EditorialList.title),
        "picks": select(EditorialList.name, Article.slug, EditorialPick.position)
        .join(EditorialList, EditorialList.id == EditorialPick.list_id)
        .join(Article, Article.id == EditorialPick.article_id),
    }
    found: dict[str, Any] = {}
    with database.session() as session:
        for table, statement in statements.items():
            found[table] = sorted((tuple(row) for row in session.execute(statement)), key=repr)
    found["articles"] = [(*row[:5], "now" if row[5] and row[5] >= since else row[5], *row[6:])
                         for row in found["articles"]]
    return found


def test_batches_write_what_one_transaction_writes(
    database: Database, tmp_path: Path, layoutserver_new_database: Callable[..., str],
) -> None:
    """A document streamed in batches of two and three (references across them) leaves the
    rows that importing it whole leaves, first into an empty database and then as an update
    of every kind; each tag link carries its article's date."""
    since = datetime.now(UTC)
    whole = [import_content(database, FIRST), import_content(database, _second(FIRST))]
    other = Database(layoutserver_new_database(create_tables))
    try:
        batched = [import_path(other, _write_lines(tmp_path / f"{n}.jsonl", document),
                               batch_size=size).report
                   for n, (document, size) in enumerate(((FIRST, 2), (_second(FIRST), 3)))]
        assert batched == whole == [ImportReport(12, 0, 0), ImportReport(1, 7, 5)]
        in_batches = _content(other, since)
    finally:
        other.dispose()
    at_once = _content(database, since)
    assert in_batches == at_once
    assert all(link[2] == link[3] for link in at_once["links"])
    redated = datetime(2024, 9, 1, 9, tzinfo=UTC)
    assert ("story-2", "news", redated, redated) in at_once["links"]
    assert [row[0] for row in at_once["picks"]] == ["must-read", "must-read"]
    assert any(row[5] == "now" for row in at_once["articles"])


def test_a_second_run_changes_nothing_and_leaves_the_content_version(
    database: Database, demo: dict[str, Any], tmp_path: Path,
    content_version: Callable[[], int],
) -> None:
    document = tmp_path / "content.json"
    document.write_text(json.dumps(demo))
    first = import_path(database, document, batch_size=5)
    version = content_version()
    assert version >= first.batches  # each batch that changed something moved it
    second = import_path(database, document, batch_size=5)
    assert second.report.created == second.report.updated == 0
    assert content_version() == version


def test_a_failure_half_way_keeps_the_earlier_batches_and_a_re_run_completes_it(
    database: Database, tmp_path: Path
) -> None:
    articles = _articles(50)
    articles[27]["published_at"] = "yesterday"
    document = {"sections": [{"slug": "world", "name": "World"}], "articles": articles}
    path = tmp_path / "content.json"
    path.write_text(json.dumps(document))
    with pytest.raises(StoppedImport) as stopped:
        import_path(database, path, batch_size=10)
    assert stopped.value.messages == ["articles[27].published_at: Not a valid datetime."]
    # Batches of ten items: the section and articles 0-8, then 9-18; the third (19-28) fails.
    assert stopped.value.done.batches == 2
    assert _slugs(database) == {f"story-{n}" for n in range(19)}

    articles[27]["published_at"] = "2024-10-10T09:00:00Z"
    path.write_text(json.dumps(document))
    rerun = import_path(database, path, batch_size=10)
    assert (rerun.report.created, rerun.report.unchanged) == (31, 20)
    assert _slugs(database) == {f"story-{n}" for n in range(50)}


def test_json_lines_messages_name_the_line(database: Database, tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "content.jsonl",
                        {"sections": [{"slug": "world", "name": "World"}],
                         "articles": _articles(5)})
    lines = path.read_text().splitlines()
    broken = json.loads(lines[3])
    del broken["article"]["title"]
    lines[3] = json.dumps(broken)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(StoppedImport) as stopped:
        import_path(database, path)
    assert stopped.value.messages == ["line 4 (article).title: Missing data for required field."]
    assert _slugs(database) == set()  # one batch: nothing written


@pytest.mark.parametrize(("text", "message"), [
    ('{"section": {"slug": "a", "name": "A"}}\n{"article": {"slug": \n',
     "line 2, column 22: Not valid JSON: Expecting value."),
    ('{"section": {"slug": "a", "name": "A"}}\n["article"]\n',
     "line 2: Not an object with one key, one of section, author, article, editorial_list."),
    (b'{"section": {"slug": "caf\xe9", "name": "A"}}\n',
     "line 1: Not UTF-8: invalid continuation byte."),
    ('{"sections": [], "article": {}}\n',
     "line 1: Not an object with one key, one of section, author, article, editorial_list."),
])
def test_json_lines_that_cannot_be_read_are_named_by_line(
    database: Database, tmp_path: Path, text: str | bytes, message: str
) -> None:
    path = tmp_path / "content.ndjson"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(StoppedImport) as stopped:
        import_path(database, path)
    assert stopped.value.messages == [message]


@pytest.mark.parametrize(("text", "message"), [
    ('{"sections": [{"slug": "a", "name": "A"}], "articles": [{"slug": "b"',
     "(document): Not valid JSON (after sections[0]): "),
    ('{"sections": [], "stories": []}', "stories: Unknown field."),
    ('{"sections": {"slug": "a"}}', "sections: Not a valid list."),
    ('[1, 2]', "(document): Not an object with the lists sections, authors, articles, "
     "editorial_lists."),
])
def test_a_json_document_that_cannot_be_read_is_refused_clearly(
    database: Database, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "content.json"
    path.write_text(text)
    with pytest.raises(StoppedImport) as stopped:
        import_path(database, path)
    assert len(stopped.value.messages) == 1
    assert stopped.value.messages[0].startswith(message)
    assert stopped.value.done.batches == 0


WRITE = """
    body = "<p>" + "Words of an archived story. " * 200 + "</p>"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('{"sections": [{"slug": "world", "name": "World"}], "articles": [')
        for n in range(count):
            handle.write(("," if n else "") + json.dumps({
                "slug": f"story-{n}", "title": f"Story {n}", "body_html": body,
                "published_at": "2024-10-10T09:00:00Z", "section": "world"}))
        handle.write("]}")
"""


def _peak_bytes(url: str, path: Path, count: int) -> int:
    peak, created = import_peak(WRITE, "from layoutserver.content.streaming import import_path",
                                "import_path(database, path, batch_size=200)", url, path, count)
    assert created == count + 1
    return peak


def test_memory_stays_bounded_as_the_document_grows(
    layoutserver_new_database: Callable[..., str], tmp_path: Path
) -> None:
    """Four times the articles (5.6 KB bodies: 2.3 MB, then 9 MB of document) take about the
    same peak memory: what one batch holds, not the document."""
    small = _peak_bytes(layoutserver_new_database(create_tables), tmp_path / "small.json", 400)
    large = _peak_bytes(layoutserver_new_database(create_tables), tmp_path / "large.json", 1600)
    assert large < small * 1.3, (small, large)
    assert large < 20 * 1024 * 1024, large
