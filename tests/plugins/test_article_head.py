"""The article page's head, from the built-in article_body widget: canonical link, robots,
description, Open Graph, Twitter's card and a schema.org NewsArticle."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from support import REPO, SEED_PATH

from layoutserver.content.importer import import_content
from layoutserver.db import get_database
from layoutserver.settings import SettingsError

BASE = {"SITE_BASE_URL": "https://news.example.com", "SITE_PUBLISHER_LOGO": "/static/logo.png"}


def head(client: Any, path: str = SEED_PATH) -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r"<head>(.*)</head>", page, re.S)
    assert found is not None
    return found.group(1)


def meta(head_html: str, attribute: str, value: str) -> list[str]:
    return re.findall(rf'<meta {attribute}="{re.escape(value)}" content="([^"]*)">', head_html)


def news_article(head_html: str) -> dict[str, Any]:
    found = re.findall(r'<script type="application/ld\+json">(.*?)</script>', head_html)
    assert len(found) == 1
    data: dict[str, Any] = json.loads(found[0])
    return data


def test_an_article_page_says_what_the_article_is(make_app: Callable[..., Flask]) -> None:
    app = make_app(settings=BASE)
    found = head(app.test_client())
    url = "https://news.example.com" + SEED_PATH
    assert f'<link rel="canonical" href="{url}">' in found
    assert meta(found, "name", "robots") == ["index, follow, max-image-preview:large"]
    description = meta(found, "name", "description")
    assert len(description) == 1 and description[0]
    assert meta(found, "property", "og:type") == ["article"]
    assert meta(found, "property", "og:url") == [url]
    assert meta(found, "property", "og:title") == meta(found, "name", "twitter:title")
    assert meta(found, "property", "og:site_name") == [app.config["SITE_NAME"]]
    assert meta(found, "property", "article:section") == ["World"]
    assert set(meta(found, "property", "article:tag")) >= {"china", "pakistan"}
    assert meta(found, "name", "twitter:card") == ["summary"]
    data = news_article(found)
    assert data["@type"] == "NewsArticle" and data["@context"] == "https://schema.org"
    assert data["mainEntityOfPage"] == url
    for field in ("headline", "datePublished", "dateModified", "author", "publisher"):
        assert data[field], field
    assert len(data["headline"]) <= 110
    assert data["publisher"]["logo"]["url"] == "https://news.example.com/static/logo.png"
    assert data["author"][0]["@type"] == "Person"


def test_without_a_base_url_links_are_site_paths(make_app: Callable[..., Flask]) -> None:
    found = head(make_app().test_client())
    assert f'<link rel="canonical" href="{SEED_PATH}">' in found
    assert not meta(found, "property", "og:url")  # Open Graph wants an absolute URL
    assert "logo" not in news_article(found)["publisher"]


def test_the_robots_meta_is_an_option(make_app: Callable[..., Flask]) -> None:
    text = """subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "article_body"
id = "article"
options = { robots = "noindex, nofollow" }
"""
    found = head(make_app(layouts={"article": text}).test_client())
    assert meta(found, "name", "robots") == ["noindex, nofollow"]


@pytest.mark.parametrize("value", ["news.example.com", "https://news.example.com/",
                                   "https://news.example.com/path", "javascript:x"])
def test_a_bad_base_url_stops_the_start(make_app: Callable[..., Flask], value: str) -> None:
    with pytest.raises(SettingsError, match="SITE_BASE_URL must be the site's address"):
        make_app(settings={"SITE_BASE_URL": value})


def test_the_lead_image_modified_date_and_author_page(make_app: Callable[..., Flask]) -> None:
    app = make_app(settings=BASE)
    document = json.loads((REPO / "layoutserver" / "demo" / "content.json").read_text())
    article = next(a for a in document["articles"] if SEED_PATH.endswith(a["slug"]))
    article["image"] = {"url": "/media/lead.jpg", "alt": "Delegates", "width": 1200,
                        "height": 675}
    article["modified_at"] = "2030-01-02T03:04:05+00:00"
    author = next(a for a in document["authors"] if a["slug"] == article["author"])
    author["url"] = "/staff/writer"
    import_content(get_database(app), document)
    found = head(app.test_client())
    assert meta(found, "property", "og:image") == ["https://news.example.com/media/lead.jpg"]
    assert meta(found, "property", "og:image:alt") == ["Delegates"]
    assert meta(found, "property", "og:image:width") == ["1200"]
    assert meta(found, "name", "twitter:card") == ["summary_large_image"]
    assert meta(found, "property", "article:modified_time") == ["2030-01-02T03:04:05+00:00"]
    data = news_article(found)
    assert data["dateModified"] == "2030-01-02T03:04:05+00:00"
    assert data["image"][0]["url"] == "https://news.example.com/media/lead.jpg"
    assert data["author"][0]["url"] == "https://news.example.com/staff/writer"
