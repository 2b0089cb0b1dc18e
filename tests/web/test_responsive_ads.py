"""Ad sizes follow the reader's viewport: a page with ad slots asks for the viewport's width
(``Accept-CH``/``Critical-CH: Sec-CH-Viewport-Width``) and picks the device class, so the ad
sizes, from it before the User-Agent; ``ads.js`` measures the viewport the same way. In
Chromium, with its desktop User-Agent, at 320, 390, 768 and 1280 px every ad fits its box
unsqueezed and nothing shifts (CLS 0)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from support import REPO, SEED_PATH

from layoutserver.ads.config_import import import_ads_file
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.render.request_view import viewport_class

DEMO_ADS = REPO / "layoutserver" / "demo" / "ads.json"
WIDE, MOBILE = "728x90", "320x50"
DESKTOP_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/126.0 Safari/537.36")
PHONE_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"


@pytest.fixture
def ads_app(make_app: Callable[..., Flask]) -> Flask:
    app = make_app()
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    return app


def sizes(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-ad-slot="([^"]+)" data-ad-size="([^"]+)"', html))


@pytest.mark.parametrize(("width", "device"), [
    ("320", "mobile"), ("767", "mobile"), ("768", "tablet"), ("1023", "tablet"),
    ("1024", "desktop"), ("1280", "desktop"), ("", None), ("wide", None), ("-5", None),
    ("99999999", None)])
def test_viewport_width_classes(width: str, device: str | None) -> None:
    assert viewport_class(width) == device


def test_the_viewport_hint_picks_the_ad_size_before_the_user_agent(ads_app: Flask) -> None:
    client = ads_app.test_client()
    response = client.get(SEED_PATH, headers={"User-Agent": DESKTOP_AGENT})
    assert response.headers["Accept-CH"] == "Sec-CH-Viewport-Width"
    assert response.headers["Critical-CH"] == "Sec-CH-Viewport-Width"
    assert sizes(response.get_data(as_text=True))["article-1"] == WIDE
    phone = client.get(SEED_PATH, headers={"User-Agent": DESKTOP_AGENT,
                                           "Sec-CH-Viewport-Width": "390"})
    assert sizes(phone.get_data(as_text=True))["article-1"] == MOBILE
    wide_phone = client.get(SEED_PATH, headers={"User-Agent": PHONE_AGENT,
                                                "Sec-CH-Viewport-Width": "1280"})
    assert sizes(wide_phone.get_data(as_text=True))["article-1"] == WIDE
    stated = client.get(SEED_PATH, headers={"Sec-CH-Viewport-Width": "390",
                                            "X-Device-Class": "desktop"})
    assert sizes(stated.get_data(as_text=True))["article-1"] == WIDE  # the edge's word wins
    section = client.get("/pages/section/world")
    assert "Accept-CH" not in section.headers  # no ad slot: nothing to ask for


LAYOUT_SHIFTS = """() => new Promise(done => {
  let total = 0;
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) { if (!entry.hadRecentInput) total += entry.value; }
  }).observe({type: 'layout-shift', buffered: true});
  setTimeout(() => done(total), 500);
})"""
BOXES = """() => [...document.querySelectorAll('.ad-spot')].map(spot => {
  const box = spot.querySelector('.ad-spot__box');
  const creative = box.querySelector('img, iframe, a');
  return [spot.dataset.adSlot, spot.dataset.adSize, box.getBoundingClientRect().width,
          box.getBoundingClientRect().height, creative.getBoundingClientRect().width,
          box.getBoundingClientRect().right <= document.documentElement.clientWidth];
})"""


@pytest.mark.parametrize(("width", "article_size"), [
    (320, MOBILE), (390, MOBILE), (768, WIDE), (1280, WIDE)])
def test_in_chromium_ads_fit_the_viewport_without_shifting(
        ads_app: Flask, live_server: Any, browser: Any, width: int, article_size: str) -> None:
    server = live_server(ads_app)
    context = browser.new_context(viewport={"width": width, "height": 800},
                                  user_agent=DESKTOP_AGENT)
    page = context.new_page()
    page.goto(server.url + SEED_PATH)
    page.wait_for_load_state("load")
    page.mouse.wheel(0, 20000)  # the lazy slots load too
    page.wait_for_timeout(300)
    boxes = page.evaluate(BOXES)
    shifts = page.evaluate(LAYOUT_SHIFTS)
    context.close()
    assert {slot: size for slot, size, *_ in boxes if slot.startswith("article-")} == {
        "article-1": article_size, "article-2": article_size, "article-3": "300x250"}
    for slot, size, box_width, box_height, creative_width, inside in boxes:
        reserved_width, reserved_height = (int(n) for n in size.split("x"))
        assert (box_width, box_height) == (reserved_width, reserved_height), slot
        assert creative_width == reserved_width, slot  # not squeezed
        assert inside, slot
    assert shifts == 0


def test_in_chromium_ads_js_fills_slots_with_the_viewports_sizes(
        make_app: Callable[..., Flask], live_server: Any, browser: Any) -> None:
    app = make_app(settings={"ADS_DELIVERY": "client"})
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    server = live_server(app)
    context = browser.new_context(viewport={"width": 390, "height": 800},
                                  user_agent=DESKTOP_AGENT)
    page = context.new_page()
    page.goto(server.url + SEED_PATH)
    page.wait_for_selector('[data-slot="article-1"][data-ls-filled]', state="attached")
    filled = sizes(page.content())
    context.close()
    assert filled["article-1"] == MOBILE
