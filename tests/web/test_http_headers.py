"""HTTP headers of assembled responses: strong ETag and 304, Cache-Control from the shortest TTL
inside (private, no-store with a per-request widget), Server-Timing per widget, Vary."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from support import JSON, PER_REQUEST, shared

from layoutserver.core import get_core
from layoutserver.web.serving import VARY_HEADERS
from layoutserver.widgets import CachePolicy, Markup, RenderContext, Widget


@pytest.fixture
def demo_app(make_app: Any) -> Any:
    """The demo with its ad spots switched off: these tests are about a page whose widgets are
    all shared (the ad spots, per request, would make it private)."""
    return make_app(settings={"WIDGETS_DISABLED": ["ad_spot"]})

SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
SEED_PATH = f"/pages/article/{SEED_SLUG}"
TIMING = re.compile(r'(?P<name>[^;,\s]+);dur=(?P<dur>\d+(?:\.\d+)?);desc="(?P<desc>[^"]*)"')


def server_timing(response: Any) -> dict[str, str]:
    """Server-Timing entries as name -> description, checking the whole header parses."""
    header = response.headers["Server-Timing"]
    entries = [TIMING.fullmatch(part) for part in header.split(", ")]
    assert all(entries), header
    names = [entry["name"] for entry in entries if entry]
    assert len(names) == len(set(names)), header
    return {entry["name"]: entry["desc"] for entry in entries if entry}


# --- ETag and 304 -------------------------------------------------------------------------------


def test_etag_is_strong_and_stable(demo_client: Any) -> None:
    first = demo_client.get(SEED_PATH)
    second = demo_client.get(SEED_PATH)
    etag, weak = first.get_etag()
    assert etag and not weak
    assert re.fullmatch(r'"[^"]+"', first.headers["ETag"])
    assert second.headers["ETag"] == first.headers["ETag"]
    assert demo_client.get(f"/fragments/article/{SEED_SLUG}/main").headers["ETag"] != (
        first.headers["ETag"]
    )


def test_if_none_match_gives_304(demo_client: Any) -> None:
    etag = demo_client.get(SEED_PATH).headers["ETag"]
    response = demo_client.get(SEED_PATH, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == shared(120)


def test_if_none_match_with_a_list_of_etags_gives_304(demo_client: Any) -> None:
    etag = demo_client.get(SEED_PATH).headers["ETag"]
    response = demo_client.get(SEED_PATH, headers={"If-None-Match": f'"a-stale-one", {etag}'})
    assert response.status_code == 304


def test_non_matching_if_none_match_gives_the_page(demo_client: Any) -> None:
    demo_client.get(SEED_PATH)
    response = demo_client.get(SEED_PATH, headers={"If-None-Match": '"a-stale-one", "another"'})
    assert response.status_code == 200
    assert b"Pia Sherman" in response.get_data()


def test_a_fresh_server_answers_304_for_the_same_content(make_app: Any) -> None:
    etag = make_app().test_client().get(SEED_PATH).headers["ETag"]
    cold = make_app().test_client().get(SEED_PATH, headers={"If-None-Match": etag})
    assert cold.status_code == 304


def test_fragments_and_widgets_answer_304_too(demo_client: Any) -> None:
    for url, headers in [
        (f"/fragments/article/{SEED_SLUG}/main", {}),
        (f"/fragments/article/{SEED_SLUG}", {"Accept": "application/json"}),
        (f"/widgets/article/{SEED_SLUG}/author", {}),
    ]:
        etag = demo_client.get(url, headers=headers).headers["ETag"]
        again = demo_client.get(url, headers={**headers, "If-None-Match": etag})
        assert again.status_code == 304, url


# --- Cache-Control ------------------------------------------------------------------------------


def test_cache_control_is_the_shortest_ttl_inside(demo_client: Any) -> None:
    # latest_news (120 s) is the shortest of the seed page's widgets.
    assert demo_client.get(SEED_PATH).headers["Cache-Control"] == shared(120)
    # ...and a page-cache hit says the same.
    assert demo_client.get(SEED_PATH).headers["Cache-Control"] == shared(120)
    # Without latest_news: must_read (300) beats date_bar (3600).
    header = demo_client.get(f"/fragments/article/{SEED_SLUG}/aside")
    assert header.headers["Cache-Control"] == shared(300)
    date_bar = demo_client.get(f"/widgets/article/{SEED_SLUG}/date-bar")
    assert date_bar.headers["Cache-Control"] == shared(3600)
    author = demo_client.get(f"/widgets/article/{SEED_SLUG}/author")
    assert author.headers["Cache-Control"] == shared(600)




@pytest.fixture
def per_request_client(make_app: Any) -> Any:
    return make_app(layouts={"article": PER_REQUEST}).test_client()


def test_a_per_request_widget_makes_the_page_private(per_request_client: Any) -> None:
    for device in ("mobile", "tablet"):
        response = per_request_client.get(SEED_PATH, headers={"X-Device-Class": device})
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "private, no-store"
        # Rendered for this request, never taken from the body cache of another.
        assert 'reader;dur=' in response.headers["Server-Timing"]
        assert 'desc="test_per_request miss"' in response.headers["Server-Timing"]
        assert f"device={device}" in response.get_data(as_text=True)
    region = per_request_client.get(f"/fragments/article/{SEED_SLUG}/main")
    assert region.headers["Cache-Control"] == "private, no-store"
    alone = per_request_client.get(f"/widgets/article/{SEED_SLUG}/reader")
    assert alone.headers["Cache-Control"] == "private, no-store"
    # The shared widget beside it, asked for alone, stays public.
    article = per_request_client.get(f"/widgets/article/{SEED_SLUG}/article")
    assert article.headers["Cache-Control"] == shared(300)


def test_a_per_request_widget_sees_each_requests_headers(per_request_client: Any) -> None:
    mobile = per_request_client.get(
        SEED_PATH, headers={"X-Device-Class": "mobile", "X-Storage-Consent": "no"}
    )
    assert "device=mobile consent=False" in mobile.get_data(as_text=True)
    plain = per_request_client.get(SEED_PATH, headers={"User-Agent": "Mozilla/5.0 (X11; Linux)"})
    assert "device=desktop consent=None" in plain.get_data(as_text=True)
    tablet = per_request_client.get(
        SEED_PATH, headers={"User-Agent": "Mozilla/5.0 (iPad; CPU OS 17_0)",
                            "X-Storage-Consent": "yes"}
    )
    assert "device=tablet consent=True" in tablet.get_data(as_text=True)
    assert len({mobile.headers["ETag"], plain.headers["ETag"], tablet.headers["ETag"]}) == 3


# --- Server-Timing ------------------------------------------------------------------------------


def test_server_timing_has_an_entry_per_widget_named_by_placement(demo_app: Flask) -> None:
    demo_client = demo_app.test_client()
    layout = get_core(demo_app).layouts.get("article")
    assert layout is not None
    placements = [placement.id for placement in layout.placements()]
    assert len(placements) >= 6
    first = server_timing(demo_client.get(SEED_PATH))
    assert list(first) == [*placements, "total"]
    assert first["article"] == "article_body miss"
    assert first["more-news"] == "latest_news miss"
    assert first["total"] == "rendered"
    second = server_timing(demo_client.get(SEED_PATH))
    assert list(second) == [*placements, "total"]
    assert second["must-read"] == "must_read page-cache"


# --- Vary ---------------------------------------------------------------------------------------


class _ByLocale(Widget):
    name = "headers_by_locale"
    version = "1"
    cache_policy = CachePolicy.shared_for(ttl=90, vary=("locale",))

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        return Markup("<p>locale={}</p>").format(ctx.request.locale)


class _ByDevice(Widget):
    name = "headers_by_device"
    version = "1"
    cache_policy = CachePolicy.shared_for(ttl=90, vary=("device",))

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        return Markup("<p>device={}</p>").format(ctx.request.device)


class _ByConsent(Widget):
    name = "headers_by_consent"
    version = "1"
    cache_policy = CachePolicy.shared_for(ttl=90, vary=("consent",))

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        return Markup("<p>consent={}</p>").format(ctx.request.consent)


def _one_widget_layout(widget: str) -> str:
    return (f'subject = "article"\n[[regions]]\nname = "main"\n'
            f'[[regions.placements]]\nwidget = "{widget}"\nid = "probe"\n')


@pytest.fixture
def layoutserver_widgets() -> list[type[Widget]]:
    return [_ByLocale, _ByDevice, _ByConsent]


@pytest.fixture
def layoutserver_settings(layoutserver_settings: dict[str, Any]) -> dict[str, Any]:
    layouts = Path(layoutserver_settings["LAYOUTS_DIR"])
    for page_type, widget in [("bylocale", "headers_by_locale"),
                              ("bydevice", "headers_by_device"),
                              ("byconsent", "headers_by_consent")]:
        (layouts / f"{page_type}.toml").write_text(_one_widget_layout(widget))
    return layoutserver_settings


@pytest.fixture
def vary_client(layoutserver_client: Any, layoutserver_content: Any) -> Any:
    layoutserver_content.add_article("vary-story", title="Vary story")
    return layoutserver_client


def test_vary_names_accept_language_for_a_locale_widget(vary_client: Any) -> None:
    assert VARY_HEADERS["locale"] == ("Accept-Language",)
    german = vary_client.get("/pages/bylocale/vary-story", headers={"Accept-Language": "de-DE"})
    assert german.status_code == 200
    assert "Accept-Language" in german.headers["Vary"]
    assert "locale=de-DE" in german.get_data(as_text=True)
    # Cached per locale: another language is not served the German copy, even when warm.
    english = vary_client.get("/pages/bylocale/vary-story", headers={"Accept-Language": "en-GB"})
    assert "locale=en-GB" in english.get_data(as_text=True)
    again = vary_client.get("/pages/bylocale/vary-story", headers={"Accept-Language": "de-DE"})
    assert "locale=de-DE" in again.get_data(as_text=True)
    assert "page-cache" in again.headers["Server-Timing"]
    assert again.headers["Cache-Control"] == shared(90)


def test_vary_names_the_device_headers_for_a_device_widget(vary_client: Any) -> None:
    response = vary_client.get("/pages/bydevice/vary-story", headers={"X-Device-Class": "mobile"})
    vary = {value.strip() for value in response.headers["Vary"].split(",")}
    assert {"User-Agent", "X-Device-Class"} <= vary
    assert "Accept-Language" not in vary
    assert "device=mobile" in response.get_data(as_text=True)
    desktop = vary_client.get("/pages/bydevice/vary-story")
    assert "device=desktop" in desktop.get_data(as_text=True)


def test_vary_names_the_consent_header_for_a_consent_widget(vary_client: Any) -> None:
    response = vary_client.get("/pages/byconsent/vary-story",
                               headers={"X-Storage-Consent": "granted"})
    assert "X-Storage-Consent" in response.headers["Vary"]
    assert "consent=True" in response.get_data(as_text=True)
    denied = vary_client.get("/pages/byconsent/vary-story", headers={"X-Storage-Consent": "0"})
    assert "consent=False" in denied.get_data(as_text=True)


def test_no_vary_on_request_headers_when_no_widget_varies_on_them(demo_client: Any) -> None:
    response = demo_client.get(SEED_PATH)
    vary = response.headers.get("Vary", "")
    for header in ("Accept-Language", "User-Agent", "X-Device-Class", "X-Storage-Consent"):
        assert header not in vary


def test_the_shared_rest_of_a_page_with_a_per_request_widget_is_cached(
    per_request_client: Any,
) -> None:
    first = per_request_client.get(SEED_PATH)
    second = per_request_client.get(SEED_PATH, headers={"X-Storage-Consent": "no"})
    assert 'article;dur=0.00;desc="article_body page-cache"' in second.headers["Server-Timing"]
    assert "consent=False" in second.get_data(as_text=True)
    assert "consent=None" in first.get_data(as_text=True)
    assert first.headers["ETag"] != second.headers["ETag"]
    same_as_first = per_request_client.get(SEED_PATH)
    assert same_as_first.get_data() == first.get_data()


def test_per_request_output_is_escaped_into_a_json_body(per_request_client: Any) -> None:
    for _ in range(2):  # rendered, then filled into the cached body
        response = per_request_client.get(f"/fragments/article/{SEED_SLUG}", headers=JSON)
        main = response.get_json()["regions"]["main"]
        assert "device=desktop consent=None" in main
        assert "ls-live" not in main
