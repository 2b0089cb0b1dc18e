"""The api tokens and audit log revision: applied on top of a database from before it (made by
``create_all`` before there were migrations), and reversible."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text

from layoutserver import migrate

NEW_TABLES = {"api_tokens", "audit_entries"}


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_pre_migration_database_gets_the_new_tables(layoutserver_database_url: str) -> None:
    url = layoutserver_database_url
    # The schema as it was before there were migrations: the baseline, with no version table.
    command.upgrade(migrate.alembic_config(url), migrate.BASELINE)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(text("INSERT INTO sections (slug, name) VALUES ('world', 'World')"))
    engine.dispose()
    assert not tables(url) & NEW_TABLES

    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()
    assert tables(url) >= NEW_TABLES
    assert migrate.differences(url) == []
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT slug FROM sections")).scalars().all() == ["world"]
    engine.dispose()


def test_the_revision_downgrades_and_upgrades_again(layoutserver_database_url: str) -> None:
    url = layoutserver_database_url
    migrate.upgrade(url)
    command.downgrade(migrate.alembic_config(url), migrate.BASELINE)
    assert not tables(url) & NEW_TABLES
    migrate.upgrade(url)
    assert tables(url) >= NEW_TABLES
    assert migrate.differences(url) == []
