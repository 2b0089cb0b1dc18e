"""Behind Debian's nginx with the shipped configuration (``config/edge/nginx.conf``): pages
assembled with SSI from the kept shared form, the reader's frame (one origin request per page
view, one ad decision) and the kept shared parts; nothing of one reader reaches another; the
page without its ads when the origin is down."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from support import SEED_PATH

from layoutserver.ads.config_import import import_ads_file
from layoutserver.ads.counting import Tracked
from layoutserver.ads.extension import get_ads
from layoutserver.core import get_core
from layoutserver.db import get_database

DEMO_ADS = Path(__file__).resolve().parents[2] / "layoutserver" / "demo" / "ads.json"
SETTINGS = {"SECRET_KEY": "edge-secret", "ADS_SEED": 7, "EDGE_PURGE": []}
CLICK = re.compile(r'href="/ads/c/([^"]+)"')
IMPRESSION = re.compile(r'src="/ads/i/([^"?]+)')
ARTICLE = "East Turkistan"


class Watched:
    """The app, noting what of a reader reaches each request nginx makes for a shared form or
    part (``shared_with_reader``), and with readers' frames that answer 500 (``fail``) or 3 s
    late (``stall``) when told."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.fail = False
        self.stall = False
        self.shared_with_reader: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("HTTP_X_READER_FRAME"):
            if environ.get("HTTP_COOKIE") or environ.get("HTTP_X_USER_KEY"):
                self.shared_with_reader.append(environ["PATH_INFO"])
        elif self.fail:
            start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "text/html")])
            return [b"<!doctype html><title>Error</title><h1>Internal Server Error</h1>"]
        elif self.stall:
            time.sleep(3)
        return self.app(environ, start_response)


@pytest.fixture
def edge(make_app: Callable[..., Flask], live_server: Any, nginx: Any) -> Any:
    """(app, origin, edge, watched): the demo site with its ads behind nginx."""
    app = make_app(settings=SETTINGS)
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    watched = Watched(app)
    origin = live_server(watched)
    front = nginx(int(origin.url.rsplit(":", 1)[1]))
    return app, origin, front, watched


def tokens(app: Flask, page: str) -> list[Tracked]:
    """What the click URLs of a page name: decision, slot, line item, creative, user key."""
    signer = get_ads(app).tokens()
    return [signer.verify("click", token) for token in CLICK.findall(page)]


def shared_fetches(origin: Any) -> tuple[int, int]:
    """The shared forms and the parts the origin was asked for."""
    pages = [p for p in origin.requests if p.startswith("/pages/")]
    return (len(pages) - len(origin.frames),
            len([p for p in origin.requests if p.startswith("/parts/")]))


