"""The JSON content importer: the demo document, idempotence, updates and validation."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from layoutserver.content.importer import (
    ContentImportError,
    ImportReport,
    import_content,
    import_file,
)
from layoutserver.content.models import Article, Author, EditorialList
from layoutserver.content.repository import ContentRepository
from layoutserver.db import Database

DEMO_PATH = Path(__file__).resolve().parents[2] / "layoutserver" / "demo" / "content.json"
SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
DEMO_ROWS = {
    "sections": 5,
    "authors": 1,
    "tags": 5,
    "articles": 8,
    "editorial_lists": 1,
    "editorial_picks": 2,
}


def test_demo_import_creates_every_row(
    database: Database,
    row_counts: Callable[[], dict[str, int]],
    content_version: Callable[[], int],
) -> None:
    report = import_file(database, DEMO_PATH)

    # 5 sections + 1 author + 8 articles + 1 editorial list; tags are not counted.
    assert report == ImportReport(created=15, updated=0, unchanged=0)
    assert report.changed
    assert str(report) == "15 created, 0 updated, 0 unchanged"
    assert row_counts() == DEMO_ROWS
    assert content_version() == 1


def test_demo_content_follows_the_seed_page(database: Database) -> None:
    import_file(database, DEMO_PATH)
    repo = ContentRepository(database)

    seed = repo.article(SEED_SLUG)
    assert seed is not None
    assert seed.title == (
        "East Turkistan Government in Exile Condemns China-Pakistan Cooperation, "
        "Accuses Nations of Genocide Support"
    )
    assert seed.body_html.count("<p>") == 12
    assert "the guise of counter-terrorism" in seed.body_html
    assert "under the false pretext of ‘security cooperation,'”" in seed.body_html
    assert seed.excerpt.startswith("The East Turkistan Government in Exile (ETGE) has strongly")
    assert seed.author is not None and seed.author.name == "Pia Sherman"
    assert seed.author.bio == (
        "Pia Sherman is a freelance writer. Views expressed are solely of the author."
    )

    latest = repo.latest_articles(10, exclude=[SEED_SLUG])
    assert [a.title.split()[0] for a in latest] == [
        "Dystopia", "Washington", "The", "Fossil", "Does", "Prepare", "Tibetan",
    ]  # fmt: skip
    assert not any(a.excerpt.endswith("...") for a in latest)

    must_read = repo.editorial_list("must-read")
    assert must_read is not None and must_read.title == "Must read"
    assert [a.slug for a in must_read.articles] == [
        "prepare-your-social-media-for-the-election",
        "tibetan-leader-criticizes-paris-museums",
    ]
    assert must_read.articles[1].excerpt == "Paris — The Sikyong, leader of the Central Tibetan"


def test_importing_twice_changes_nothing(
    database: Database,
    demo: dict[str, Any],
    row_counts: Callable[[], dict[str, int]],
    content_version: Callable[[], int],
) -> None:
    import_content(database, demo)
    report = import_content(database, demo)

    assert report == ImportReport(created=0, updated=0, unchanged=15)
    assert not report.changed
    assert row_counts() == DEMO_ROWS
    assert content_version() == 1


def test_same_instant_in_another_offset_is_unchanged(
    database: Database, demo: dict[str, Any], content_version: Callable[[], int]
) -> None:
    import_content(database, demo)
    demo["articles"][0]["published_at"] = "2024-10-10T13:00:00+00:00"  # 09:00-04:00

    assert not import_content(database, demo).changed
    assert content_version() == 1


def test_editing_a_title_updates_one_row_and_bumps_the_version(
    database: Database, demo: dict[str, Any], content_version: Callable[[], int]
) -> None:
    import_content(database, demo)
    demo["articles"][1]["title"] = "Dystopia, revised"

    report = import_content(database, demo)

    assert report == ImportReport(created=0, updated=1, unchanged=14)
    assert content_version() == 2
    with database.session() as session:
        article = session.scalars(select(Article).where(Article.slug == "dystopia")).one()
        assert article.title == "Dystopia, revised"


def test_changing_only_tags_is_an_update(
    database: Database, demo: dict[str, Any], content_version: Callable[[], int]
) -> None:
    import_content(database, demo)
    demo["articles"][0]["tags"] = ["pakistan", "china", "new-tag"]

    report = import_content(database, demo)

    assert (report.updated, report.unchanged) == (1, 14)
    assert content_version() == 2
    seed = ContentRepository(database).article(SEED_SLUG)
    assert seed is not None and seed.tags == ("china", "new-tag", "pakistan")

    demo["articles"][0]["tags"] = ["china", "new-tag", "pakistan"]  # another order only
    assert not import_content(database, demo).changed


def test_editorial_list_order_is_replaced(
    database: Database,
    demo: dict[str, Any],
    row_counts: Callable[[], dict[str, int]],
    content_version: Callable[[], int],
) -> None:
    import_content(database, demo)
    picks = ["tibetan-leader-criticizes-paris-museums", "dystopia", SEED_SLUG]
    demo["editorial_lists"][0]["articles"] = picks

    report = import_content(database, demo)

    assert (report.updated, report.unchanged) == (1, 14)
    assert content_version() == 2
    must_read = ContentRepository(database).editorial_list("must-read")
    assert must_read is not None
    assert [a.slug for a in must_read.articles] == picks
    assert row_counts()["editorial_picks"] == 3

    demo["editorial_lists"][0]["articles"] = picks[:1]
    import_content(database, demo)
    assert row_counts()["editorial_picks"] == 1


def test_references_may_name_rows_already_in_the_database(
    database: Database, demo: dict[str, Any]
) -> None:
    import_content(database, demo)
    document = {
        "articles": [
            {
                "slug": "a-new-one",
                "title": "A new one",
                "body_html": "<p>Text.</p>",
                "published_at": "2024-10-11T09:00:00Z",
                "section": "world",
                "author": "pia-sherman",
            }
        ],
        "editorial_lists": [{"name": "must-read", "title": "Must read", "articles": ["a-new-one"]}],
    }

    report = import_content(database, document)

    assert report == ImportReport(created=1, updated=1, unchanged=0)


def test_import_file_reports_bad_json(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"sections": [', encoding="utf-8")

    with pytest.raises(ContentImportError) as excinfo:
        import_file(database, path)
    assert excinfo.value.messages[0].startswith("(document): Not valid JSON")


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        target: Any = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _delete(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        target: Any = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


INVALID = {
    "naive datetime": (
        _set(("articles", 3, "published_at"), "2024-10-09T09:00:00"),
        "articles[3].published_at: Not a valid datetime: it needs a UTC offset",
    ),
    "garbage datetime": (
        _set(("articles", 3, "published_at"), "last Tuesday"),
        "articles[3].published_at: Not a valid datetime.",
    ),
    "bad slug": (
        _set(("articles", 2, "slug"), "Not_A-Slug"),
        "articles[2].slug: Not a valid slug",
    ),
    "bad reference slug": (
        _set(("articles", 2, "section"), "World"),
        "articles[2].section: Not a valid slug",
    ),
    "unknown author": (
        _set(("articles", 0, "author"), "nobody"),
        "articles[0].author: Unknown author 'nobody'.",
    ),
    "unknown section": (
        _set(("articles", 1, "section"), "sport"),
        "articles[1].section: Unknown section 'sport'.",
    ),
    "unknown list article": (
        _set(("editorial_lists", 0, "articles", 1), "no-such-article"),
        "editorial_lists[0].articles[1]: Unknown article 'no-such-article'.",
    ),
    "duplicate slug": (
        _set(("articles", 2, "slug"), "dystopia"),
        "articles[2].slug: Duplicate 'dystopia' (first at articles[1]).",
    ),
    "unknown field": (
        _set(("articles", 0, "subtitle"), "Extra"),
        "articles[0].subtitle: Unknown field.",
    ),
    "unknown top-level field": (
        _set(("_comment",), "demo"),
        "_comment: Unknown field.",
    ),
    "missing title": (
        _delete(("articles", 4, "title")),
        "articles[4].title: Missing data for required field.",
    ),
    "empty title": (
        _set(("articles", 4, "title"), ""),
        "articles[4].title: Must not be empty.",
    ),
    "javascript avatar": (
        _set(("authors", 0, "avatar_url"), "javascript:alert(1)"),
        "authors[0].avatar_url: Not a valid URL",
    ),
    "protocol-relative avatar": (
        _set(("authors", 0, "avatar_url"), "//evil.example/a.png"),
        "authors[0].avatar_url: Not a valid URL",
    ),
    "tags not a list": (
        _set(("articles", 0, "tags"), "china"),
        "articles[0].tags: Not a valid list.",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_documents_name_the_path_and_write_nothing(
    case: str,
    database: Database,
    demo: dict[str, Any],
    row_counts: Callable[[], dict[str, int]],
    content_version: Callable[[], int],
) -> None:
    edit, expected = INVALID[case]
    import_content(database, demo)
    before = row_counts()
    # Valid changes alongside the error, which must not be written either.
    demo["articles"][1]["title"] = "Dystopia, revised"
    demo["sections"].append({"slug": "science", "name": "Science"})
    edit(demo)

    with pytest.raises(ContentImportError) as excinfo:
        import_content(database, demo)

    assert any(message.startswith(expected) for message in excinfo.value.messages), (
        excinfo.value.messages
    )
    assert expected in str(excinfo.value)
    assert row_counts() == before
    assert content_version() == 1
    with database.session() as session:
        titles = session.scalars(select(Article.title).where(Article.slug == "dystopia")).all()
        assert titles == ["Dystopia"]


def test_invalid_document_writes_nothing_into_an_empty_database(
    database: Database,
    demo: dict[str, Any],
    row_counts: Callable[[], dict[str, int]],
    content_version: Callable[[], int],
) -> None:
    demo["articles"][-1]["author"] = "nobody"

    with pytest.raises(ContentImportError):
        import_content(database, demo)

    assert set(row_counts().values()) == {0}
    assert content_version() == 0


def test_every_error_is_reported_at_once(database: Database, demo: dict[str, Any]) -> None:
    del demo["articles"][0]["title"]
    demo["articles"][5]["published_at"] = "2024-10-07"
    demo["sections"][0]["slug"] = "World News"

    with pytest.raises(ContentImportError) as excinfo:
        import_content(database, demo)

    paths = sorted(message.split(":")[0] for message in excinfo.value.messages)
    assert paths == ["articles[0].title", "articles[5].published_at", "sections[0].slug"]


def test_optional_fields_default_and_site_relative_avatar(database: Database) -> None:
    document = json.loads(
        """{
          "authors": [{"slug": "a", "name": "A", "avatar_url": "/static/a.png"},
                      {"slug": "b", "name": "B", "avatar_url": "https://cdn.example/b.png"}],
          "articles": [{"slug": "bare", "title": "Bare", "body_html": "",
                        "published_at": "2024-10-10T09:00:00+02:00"}]
        }"""
    )

    assert import_content(database, document).created == 3
    with database.session() as session:
        article = session.scalars(select(Article)).one()
        assert (article.excerpt, article.section, article.author, article.tags) == (
            "", None, None, [],
        )  # fmt: skip
        authors = session.scalars(select(Author).order_by(Author.slug)).all()
        assert [(a.bio, a.avatar_url) for a in authors] == [
            ("", "/static/a.png"),
            ("", "https://cdn.example/b.png"),
        ]
        assert session.scalars(select(EditorialList)).all() == []


def test_an_articles_lead_image_and_modified_date(database: Database,
                                                   demo: dict[str, Any]) -> None:
    article = next(a for a in demo["articles"] if a["slug"] == SEED_SLUG)
    article["image"] = {"url": "/media/lead.jpg", "alt": "Delegates at the table",
                        "width": 1200, "height": 675}
    demo["authors"][0]["url"] = "https://example.org/staff/writer"
    import_content(database, demo)
    view = ContentRepository(database).article(SEED_SLUG)
    assert view is not None and view.image is not None
    assert (view.image.url, view.image.alt, view.image.width, view.image.height) == (
        "/media/lead.jpg", "Delegates at the table", 1200, 675)
    assert view.author is not None and view.author.url == "https://example.org/staff/writer"
    assert view.modified_at is None  # created: never modified since
    # the same document again changes nothing, the date included
    assert import_content(database, demo).updated == 0
    assert ContentRepository(database).article(SEED_SLUG).modified_at is None  # type: ignore[union-attr]
    # a change without a date: modified now; with a date: that date
    article["title"] = "A new title"
    import_content(database, demo)
    changed = ContentRepository(database).article(SEED_SLUG)
    assert changed is not None and changed.modified_at is not None
    assert changed.modified_at > changed.published_at
    article["modified_at"] = "2024-10-11T08:00:00+00:00"
    import_content(database, demo)
    dated = ContentRepository(database).article(SEED_SLUG)
    assert dated is not None and dated.modified_at is not None
    assert dated.modified_at.isoformat().startswith("2024-10-11T08:00:00")


@pytest.mark.parametrize(("image", "message"), [
    ({"url": "javascript:alert(1)", "alt": "x"}, "Not a valid URL"),
    ({"url": "/a.jpg"}, "Missing data for required field"),
    ({"url": "/a.jpg", "alt": "x", "width": 0}, "greater than or equal to 1"),
    ({"url": "/a.jpg", "alt": "x", "height": 50_000}, "less than or equal to 20000"),
])
def test_a_bad_lead_image_is_refused_naming_the_field(database: Database, demo: dict[str, Any],
                                                      image: dict[str, Any],
                                                      message: str) -> None:
    demo["articles"][0]["image"] = image
    with pytest.raises(ContentImportError, match=message) as refused:
        import_content(database, demo)
    assert "image" in str(refused.value)
