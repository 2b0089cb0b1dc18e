"""Viewability and lazy loading in Chromium (``viewability.js``), under a site policy without
inline script: an ad spot in view for 1.2 s is counted viewable, one in view for 0.8 s is not,
nor one in a hidden tab until the tab is shown; a large creative (970x250) 40 % in view is
viewable (the 30 % rule); a lazy slot's creative is rendered, and its impression counted, only
once the slot nears the viewport; and a slot ``ads.js`` fills is measured the same way.

The page is the article layout of three ad spots: ``top`` (300x250) pushed 2,000 px down by a
style the test adds, ``wide`` (970x250) right under it, and ``below`` (lazy) 2,000 px further,
in a 1280x800 viewport.

A background tab is emulated in the page: this headless Chromium reports every page visible
whatever is in front (a page brought to front, a window opened over it, a minimised window;
CDP has no visibility override), so an init script makes ``document.visibilityState`` answer
"hidden" and fires ``visibilitychange`` when the test says, as a browser does for a tab put in
the background.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from adsupport import ADS_SETTINGS, small_config, wait_for
from browser_fixtures import LiveServer
from flask import Flask
from sqlalchemy import func, select

from layoutserver.ads.config_import import import_ads
from layoutserver.ads.models import AdCount
from layoutserver.core import get_core
from layoutserver.db import Database, get_database

LAYOUT = 'subject = "article"\n\n[[regions]]\nname = "main"\n\n' + "".join(
    f'[[regions.placements]]\nwidget = "ad_spot"\nid = "ad-{code}"\n'
    f'options = {{ slot = "{code}" }}\n\n' for code in ("top", "wide", "below"))
STRICT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
              "img-src 'self' data:; frame-src 'self'; connect-src 'self'; object-src 'none'; "
              "base-uri 'self'")
SPACED = """const style = document.createElement('style');
style.textContent = '.ad-spot, .ad-slot { margin-top: 2000px !important; } '
  + '[data-ad-slot=wide] { margin-top: 0 !important; }';
const place = () => Boolean(document.documentElement
                            && document.documentElement.appendChild(style));
if (!place()) {
  new MutationObserver((_, seen) => place() && seen.disconnect())
    .observe(document, {childList: true});
}"""
"""A style pushing every slot 2,000 px down, in place before the page's first layout (an init
script runs before the document has an element)."""
HIDDEN_TAB = """window.__hidden = true;
for (const [name, value] of [['visibilityState', () => window.__hidden ? 'hidden' : 'visible'],
                             ['hidden', () => window.__hidden]]) {
  Object.defineProperty(Document.prototype, name, {get: value, configurable: true});
}
window.__show = () => {
  window.__hidden = false;
  document.dispatchEvent(new Event('visibilitychange'));
};"""
CLIENT_PAGE = """<!doctype html><html><head><title>client</title></head><body>
<div data-slot="top"></div>
<script src="/ads/ads.js" async data-page-type="article" data-slug="{slug}"></script>
</body></html>"""
SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
IN_VIEW = """code => document.querySelector(`[data-ad-slot=${code}]`)
  .scrollIntoView({block: 'center'})"""
AT_THE_BOTTOM = """([code, share]) => {
  const box = document.querySelector(`[data-ad-slot=${code}] .ad-spot__box`)
    .getBoundingClientRect();
  window.scrollBy(0, box.top + share * box.height - window.innerHeight);
}"""
"""Scrolls so that ``share`` of a slot's box shows at the bottom of the viewport."""


@pytest.fixture
def site(make_app: Callable[..., Flask], live_server: Callable[[Flask], LiveServer]
         ) -> tuple[Flask, LiveServer]:
    app = make_app(layouts={"article": LAYOUT}, settings={**ADS_SETTINGS, "SITE_CSP": STRICT_CSP})
    document = small_config()
    document["slots"] += [{"code": "wide", "name": "Wide", "sizes": {"*": ["970x250"]}},
                          {"code": "below", "name": "Below", "sizes": {"*": ["300x250"]},
                           "lazy": True}]
    document["creatives"].append({**document["creatives"][0], "name": "acme-wide",
                                  "size": "970x250"})
    document["line_items"][0]["creatives"].append("acme-wide")
    import_ads(get_database(app), document, get_core(app).timezone)
    return app, live_server(app)


def counted(app: Flask) -> dict[str, tuple[int, int, int]]:
    """Per slot: impressions, measurable, viewable (flushed from Redis first, if any). A
    beacon the live server has seen may still be being counted: wait for the counts."""
    from layoutserver.ads.extension import get_ads

    flusher = get_ads(app).flusher
    if flusher is not None:
        flusher.flush()
    database = Database(get_database(app).url)
    try:
        with database.session() as session:
            rows = session.execute(select(AdCount.slot, func.sum(AdCount.impressions),
                                          func.sum(AdCount.measurable),
                                          func.sum(AdCount.viewable)).group_by(AdCount.slot))
            return {slot: (int(i), int(m), int(v)) for slot, i, m, v in rows}
    finally:
        database.dispose()


