"""Fragments: one region as HTML, every region as JSON, and one placed widget (for ESI)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from support import shared

from layoutserver.core import get_core


@pytest.fixture
def demo_app(make_app: Any) -> Any:
    """The demo with its ad spots switched off: these tests are about a page whose widgets are
    all shared (the ad spots, per request, would make it private)."""
    return make_app(settings={"WIDGETS_DISABLED": ["ad_spot"]})

SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
SEED_PATH = f"/pages/article/{SEED_SLUG}"
SEED_TITLE = "East Turkistan Government in Exile Condemns China-Pakistan Cooperation"
JSON = {"Accept": "application/json"}


def placements_in(html: str) -> list[str]:
    return re.findall(r'data-placement="([^"]+)"', html)


def timing_names(response: Any) -> list[str]:
    return re.findall(r'(?:^|, )([^;,\s]+);dur=', response.headers["Server-Timing"])


def layout_ids(app: Flask, region: str | None = None) -> list[str]:
    """Placement ids of the article layout (config/layouts/article.toml), in order."""
    layout = get_core(app).layouts.get("article")
    assert layout is not None
    return [p.id for p in layout.placements() if region is None or p.region == region]


def test_region_fragment_is_that_region_alone(demo_app: Flask) -> None:
    demo_client = demo_app.test_client()
    response = demo_client.get(f"/fragments/article/{SEED_SLUG}/main")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert html.startswith('<main class="ls-region ls-region--main" data-region="main" '
                           'id="main">')
    assert html.endswith("</main>")
    assert "<html" not in html and "<head" not in html
    main = layout_ids(demo_app, "main")
    assert placements_in(html) == main
    assert [p for p in main if p in {"article", "author", "latest-news", "more-news"}] == [
        "article", "author", "latest-news", "more-news"]
    assert SEED_TITLE in html
    assert "Pia Sherman" in html
    assert "Thursday, October 10, 2024" not in html  # header region
    assert "Tibetan Leader Criticizes Paris Museums" not in html  # aside region
    assert timing_names(response) == [*main, "total"]


def test_region_fragment_is_the_same_markup_as_in_the_page(demo_client: Any) -> None:
    page = demo_client.get(SEED_PATH).get_data(as_text=True)
    for region in ("header", "main", "aside"):
        fragment = demo_client.get(f"/fragments/article/{SEED_SLUG}/{region}")
        assert fragment.status_code == 200
        html = fragment.get_data(as_text=True)
        assert f'data-region="{region}"' in html
        assert html in page


def test_json_fragments_hold_every_region_in_layout_order_with_assets(demo_app: Flask) -> None:
    demo_client = demo_app.test_client()
    response = demo_client.get(f"/fragments/article/{SEED_SLUG}", headers=JSON)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "Accept" in response.headers["Vary"]
    document = response.get_json()
    assert document["page_type"] == "article"
    assert document["slug"] == SEED_SLUG
    regions = document["regions"]
    assert list(regions) == ["header", "main", "aside"]
    for name, html in regions.items():
        region = demo_client.get(f"/fragments/article/{SEED_SLUG}/{name}")
        assert html == region.get_data(as_text=True), name
    assert "Thursday, October 10, 2024" in regions["header"]
    assert SEED_TITLE in regions["main"]
    assert "Must read" in regions["aside"]
    css = document["assets"]["css"]
    assert len(css) == len(set(css))
    # at their fingerprinted URLs, the core stylesheet first
    assert [re.sub(r"/[0-9a-f]{12}/", "/", url) for url in css[:5]] == [
        "/assets/layoutserver.css",
        "/assets/widgets/date_bar/date_bar.css",
        "/assets/widgets/article_body/article_body.css",
        "/assets/widgets/author_box/author_box.css",
        "/assets/widgets/latest_news/news_list.css",
    ]
    assert document["assets"]["js"] == []
    layout = get_core(demo_app).layouts.get("article")
    assert layout is not None
    listed = [(w["placement"], w["widget"], w["region"]) for w in document["widgets"]]
    assert listed == [(p.id, p.widget, p.region) for p in layout.placements()]
    seed_blocks = [
        ("date-bar", "date_bar", "header"),
        ("article", "article_body", "main"),
        ("author", "author_box", "main"),
        ("latest-news", "latest_news", "main"),
        ("more-news", "latest_news", "main"),
        ("must-read", "must_read", "aside"),
    ]
    assert [item for item in listed if item in seed_blocks] == seed_blocks
    assert all(set(w) == {"placement", "widget", "region"} for w in document["widgets"])


def test_json_fragments_accept_json_among_other_types(demo_client: Any) -> None:
    response = demo_client.get(
        f"/fragments/article/{SEED_SLUG}",
        headers={"Accept": "text/html;q=0.9, application/json;q=0.8"},
    )
    assert response.status_code == 200
    assert list(response.get_json()["regions"]) == ["header", "main", "aside"]


def test_widget_endpoint_is_one_placed_widget(demo_client: Any) -> None:
    response = demo_client.get(f"/widgets/article/{SEED_SLUG}/must-read")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert html.startswith('<div class="ls-widget ls-widget--must_read" data-widget="must_read" '
                           'data-placement="must-read">')
    assert placements_in(html) == ["must-read"]
    assert "data-region" not in html
    assert html.index("Prepare Your Social Media") < html.index("Tibetan Leader Criticizes")
    assert SEED_TITLE not in html
    assert timing_names(response) == ["must-read", "total"]
    assert response.headers["Cache-Control"] == shared(300)  # must_read's TTL alone


def test_widget_endpoint_of_a_repeated_widget_renders_that_placement(demo_client: Any) -> None:
    first = demo_client.get(f"/widgets/article/{SEED_SLUG}/latest-news").get_data(as_text=True)
    more = demo_client.get(f"/widgets/article/{SEED_SLUG}/more-news").get_data(as_text=True)
    assert placements_in(first) == ["latest-news"]
    assert placements_in(more) == ["more-news"]
    assert "Latest news" in first and "Dystopia" in first
    assert "Latest news" not in more and "Dystopia" not in more
    assert "Does Hezbollah Represent Lebanon?" in more
    assert "Does Hezbollah Represent Lebanon?" not in first


def test_widget_endpoint_matches_the_placement_in_the_page(demo_app: Flask) -> None:
    demo_client = demo_app.test_client()
    page = demo_client.get(SEED_PATH).get_data(as_text=True)
    for placement in layout_ids(demo_app):
        response = demo_client.get(f"/widgets/article/{SEED_SLUG}/{placement}")
        assert response.status_code == 200
        assert response.get_data(as_text=True) in page, placement


def links_of(response: Any) -> list[tuple[str, str]]:
    """The (URL, rel) pairs of a response's Link header, in order."""
    return re.findall(r'<([^>]+)>; rel="([^"]+)"', response.headers.get("Link", ""))


