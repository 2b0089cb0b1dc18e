"""Article HTML is sanitized on import: read back through the ORM, nothing hostile is left."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from layoutserver.content.importer import import_content
from layoutserver.content.models import Article
from layoutserver.db import Database

HARMLESS = (
    '<p>Intro with <em>emphasis</em> and <a href="https://example.com/story">a link</a>.</p>'
    "<blockquote><p>A quoted line.</p></blockquote>"
)


def _import_body(database: Database, body_html: str) -> str:
    """Import one article with ``body_html`` and return the body as stored."""
    document: dict[str, Any] = {
        "articles": [
            {
                "slug": "hostile",
                "title": "Hostile",
                "body_html": body_html,
                "published_at": "2024-10-10T09:00:00-04:00",
            }
        ]
    }
    import_content(database, document)
    with database.session() as session:
        return session.scalars(select(Article.body_html).where(Article.slug == "hostile")).one()


@pytest.mark.parametrize(
    ("hostile", "forbidden"),
    [
        ("<script>alert('x')</script>", ["<script", "alert"]),
        ('<img src="/a.png" onerror="alert(1)">', ["onerror", "alert"]),
        ('<p onclick="steal()">Click</p>', ["onclick", "steal"]),
        ('<a href="javascript:alert(1)">link</a>', ["javascript:", "alert"]),
        ('<a href="  JaVaScRiPt:alert(1)">link</a>', ["javascript", "alert"]),
        ('<iframe src="https://evil.example/"></iframe>', ["<iframe", "evil.example"]),
        ("<style>body { display: none }</style>", ["<style", "display"]),
        ('<p style="background:url(x)">styled</p>', ["style=", "url("]),
        ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', ["data:", "base64"]),
        ('<a href="data:text/html,<script>x</script>">d</a>', ["data:", "<script"]),
        ('<object data="evil.swf"></object><embed src="evil.swf">', ["<object", "<embed", "swf"]),
        ('<form action="https://evil.example/"><input name="p"></form>', ["<form", "<input"]),
    ],
)
def test_hostile_html_is_stripped(database: Database, hostile: str, forbidden: list[str]) -> None:
    stored = _import_body(database, f"<p>Before.</p>{hostile}<p>After.</p>")

    for fragment in forbidden:
        assert fragment not in stored.lower(), stored
    assert "<p>Before.</p>" in stored
    assert "<p>After.</p>" in stored


def test_harmless_structure_is_kept(database: Database) -> None:
    stored = _import_body(database, HARMLESS + "<script>alert(1)</script>")

    assert stored.startswith("<p>Intro with <em>emphasis</em> and ")
    assert '<a href="https://example.com/story"' in stored
    assert ">a link</a>" in stored
    assert "<blockquote><p>A quoted line.</p></blockquote>" in stored
    assert "<script" not in stored


def test_sanitized_body_reimports_unchanged(database: Database) -> None:
    """The stored body differs from the given one, yet a re-import sees no change."""
    body = HARMLESS + '<img src="/a.png" onerror="alert(1)">'
    stored = _import_body(database, body)
    assert stored != body

    document: dict[str, Any] = {
        "articles": [
            {
                "slug": "hostile",
                "title": "Hostile",
                "body_html": body,
                "published_at": "2024-10-10T09:00:00-04:00",
            }
        ]
    }
    assert not import_content(database, document).changed
