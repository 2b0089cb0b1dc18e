"""Layout variants and inline placements served: a sports article gets the sports sidebar (a
world one does not), device-only placements per device class with caches kept apart (body
cache, ETags, an ESI edge's shared forms and parts), an ad spot after paragraph 3 of the text
(left out of a shorter article, and then not decided), and in Chromium its room reserved."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from support import (
    ALL_FILLED,
    LAYOUT_SHIFTS,
    MAIN_WITH_ARTICLE,
    REPO,
    SEED_SLUG,
    SLOT_BOXES,
    VARIANTS_LAYOUT,
    held_decisions,
    timing_outcomes,
)
from testwidgets import Together

from layoutserver.ads.config_import import import_ads_file
from layoutserver.content.importer import import_content
from layoutserver.core import get_core
from layoutserver.db import get_database

SPORTS = "cup-final"
SHORT = "does-hezbollah-represent-lebanon"  # world, one paragraph
SEED = f"/pages/article/{SEED_SLUG}"  # world, twelve paragraphs
MOBILE = {"X-Device-Class": "mobile"}
DESKTOP = {"X-Device-Class": "desktop"}
ESI = {"Surrogate-Capability": 'varnish="ESI/1.0"'}
DEMO_ADS = REPO / "layoutserver" / "demo" / "ads.json"


def variants_app(make_app: Callable[..., Flask], **settings: Any) -> Flask:
    app = make_app(layouts={"article": VARIANTS_LAYOUT}, settings=settings)
    import_content(get_database(app), {
        "sections": [{"slug": "sports", "name": "Sports"}],
        "articles": [{"slug": SPORTS, "title": "Cup final", "section": "sports",
                      "published_at": "2024-10-09T09:00:00-04:00",
                      "body_html": "".join(f"<p>Minute {n}.</p>" for n in range(1, 5))},
                     {"slug": "semi-final", "title": "Semi-final", "section": "sports",
                      "published_at": "2024-10-02T09:00:00-04:00", "body_html": "<p>Won.</p>"}]})
    return app


def placements(html: str) -> list[str]:
    return re.findall(r'data-placement="([^"]+)"', html)


def region(html: str, name: str) -> str:
    found = re.search(rf'<(\w+) class="ls-region ls-region--{name}".*?</\1>', html, re.S)
    assert found is not None, name
    return found.group(0)


def test_a_sports_article_gets_the_sports_sidebar_and_a_world_article_does_not(
        make_app: Callable[..., Flask]) -> None:
    client = variants_app(make_app).test_client()
    sports = client.get(f"/pages/article/{SPORTS}", headers=DESKTOP).get_data(as_text=True)
    aside = region(sports, "aside")
    assert placements(aside) == ["sports-news"]
    assert 'aria-label="Must read"' in aside  # the replaced region's element and label kept
    assert "More sports" in aside and "Semi-final" in aside
    world = client.get(SEED, headers=DESKTOP).get_data(as_text=True)
    assert placements(region(world, "aside")) == ["must-read"]
    assert "More sports" not in world
    # The region and the widget alone follow the same plan; a placement the page does not
    # show is served empty, one no page has is an error (500 for an includer: web/errors).
    assert placements(client.get(f"/fragments/article/{SPORTS}/aside").get_data(
        as_text=True)) == ["sports-news"]
    assert client.get(f"/widgets/article/{SEED_SLUG}/sports-news").get_data() == b""
    assert "More sports" in client.get(f"/widgets/article/{SPORTS}/sports-news").get_data(
        as_text=True)
    missing = client.get(f"/widgets/article/{SPORTS}/nowhere")
    assert missing.status_code == 500 and b"sports-news" in missing.get_data()


def test_device_only_placements_per_device_class_with_their_own_cache_entries(
        make_app: Callable[..., Flask]) -> None:
    client = variants_app(make_app, ADS_DELIVERY="client").test_client()
    first = {name: client.get(SEED, headers=headers)
             for name, headers in (("desktop", DESKTOP), ("mobile", MOBILE))}
    desktop, mobile = (first[name].get_data(as_text=True) for name in ("desktop", "mobile"))
    assert "desktop-news" in placements(desktop) and "ad-inline" not in placements(desktop)
    assert "ad-inline" in placements(mobile) and "desktop-news" not in placements(mobile)
    assert 'data-slot="article-2"' in mobile and 'data-slot="article-2"' not in desktop
    for response in first.values():
        assert "X-Device-Class" in response.headers["Vary"]
        assert response.headers["Accept-CH"] == "Sec-CH-Viewport-Width"
        assert 'desc="rendered' in response.headers["Server-Timing"]
    assert first["desktop"].headers["ETag"] != first["mobile"].headers["ETag"]
    for name, headers in (("desktop", DESKTOP), ("mobile", MOBILE)):
        again = client.get(SEED, headers=headers)  # from the body cache: its own device's
        assert 'desc="page-cache hit' in again.headers["Server-Timing"]
        assert again.get_data() == first[name].get_data()
        assert again.headers["ETag"] == first[name].headers["ETag"]
    stale = client.get(SEED, headers={**MOBILE, "If-None-Match": first["desktop"].headers["ETag"]})
    assert stale.status_code == 200 and "ad-inline" in placements(stale.get_data(as_text=True))
    # The viewport's width picks the class as for ads; the aside shows the same to all.
    phone = client.get(SEED, headers={"Sec-CH-Viewport-Width": "390"})
    assert phone.get_data() == first["mobile"].get_data()
    aside = client.get(f"/fragments/article/{SEED_SLUG}/aside", headers=MOBILE)
    assert "X-Device-Class" not in aside.headers.get("Vary", "")


def test_an_esi_edge_gets_a_shared_form_and_parts_per_device_class(
        make_app: Callable[..., Flask]) -> None:
    client = variants_app(make_app).test_client()
    forms = {name: client.get(SEED, headers={**ESI, **headers})
             for name, headers in (("desktop", DESKTOP), ("mobile", MOBILE))}
    for form in forms.values():
        assert form.headers["X-Reader-Frame"] == "1"
        assert "X-Device-Class" in form.headers["Vary"]
    mobile_form = forms["mobile"].get_data(as_text=True)
    assert 'data-slot="article-2"' in mobile_form  # the mobile-only slot, empty and reserved
    assert 'data-slot="article-2"' not in forms["desktop"].get_data(as_text=True)
    frame = client.get(SEED, headers={**ESI, **MOBILE, "X-Reader-Frame": "1"})
    parts = re.findall(r'<esi:include src="([^"]+)"/>', frame.get_data(as_text=True))
    desktop_frame = client.get(SEED, headers={**ESI, **DESKTOP, "X-Reader-Frame": "1"})
    assert parts and not set(parts) & set(
        re.findall(r'<esi:include src="([^"]+)"/>', desktop_frame.get_data(as_text=True)))
    assert client.get(parts[0], headers={**ESI, **MOBILE}).status_code == 200
    # A mobile part never answers for a desktop reader (its structure names the plan).
    assert client.get(parts[0], headers={**ESI, **DESKTOP}).status_code == 404


def test_an_ad_spot_after_paragraph_3(make_app: Callable[..., Flask]) -> None:
    client = variants_app(make_app).test_client()
    response = client.get(SEED, headers=MOBILE)
    before, found, _ = article_text(response).partition('data-placement="ad-inline"')
    assert found and before.count("</p>") == 3 and "</div>" not in before
    assert "ad-inline" in timing_outcomes(response)


def test_a_shorter_article_leaves_the_position_and_its_placement_out_undecided(
        make_app: Callable[..., Flask]) -> None:
    """``test_together`` records each whole-page step: what is not shown is not decided."""
    client = make_app(layouts={"article": INLINE_TOGETHER}).test_client()
    Together.calls.clear()
    seed = client.get(SEED)
    assert Together.calls == [["inline", "outside"]]
    before, found, _ = article_text(seed).partition('data-placement="inline"')
    assert found and before.count("</p>") == 3
    for outcome in ("rendered", "page-cache hit"):  # rendered, then from the body cache
        Together.calls.clear()
        short = client.get(f"/pages/article/{SHORT}")
        assert f'desc="{outcome}' in short.headers["Server-Timing"]
        assert Together.calls == [["outside"]]
        assert placements(short.get_data(as_text=True)) == ["article", "outside"]
        assert "ls-in:" not in short.get_data(as_text=True)


INLINE_TOGETHER = MAIN_WITH_ARTICLE + """
[[regions.placements]]
widget = "test_together"
id = "inline"
inside = "article"
position = "after-paragraph-3"