def test_readers_get_their_own_ads_in_the_kept_page(edge: Any) -> None:
    app, origin, front, watched = edge
    readers = {
        "A": ("?campaign=autumn&section=world", {"Cookie": "ls_uid=reader-aaaaaaaa"}),
        "B": ("?campaign=winter", {"Cookie": "ls_uid=reader-bbbbbbbb"}),
    }
    pages: dict[str, str] = {}
    for name, (query, headers) in readers.items():
        status, response_headers, page = front.get(SEED_PATH + query, headers)
        assert status == 200, page[:500]
        # the reader's page: no browser or cache behind nginx may keep it, no shared ETag,
        # nothing of the origin's instructions to the edge, no cookie for a known reader
        assert response_headers["cache-control"] == "no-store"
        for internal in ("etag", "surrogate-control", "surrogate-key", "xkey",
                         "x-reader-frame", "x-accel-expires", "set-cookie"):
            assert internal not in response_headers, internal
        assert ARTICLE in page and "<!--#" not in page and "esi:" not in page
        assert page.startswith("<!doctype html>") and page.count("</html>") == 1
        assert page.count('class="ad-spot"') == 5 and 'data-slot="' not in page
        pages[name] = page
    # one frame per page view, with its reader's query (the ad key-values)
    assert origin.frames == [SEED_PATH + query for query, _headers in readers.values()]
    for name, page in pages.items():
        tracked = tokens(app, page)
        assert len(tracked) >= 4, name  # a house ad has no click URL
        assert len({t.decision_id for t in tracked}) == 1, name  # one whole-page decision
        assert len({t.creative_id for t in tracked}) == len(tracked), name  # none twice
        assert {t.user_key for t in tracked} - {None} == {f"reader-{name.lower() * 8}"}
    assert not set(IMPRESSION.findall(pages["A"])) & set(IMPRESSION.findall(pages["B"]))
    assert tokens(app, pages["A"])[0].decision_id != tokens(app, pages["B"])[0].decision_id

    # a third reader of A's URL: its shared form and parts come from nginx's cache, its ads
    # from its own frame
    fetched = shared_fetches(origin)
    assert fetched[0] == 2 and fetched[1] >= 1
    again = front.get(SEED_PATH + readers["A"][0], {"Cookie": "ls_uid=reader-cccccccc"})[2]
    assert shared_fetches(origin) == fetched
    assert origin.frames[-1] == SEED_PATH + readers["A"][0] and len(origin.frames) == 3
    assert {t.user_key for t in tokens(app, again)} - {None} == {"reader-cccccccc"}
    # what nginx keeps was fetched with no cookie and no reader key
    assert watched.shared_with_reader == []


def test_a_new_reader_gets_a_key_from_nginx_and_its_ads_use_it(edge: Any) -> None:
    app, origin, front, watched = edge
    status, headers, page = front.get(SEED_PATH)
    assert status == 200
    cookie = re.fullmatch(r"ls_uid=(n[0-9a-f]{32}); Max-Age=\d+; Path=/; HttpOnly; "
                          r"SameSite=Lax", headers["set-cookie"])
    assert cookie is not None
    assert {t.user_key for t in tokens(app, page)} - {None} == {cookie.group(1)}
    # a reader who denies storage gets no key, and no cookie
    status, headers, page = front.get(SEED_PATH, {"X-Storage-Consent": "no"})
    assert status == 200 and "set-cookie" not in headers
    assert {t.user_key for t in tokens(app, page)} == {None}
    assert len(origin.frames) == 2
    assert watched.shared_with_reader == []


def test_a_head_request_decides_nothing(edge: Any) -> None:
    _app, origin, front, _watched = edge
    status, _headers, _body = front.get(SEED_PATH, method="HEAD")
    assert status == 200
    assert origin.frames == []
    assert front.get(SEED_PATH)[0] == 200 and origin.frames == [SEED_PATH]


def test_with_the_origin_down_the_kept_page_shows_with_empty_slots(edge: Any) -> None:
    _app, origin, front, _watched = edge
    assert front.get(SEED_PATH)[0] == 200
    origin.stop()
    status, headers, page = front.get(SEED_PATH)
    assert status == 200
    assert ARTICLE in page and page.count("</html>") == 1
    assert page.count('data-slot="') == 5 and 'class="ad-spot"' not in page
    assert "<!--#" not in page and "Bad Gateway" not in page and "nginx" not in page
    assert headers["cache-control"] == "no-store"


def test_a_frame_that_fails_or_stalls_leaves_the_page_with_empty_slots(edge: Any) -> None:
    _app, _origin, front, trouble = edge
    assert front.get(SEED_PATH)[2].count('class="ad-spot"') == 5
    for failure in ("fail", "stall"):
        setattr(trouble, failure, True)
        status, _headers, page = front.get(SEED_PATH)
        setattr(trouble, failure, False)
        assert status == 200, failure
        assert ARTICLE in page and page.count("</html>") == 1, failure
        assert page.count('data-slot="') == 5 and 'class="ad-spot"' not in page, failure
        assert "Error" not in page and "<!--#" not in page, failure
