"""Lists page by cursor: following ``Link: rel="next"`` reaches every item that exists
throughout the walk exactly once, however the list changes meanwhile, with no OFFSET in the
SQL; a cursor the list did not give is a 422 in the API's error shape; the total only when
asked."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from apisupport import Api
from support import statements_run

from layoutserver.db import get_database


def next_url(response: Any) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    url, relation = link.split(";")
    assert relation.strip() == 'rel="next"'
    return str(url.strip("<>").removeprefix("http://localhost"))


def article(slug: str, published_at: str) -> dict[str, Any]:
    return {"slug": slug, "title": slug, "published_at": published_at, "section": "world",
            "body_html": "<p>Text.</p>"}


def slugs(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["slug"] for item in response.get_json()]


def test_following_links_while_the_list_changes_sees_each_item_once(api: Api) -> None:
    """Newest first: an article published before the walk's position (newer than what was
    seen) is not shown, one after it is; a deleted one not yet reached is not shown, and no
    article is shown twice or skipped (OFFSET would repeat one after an insert above the
    page, and skip one after a delete)."""
    everything = slugs(api.get("/api/v1/articles?page_size=100"))
    seen: list[str] = []
    url: str | None = "/api/v1/articles?page_size=3"
    changed = False
    while url is not None:
        response = api.get(url)
        seen += slugs(response)
        if not changed:
            for created in (article("brand-new", "2030-01-01T00:00:00Z"),
                            article("very-old", "1990-01-01T00:00:00Z")):
                assert api.post("/api/v1/articles", json=created).status_code == 201
            gone = everything[-1]
            assert api.delete(f"/api/v1/articles/{gone}").status_code == 204
            changed = True
        url = next_url(response)
    assert len(seen) == len(set(seen))
    assert "brand-new" not in seen and "very-old" in seen
    assert seen == [slug for slug in everything if slug != gone] + ["very-old"]


def test_articles_of_one_instant_page_by_id(api: Api) -> None:
    for number in range(5):
        assert api.post("/api/v1/articles", json=article(
            f"same-{number}", "2030-06-01T00:00:00Z")).status_code == 201
    seen: list[str] = []
    url: str | None = "/api/v1/articles?page_size=2&published_after=2030-01-01T00:00:00Z"
    while url is not None:
        response = api.get(url)
        seen += slugs(response)
        url = next_url(response)
    assert seen == [f"same-{number}" for number in reversed(range(5))]


@pytest.mark.parametrize("path", ["/api/v1/articles", "/api/v1/sections", "/api/v1/audit",
                                  "/api/v1/articles?section=world"])
def test_a_next_page_seeks_and_counts_nothing(api: Api, path: str) -> None:
    api.post("/api/v1/sections", json={"slug": "zz", "name": "Audited"})  # an audit entry
    api.post("/api/v1/sections", json={"slug": "zzz", "name": "Audited"})
    separator = "&" if "?" in path else "?"
    first = api.get(f"{path}{separator}page_size=1")
    url = next_url(first)
    assert url is not None and "after=" in url
    with statements_run(get_database(api.client.application).engine) as run:
        assert api.get(url).status_code == 200
    reads = [s for s in run if "api_tokens" not in s and s.lstrip().upper().startswith("SELECT")]
    assert reads
    assert not any("OFFSET" in s.upper() or "count(" in s.lower() for s in reads), reads


def test_the_total_is_counted_only_when_asked(api: Api) -> None:
    plain = api.get("/api/v1/articles?page_size=2")
    meta = json.loads(plain.headers["X-Pagination"])
    assert set(meta) == {"count", "truncated", "next_after"}
    counted = api.get("/api/v1/articles?page_size=2&total=true")
    meta = json.loads(counted.headers["X-Pagination"])
    everything = len(slugs(api.get("/api/v1/articles?page_size=100")))
    assert meta["total"] == everything and meta["total_pages"] == (everything + 1) // 2
    assert counted.get_json() == plain.get_json()


def cursor_of(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(("cursor", "message"), [
    ("not-a-cursor", "Not a cursor"),
    ("%FF%FE", "Not a cursor"),
    (cursor_of("sections", "world"), "Not a cursor of this list"),
    (cursor_of("articles", 3), "does not fit"),
    (cursor_of("articles", "2024-10-10T00:00:00", 3), "without its UTC offset"),
    (cursor_of("articles", "yesterday", 3), "bad date"),
    (cursor_of("articles", "2024-10-10T00:00:00+00:00", 2**70), "out of range"),
    (cursor_of("articles", "2024-10-10T00:00:00+00:00", True), "does not fit"),
    ("x" * 1001, "Length must be between 1 and 1000"),
])
def test_a_cursor_the_list_did_not_give_is_a_422(api: Api, cursor: str, message: str) -> None:
    response = api.get(f"/api/v1/articles?after={cursor}")
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422 and body["status"] == "Unprocessable Entity"
    [found] = body["errors"]["query"]["after"]
    assert message in found


@pytest.mark.parametrize("query", ["after=x&page=2", "after=x&offset=0"])
def test_a_cursor_and_a_number_are_a_422(api: Api, query: str) -> None:
    response = api.get(f"/api/v1/sections?{query}")
    assert response.status_code == 422
    assert response.get_json()["errors"]["query"] == {
        "after": ["Give after, or page or offset, not both."]}


def test_an_offset_overrides_a_page(api: Api) -> None:
    both = api.get("/api/v1/sections?page_size=1&page=3&offset=1")
    assert both.get_json() == api.get("/api/v1/sections?page_size=1&offset=1").get_json()
    assert json.loads(both.headers["X-Pagination"])["offset"] == 1


def test_the_document_describes_the_cursor_and_the_total(api: Api) -> None:
    document = api.get("/api/openapi.json").get_json()
    parameters = {p["name"]: p for p in document["paths"]["/api/v1/articles"]["get"]
                  ["parameters"] if "name" in p}
    assert "x-rule" in parameters["after"]["schema"]
    assert parameters["total"]["schema"]["type"] == "boolean"
    assert "Slower" in parameters["offset"]["description"]
    headers = document["paths"]["/api/v1/articles"]["get"]["responses"]["200"]["headers"]
    assert "cursor" in headers["Link"]["description"]