[[regions.placements]]
widget = "test_together"
id = "outside"
"""


def article_text(response: Any) -> str:
    found = re.search(r'<div class="article-body__text">(.*?)</article>',
                      response.get_data(as_text=True), re.S)
    assert found is not None
    return found.group(1)


def test_in_chromium_an_inline_ad_spot_keeps_its_room_and_nothing_shifts(
        make_app: Callable[..., Flask], live_server: Any, browser: Any) -> None:
    """ads.js fills the slot after paragraph 3 once its decision arrives (held here): the
    empty slot reserves the ad's room, so neither it nor the text after it moves."""
    app = variants_app(make_app, ADS_DELIVERY="client")
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    server = live_server(app)
    context = browser.new_context(viewport={"width": 390, "height": 700})
    page = context.new_page()
    held = held_decisions(page)
    page.goto(server.url + SEED)
    page.wait_for_load_state("load")
    after_it = """() => {
      const spot = document.querySelector('.article-body__text [data-placement="ad-inline"]');
      const next = spot.nextElementSibling.getBoundingClientRect().top + window.scrollY;
      return [[...spot.parentElement.children].indexOf(spot), next];
    }"""
    empty, (index, text_top) = page.evaluate(SLOT_BOXES), page.evaluate(after_it)
    held[0].continue_()
    page.wait_for_function(ALL_FILLED)
    filled, (_, text_after) = page.evaluate(SLOT_BOXES), page.evaluate(after_it)
    shifts = page.evaluate(LAYOUT_SHIFTS)
    context.close()
    assert index == 3  # after the third paragraph
    assert empty["article-2"]["box"] == [320, 50]  # the demo's phone size, reserved
    assert filled["article-2"]["filled"] == "ad"
    assert (filled["article-2"]["top"], filled["article-2"]["height"]) == (
        empty["article-2"]["top"], empty["article-2"]["height"])
    assert text_after == text_top
    assert shifts == 0
