"""Streaming content import (``content/streaming.py``): JSON and JSON Lines read item by item,
written in batches of one transaction each; a bad item stops at its batch, a re-run completes
it; messages name the item or line; memory stays bounded as the document grows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support import import_peak

from layoutserver.content.models import Article
from layoutserver.content.streaming import StoppedImport, import_path
from layoutserver.db import Database
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
