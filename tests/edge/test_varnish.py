"""Behind a real Varnish with the shipped VCL (``config/edge/varnish.vcl``): nothing of one
reader reaches another, one ad decision per page view (the reader's frame), purges by surrogate
key, reader keys kept by the edge, and failures that stay small."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from support import ARTICLE_ONLY, DESKTOP_AGENT, PHONE_AGENT, SEED_PATH, SEED_SLUG, TABLET_AGENT

from layoutserver.ads.config_import import import_ads_file
from layoutserver.ads.counting import Tracked
from layoutserver.ads.extension import get_ads
from layoutserver.ads.models import PageViewDecision
from layoutserver.auth.tokens import create_token
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.edge.extension import get_edge
from layoutserver.redis_store import get_redis

DEMO_ADS = Path(__file__).resolve().parents[2] / "layoutserver" / "demo" / "ads.json"
SETTINGS = {"SECRET_KEY": "edge-secret", "ADS_SEED": 7, "EDGE_PURGE_POLL_SECONDS": 0.1}
CLICK = re.compile(r'href="/ads/c/([^"]+)"')
IMPRESSION = re.compile(r'src="(/ads/i/[^"]+)"')


@pytest.fixture
def edge(make_app: Callable[..., Flask], live_server: Any, varnish: Any) -> Any:
    """(app, origin, edge): the demo site with its ads behind Varnish, purged through xkey."""
    app = make_app(settings={**SETTINGS, "EDGE_PURGE": []})
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    origin = live_server(app)
    front = varnish(int(origin.url.rsplit(":", 1)[1]))
    return app, origin, front


def tokens(app: Flask, page: str) -> list[Tracked]:
    """What the click URLs of a page name: decision, slot, line item, creative, user key."""
    signer = get_ads(app).tokens()
    return [signer.verify("click", token) for token in CLICK.findall(page)]


def test_readers_get_their_own_frames_and_one_decision_per_page_view(edge: Any) -> None:
    app, origin, front = edge
    readers = {
        "A": ("?campaign=autumn&section=world", {"Cookie": "ls_uid=reader-aaaaaaaa",
                                                 "X-Device-Class": "desktop"}),
        "B": ("?campaign=B", {"Cookie": "ls_uid=reader-bbbbbbbb", "X-Device-Class": "mobile"}),
        "C": ("", {"X-Storage-Consent": "no", "X-Device-Class": "desktop"}),
    }
    pages: dict[str, str] = {}
    for name, (query, headers) in readers.items():
        status, response_headers, page = front.get(SEED_PATH + query, headers)
        assert status == 200
        # nothing a browser or a cache behind the edge may keep, and no shared ETag
        assert response_headers["cache-control"] == "private, no-store"
        assert "etag" not in response_headers
        for internal in ("surrogate-control", "surrogate-key", "xkey", "x-reader-frame"):
            assert internal not in response_headers
        assert "esi:include" not in page and "East Turkistan" in page
        assert 'data-slot="' not in page  # every slot decided, none left empty
        pages[name] = page
    # one frame per page view, each with its own reader's query (the ad key-values)
    assert origin.frames == [SEED_PATH + query for query, _headers in readers.values()]
    for name, page in pages.items():
        tracked = tokens(app, page)
        # a slot may stay empty (reader C has no key: capped line items sit out)
        assert len(tracked) >= 3, name
        assert len({t.decision_id for t in tracked}) == 1, name  # one whole-page decision
        assert len({t.creative_id for t in tracked}) == len(tracked), name  # none twice
        keys = {t.user_key for t in tracked} - {None}
        expected = {"A": {"reader-aaaaaaaa"}, "B": {"reader-bbbbbbbb"}, "C": set()}[name]
        assert keys <= expected, name
    # targeting by device reaches the includes: the mobile-only line item never shows to a
    # desktop reader, and shows to the mobile one
    names = {item.id: item.name for item in get_ads(app).snapshots.current().line_items.values()}
    for name in ("A", "C"):
        assert "Tailspin mobile mornings" not in {names[t.line_item_id]
                                                  for t in tokens(app, pages[name])}
    query, headers = readers["B"]
    mobile_lines: set[str] = set()
    views = 3
    for _ in range(12):
        views += 1
        page = front.get(SEED_PATH + query, headers)[2]
        mobile_lines |= {names[t.line_item_id] for t in tokens(app, page)}
        if "Tailspin mobile mornings" in mobile_lines:
            break
    assert "Tailspin mobile mornings" in mobile_lines
    # each URL's shared form and each part are fetched once: a second reader of the page
    # costs the origin its frame only
    def shared_fetches() -> tuple[int, int]:
        """The shared forms (one per URL) and the parts the origin was asked for."""
        pages = [p for p in origin.requests if p.startswith("/pages/")]
        return len(pages) - len(origin.frames), len([p for p in origin.requests
                                                     if p.startswith("/parts/")])

    fetched = shared_fetches()
    again = front.get(SEED_PATH, {"Cookie": "ls_uid=reader-dddddddd"})[2]
    assert shared_fetches() == fetched
    assert fetched[0] == 3 and 1 <= fetched[1] <= 6
    assert len(origin.frames) == views + 1  # one origin request per page view
    assert {t.user_key for t in tokens(app, again)} - {None} <= {"reader-dddddddd"}
    assert stored_page_views(app) == 0  # a frame decides the whole page: nothing to share


def test_the_edge_gives_new_readers_a_key_and_caps_hold(edge: Any) -> None:
    app, _origin, front = edge
    status, headers, page = front.get(SEED_PATH)
    assert status == 200
    cookie = re.match(r"ls_uid=([^;]+); Max-Age=\d+; Path=/; HttpOnly; SameSite=Lax",
                      headers["set-cookie"])
    assert cookie is not None
    key = cookie.group(1)
    assert {t.user_key for t in tokens(app, page)} - {None} <= {key}
    # Contoso's run-of-site line item is capped at 3 a day: a reader with the key, whose
    # browser loads the impression beacons, never sees it a fourth time through the edge
    contoso = next(item.id for item in get_ads(app).snapshots.current().line_items.values()
                   if item.caps)
    seen = 0
    for _ in range(8):
        _status, _headers, page = front.get(SEED_PATH, {"Cookie": f"ls_uid={key}"})
        seen += sum(1 for t in tokens(app, page) if t.line_item_id == contoso)
        for beacon in IMPRESSION.findall(page):
            assert front.get(beacon.replace("&amp;", "&"))[0] in (200, 204)
    assert 1 <= seen <= 3


def test_a_head_request_decides_nothing(edge: Any) -> None:
    app, origin, front = edge
    decided: list[object] = []
    get_ads(app).server.observers.append(decided.append)
    status, _headers, _page = front.get(SEED_PATH + "?head=1", method="HEAD")
    assert status == 200
    assert not origin.frames and not decided
    front.get(SEED_PATH + "?head=1")
    assert origin.frames == [SEED_PATH + "?head=1"]
    assert len(decided) == 1  # the observer would see one


def stored_page_views(app: Flask) -> int:
    """Page views whose decision is stored: in Redis when the app has it, else the database."""
    store = get_redis(app)
    if store is not None:
        return len(list(store.client.scan_iter(match=f"{store.prefix}pv:*:claim")))
    with get_database(app).session() as session:
        return int(session.scalar(select(func.count()).select_from(PageViewDecision)) or 0)


def test_with_the_origin_down_the_cached_page_shows_with_empty_slots(edge: Any) -> None:
    _app, origin, front = edge
    assert front.get(SEED_PATH)[0] == 200
    origin.stop()
    status, _headers, page = front.get(SEED_PATH)
    assert status == 200
    assert "East Turkistan" in page
    assert 'class="ad-spot__box' not in page
    assert "Error" not in page and "<!doctype" not in page[20:]


def test_edits_and_deletions_reach_the_edge_within_two_seconds(
    make_app: Callable[..., Flask], live_server: Any, varnish: Any
) -> None:
    app = make_app(settings={**SETTINGS, "WIDGETS_DISABLED": ["ad_spot"]})
    origin = live_server(app)
    front = varnish(int(origin.url.rsplit(":", 1)[1]))
    # Another app on the same database, configured with the edge (as a second worker or
    # host would be): it sends the purges the first one queues.
    purging = make_app(settings={**SETTINGS, "DATABASE_URL": app.config["DATABASE_URL"],
                                 "EDGE_PURGE": [f"xkey {front.url}/"]})
    sender = get_edge(purging).sender
    assert sender is not None
    sender.send_pending()  # its cursor starts at the end of the queue
    purging.test_client().get("/healthz")  # its first request starts its sender thread
    with get_database(app).session() as session:
        token = create_token(session, "editor", "admin")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert front.get(SEED_PATH)[0] == 200
    status, headers, _ = front.get(SEED_PATH)
    assert status == 200 and int(headers.get("age", "0")) >= 0
    article = f"/api/v1/articles/{SEED_SLUG}"
    etag = client.get(article, headers=auth).headers["ETag"].strip('"')
    changed = client.patch(article, headers={**auth, "If-Match": etag},
                           json={"title": "An edited title seen at the edge"})
    assert changed.status_code == 200, changed.get_json()
    assert _within(2.0, lambda: "An edited title seen at the edge" in front.get(SEED_PATH)[2])
    etag = client.get(article, headers=auth).headers["ETag"].strip('"')
    assert client.delete(article, headers={**auth, "If-Match": etag}).status_code == 204
    assert _within(2.0, lambda: front.get(SEED_PATH)[0] == 404)


def _within(seconds: float, check: Callable[[], bool]) -> bool:
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        if check():
            return True
        time.sleep(0.05)
    return check()


# -- the reader's device class at the edge ----------------------------------------------------

#: An article page with the article, an ad spot and a shared widget that differs by device
#: class; ``ARTICLE_ONLY`` is the same for every device.
BY_DEVICE = ARTICLE_ONLY + """
[[regions.placements]]
widget = "ad_spot"
id = "ad"
options = { slot = "article-1" }

