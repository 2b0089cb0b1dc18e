"""The ad server behind ``PageContext.ads``: the demo fills the seed page's five spots, caps hold
across many pages for one reader, and slots that count on render count at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pytest
from adsupport import SEED_SLOTS, counts, reader_counts, small_config
from flask import Flask, request
from support import SEED_SLUG

from layoutserver.ads.config_import import import_ads
from layoutserver.core import get_core
from layoutserver.db import Database, get_database
from layoutserver.widgets import RequestView, ServedAd

DEVICES = {"desktop": "", "tablet": "Mozilla/5.0 (iPad; CPU OS 17_0)",
           "mobile": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile"}
OPINION_SLUG = "dystopia"


def served(app: Flask, slots: Sequence[str], slug: str = SEED_SLUG,
           headers: Mapping[str, str] | None = None) -> dict[str, ServedAd]:
    """Decide ``slots`` of an article page the way the ad spot widget does."""
    with app.test_request_context(f"/pages/article/{slug}", headers=dict(headers or {})):
        core = get_core(app)
        layout = core.layouts.get("article")
        assert layout is not None
        site = core.site_view()
        subject = core.subject(layout, slug, site)
        assert subject is not None
        page = core.page_context(layout, slug, subject, core.request_view(request), site)
        assert page.ads is not None
        return dict(page.ads.decide_page(page, slots))


@pytest.mark.parametrize("device", sorted(DEVICES))
@pytest.mark.parametrize("slug", [SEED_SLUG, OPINION_SLUG])
@pytest.mark.parametrize("consent", ["yes", "no"])
def test_the_demo_fills_all_five_spots(ads_app: Flask, device: str, slug: str,
                                       consent: str) -> None:
    headers = {"User-Agent": DEVICES[device], "X-Storage-Consent": consent}
    for _ in range(5):
        ads = served(ads_app, SEED_SLOTS, slug, headers)
        assert list(ads) == SEED_SLOTS
        creatives = [ad.creative_id for ad in ads.values()]
        assert None not in creatives and len(set(creatives)) == 5
        for ad in ads.values():
            width, height = (ad.size or "").split("x")
            assert f"width:{width}px;height:{height}px" in ad.html
            assert "- Advertisement -" in ad.html


def test_the_seed_page_carries_the_roadblock_and_the_world_line_items(ads_app: Flask) -> None:
    seen: dict[str, set[int | None]] = {code: set() for code in SEED_SLOTS}
    for _ in range(40):
        for code, ad in served(ads_app, SEED_SLOTS).items():
            seen[code].add(ad.line_item_id)
    assert seen["article-1"] == seen["article-2"] == seen["article-3"] == {1}  # Northwind
    assert seen["news-1"] | seen["news-2"] == {2, 3}  # Contoso (capped) and Fabrikam (world)


def test_an_unknown_slot_is_empty(ads_app: Flask) -> None:
    ads = served(ads_app, ["nowhere", "news-1"])
    assert ads["nowhere"] == ServedAd("nowhere", ads["nowhere"].html)
    assert ads["nowhere"].html == "" and ads["news-1"].html


def test_caps_hold_over_many_pages_for_one_reader(
    small_app: Callable[..., Flask], fresh_database: Callable[[Flask], Database]
) -> None:
    app = small_app(caps=[{"impressions": 3, "period": "day"}])
    client = app.test_client()
    reader = {"Cookie": "ls_uid=reader-with-a-key-1"}
    capped = 0
    for _ in range(25):
        ad = served(app, ["top"], headers=reader)["top"]
        capped += ad.line_item_id == 1
        assert ad.impression_url is not None
        assert client.get(ad.impression_url).status_code == 204  # the beacon fires
    assert capped == 3
    assert reader_counts(app) == {("reader-with-a-key-1", 1): 3}


def test_count_on_render_counts_at_once_and_caps_hold_without_beacons(
    small_app: Callable[..., Flask], fresh_database: Callable[[Flask], Database]
) -> None:
    app = small_app(caps=[{"impressions": 2, "period": "hour"}])
    document = small_config(caps=[{"impressions": 2, "period": "hour"}])
    document["slots"][0]["count_on_render"] = True
    import_ads(get_database(app), document, get_core(app).timezone)
    reader = {"Cookie": "ls_uid=reader-with-a-key-2"}
    decided = [served(app, ["top"], headers=reader)["top"] for _ in range(6)]
    assert [ad.line_item_id for ad in decided] == [1, 1, 2, 2, 2, 2]
    assert all(ad.impression_url is None and "ad-spot__beacon" not in ad.html
               for ad in decided)
    database = fresh_database(app)
    assert sum(row[4] for row in counts(database)) == 6
    assert reader_counts(app) == {("reader-with-a-key-2", 1): 2}


def test_a_page_decided_outside_a_request_has_urls_and_no_user_key(ads_app: Flask) -> None:
    """As ``layoutserver.testing.render_widget`` renders a widget: an app context only."""
    with ads_app.app_context():
        core = get_core(ads_app)
        layout = core.layouts.get("article")
        assert layout is not None and core.ads is not None
        site = core.site_view()
        subject = core.subject(layout, SEED_SLUG, site)
        assert subject is not None
        reader = RequestView(device="desktop", locale="en-US", consent=None, path="/test")
        page = core.page_context(layout, SEED_SLUG, subject, reader, site)
        ads = core.ads.decide_page(page, SEED_SLOTS)
    assert all((ad.click_url or "").startswith("/ads/c/") for ad in ads.values())
    assert ads["article-1"].line_item_id == 1
