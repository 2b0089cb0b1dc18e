"""Keyset pages (layoutserver.keyset) on a real database: cursors round-trip, pages in either
direction follow each other through ties of the first sort column, and a cursor the list did
not give is refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from layoutserver.auth.models import AuditEntry
from layoutserver.content.models import Section
from layoutserver.db import Database
from layoutserver.keyset import BadCursor, SortKey, Window, count_up_to, fetch

NEWEST_FIRST = SortKey("audit", (AuditEntry.at, AuditEntry.id), descending=True)
BY_SLUG = SortKey("sections", (Section.slug,))
T0 = datetime(2024, 10, 10, 12, tzinfo=UTC)


@pytest.fixture
def entries(database: Database) -> Database:
    """Twelve entries, three to an instant."""
    with database.session() as session:
        session.execute(insert(AuditEntry), [
            {"at": T0 + timedelta(minutes=n // 3), "actor": "cms", "action": "update",
             "resource_type": "article", "resource_id": str(n)} for n in range(12)])
    return database


def walk(database: Database, key: SortKey, query: object, size: int) -> list[object]:
    seen: list[object] = []
    after = None
    with database.session() as session:
        while True:
            page = fetch(session, query, key, Window(size, after=after))  # type: ignore[arg-type]
            seen += page.items
            assert len(page.items) <= size and len(page.cursors) == len(page.items)
            if not page.more:
                return seen
            after = page.cursors[-1]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 12, 13])
def test_pages_newest_first_through_ties(entries: Database, size: int) -> None:
    seen = walk(entries, NEWEST_FIRST, select(AuditEntry), size)
    ids = [entry.id for entry in seen]  # type: ignore[attr-defined]
    with entries.session() as session:
        expected = list(session.scalars(select(AuditEntry.id).order_by(
            AuditEntry.at.desc(), AuditEntry.id.desc())))
    assert ids == expected and len(ids) == 12


def test_pages_ascending_by_a_unique_key(database: Database) -> None:
    slugs = ["b", "a", "c-1", "c", "ä", "Z"]
    with database.session() as session:
        session.execute(insert(Section), [{"slug": slug, "name": slug} for slug in slugs])
    seen = walk(database, BY_SLUG, select(Section), 4)
    with database.session() as session:
        expected = list(session.scalars(select(Section.slug).order_by(Section.slug)))
    assert [section.slug for section in seen] == expected  # type: ignore[attr-defined]
    assert sorted(expected) == sorted(slugs)


def test_a_cursor_holds_the_values_of_its_row(entries: Database) -> None:
    cursor = NEWEST_FIRST.cursor((T0, 7))
    assert NEWEST_FIRST.decode(cursor) == (T0, 7)
    other_zone = datetime(2024, 10, 10, 8, tzinfo=UTC).astimezone(
        datetime.now().astimezone().tzinfo)
    assert NEWEST_FIRST.decode(NEWEST_FIRST.cursor((other_zone, 1)))[0] == other_zone
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor


def test_an_offset_and_the_total(entries: Database) -> None:
    with entries.session() as session:
        page = fetch(session, select(AuditEntry), NEWEST_FIRST,
                     Window(5, offset=10, count_total=True))
        assert [e.resource_id for e in page.items] == ["1", "0"]
        assert not page.more and page.total == 12
        assert count_up_to(session, select(AuditEntry.id), 5) == 5
        assert count_up_to(session, select(AuditEntry.id), 50) == 12


@pytest.mark.parametrize("cursor", [
    "", "@@@", "e30", "W10", BY_SLUG.cursor(("a",)), NEWEST_FIRST.cursor((T0, 1)) + "x",
    "x" * 1001,
])
def test_a_foreign_or_broken_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(BadCursor):
        NEWEST_FIRST.decode(cursor)


@pytest.mark.parametrize(("payload", "message"), [
    ('["sections","a\\u0000"]', "no key has"),
    ('["sections","\\ud800"]', "no key has"),
])
def test_text_no_database_stores_is_refused(payload: str, message: str) -> None:
    cursor = base64.urlsafe_b64encode(payload.encode()).decode()
    with pytest.raises(BadCursor, match=message):
        BY_SLUG.decode(cursor)


def test_a_date_past_the_calendar_in_utc_is_refused() -> None:
    cursor = base64.urlsafe_b64encode(b'["audit","0001-01-01T00:00:00+05:00",1]').decode()
    with pytest.raises(BadCursor, match="out of range"):
        NEWEST_FIRST.decode(cursor)


def test_a_window_starts_one_way() -> None:
    with pytest.raises(ValueError, match="not both"):
        Window(5, after="x", offset=3)
    with pytest.raises(ValueError, match="at least one"):
        Window(0)
