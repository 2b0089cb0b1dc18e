"""Ad sizes follow the reader's viewport: a page with ad slots asks for the viewport's width
(``Accept-CH``/``Critical-CH: Sec-CH-Viewport-Width``) and picks the device class, so the ad
sizes, from it before the User-Agent; ``ads.js`` measures the viewport the same way. In
Chromium, with its desktop User-Agent, at 320, 390, 768 and 1280 px every ad fits its box
unsqueezed and nothing shifts (CLS 0)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from support import (
    ALL_FILLED,
    DESKTOP_AGENT,
    LAYOUT_SHIFTS,
    PHONE_AGENT,
    REPO,
    SEED_PATH,
    SLOT_BOXES,
    held_decisions,
)

from layoutserver.ads.config_import import import_ads_file
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.render.request_view import viewport_class

DEMO_ADS = REPO / "layoutserver" / "demo" / "ads.json"
WIDE, MOBILE = "728x90", "320x50"


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


# -- slots filled after the page: ads.js (client mode) and an edge's shared form ----------------

#: The room each slot of the seed page reserves per viewport width: the demo's sizes per device
#: class (article-1 and article-2 take 728x90 on desktop and tablet, 320x50 on phones).
ROOMS = {
    320: {"article-1": (320, 50), "article-2": (320, 50), "article-3": (300, 250)},
    390: {"article-1": (320, 50), "article-2": (320, 50), "article-3": (300, 250)},
    768: {"article-1": (728, 90), "article-2": (728, 90), "article-3": (300, 250)},
    1280: {"article-1": (728, 90), "article-2": (728, 90), "article-3": (300, 250)},
}


@pytest.mark.parametrize("width", sorted(ROOMS))
def test_in_chromium_client_slots_reserve_the_ads_room_and_nothing_shifts(
        make_app: Callable[..., Flask], live_server: Any, browser: Any, width: int) -> None:
    app = make_app(settings={"ADS_DELIVERY": "client"})
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    server = live_server(app)
    context = browser.new_context(viewport={"width": width, "height": 800},
                                  user_agent=DESKTOP_AGENT)
    page = context.new_page()
    held = held_decisions(page)
    page.goto(server.url + SEED_PATH)
    page.wait_for_load_state("load")
    page.wait_for_function("() => true")
    assert len(held) == 1
    empty = page.evaluate(SLOT_BOXES)
    held[0].continue_()
    page.wait_for_function(ALL_FILLED)
    page.mouse.wheel(0, 20000)  # the lazy ones load too
    page.wait_for_timeout(300)
    filled = page.evaluate(SLOT_BOXES)
    shifts = page.evaluate(LAYOUT_SHIFTS)
    sized = sizes(page.content())
    boxes = page.evaluate(BOXES)
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    context.close()
    assert wide == width  # nothing sticks out sideways
    for slot, _size, _width, _height, _creative, inside in boxes:
        assert inside, slot
    for code, (room_width, room_height) in ROOMS[width].items():
        reserved = empty[code]
        assert reserved["box"] == [room_width, room_height], code  # the empty box shows it
        assert reserved["height"] == pytest.approx(room_height + reserved["label"], abs=0.1), code
        assert filled[code]["filled"] == "ad", code
        assert sized[code] == f"{room_width}x{room_height}", code
    for code, before in empty.items():  # every slot, article and aside: none moved or grew
        assert (filled[code]["top"], filled[code]["height"]) == (before["top"],
                                                                 before["height"]), code
    assert shifts == 0


def test_in_chromium_a_client_slot_left_without_an_ad_keeps_its_room(
        make_app: Callable[..., Flask], live_server: Any, browser: Any, tmp_path: Any) -> None:
    app = make_app(settings={"ADS_DELIVERY": "client"})
    config = json.loads(DEMO_ADS.read_text())
    config["line_items"] = []  # nothing serves: every slot is decided empty, or its house ad
    for slot in config["slots"]:
        slot["when_empty"] = "collapse"
        slot.pop("house_creative", None)
    (tmp_path / "ads.json").write_text(json.dumps(config))
    import_ads_file(get_database(app), tmp_path / "ads.json", get_core(app).timezone)
    server = live_server(app)
    page = browser.new_page(viewport={"width": 390, "height": 800})
    held = held_decisions(page)
    page.goto(server.url + SEED_PATH)
    page.wait_for_load_state("load")
    empty = page.evaluate(SLOT_BOXES)
    held[0].continue_()
    page.wait_for_function(ALL_FILLED)
    after = page.evaluate(SLOT_BOXES)
    shifts = page.evaluate(LAYOUT_SHIFTS)
    page.close()
    assert {code: slot["filled"] for code, slot in after.items()} == dict.fromkeys(after, "empty")
    for code, before in empty.items():
        assert before["height"] > 0, code
        assert (after[code]["top"], after[code]["height"]) == (before["top"], before["height"])
        assert after[code]["box"] is None  # blank: the grey box only while waiting
    assert shifts == 0


def test_in_chromium_the_edges_shared_form_shows_each_slots_box_at_its_size(
        ads_app: Flask, live_server: Any, browser: Any) -> None:
    server = live_server(ads_app)
    for width, rooms in ROOMS.items():
        context = browser.new_context(
            viewport={"width": width, "height": 800}, user_agent=DESKTOP_AGENT,
            extra_http_headers={"Surrogate-Capability": 'edge="ESI/1.0"'})
        page = context.new_page()
        response = page.goto(server.url + SEED_PATH)
        assert response is not None and response.headers.get("x-reader-frame") == "1"
        boxes = page.evaluate(SLOT_BOXES)
        context.close()
        for code, (room_width, room_height) in rooms.items():
            room = room_height + boxes[code]["label"]
            assert boxes[code]["box"] == [room_width, room_height], (width, code)
            assert boxes[code]["height"] == pytest.approx(room, abs=0.1), (width, code)
