"""The content service on its own: no Flask, a session, an actor and plain dicts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from layoutserver import services
from layoutserver.auth.audit import audit_entries
from layoutserver.content import service
from layoutserver.content.models import ContentState
from layoutserver.db import Database
from layoutserver.keyset import Window


@pytest.fixture
def database(database: Database) -> Database:
    """The shared fresh database, with a section and an author to file articles under."""
    with database.session() as session:
        service.create(session, "setup", "section", {"slug": "world", "name": "World"})
        service.create(session, "setup", "author", {"slug": "ann", "name": "Ann"})
    return database


def version(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(ContentState.version)) or 0


def test_a_change_is_audited_and_bumps_the_version_in_its_transaction(
    database: Database,
) -> None:
    start = version(database)
    with database.session() as session:
        shown = service.create(session, "cms", "article", {
            "slug": "a", "title": "A", "body_html": "<p>a</p>",
            "published_at": "2024-10-10T09:00:00-04:00", "section": "world", "author": "ann",
        })
    assert shown["published_at"] == "2024-10-10T13:00:00+00:00"
    assert version(database) == start + 1
    with database.session() as session:
        [entry] = audit_entries(session, resource_type="article", resource_id="a")
        assert (entry.actor, entry.action, entry.before, entry.after) == ("cms", "create", None,
                                                                          shown)


def test_a_failed_change_leaves_nothing_behind(database: Database) -> None:
    start = version(database)
    with pytest.raises(services.Invalid) as caught, database.session() as session:
        service.update(session, "cms", "section", "world", {"name": ""})
    assert "name" in caught.value.messages
    with pytest.raises(services.Invalid) as caught, database.session() as session:
        service.create(session, "cms", "article", {
            "slug": "b", "title": "B", "body_html": "", "published_at": "2024-10-10T09:00:00Z",
            "section": "nowhere",
        })
    assert caught.value.messages == {"section": ["Unknown section 'nowhere'."]}
    assert version(database) == start
    with database.session() as session:
        empty = service.list_items(session, "article", Window(10, count_total=True))
    assert (empty.items, empty.more, empty.total) == ([], False, 0)


def test_errors_for_missing_and_taken_keys(database: Database) -> None:
    with pytest.raises(services.NotFound), database.session() as session:
        service.get(session, "author", "bob")
    with pytest.raises(services.Conflict), database.session() as session:
        service.create(session, "cms", "author", {"slug": "ann", "name": "Ann again"})
    with pytest.raises(services.Invalid), database.session() as session:
        service.create(session, "cms", "author", ["not", "a", "dict"])  # type: ignore[arg-type]


def test_only_articles_filter(database: Database) -> None:
    with pytest.raises(ValueError, match="only articles"), database.session() as session:
        service.list_items(session, "section", Window(10), service.ArticleFilters())


def _slugs(database: Database, window: Window, tag: str) -> tuple[list[str], list[str]]:
    with database.session() as session:
        page = service.list_items(session, "article", window, service.ArticleFilters(tag=tag))
    return [item["slug"] for item in page.items], page.cursors


def test_a_tags_articles_follow_their_dates_through_edits(database: Database) -> None:
    """A tag's list is read from its links, which carry their articles' dates: an edit of an
    article's date or tags moves it in the list, and cursors page through it."""
    with database.session() as session:
        for n in range(5):
            service.create(session, "cms", "article", {
                "slug": f"a{n}", "title": f"A{n}", "body_html": "<p>a</p>",
                "published_at": f"2024-10-1{n}T09:00:00Z", "tags": ["news", f"t{n}"]})
    assert _slugs(database, Window(10), "news")[0] == ["a4", "a3", "a2", "a1", "a0"]
    with database.session() as session:
        service.update(session, "cms", "article", "a1", {"published_at": "2024-10-20T09:00:00Z"})
        service.update(session, "cms", "article", "a3", {"tags": ["t3"]})
        service.update(session, "cms", "article", "a2", {"title": "A2, again"})
    first, cursors = _slugs(database, Window(2), "news")
    assert first == ["a1", "a4"]
    assert _slugs(database, Window(2, after=cursors[-1]), "news")[0] == ["a2", "a0"]
    assert _slugs(database, Window(10), "t3")[0] == ["a3"]
    with database.session() as session:
        service.delete(session, "cms", "article", "a4")
    assert _slugs(database, Window(10), "news")[0] == ["a1", "a2", "a0"]
