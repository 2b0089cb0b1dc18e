"""The ad configuration's change log: every write path logs what it changed under the version it
made, in its transaction (at least once); a version is logged once and only when something
changed (at most once); versions commit in order, so a reader that sees a version sees every
one before it; and what the log cannot tell makes a reader build afresh."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC

import pytest
from adsupport import small_config
from sqlalchemy import select
from sqlalchemy.orm import Session

from layoutserver.ads import change_log, config_service
from layoutserver.ads.config_import import import_ads
from layoutserver.ads.models import (
    AdConfigChange,
    AdSlot,
    Advertiser,
    Campaign,
    Creative,
    LineItem,
)
from layoutserver.ads.snapshot_source import SnapshotSource
from layoutserver.ads.version import bump_ads_version, read_ads_version
from layoutserver.db import Database
from layoutserver.scratch import create_tables

ACTOR = "tester"


@pytest.fixture
def database(layoutserver_new_database: Callable[..., str]) -> Iterator[Database]:
    """A database with the small ad configuration (``adsupport.small_config``)."""
    database = Database(layoutserver_new_database(create_tables))
    import_ads(database, small_config(), UTC)
    yield database
    database.dispose()


def logged(database: Database) -> dict[int, Logged]:
    with database.session() as session:
        rows = session.execute(select(AdConfigChange.version, AdConfigChange.kind,
                                      AdConfigChange.entity_id)).all()
    found: dict[int, Logged] = {}
    for version, kind, entity_id in rows:
        found.setdefault(version, set()).add((kind, entity_id))
    return found


def version(database: Database) -> int:
    with database.session() as session:
        return read_ads_version(session)


def id_of(database: Database, model: type, column: str, value: str) -> int:
    with database.session() as session:
        found = session.scalar(select(model.id).where(getattr(model, column) == value))
    assert found is not None
    return int(found)


Logged = set[tuple[str, int]]


def change(database: Database, write: Callable[[Session], object]) -> tuple[int, Logged]:
    """Run ``write`` in a transaction: the version it made and what that version logged."""
    with database.session() as session:
        write(session)
    made = version(database)
    return made, logged(database).get(made, set())


def test_every_write_path_logs_what_it_changed_under_its_version(database: Database) -> None:
    acme = id_of(database, LineItem, "name", "acme")
    assert logged(database)[version(database)] >= {("line_item", acme), ("slot", 1)}

    def update(kind: config_service.Kind, key: str, data: dict[str, object]
               ) -> Callable[[Session], object]:
        return lambda session: config_service.update(session, ACTOR, kind, key, data)

    assert change(database, update("line_item", "acme", {"status": "paused"}))[1] == {
        ("line_item", acme)}
    creative = id_of(database, Creative, "name", "acme-1")
    assert change(database, update("creative", "acme-1", {"alt": "Acme"}))[1] == {
        ("creative", creative)}
    assert change(database, update("slot", "top", {"label": ""}))[1] == {("slot", 1)}
    campaign = id_of(database, Campaign, "name", "Acme autumn")
    before = version(database)
    change(database, update("campaign", "Acme autumn", {"advertiser": "Acme"}))
    assert version(database) == before  # the same advertiser: nothing changed, nothing logged
    advertiser = id_of(database, Advertiser, "name", "Acme")
    assert change(database, update("advertiser", "Acme", {"popups_escape_sandbox": True}))[1] \
        == {("advertiser", advertiser)}
    _, rows = change(database, lambda session: config_service.create(
        session, ACTOR, "line_item", {"name": "new", "campaign": "Acme autumn",
                                      "tier": "standard", "start": "2024-10-01T00:00:00Z",
                                      "end": "2024-11-01T00:00:00Z", "creatives": ["acme-1"]}))
    new = id_of(database, LineItem, "name", "new")
    assert rows == {("line_item", new)}
    assert change(database, lambda session: config_service.delete(
        session, ACTOR, "line_item", "new"))[1] == {("line_item", new)}
    document = small_config(weight=7)
    document["campaigns"].append({"name": "Winter", "advertiser": "Acme"})
    import_ads(database, document, UTC)
    winter = id_of(database, Campaign, "name", "Winter")
    # the document puts back what the changes above changed, and adds a campaign
    assert logged(database)[version(database)] == {
        ("line_item", acme), ("creative", creative), ("slot", 1), ("advertiser", advertiser),
        ("campaign", winter)}
    assert campaign != winter


def test_an_unchanged_import_moves_no_version_and_logs_nothing(database: Database) -> None:
    before, rows = version(database), logged(database)
    import_ads(database, small_config(), UTC)
    assert version(database) == before and logged(database) == rows


def test_a_change_committed_without_a_bump_is_logged_at_commit(database: Database) -> None:
    before = version(database)
    with database.session() as session:  # not through the services: still logged
        item = session.scalars(select(LineItem).where(LineItem.name == "house")).one()
        item.weight = 9
    assert version(database) == before + 1
    assert logged(database)[before + 1] == {("line_item", item.id)}


def test_a_rolled_back_change_is_forgotten(database: Database) -> None:
    before = version(database)
    with database.sessionmaker() as session:
        session.scalars(select(AdSlot)).one().label = "rolled back"
        session.flush()
        session.rollback()
        item = session.scalars(select(LineItem).where(LineItem.name == "house")).one()
        item.weight = 4
        made = bump_ads_version(session)
        session.commit()
    assert made == before + 1 and logged(database)[made] == {("line_item", item.id)}
    with database.session() as session:
        made = bump_ads_version(session)  # nothing noted: every reader builds afresh
    assert logged(database)[made] == {(change_log.ALL, 0)}
    with database.session() as session:
        assert change_log.changes_since(session, before, made) is None


def test_concurrent_writers_commit_their_versions_in_order(database: Database) -> None:
    """The second writer waits for the first one's version: a reader that sees a version has
    every earlier one in the log."""
    base = version(database)
    first = database.session()
    session = first.__enter__()
    session.scalars(select(LineItem).where(LineItem.name == "acme")).one().weight = 2
    assert bump_ads_version(session) == base + 1
    second_done = threading.Event()

    def second_writer() -> None:
        with database.session() as other:
            other.scalars(select(LineItem).where(LineItem.name == "house")).one().weight = 3
            bump_ads_version(other)
        second_done.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    assert not second_done.wait(0.5)  # held behind the first writer's version
    assert version(database) == base  # nothing uncommitted is seen
    first.__exit__(None, None, None)
    thread.join(30)
    assert second_done.is_set() and version(database) == base + 2
    rows = logged(database)
    acme, house = (id_of(database, LineItem, "name", name) for name in ("acme", "house"))
    assert rows[base + 1] == {("line_item", acme)} and rows[base + 2] == {("line_item", house)}
    with database.session() as reader:
        changes = change_log.changes_since(reader, base, base + 2)
    assert changes is not None and changes.of("line_item") == {acme, house}


def test_versions_beyond_what_the_log_keeps_make_a_build(
    database: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(change_log, "CHANGE_LOG_VERSIONS", 3)
    source = SnapshotSource(database, UTC)  # type: ignore[arg-type]
    source.current()
    for weight in range(2, 6):
        with database.session() as session:
            config_service.update(session, ACTOR, "line_item", "acme", {"weight": weight})
    assert min(logged(database)) == version(database) - 2  # three versions kept
    assert source.current().line_items[id_of(database, LineItem, "name", "acme")].weight == 5
    assert (source.builds, source.revisions) == (2, 0)  # four versions behind: built afresh
    with database.session() as session:
        config_service.update(session, ACTOR, "line_item", "acme", {"weight": 6})
    assert source.current().line_items[id_of(database, LineItem, "name", "acme")].weight == 6
    assert (source.builds, source.revisions) == (2, 1)
