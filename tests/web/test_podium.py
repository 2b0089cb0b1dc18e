"""Regions and placed widgets as Podium podlets: manifest, content with its version, fallback.
(tests/web/test_composition_clients.py runs the real @podium/client against them.)"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from support import REPO

from layoutserver.core import get_core

SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
MAIN = "/podlets/article/region/main"


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app()


def test_a_region_manifest_is_a_podium_manifest_with_absolute_urls(app: Flask) -> None:
    client = app.test_client()
    response = client.get(f"{MAIN}/manifest.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-cache"
    manifest = response.get_json()
    assert set(manifest) == {"name", "version", "content", "fallback", "css", "js"}
    assert manifest["name"] == "article-region-main"
    assert re.fullmatch(r"[0-9a-f]{16}", manifest["version"])
    assert manifest["content"] == f"http://localhost{MAIN}/content"
    assert manifest["fallback"] == f"http://localhost{MAIN}/fallback"
    region = client.get(f"/fragments/article/{SEED_SLUG}/main")
    linked = re.findall(r"<([^>]+)>; rel=\"stylesheet\"", region.headers["Link"])
    assert [entry["value"] for entry in manifest["css"]] == linked
    assert all(entry == {"value": entry["value"], "type": "text/css", "rel": "stylesheet"}
               for entry in manifest["css"])
    scripts = re.findall(r"<([^>]+)>; rel=\"fragment-script\"", region.headers["Link"])
    # the ad spots' script (viewability, lazy slots), as the region's Link header names it
    assert [entry["value"] for entry in manifest["js"]] == scripts
    assert manifest["js"] == [{"value": "http://localhost/ads/viewability.js", "defer": True}]
    assert client.get(f"{MAIN}/manifest.json",
                      headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_content_is_the_region_with_the_manifests_version(app: Flask) -> None:
    client = app.test_client()
    version = client.get(f"{MAIN}/manifest.json").get_json()["version"]
    content = client.get(f"{MAIN}/content/{SEED_SLUG}")
    assert content.status_code == 200
    assert content.headers["podlet-version"] == version
    region = client.get(f"/fragments/article/{SEED_SLUG}/main")
    # the same region; its ad spots are decided per request, so compare without them
    strip = re.compile(r'<div class="ls-widget ls-widget--ad_spot".*?</div></div>', re.S)
    html = content.get_data(as_text=True)
    assert html.startswith('<main class="ls-region ls-region--main"')
    assert strip.sub("", html) == strip.sub("", region.get_data(as_text=True))
    widget = client.get(f"/podlets/article/widget/must-read/content/{SEED_SLUG}")
    assert 'data-placement="must-read"' in widget.get_data(as_text=True)
    assert widget.headers["podlet-version"] == client.get(
        "/podlets/article/widget/must-read/manifest.json").get_json()["version"]


def test_the_fallback_is_the_regions_reserved_empty_shape(app: Flask) -> None:
    client = app.test_client()
    fallback = client.get(f"{MAIN}/fallback")
    assert fallback.status_code == 200
    html = fallback.get_data(as_text=True)
    layout = get_core(app).layouts.get("article")
    assert layout is not None
    main = [p for p in layout.placements() if p.region == "main"]
    assert re.findall(r'data-placement="([^"]+)"', html) == [p.id for p in main]
    # nothing of any article; each ad slot an empty, reserved slot
    assert re.sub(r"<[^>]+>", "", html) == ""
    assert re.findall(r'data-slot="([^"]+)"', html) == [c for p in main for c in p.ad_slots]
    assert fallback.headers["podlet-version"] == client.get(
        f"{MAIN}/manifest.json").get_json()["version"]
    assert "layoutserver.css" in fallback.headers["Link"]


def test_versions_differ_by_podlet_and_follow_the_layout(make_app: Any, app: Flask) -> None:
    client = app.test_client()
    versions = {client.get(f"/podlets/article/{path}/manifest.json").get_json()["version"]
                for path in ("region/main", "region/aside", "widget/must-read")}
    assert len(versions) == 3
    layout = (REPO / "config" / "layouts" / "article.toml").read_text()
    edited = make_app(layouts={"article": layout + "\n# an edit\n"})
    assert edited.test_client().get(f"{MAIN}/manifest.json").get_json()["version"] not in \
        versions


def test_unknown_podlets_and_subjects(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/podlets/article/region/sidebar/manifest.json").status_code == 404
    assert client.get("/podlets/recipe/region/main/manifest.json").status_code == 404
    assert client.get("/podlets/article/page/main/manifest.json").status_code == 404
    missing = client.get(f"/podlets/article/region/sidebar/content/{SEED_SLUG}")
    assert missing.status_code == 500
    assert missing.get_data(as_text=True).startswith("<!-- layoutserver 500: ")
    gone = client.get(f"{MAIN}/content/no-such-article")
    assert gone.status_code == 404
    assert gone.get_data(as_text=True).startswith("<!-- layoutserver 404: ")
