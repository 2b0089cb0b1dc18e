"""``ADS_DELIVERY = "client"``: the page is the same for every reader and cacheable everywhere;
its ad spots are empty slots that ads.js fills with one /ads/decide per page view."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from support import REPO, SEED_PATH, SEED_SLUG, shared

from layoutserver.ads.config_import import import_ads_file
from layoutserver.content import service
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.settings import SettingsError

DEMO_ADS = REPO / "layoutserver" / "demo" / "ads.json"
SLOTS = ["article-1", "article-2", "article-3", "news-1", "news-2"]


def test_the_page_is_shared_with_a_slot_per_ad_spot_and_one_script(
    make_app: Callable[..., Flask]
) -> None:
    client = make_app(settings={"ADS_DELIVERY": "client"}).test_client()
    first = client.get(SEED_PATH, headers={"Cookie": "ls_uid=reader-aaaaaaaa"})
    page = first.get_data(as_text=True)
    assert first.headers["Cache-Control"] == shared(120)
    assert "Set-Cookie" not in first.headers
    for code in SLOTS:
        assert f'<div class="ad-slot" data-slot="{code}"></div>' in page
    assert page.count('src="/ads/ads.js"') == 1
    assert f'data-page-type="article" data-slug="{SEED_SLUG}" data-section="world"' in page
    assert 'class="ad-spot__box' not in page  # nothing decided here
    second = client.get(SEED_PATH, headers={"Cookie": "ls_uid=reader-bbbbbbbb"})
    assert second.get_data() == first.get_data()
    assert second.headers["ETag"] == first.headers["ETag"]
    assert "per-request widgets left to ads.js" in second.headers["Server-Timing"]


def test_the_setting_is_checked(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(SettingsError, match="ADS_DELIVERY must be 'server' or 'client'"):
        make_app(settings={"ADS_DELIVERY": "edge"})


def test_behind_an_esi_edge_ad_slots_stay_client_slots(make_app: Callable[..., Flask]) -> None:
    client = make_app(settings={"ADS_DELIVERY": "client"}).test_client()
    response = client.get(SEED_PATH, headers={"Surrogate-Capability": 'edge="ESI/1.0"'})
    page = response.get_data(as_text=True)
    assert "esi:include" not in page
    assert page.count('data-slot="') == len(SLOTS)
    assert response.headers["Cache-Control"] == shared(120)


COMMA_TAGS = [f"Pakistan, China and the corridor, part {n}" for n in range(30)]
"""Thirty tags of three commas each: split at commas they would be 120 (/ads/decide takes 50)."""


def test_tags_are_written_as_a_json_array(make_app: Callable[..., Flask]) -> None:
    app = make_app(settings={"ADS_DELIVERY": "client"})
    retag(app, ['say "no", then <b>', "plain"])
    page = app.test_client().get(SEED_PATH).get_data(as_text=True)
    written = re.search(r'<script src="/ads/ads.js"[^>]* data-tags="([^"]*)"', page)
    assert written is not None
    assert sorted(json.loads(html.unescape(written.group(1)))) == ["plain", 'say "no", then <b>']


def test_in_chromium_tags_with_commas_reach_the_decision_whole(
        make_app: Callable[..., Flask], live_server: Any, browser: Any) -> None:
    app = make_app(settings={"ADS_DELIVERY": "client"})
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    retag(app, COMMA_TAGS)
    server = live_server(app)
    page = browser.new_page()
    with page.expect_response("**/ads/decide*") as decided:
        page.goto(server.url + SEED_PATH)
    answer = decided.value
    sent = answer.request.post_data_json
    page.wait_for_selector('[data-slot="article-1"][data-ls-filled]', state="attached")
    filled = page.eval_on_selector_all("[data-ls-filled='ad']",
                                       "els => els.map(e => e.dataset.slot)")
    page.close()
    assert answer.status == 200
    assert sorted(sent["page"]["tags"]) == sorted(COMMA_TAGS)
    assert "article-1" in filled


#: data-tags as written, and the tags ads.js sends for it.
TAG_FORMS = [
    ("china,pakistan", ["china", "pakistan"]),  # the comma form of pages made before
    ('["a, b", "c"]', ["a, b", "c"]),
    ("[not json, still tags", ["[not json", " still tags"]),
    ('["ok", 5, "", null, "' + "x" * 101 + '"]', ["ok"]),
    (json.dumps([f"t{n}" for n in range(60)]), [f"t{n}" for n in range(50)]),
]


def test_in_chromium_ads_js_reads_both_forms_of_tags(
        make_app: Callable[..., Flask], live_server: Any, browser: Any) -> None:
    server = live_server(make_app())
    page = browser.new_page()
    page.goto(server.url + "/not-a-page")  # a page of the site's origin, for its ads.js
    read = []
    for written, _sent in TAG_FORMS:
        with page.expect_request("**/ads/decide*") as request:
            page.set_content(f'<div data-slot="article-1"></div><script src="/ads/ads.js" '
                             'data-page-type="article" data-slug="x" '
                             f'data-tags="{html.escape(written)}"></script>')
        read.append(request.value.post_data_json["page"]["tags"])
    page.close()
    assert read == [sent for _written, sent in TAG_FORMS]


def retag(app: Flask, tags: list[str]) -> None:
    with get_database(app).session() as session:
        service.update(session, "test", "article", SEED_SLUG, {"tags": tags})


def test_a_failing_ad_configuration_leaves_the_slots_unreserved_not_the_page_broken(
        make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(settings={"ADS_DELIVERY": "client"})
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    client = app.test_client()
    assert 'class="ad-slot ad-slot--labelled" data-slot="article-1" style="--ls-ad-w-desktop:' in (
        client.get(SEED_PATH).get_data(as_text=True))
    ads = get_core(app).ads
    assert ads is not None

    def unreadable() -> None:
        raise RuntimeError("the ad configuration cannot be read")

    monkeypatch.setattr(ads.snapshots, "current", unreadable)
    response = client.get(SEED_PATH)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for code in SLOTS:
        assert f'<div class="ad-slot" data-slot="{code}"></div>' in page
    assert "ad slot rooms unavailable; slots article-1" in caplog.text
