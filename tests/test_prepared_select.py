"""Direct reads (``prepared_select.py``, SQLite's fast path) give what SQLAlchemy gives: the same
rows, the same column types, the same errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import bindparam, literal_column, select, table
from sqlalchemy.exc import DBAPIError
from support import statements_run

from layoutserver.content.models import Article
from layoutserver.content.repository import ContentRepository
from layoutserver.db import Database, get_database
from layoutserver.prepared_select import PreparedSelect

SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def databases(make_app: Callable[..., Flask]) -> Iterator[tuple[Database, Database]]:
    """The demo content through direct reads, and through SQLAlchemy."""
    url = get_database(make_app()).url
    direct, through = Database(url, direct_reads=True), Database(url, direct_reads=False)
    yield direct, through
    direct.dispose()
    through.dispose()


def test_the_repository_reads_the_same_either_way(
        databases: tuple[Database, Database]) -> None:
    direct, through = (ContentRepository(database) for database in databases)
    for read in (lambda repo: repo.article(SEED_SLUG),
                 lambda repo: repo.article(SEED_SLUG, published_before=NOW),
                 lambda repo: repo.article("no-such-article"),
                 lambda repo: repo.section("world"),
                 lambda repo: repo.editorial_list("must-read", published_before=NOW),
                 lambda repo: repo.editorial_list("no-such-list"),
                 lambda repo: repo.latest_articles(5, exclude=[SEED_SLUG], published_before=NOW),
                 lambda repo: repo.latest_articles(3, section="world", published_before=NOW),
                 lambda repo: repo.latest_articles(3, exclude=[SEED_SLUG, "x"]),
                 lambda repo: repo.latest_articles(3, section="no-such-section")):
        assert read(direct) == read(through)
    article = direct.article(SEED_SLUG)
    assert article is not None and article.tags
    assert article.published_at.tzinfo is UTC  # UTCDateTime's result processor ran
    assert direct.latest_articles(5, exclude=[SEED_SLUG])[0].published_at.tzinfo is UTC


def test_a_select_whose_text_depends_on_its_values_is_not_prepared(
        databases: tuple[Database, Database]) -> None:
    direct, _ = databases
    query = PreparedSelect(select(Article.slug).where(
        Article.slug.in_(bindparam("slugs", expanding=True))))
    assert query.compiled(direct.engine.dialect) is None
    assert direct.read_rows(query, {"slugs": [SEED_SLUG]}) == [(SEED_SLUG,)]


def test_an_error_is_sqlalchemys_and_the_next_read_works(
        databases: tuple[Database, Database]) -> None:
    missing = PreparedSelect(select(literal_column("x")).select_from(table("no_such_table")))
    slug = PreparedSelect(select(Article.slug).where(Article.slug == bindparam("slug")))
    for database in databases:
        with pytest.raises(DBAPIError, match="no_such_table"):
            database.read_rows(missing, {})
        assert [tuple(row) for row in database.read_rows(slug, {"slug": SEED_SLUG})] == [
            (SEED_SLUG,)]


def test_direct_reads_run_on_the_kept_connection_and_step_aside_while_watched(
        databases: tuple[Database, Database]) -> None:
    direct, through = databases
    if direct.engine.dialect.name != "sqlite":
        pytest.skip("direct reads are SQLite's")
    with statements_run(direct.engine) as seen:  # watched: through SQLAlchemy, seen
        ContentRepository(direct).article(SEED_SLUG)
    assert len(seen) == 1 and "FROM articles" in seen[0]
    assert direct._kept().connection is None
    for database in databases:
        ContentRepository(database).article(SEED_SLUG)
    assert direct._kept().connection is not None  # the driver connection this thread keeps
    assert through._kept().connection is None
