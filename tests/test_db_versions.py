"""Version polling: another host's change shows within VERSION_POLL_SECONDS, this process's own
change on its next read; the default is shorter on SQLite (one machine) than elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from layoutserver import create_app
from layoutserver.content.repository import VERSION_SQL
from layoutserver.content.version import bump_content_version
from layoutserver.db import Database, get_database


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    url = f"sqlite:///{tmp_path / 'versions.sqlite3'}"
    polling, other = Database(url, version_poll=3600), Database(url)
    polling.create_all()
    with other.session() as session:
        bump_content_version(session)
    yield polling, other
    polling.dispose()
    other.dispose()


def test_another_hosts_change_waits_for_the_poll(hosts: tuple[Database, Database]) -> None:
    polling, other = hosts
    assert polling.read_version(VERSION_SQL) == 1
    with other.session() as session:
        bump_content_version(session)
    assert other.read_version(VERSION_SQL) == 2  # polls every time
    assert polling.read_version(VERSION_SQL) == 1  # kept for the poll interval


def test_a_commit_in_this_process_is_seen_at_once(hosts: tuple[Database, Database]) -> None:
    polling, other = hosts
    assert polling.read_version(VERSION_SQL) == 1
    with other.session() as session:
        bump_content_version(session)
    with polling.session() as session:
        bump_content_version(session)
    assert polling.read_version(VERSION_SQL) == 3


def test_the_default_poll_depends_on_the_database(tmp_path: Path) -> None:
    sqlite = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    assert get_database(sqlite).version_poll == 0.1
    postgres = create_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"})
    assert get_database(postgres).version_poll == 0.5
    pinned = create_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x",
                         "VERSION_POLL_SECONDS": 2})
    assert get_database(pinned).version_poll == 2
