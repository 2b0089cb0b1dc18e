"""The content and ads versions under two writers: every bump counts, also the first two on a
new database, when neither finds the version row yet."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from layoutserver.ads.version import bump_ads_version
from layoutserver.content.version import bump_content_version
from layoutserver.db import Database

BUMPS: list[Callable[[Session], int]] = [bump_content_version, bump_ads_version]


@pytest.mark.parametrize("bump", BUMPS, ids=["content", "ads"])
def test_two_writers_creating_the_version_row_both_count(
    database: Database, bump: Callable[[Session], int]
) -> None:
    first = database.sessionmaker()
    first.begin()
    assert bump(first) == 1  # the row is made, not yet committed
    outcome: list[object] = []

    def second_writer() -> None:
        try:
            with database.session() as session:
                outcome.append(bump(session))
        except Exception as error:  # reported by the assertion below
            outcome.append(error)

    thread = threading.Thread(target=second_writer)
    thread.start()
    time.sleep(0.5)  # the second writer now waits for the first one's row
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert outcome == [2]
    with database.session() as session:
        assert bump(session) == 3


def test_scopes_are_bumped_with_the_version(database: Database) -> None:
    with database.session() as session:
        assert bump_content_version(session, ["articles", "lists"]) == 1
    with database.session() as session:
        assert bump_content_version(session, ["articles"]) == 2
    with database.reading() as connection:
        rows = connection.exec_driver_sql(
            "SELECT name, version FROM content_scopes ORDER BY name").all()
    assert [tuple(row) for row in rows] == [("articles", 2), ("lists", 1)]
