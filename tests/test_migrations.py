"""Alembic migrations (layoutserver/migrations): they build the whole schema, agree with the
models, and the CLI applies them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, inspect, text

from layoutserver import migrate
from layoutserver.cli import main
from layoutserver.db import Base, Database

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def url(layoutserver_database_url: str) -> str:
    return layoutserver_database_url


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrading_an_empty_database_creates_every_table(url: str) -> None:
    assert migrate.current(url) is None
    migrate.upgrade(url)
    assert tables(url) == set(Base.metadata.tables) | {"alembic_version"}
    assert migrate.current(url) == migrate.head()


def test_the_models_and_the_migrations_agree(url: str) -> None:
    """Fails whenever a model changes without a migration: add one with
    ``layoutserver db revision -m "..."`` (docs/deployment.md) and review it."""
    migrate.upgrade(url)
    assert migrate.differences(url) == []


def test_the_comparison_sees_a_schema_that_differs(url: str) -> None:
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_articles_published_at"))
    engine.dispose()
    assert migrate.differences(url) != []


def test_upgrading_twice_changes_nothing(url: str) -> None:
    migrate.upgrade(url)
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()
    assert migrate.differences(url) == []


def test_a_database_made_by_create_all_is_stamped_not_recreated(url: str) -> None:
    database = Database(url)
    database.create_all()
    with database.session() as session:
        session.execute(text("INSERT INTO sections (slug, name) VALUES ('world', 'World')"))
    database.dispose()
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()
    assert migrate.differences(url) == []
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT slug FROM sections")).scalars().all() == ["world"]
    engine.dispose()


# --- the CLI ----------------------------------------------------------------------------------


@pytest.fixture
def cli_url(cli_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The demo's settings (config/demo.toml) on a fresh database, from the environment."""
    monkeypatch.setenv("LAYOUTSERVER_SETTINGS", str(REPO / "config" / "demo.toml"))
    return cli_database_url


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_db_upgrade_twice_is_a_no_op(cli_url: str) -> None:
    first = run("db", "upgrade")
    assert first.exit_code == 0, first.output
    assert f"revision {migrate.head()}" in first.stdout
    second = run("db", "upgrade")
    assert second.exit_code == 0, second.output
    assert migrate.current(cli_url) == migrate.head()
    assert migrate.differences(cli_url) == []


def test_demo_load_on_a_fresh_database_migrates_it_to_head(cli_url: str) -> None:
    result = run("demo", "load")
    assert result.exit_code == 0, result.output
    assert migrate.current(cli_url) == migrate.head()


def test_demo_load_on_a_database_made_by_create_all_stamps_it(cli_url: str) -> None:
    database = Database(cli_url)
    database.create_all()
    database.dispose()
    result = run("demo", "load")
    assert result.exit_code == 0, result.output
    assert migrate.current(cli_url) == migrate.head()
    assert migrate.differences(cli_url) == []
