"""An HTML creative opens a window only when the reader clicks in it, and that window stays in
the creative's sandbox unless its advertiser allows ``popups_escape_sandbox``: proven in the
system Chromium.

The creative tries two windows as soon as it loads (``window.open`` and a click on a link that
no reader made), then reports that it ran. Its click-through goes to ``/landing`` of the test
server, a page that reports whether it may read the site's cookie and storage: a sandboxed
window may not, an escaped one may.

The sandbox itself has no flag that ties popups to a click; Chromium's popup blocker refuses a
window opened without one. Readers' browsers have it on, so most tests use
``popup_blocking_browser``. Playwright turns it off by default (the ``browser`` fixture): there
the window a creative opens on load does open, and the last test shows it stays sandboxed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask
from support import SEED_PATH

from layoutserver.ads.config_import import import_ads
from layoutserver.core import get_core
from layoutserver.db import get_database

sys.path.insert(0, str(Path(__file__).parent.parent / "ads"))
from adsupport import ADS_SETTINGS, FLIGHT, TOP_LAYOUT, wait_for

HOSTILE = """<a id="shop" href="%%CLICK_URL%%">Shop now</a>
<a id="unclicked" href="BASE/landing?via=unclicked-link"></a><script>
var opened = null;
try { opened = window.open("BASE/landing?via=window-open"); } catch (e) {}
document.getElementById("unclicked").click();
new Image().src = "BASE/creative-ran?opened=" + (opened !== null);
</script>"""

LANDING = """<!doctype html><title>Landing</title><script>
var seen = [location.search];
try { seen.push("cookie=" + document.cookie); } catch (e) { seen.push("cookie-blocked"); }
try { localStorage.setItem("x", "1"); seen.push("storage-used"); }
catch (e) { seen.push("storage-blocked"); }
new Image().src = "/landing-report?" + encodeURIComponent(seen.join("|"));
</script>"""

SANDBOXED = ["cookie-blocked", "storage-blocked"]
ESCAPED = ["cookie=host_secret=s3cret", "storage-used"]


def popups_config(base: str, escape: bool) -> dict[str, Any]:
    return {
        "slots": [{"code": "top", "name": "Top", "sizes": {"*": ["300x250"]}}],
        "advertisers": [{"name": "Mallory", "popups_escape_sandbox": escape}],
        "campaigns": [{"name": "Mallory", "advertiser": "Mallory"}],
        "creatives": [{"name": "popper", "advertiser": "Mallory", "kind": "html",
                       "size": "300x250", "click_url": f"{base}/landing?via=click",
                       "html": HOSTILE.replace("BASE", base)}],
        "line_items": [{"name": "mallory", "campaign": "Mallory", "tier": "sponsorship",
                        **FLIGHT, "status": "active", "creatives": ["popper"]}],
    }


@pytest.fixture
def served(make_app: Any, live_server: Any) -> Any:
    """``served(escape)``: the seed page's server with the popping creative in slot ``top``
    (its advertiser allowing ``popups_escape_sandbox`` when ``escape``) and ``/landing``."""

    def serve(escape: bool) -> Any:
        app: Flask = make_app(layouts={"article": TOP_LAYOUT}, settings=ADS_SETTINGS)
        app.add_url_rule("/landing", "landing", lambda: LANDING)
        server = live_server(app)
        import_ads(get_database(app), popups_config(server.url, escape), get_core(app).timezone)
        return server

    return serve


def open_seed_page(browser: Any, server: Any) -> tuple[Any, Any, list[Any]]:
    """(context, page, windows opened since), the seed page loaded and the creative run."""
    context = browser.new_context()
    context.add_cookies([{"name": "host_secret", "value": "s3cret", "url": server.url}])
    windows: list[Any] = []
    page = context.new_page()
    context.on("page", lambda window: windows.append(window))
    page.goto(server.url + SEED_PATH)
    wait_for(lambda: [r for r in server.requests if r.startswith("/creative-ran")])
    return context, page, windows


def landing_reports(server: Any) -> list[list[str]]:
    return [unquote(r.split("?", 1)[1]).split("|") for r in server.requests
            if r.startswith("/landing-report?")]


def test_a_creative_opens_no_window_without_a_click(
    served: Any, popup_blocking_browser: Any
) -> None:
    for escape in (False, True):  # the allowance does not let it open one either
        server = served(escape)
        context, page, windows = open_seed_page(popup_blocking_browser, server)
        time.sleep(1.0)  # room for a window, had one been let through
        assert windows == [] and context.pages == [page]
        assert not any(r.startswith("/landing") for r in server.requests), server.requests
        assert "/creative-ran?opened=false" in server.requests
        context.close()


@pytest.mark.parametrize(("escape", "sandbox", "rights"), [
    (False, "allow-scripts allow-popups", SANDBOXED),
    (True, "allow-scripts allow-popups allow-popups-to-escape-sandbox", ESCAPED),
], ids=["sandboxed", "escaping"])
def test_a_click_in_the_creative_opens_its_click_through(
    served: Any, popup_blocking_browser: Any, escape: bool, sandbox: str, rights: list[str]
) -> None:
    server = served(escape)
    context, page, windows = open_seed_page(popup_blocking_browser, server)
    frame = page.locator("iframe.ad-spot__frame")
    assert frame.get_attribute("sandbox") == sandbox
    with context.expect_page() as opening:
        page.frame_locator("iframe.ad-spot__frame").locator("#shop").click()
    window = opening.value
    window.wait_for_load_state()
    assert window.url == server.url + "/landing?via=click"
    (report,) = wait_for(lambda: landing_reports(server))
    assert report == ["?via=click", *rights]
    assert any(r.startswith("/ads/c/") for r in server.requests)  # the click was counted
    assert page.url == server.url + SEED_PATH  # the reader's page stays
    assert len(windows) == 1
    context.close()


def test_without_a_popup_blocker_a_window_opened_on_load_stays_sandboxed(
    served: Any, browser: Any
) -> None:
    server = served(False)
    context, _page, _windows = open_seed_page(browser, server)
    reports = wait_for(lambda: len(landing_reports(server)) == 2 and landing_reports(server))
    assert sorted(reports) == [["?via=unclicked-link", *SANDBOXED],
                               ["?via=window-open", *SANDBOXED]]
    context.close()
