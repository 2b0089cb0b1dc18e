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
