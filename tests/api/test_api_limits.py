"""Sizes: every ads text and list has a maximum, shown in the OpenAPI document and answered
with a 422 naming the field; a list page stops at ``API_PAGE_MAX_BYTES`` and says where the
next one starts, so following ``Link: rel="next"`` reaches every item exactly once."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from apisupport import Api
from flask import Flask

from layoutserver.auth.tokens import create_token
from layoutserver.db import get_database

CREATIVE = {"name": "long-one", "kind": "text", "size": "300x250",
            "click_url": "https://example.com/", "text": "Hello"}
LINE_ITEM = {"name": "long-item", "campaign": "Northwind autumn", "tier": "standard",
             "start": "2024-10-01T00:00:00Z", "end": "2024-11-01T00:00:00Z"}


@pytest.fixture
def ads_api(ads_api_app: Flask) -> Api:
    with get_database(ads_api_app).session() as session:
        return Api(ads_api_app.test_client(), {"admin": create_token(session, "a", "admin")})


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/advertisers", {"name": "x" * 201}, ["name"]),
    ("/api/v1/creatives", {**CREATIVE, "text": "x" * 501}, ["text"]),
    ("/api/v1/creatives", {**CREATIVE, "click_url": "https://e.com/" + "x" * 2000},
     ["click_url"]),
    ("/api/v1/creatives", {**CREATIVE, "size": "00300x250"}, ["size"]),
    ("/api/v1/creatives", {**CREATIVE, "click_url": "https://e.com/\x85"}, ["click_url"]),
    ("/api/v1/line-items", {**LINE_ITEM, "targeting": {"tags": ["t"] * 201}},
     ["targeting", "tags"]),
    ("/api/v1/line-items",
     {**LINE_ITEM, "targeting": {"key_values": {f"k{i}": ["v"] for i in range(51)}}},
     ["targeting", "key_values"]),
    ("/api/v1/line-items", {**LINE_ITEM, "exclusion_labels": ["x" * 201]},
     ["exclusion_labels"]),
    ("/api/v1/ad-slots", {"code": "s", "name": "S", "sizes": {"*": ["1x1"] * 21}}, ["sizes"]),
    ("/api/v1/ad-slots", {"code": "s\n", "name": "S", "sizes": {"*": ["1x1"]}}, ["code"]),
])
def test_over_long_ads_input_is_a_422_naming_the_field(
    ads_api: Api, path: str, body: dict[str, Any], field: list[str]
) -> None:
    response = ads_api.post(path, json=body)
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]["json"]
    for name in field:
        errors = errors[name]
    assert errors


def test_the_document_shows_the_ads_maximums(ads_api: Api) -> None:
    schemas = ads_api.get("/api/openapi.json").get_json()["components"]["schemas"]
    creative = schemas["Creative"]["properties"]
    assert creative["html"]["maxLength"] == 100_000
    assert creative["click_url"]["maxLength"] == 2000
    assert creative["click_url"]["pattern"].startswith("^[hH][tT][tT][pP]")
    targeting = schemas["Targeting"]["properties"]
    assert targeting["tags"]["maxItems"] == 200
    assert targeting["key_values"]["maxProperties"] == 50
    assert "maxLength" not in targeting["key_values"]
    assert targeting["slots"]["x-references"]
    assert schemas["LineItemCreate"]["properties"]["end"]["x-rule"]


def big_articles(api: Api, count: int, size: int) -> list[str]:
    slugs = [f"big-{i}" for i in range(count)]
    for i, slug in enumerate(slugs):
        response = api.post("/api/v1/articles", json={
            "slug": slug, "title": f"Big {i}", "body_html": "<p>" + "é" * size + "</p>",
            "published_at": f"2030-01-{i + 1:02d}T00:00:00Z", "section": "world"})
        assert response.status_code == 201, response.get_json()
    return slugs


def test_a_page_stops_at_the_byte_budget_and_links_the_next(
    make_app: Callable[..., Flask]
) -> None:
    budget = 64 * 1024
    app = make_app(settings={"API_PAGE_MAX_BYTES": budget})
    with get_database(app).session() as session:
        api = Api(app.test_client(), {"admin": create_token(session, "a", "admin")})
    # Each body is 5,000 characters of é: 30,000 bytes as JSON (\u00e9), two fit a page.
    slugs = big_articles(api, 7, 5_000)
    total = json.loads(api.get("/api/v1/articles?total=true").headers["X-Pagination"])["total"]

    seen: list[str] = []
    url: str | None = "/api/v1/articles?page_size=100"
    pages = 0
    while url is not None:
        response = api.get(url)
        assert response.status_code == 200
        assert len(response.data) <= budget
        meta = json.loads(response.headers["X-Pagination"])
        items = response.get_json()
        assert meta["count"] == len(items)
        assert "total" not in meta and "offset" not in meta
        seen += [item["slug"] for item in items]
        link = response.headers.get("Link")
        if meta.get("next_after") is None:
            assert link is None
            url = None
        else:
            assert meta["truncated"] or len(items) == 100
            url = link.split(";")[0].strip("<>").removeprefix("http://localhost")
            assert f"after={meta['next_after']}" in url
        pages += 1
    assert len(seen) == len(set(seen)) == total
    assert set(slugs) <= set(seen)
    assert pages >= 4


def test_pages_by_number_and_offset_are_still_served(api: Api) -> None:
    """Slower (the database skips every item before), and numbered: X-Pagination keeps the
    offset and page numbers for them; the next link continues by cursor."""
    first = api.get("/api/v1/articles?page_size=3&page=1")
    meta = json.loads(first.headers["X-Pagination"])
    assert meta["page"] == 1 and meta["next_page"] == 2 and not meta["truncated"]
    assert (meta["offset"], meta["next_offset"]) == (0, 3)
    assert "after=" in first.headers["Link"] and "page_size=3" in first.headers["Link"]
    assert "page=" not in first.headers["Link"]
    by_offset = api.get("/api/v1/articles?page_size=3&offset=3")
    by_page = api.get("/api/v1/articles?page_size=3&page=2")
    by_cursor = api.get(f"/api/v1/articles?page_size=3&after={meta['next_after']}")
    assert by_offset.get_json() == by_page.get_json() == by_cursor.get_json()
    assert json.loads(by_page.headers["X-Pagination"])["previous_page"] == 1