[[regions]]
name = "header"

[[regions.placements]]
widget = "test_by_device"
id = "device"
"""
AD_SIZE = re.compile(r'data-ad-slot="article-1" data-ad-size="([^"]+)"')
DEVICE_SAID = re.compile(r"<p>device=(\w+)</p>")


@pytest.fixture
def device_edge(make_app: Callable[..., Flask], live_server: Any, varnish: Any) -> Any:
    app = make_app(layouts={"article": BY_DEVICE, "plain": ARTICLE_ONLY},
                   settings={**SETTINGS, "EDGE_PURGE": []})
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    origin = live_server(app)
    return origin, varnish(int(origin.url.rsplit(":", 1)[1]))


def test_the_edge_gives_frames_and_parts_the_viewports_device_class(device_edge: Any) -> None:
    origin, front = device_edge
    path = f"/pages/article/{SEED_SLUG}"

    def view(headers: dict[str, str]) -> tuple[str, str, bool]:
        """(device the shared part says, article-1's ad size, whether parts were fetched from
        the origin rather than kept)"""
        before = len([p for p in origin.requests if p.startswith("/parts/")])
        status, response_headers, page = front.get(path, headers)
        assert status == 200 and response_headers["cache-control"] == "private, no-store"
        said, size = DEVICE_SAID.search(page), AD_SIZE.search(page)
        assert said is not None and size is not None, page[:500]
        fetched = len([p for p in origin.requests if p.startswith("/parts/")]) - before
        return said.group(1), size.group(1), fetched > 0

    # a narrow viewport in a desktop browser: mobile, from the hint, for the frame and the part
    assert view({"User-Agent": DESKTOP_AGENT, "Sec-CH-Viewport-Width": "390"}) == (
        "mobile", "320x50", True)
    # a phone without the hint: mobile from its User-Agent, and the mobile part is kept
    assert view({"User-Agent": PHONE_AGENT}) == ("mobile", "320x50", False)
    # the hint before the User-Agent: a wide viewport on the phone's agent is desktop
    assert view({"User-Agent": PHONE_AGENT, "Sec-CH-Viewport-Width": "1280"}) == (
        "desktop", "728x90", True)
    assert view({"User-Agent": DESKTOP_AGENT}) == ("desktop", "728x90", False)
    assert view({"User-Agent": TABLET_AGENT, "Sec-CH-Viewport-Width": " 800 "}) == (
        "tablet", "728x90", True)
    assert view({"User-Agent": DESKTOP_AGENT, "Sec-CH-Viewport-Width": "wide"}) == (
        "desktop", "728x90", False)  # not a width: the User-Agent decides
    # another desktop browser: the same copy, however its User-Agent reads
    assert view({"User-Agent": DESKTOP_AGENT.replace("126.0", "127.0")})[2] is False


def test_a_response_the_same_for_every_device_is_kept_once(device_edge: Any) -> None:
    origin, front = device_edge
    path = f"/pages/plain/{SEED_SLUG}"
    bodies = set()
    for headers in ({"User-Agent": PHONE_AGENT}, {"Sec-CH-Viewport-Width": "1280"},
                    {"User-Agent": TABLET_AGENT}, {"Sec-CH-Viewport-Width": "390"}):
        status, response_headers, page = front.get(path, headers)
        assert status == 200
        assert "X-Device-Class" not in response_headers.get("vary", "")
        bodies.add(page)
    assert len(bodies) == 1
    assert origin.requests.count(path) == 1


def test_a_shared_response_that_varies_by_device_tells_browsers_what_it_varies_on(
        device_edge: Any) -> None:
    _origin, front = device_edge
    status, headers, _ = front.get(
        f"/fragments/article/{SEED_SLUG}/header", {"Sec-CH-Viewport-Width": "390"})
    assert status == 200 and headers["cache-control"].startswith("public")
    vary = [name.strip().lower() for name in headers["vary"].split(",")]
    assert {"x-device-class", "sec-ch-viewport-width", "user-agent"} <= set(vary)
    assert len(vary) == len(set(vary))
