"""``ADS_DELIVERY = "client"``: the page is the same for every reader and cacheable everywhere;
its ad spots are empty slots that ads.js fills with one /ads/decide per page view."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from support import SEED_PATH, SEED_SLUG, shared

from layoutserver.settings import SettingsError

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
    assert page.count('class="ad-slot"') == len(SLOTS)
    assert response.headers["Cache-Control"] == shared(120)
