"""Recording changes in the audit log and reading them back, filtered, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from layoutserver.auth.audit import audit_entries, audit_page, record_change
from layoutserver.auth.models import AuditEntry
from layoutserver.db import Database
from layoutserver.keyset import Window

T0 = datetime(2024, 10, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def history(database: Database) -> Database:
    """An article created, edited and deleted by "cms", and a slot created by "ops"."""
    with database.session() as session:
        record_change(session, "cms", "create", "article", 7, None, {"title": "A"}, now=T0)
        record_change(session, "cms", "update", "article", "7", {"title": "A"}, {"title": "B"},
                      now=T0 + timedelta(minutes=1))
        record_change(session, "ops", "create", "ad_slot", 3, None, {"code": "top"},
                      now=T0 + timedelta(minutes=2))
        record_change(session, "cms", "delete", "article", 7, {"title": "B"}, None,
                      now=T0 + timedelta(minutes=3))
    return database


def summary(database: Database, **filters: Any) -> list[tuple[str, str, str, str]]:
    with database.session() as session:
        return [(e.actor, e.action, e.resource_type, e.resource_id)
                for e in audit_entries(session, **filters)]


def test_entries_are_written_with_before_and_after(history: Database) -> None:
    with history.session() as session:
        entries = audit_entries(session)
    update = entries[2]
    assert (update.actor, update.action, update.at) == ("cms", "update", T0 + timedelta(minutes=1))
    assert (update.before, update.after) == ({"title": "A"}, {"title": "B"})
    assert entries[0].after is None and entries[3].before is None


def test_newest_first(history: Database) -> None:
    assert summary(history) == [
        ("cms", "delete", "article", "7"),
        ("ops", "create", "ad_slot", "3"),
        ("cms", "update", "article", "7"),
        ("cms", "create", "article", "7"),
    ]


def test_entries_at_the_same_moment_come_newest_recorded_first(database: Database) -> None:
    with database.session() as session:
        for number in range(3):
            record_change(session, "cms", "create", "tag", number, None, {}, now=T0)
    assert [entry[3] for entry in summary(database)] == ["2", "1", "0"]


def test_filters(history: Database) -> None:
    assert len(summary(history, resource_type="article")) == 3
    assert len(summary(history, resource_type="article", resource_id=7)) == 3
    assert summary(history, resource_type="article", resource_id="8") == []
    assert summary(history, actor="ops") == [("ops", "create", "ad_slot", "3")]
    assert [e[1] for e in summary(history, since=T0 + timedelta(minutes=1))] == [
        "delete", "create", "update"]
    assert [e[1] for e in summary(history, actor="cms", since=T0 + timedelta(minutes=2))] == [
        "delete"]


def test_limit(history: Database) -> None:
    assert [e[1] for e in summary(history, limit=2)] == ["delete", "create"]


def test_pages_follow_their_cursors_newest_first(history: Database) -> None:
    with history.session() as session:
        first = audit_page(session, Window(2, count_total=True))
        second = audit_page(session, Window(2, after=first.cursors[-1]))
        cms = audit_page(session, Window(1), actor="cms")
        cms_next = audit_page(session, Window(5, after=cms.cursors[-1]), actor="cms")
    assert [e.action for e in first.items] == ["delete", "create"]
    assert first.more and first.total == 4
    assert [e.action for e in second.items] == ["update", "create"]
    assert not second.more and second.total is None
    assert [e.action for e in cms.items + cms_next.items] == ["delete", "update", "create"]


def test_entries_of_the_same_instant_are_ordered_by_id(database: Database) -> None:
    with database.session() as session:
        for number in range(5):
            record_change(session, "cms", "create", "article", number, None, {}, now=T0)
    seen: list[str] = []
    after: str | None = None
    with database.session() as session:
        while True:
            page = audit_page(session, Window(2, after=after))
            seen += [entry.resource_id for entry in page.items]
            if not page.more:
                break
            after = page.cursors[-1]
    assert seen == ["4", "3", "2", "1", "0"]


def test_the_entry_is_a_copy_of_what_was_passed(database: Database) -> None:
    after: dict[str, Any] = {"title": "A", "tags": ["x"]}
    with database.session() as session:
        entry = record_change(session, "cms", "create", "article", 1, None, after, now=T0)
        after["tags"].append("y")
    assert entry.after == {"title": "A", "tags": ["x"]}


@pytest.mark.parametrize(
    ("action", "before", "after", "error", "message"),
    [
        ("rename", None, {}, ValueError, "unknown action 'rename'"),
        ("create", {}, {}, ValueError, "a create has no 'before'"),
        ("delete", {}, {}, ValueError, "a delete has no 'after'"),
        ("update", {}, {"at": datetime.now(UTC)}, TypeError, "not JSON serializable"),
    ],
)
def test_bad_entries_are_refused(
    database: Database, action: Any, before: Any, after: Any, error: type[Exception], message: str
) -> None:
    with database.session() as session:
        with pytest.raises(error, match=message):
            record_change(session, "cms", action, "article", 1, before, after)
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_an_entry_rolls_back_with_the_change(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session() as session:
        record_change(session, "cms", "create", "article", 1, None, {}, now=T0)
        raise RuntimeError("the change failed")
    assert summary(database) == []