class Reader:
    """One page view in its own page, with what the server was asked for it."""

    def __init__(self, browser_context: Any, server: LiveServer, path: str,
                 hidden: bool = False) -> None:
        self.server = server
        self.page = browser_context.new_page()
        self.violations: list[str] = []
        self.page.on("console", lambda message: self.violations.append(message.text)
                     if "Content Security Policy" in message.text else None)
        self.page.add_init_script(SPACED)
        if hidden:
            self.page.add_init_script(HIDDEN_TAB)
        self.page.goto(server.url + path)

    def view_url(self, code: str) -> str:
        url: str = self.page.get_attribute(f"[data-ad-slot={code}]", "data-ad-view")
        return url.removeprefix(self.server.url)

    def asked(self, path: str) -> bool:
        return path in self.server.requests

    def measurable(self, code: str) -> str:
        """Waits for the slot's measurable beacon; its viewability path."""
        path = wait_for(lambda: self.page.query_selector(f"[data-ad-slot={code}][data-ad-view]")
                        and self.view_url(code))
        wait_for(lambda: self.asked(f"{path}?s=m"))
        return str(path)

    def scroll_to(self, code: str | None) -> None:
        if code is None:
            self.page.evaluate("window.scrollTo(0, 0)")
        else:
            self.page.evaluate(IN_VIEW, code)


def test_viewability_and_lazy_slots_in_chromium(browser: Any, site: tuple[Flask, LiveServer]
                                                 ) -> None:
    app, server = site
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    path = f"/pages/article/{SEED_SLUG}"
    try:
        # 1.2 s in view: viewable, "wide" with 40 % of it in view too (a large creative).
        # The lazy slot stays a template until it nears the viewport.
        seen = Reader(context, server, path)
        top, wide = seen.measurable("top"), seen.measurable("wide")
        assert seen.page.query_selector("[data-ad-slot=below] template.ad-spot__later")
        assert seen.page.get_attribute("[data-ad-slot=below]", "data-ad-viewability") == \
            "waiting"
        seen.page.evaluate(AT_THE_BOTTOM, ["wide", 0.4])
        time.sleep(1.2)
        seen.scroll_to(None)
        wait_for(lambda: seen.asked(top) and seen.asked(wide))
        wait_for(lambda: counted(app) == {"top": (1, 1, 1), "wide": (1, 1, 1)})
        # "below" was decided and served, not rendered: not counted
        seen.scroll_to("below")
        wait_for(lambda: counted(app).get("below", (0,))[0] == 1)
        assert not seen.page.query_selector("[data-ad-slot=below] template.ad-spot__later")
        seen.measurable("below")

        # 0.8 s in view, then scrolled out: measurable, not viewable
        glanced = Reader(context, server, path)
        top, wide = glanced.measurable("top"), glanced.measurable("wide")
        glanced.scroll_to("top")
        time.sleep(0.8)
        glanced.scroll_to(None)
        time.sleep(0.5)  # a clock that ran on out of view would have reached 1 s
        assert not glanced.asked(top) and not glanced.asked(wide)

        # in view in a hidden tab: the clock waits for the tab to be shown
        background = Reader(context, server, path, hidden=True)
        top, wide = background.measurable("top"), background.measurable("wide")
        background.scroll_to("top")
        time.sleep(1.2)
        assert not background.asked(top) and not background.asked(wide)
        background.page.evaluate("window.__show()")
        wait_for(lambda: background.asked(top) and background.asked(wide), seconds=5)

        # a slot ads.js fills is measured the same way (viewability.js loaded by ads.js)
        client = context.new_page()
        client.add_init_script(SPACED)
        client.route(server.url + "/client-page", lambda route: route.fulfill(
            body=CLIENT_PAGE.replace("{slug}", SEED_SLUG), content_type="text/html"))
        client.goto(server.url + "/client-page")
        filled = wait_for(lambda: client.get_attribute("[data-ad-slot=top]", "data-ad-view"))
        filled_path = str(filled).removeprefix(server.url)
        wait_for(lambda: f"{filled_path}?s=m" in server.requests)
        client.evaluate(IN_VIEW, "top")
        wait_for(lambda: filled_path in server.requests, seconds=5)

        # 4 page views showed "top" (3 viewable), 3 "wide" (2); "below" was rendered on 1 of 3
        # (viewable or not: it was in view as long as the test took)
        wait_for(lambda: {slot: found[:2] if slot == "below" else found
                          for slot, found in counted(app).items()}
                 == {"top": (4, 4, 3), "wide": (3, 3, 2), "below": (1, 1)})
        for reader in (seen, glanced, background):
            assert reader.violations == []
    finally:
        context.close()
