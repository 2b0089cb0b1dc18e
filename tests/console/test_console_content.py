"""Content through the console: articles, authors, editorial lists and the Must read order."""

from __future__ import annotations

from consolesupport import field_error, post, sign_in
from flask import Flask
from flask.testing import FlaskClient
from support import SEED_SLUG

from layoutserver.content import service as content
from layoutserver.db import get_database

ARTICLE = {"slug": "console-news", "title": "Console news", "published_at": "2024-10-09T08:30",
           "section": "", "author": "", "tags": "tech, console", "excerpt": "Short.",
           "body_html": "<p>Body</p><script>alert(1)</script>"}


def must_read(app: Flask) -> list[str]:
    with get_database(app).session() as session:
        return list(content.get(session, "editorial_list", "must-read")["articles"])


def test_a_publisher_writes_an_article(console_app: Flask, client: FlaskClient) -> None:
    sign_in(client, "publisher")
    response = post(client, "/admin/articles/new", ARTICLE)
    assert response.status_code == 302, response.get_data(as_text=True)
    with get_database(console_app).session() as session:
        article = content.get(session, "article", "console-news")
    assert article["published_at"] == "2024-10-09T12:30:00+00:00"  # 08:30 in New York
    assert article["tags"] == ["console", "tech"]
    assert "<script>" not in article["body_html"]  # the service sanitizes, as for the API
    assert client.get(f"/pages/article/{ARTICLE['slug']}").status_code == 200


def test_an_article_refused_beside_its_field(client: FlaskClient) -> None:
    sign_in(client, "publisher")
    response = post(client, "/admin/articles/new", {**ARTICLE, "slug": "Not A Slug"})
    assert response.status_code == 422
    assert "Not a valid slug" in field_error(response.get_data(as_text=True), "f-slug")
    response = post(client, "/admin/articles/new", {**ARTICLE, "published_at": "soon"})
    assert "date and time" in field_error(response.get_data(as_text=True), "f-published-at")


def test_the_must_read_order_is_edited_step_by_step(
    console_app: Flask, client: FlaskClient
) -> None:
    sign_in(client, "publisher")
    before = must_read(console_app)
    assert len(before) == 2
    response = post(client, "/admin/editorial-lists/move/must-read",
                    {"index": "1", "direction": "up"})
    assert response.status_code == 302
    assert must_read(console_app) == [before[1], before[0]]
    post(client, "/admin/editorial-lists/move/must-read", {"index": "0", "direction": "down"})
    assert must_read(console_app) == before
    for bad in ({"index": "0", "direction": "up"}, {"index": "99", "direction": "down"},
                {"index": "x", "direction": "down"}, {"index": "1", "direction": "sideways"}):
        assert post(client, "/admin/editorial-lists/move/must-read", bad).status_code == 400
    page = client.get("/admin/editorial-lists/edit/must-read").get_data(as_text=True)
    assert 'aria-label="Move' in page


def test_the_whole_order_is_edited_as_lines(console_app: Flask, client: FlaskClient) -> None:
    sign_in(client, "admin")
    before = must_read(console_app)
    order = [before[-1], *before[:-1]]
    response = post(client, "/admin/editorial-lists/edit/must-read",
                    {"title": "Must read", "articles": "\n".join(order)})
    assert response.status_code == 302
    assert must_read(console_app) == order
    response = post(client, "/admin/editorial-lists/edit/must-read",
                    {"title": "Must read", "articles": f"{SEED_SLUG}\nno-such-article"})
    assert response.status_code == 422
    assert "item 2: Unknown article" in field_error(response.get_data(as_text=True),
                                                    "f-articles")
    assert must_read(console_app) == order  # nothing lost


def test_the_must_read_widget_follows_the_new_order(
    console_app: Flask, client: FlaskClient
) -> None:
    sign_in(client, "publisher")
    before = must_read(console_app)
    page = client.get(f"/pages/article/{SEED_SLUG}").get_data(as_text=True)
    post(client, "/admin/editorial-lists/move/must-read", {"index": "1", "direction": "up"})
    after = client.get(f"/pages/article/{SEED_SLUG}").get_data(as_text=True)
    assert page != after
    first, second = before[1], before[0]
    aside = after[after.index("must-read"):]
    assert aside.index(f"/pages/article/{first}") < aside.index(f"/pages/article/{second}")


def test_authors_and_sections(console_app: Flask, client: FlaskClient) -> None:
    sign_in(client, "publisher")
    response = post(client, "/admin/authors/new", {"slug": "ada", "name": "Ada", "bio": "",
                                                   "avatar_url": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert post(client, "/admin/sections/new", {"slug": "console", "name": "Console"}
                ).status_code == 302
    with get_database(console_app).session() as session:
        assert content.get(session, "author", "ada")["avatar_url"] is None


def test_an_articles_lead_image_from_the_form(console_app: Flask, client: FlaskClient) -> None:
    sign_in(client, "publisher")
    image = {"image.url": "/media/lead.jpg", "image.alt": "Delegates", "image.width": "1200",
             "image.height": "675"}
    response = post(client, "/admin/articles/new", {**ARTICLE, **image})
    assert response.status_code == 302, response.get_data(as_text=True)
    with get_database(console_app).session() as session:
        article = content.get(session, "article", "console-news")
    assert article["image"] == {"url": "/media/lead.jpg", "alt": "Delegates", "width": 1200,
                                "height": 675}
    refused = post(client, "/admin/articles/new",
                   {**ARTICLE, "slug": "no-alt", "image.url": "/media/lead.jpg"})
    assert refused.status_code == 422
    assert field_error(refused.get_data(as_text=True), "f-image-alt")
