"""The read queries widgets use: an article with its tags, and the latest list with none, one
or several articles left out (each a statement of its own shape)."""

from __future__ import annotations

from typing import Any

from support import statements_run

from layoutserver.content.importer import import_content
from layoutserver.content.repository import ContentRepository
from layoutserver.content.scopes import article_scopes
from layoutserver.content.version import bump_content_version
from layoutserver.db import Database

SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"


def test_an_article_carries_all_of_its_tags_sorted(database: Database,
                                                   demo: dict[str, Any]) -> None:
    demo["articles"][0]["tags"].append("a, tag with a comma")
    import_content(database, demo)
    article = ContentRepository(database).article(SEED_SLUG)
    assert article is not None
    assert article.tags == ("a, tag with a comma", "china", "east-turkistan", "human-rights",
                            "pakistan", "uyghurs")
    untagged = ContentRepository(database).article("dystopia")
    assert untagged is not None and untagged.tags == ()


def test_latest_leaves_out_none_one_or_several(database: Database,
                                               demo: dict[str, Any]) -> None:
    import_content(database, demo)
    repo = ContentRepository(database)
    everything = [a.slug for a in repo.latest_articles(20)]
    assert len(everything) == len(demo["articles"])
    assert [a.slug for a in repo.latest_articles(20, exclude=[SEED_SLUG])] == [
        slug for slug in everything if slug != SEED_SLUG]
    several = {SEED_SLUG, everything[1], everything[-1]}
    assert [a.slug for a in repo.latest_articles(20, exclude=several)] == [
        slug for slug in everything if slug not in several]
    assert [a.slug for a in repo.latest_articles(2, offset=1, exclude=(everything[0],))] == (
        everything[2:4])


def test_scope_versions_are_read_one_by_one_until_the_content_changes(
        database: Database, demo: dict[str, Any]) -> None:
    """A scope per article ever changed: they are read by key when asked for, not all at once
    (as many as the archive has articles), and read again once the content version moves."""
    import_content(database, demo)
    with database.session() as session:
        bump_content_version(session, article_scopes(SEED_SLUG))
    repo = ContentRepository(database)
    version = repo.version()
    with statements_run(database.engine) as reads:
        scopes = repo.scope_versions(version)
        article = scopes.get(f"article:{SEED_SLUG}", 0)
        assert article == 1
        assert scopes.get("no-such-scope", 0) == 0
        assert scopes.get(f"article:{SEED_SLUG}", 0) == article
        assert repo.scope_versions(version) is scopes
    assert len(reads) == 2 and all("WHERE content_scopes.name" in s for s in reads)
    assert list(scopes) == [f"article:{SEED_SLUG}"]
    with database.session() as session:
        bump_content_version(session, article_scopes(SEED_SLUG))
    moved = repo.scope_versions(repo.version())
    assert moved.get(f"article:{SEED_SLUG}", 0) == article + 1
