"""Errors: 404 for an unknown page type, slug, region or placement, as HTML or JSON by Accept
(a fragment others include answers HTML with a short comment: 500 for a fragment no layout has,
404 for a missing subject); 406 for the JSON-only URL without a JSON Accept; and never a crash
for an odd path or query."""

from __future__ import annotations

import re
from typing import Any

import pytest

SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
SEED_PATH = f"/pages/article/{SEED_SLUG}"

NOT_FOUND = {
    "page type": ("/pages/recipe/{slug}", "recipe"),
    "slug": ("/pages/article/no-such-article", "no-such-article"),
    "section slug": ("/pages/section/no-such-section", "no-such-section"),
    "article slug on a section page": ("/pages/section/{slug}", "{slug}"),
    "widget static file": ("/static/widgets/latest_news/no-such.css", None),
    "static files of an unknown widget": ("/static/widgets/weather/weather.css", None),
}


@pytest.mark.parametrize("case", NOT_FOUND, ids=list(NOT_FOUND))
def test_unknown_things_are_404_in_html(demo_client: Any, case: str) -> None:
    path, named = NOT_FOUND[case]
    response = demo_client.get(path.format(slug=SEED_SLUG), headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<h1>404 Not Found</h1>" in html
    if named is not None:
        assert named.format(slug=SEED_SLUG) in html


#: Included fragments: (path, status for an includer, named in the detail).
FRAGMENTS_NOT_FOUND = {
    "region": ("/fragments/article/{slug}/sidebar", 500, "sidebar"),
    "region of an unknown page type": ("/fragments/recipe/{slug}/main", 500, "recipe"),
    "region of an unknown slug": ("/fragments/article/no-such-article/main", 404,
                                  "no-such-article"),
    "placement": ("/widgets/article/{slug}/weather", 500, "weather"),
    "placement of an unknown slug": ("/widgets/article/no-such-article/author", 404,
                                     "no-such-article"),
}


@pytest.mark.parametrize("case", FRAGMENTS_NOT_FOUND, ids=list(FRAGMENTS_NOT_FOUND))
@pytest.mark.parametrize("accept", ["text/html", None])
def test_missing_fragments_are_a_short_comment_for_an_includer(
        demo_client: Any, case: str, accept: str | None) -> None:
    """Tailor sends no Accept header; an ESI or SSI include sends the browser's."""
    path, status, named = FRAGMENTS_NOT_FOUND[case]
    response = demo_client.get(path.format(slug=SEED_SLUG),
                               headers={"Accept": accept} if accept else {})
    assert response.status_code == status
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert re.fullmatch(rf"<!-- layoutserver {status}: [^<>]*'{named}'[^<>]* -->", body), body
    if status == 404:  # a missing subject: kept briefly, purged when it appears
        assert response.headers["Cache-Control"] == "public, max-age=10"
        assert "article:no-such-article" in response.headers["Surrogate-Key"].split()
    else:
        assert response.headers["Cache-Control"] == "no-store"


def test_a_missing_fragment_comment_cannot_be_broken_out_of(demo_client: Any) -> None:
    response = demo_client.get(f"/fragments/article/{SEED_SLUG}/a--%3E%3Cscript%3Ex")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert body.startswith("<!-- layoutserver 500: ") and body.endswith(" -->")
    inner = body[len("<!--"):-len("-->")]
    assert "--" not in inner and "<" not in inner and ">" not in inner


def test_a_missing_page_stays_the_sites_html_404(demo_client: Any) -> None:
    response = demo_client.get("/pages/article/no-such-article")
    assert response.status_code == 404
    assert response.get_data(as_text=True).startswith("<!doctype html>")


#: The all-regions URL answers JSON only, so it is asked in JSON alone; a client preferring
#: JSON gets 404 for a missing fragment too.
NOT_FOUND_JSON = {
    **NOT_FOUND,
    **{case: (path, named) for case, (path, _, named) in FRAGMENTS_NOT_FOUND.items()},
    "json of an unknown slug": ("/fragments/article/no-such-article", "no-such-article"),
    "json of an unknown page type": ("/fragments/recipe/{slug}", "recipe"),
}


@pytest.mark.parametrize("case", NOT_FOUND_JSON, ids=list(NOT_FOUND_JSON))
def test_unknown_things_are_404_in_json(demo_client: Any, case: str) -> None:
    path, named = NOT_FOUND_JSON[case]
    response = demo_client.get(path.format(slug=SEED_SLUG), headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document["status"] == 404
    assert document["error"] == "Not Found"
    if named is not None:
        assert named.format(slug=SEED_SLUG) in document["detail"]
    assert "Accept" in response.headers["Vary"]


def test_404_detail_lists_what_exists(demo_client: Any) -> None:
    json = {"Accept": "application/json"}
    page_type = demo_client.get("/pages/recipe/x", headers=json).get_json()["detail"]
    assert "article" in page_type and "section" in page_type
    region = demo_client.get(f"/fragments/article/{SEED_SLUG}/sidebar", headers=json)
    assert "header, main, aside" in region.get_json()["detail"]
    placement = demo_client.get(f"/widgets/article/{SEED_SLUG}/weather", headers=json)
    assert "must-read" in placement.get_json()["detail"]


ODD_PATHS = [
    f"/pages/article/{SEED_SLUG.upper()}",
    "/pages/article/East-Turkistan",
    "/pages/Article/" + SEED_SLUG,
    "/pages/article/..",
    "/pages/article/%2e%2e",
    "/pages/article/..%2f..%2fetc%2fpasswd",
    "/pages/../article/x",
    "/pages/article/" + "a" * 5000,
    "/pages/article/" + "-".join(["ab"] * 150),
    "/pages/article/caf%C3%A9",
    "/pages/article/%E2%80%AE%F0%9F%98%80",
    "/pages/article/%ff%fe",
    "/pages/%ff/%ff",
    "/pages/article/a--b",
    "/pages/article/-a",
    "/pages/article/a_b",
    "/pages/article/%00",
    "/pages/article/a%20b",
    f"{SEED_PATH}/",
    f"{SEED_PATH}/extra",
    "/pages/article",
    f"/fragments/article/{SEED_SLUG}/MAIN",
    f"/fragments/article/{SEED_SLUG}/%ff",
    f"/fragments/article/{SEED_SLUG}/..",
    f"/fragments/article/{SEED_SLUG}/" + "m" * 3000,
    f"/widgets/article/{SEED_SLUG}/%00",
    f"/widgets/article/{SEED_SLUG}/Must-Read",
    f"/widgets/article/{SEED_SLUG}/" + "w" * 3000,
    "/widgets/article/caf%C3%A9/author",
    "/static/widgets/latest_news/../__init__.py",
    "/static/widgets/latest_news/%2e%2e/__init__.py",
    "/static/widgets/%ff/x.css",
]


def test_odd_paths_are_404_not_a_crash(demo_client: Any) -> None:
    """404, or for an includer of a fragment no layout has, the deliberate fragment error (its
    comment, not a crash)."""
    wrong = []
    for path in ODD_PATHS:
        for accept in ("text/html", "application/json"):
            response = demo_client.get(path, headers={"Accept": accept})
            included = path.startswith(("/fragments/", "/widgets/")) and accept == "text/html"
            unknown = response.get_data(as_text=True).startswith("<!-- layoutserver 500: ")
            if response.status_code != 404 and not (included and unknown):
                wrong.append((path[:80], accept, response.status_code))
    assert wrong == []


ODD_QUERIES = [
    "?a=%ff&b[]=1",
    "?%ff=%fe",
    "?a=1&a=2&a=3",
    "?=&&=&",
    "?x=" + "y" * 10000,
    "?" + "&".join(f"k{i}=v" for i in range(500)),
    "?a=%00%0d%0aSet-Cookie:%20x=1",
    "?q=%E2%80%AE%F0%9F%98%80",
]


def test_odd_queries_do_not_break_a_page(demo_client: Any) -> None:
    wrong = []
    for query in ODD_QUERIES:
        for url, accept in [(SEED_PATH, "text/html"),
                            (f"/fragments/article/{SEED_SLUG}/main", "text/html"),
                            (f"/widgets/article/{SEED_SLUG}/must-read", "text/html"),
                            (f"/fragments/article/{SEED_SLUG}", "application/json")]:
            response = demo_client.get(url + query, headers={"Accept": accept})
            cookies = response.headers.getlist("Set-Cookie")
            # The ad spots' first-party user key is the only cookie a page may set.
            if response.status_code != 200 or any(not c.startswith("ls_uid=") for c in cookies):
                wrong.append((url + query[:80], response.status_code))
    assert wrong == []


ODD_HEADERS = [
    {"Accept-Language": "%%%, ;q=abc, *"},
    {"Accept-Language": "x" * 5000},
    {"Accept-Language": "de-DE-u-co-phonebk;q=0.9, zz"},
    {"Accept": ";;;, */*;q=x"},
    {"X-Device-Class": "\u00e9t\u00e9", "X-Storage-Consent": "x" * 2000},
    {"User-Agent": "\x7f" * 100},
    {"If-None-Match": "not-an-etag, W/, \"\""},
    {"If-Modified-Since": "yesterday"},
    {"Range": "bytes=abc"},
]


def test_odd_request_headers_do_not_break_a_page(demo_client: Any) -> None:
    wrong = []
    for headers in ODD_HEADERS:
        response = demo_client.get(SEED_PATH, headers=headers)
        if response.status_code != 200 or b"Pia Sherman" not in response.get_data():
            wrong.append((headers, response.status_code))
    assert wrong == []


def test_other_methods_are_405_not_500(demo_client: Any) -> None:
    assert demo_client.post(SEED_PATH).status_code == 405
    assert demo_client.delete(f"/fragments/article/{SEED_SLUG}/main").status_code == 405
    assert demo_client.head(SEED_PATH).status_code == 200


@pytest.mark.parametrize("accept", ["text/html", "text/*", "application/json;q=0",
                                    "application/xml"])
def test_json_fragments_without_a_json_accept_are_406(demo_client: Any, accept: str | None) -> None:
    headers = {} if accept is None else {"Accept": accept}
    response = demo_client.get(f"/fragments/article/{SEED_SLUG}", headers=headers)
    assert response.status_code == 406
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Not Acceptable" in html
    assert "application/json" in html


def test_json_fragments_without_an_accept_header_are_json(demo_client: Any) -> None:
    """No Accept header means any type is acceptable (RFC 9110, 12.5.1)."""
    response = demo_client.get(f"/fragments/article/{SEED_SLUG}")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "main" in response.get_json()["regions"]


def test_json_fragments_with_a_json_accept_are_not_406(demo_client: Any) -> None:
    for accept in ("application/json", "*/*", "application/*"):
        response = demo_client.get(f"/fragments/article/{SEED_SLUG}", headers={"Accept": accept})
        assert response.status_code == 200, accept
        assert response.mimetype == "application/json"


def test_a_failing_route_is_a_500_page_not_a_traceback(make_app: Any, monkeypatch: Any) -> None:
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    from layoutserver.core import Core

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(Core, "subject", broken)
    client = app.test_client()
    html = client.get(SEED_PATH)
    assert html.status_code == 500
    assert "database gone" not in html.get_data(as_text=True)
    assert "Traceback" not in html.get_data(as_text=True)
    json = client.get(SEED_PATH, headers={"Accept": "application/json"})
    assert json.status_code == 500
    assert json.get_json()["status"] == 500


@pytest.mark.parametrize(("path", "allowed", "mimetype"), [
    (SEED_PATH, {"GET", "HEAD", "OPTIONS"}, "text/html"),
    ("/api/v1/sections", {"GET", "HEAD", "OPTIONS", "POST"}, "application/json"),
    ("/ads/decide", {"OPTIONS", "POST"}, "application/json"),
])
def test_a_405_names_the_methods_allowed(
    demo_client: Any, path: str, allowed: set[str], mimetype: str
) -> None:
    response = demo_client.delete(path)
    assert response.status_code == 405
    assert response.mimetype == mimetype
    assert set(response.headers["Allow"].split(", ")) == allowed