def test_region_and_widget_link_their_assets_for_tailor(demo_app: Flask) -> None:
    client = demo_app.test_client()
    main = client.get(f"/fragments/article/{SEED_SLUG}/main")
    links = links_of(main)
    assert {rel for _, rel in links} == {"stylesheet"}  # no widget here has a script
    urls = [url for url, _ in links]
    # absolute (the host page is not ours), fingerprinted, the core stylesheet first
    assert [re.sub(r"/[0-9a-f]{12}/", "/", url) for url in urls] == [
        "http://localhost/assets/layoutserver.css",
        "http://localhost/assets/widgets/article_body/article_body.css",
        "http://localhost/assets/widgets/author_box/author_box.css",
        "http://localhost/assets/widgets/latest_news/news_list.css",
    ]
    for url in urls:  # each is served, for a year
        asset = client.get(url.removeprefix("http://localhost"))
        assert asset.status_code == 200 and "immutable" in asset.headers["Cache-Control"]
    widget = client.get(f"/widgets/article/{SEED_SLUG}/must-read")
    assert [re.sub(r"/[0-9a-f]{12}/", "/", url) for url, _ in links_of(widget)] == [
        "http://localhost/assets/layoutserver.css",
        "http://localhost/assets/widgets/must_read/news_list.css",
    ]


SCRIPTED_LAYOUT = """
subject = "article"
[[regions]]
name = "header"
[[regions.placements]]
widget = "date_bar"
[[regions.placements]]
widget = "test_scripted"
id = "scripted"
"""


def test_links_use_the_site_base_url_and_name_scripts(make_app: Any) -> None:
    app = make_app(layouts={"article": SCRIPTED_LAYOUT},
                   settings={"SITE_BASE_URL": "https://news.example.com"})
    client = app.test_client()
    links = links_of(client.get(f"/fragments/article/{SEED_SLUG}/header"))
    assert [(re.sub(r"/[0-9a-f]{12}/", "/", url), rel) for url, rel in links] == [
        ("https://news.example.com/assets/layoutserver.css", "stylesheet"),
        ("https://news.example.com/assets/widgets/date_bar/date_bar.css", "stylesheet"),
        ("https://news.example.com/static/scripted.css", "stylesheet"),
        ("https://news.example.com/static/scripted.js", "fragment-script"),
    ]
    assert links_of(client.get(f"/widgets/article/{SEED_SLUG}/scripted")) == [
        links[0], links[2], links[3]]
    document = client.get(f"/fragments/article/{SEED_SLUG}", headers=JSON).get_json()
    assert document["assets"]["js"] == ["/static/scripted.js"]


def test_json_lists_the_assets_in_the_order_the_page_loads_them(make_app: Any) -> None:
    app = make_app(settings={"WIDGETS_DISABLED": ["ad_spot"], "PAGE_CSS": "link"})
    client = app.test_client()
    page = client.get(SEED_PATH).get_data(as_text=True)
    linked = re.findall(r'<link rel="stylesheet" href="([^"]+)">', page)
    scripts = re.findall(r'<script src="([^"]+)" defer>', page)
    assets = client.get(f"/fragments/article/{SEED_SLUG}", headers=JSON).get_json()["assets"]
    assert assets["css"] == linked
    assert assets["css"][0].startswith("/assets/") and "layoutserver.css" in assets["css"][0]
    assert assets["js"] == scripts
