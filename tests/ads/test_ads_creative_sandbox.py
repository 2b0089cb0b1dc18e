"""A hostile HTML creative cannot read or change the host page: the seed page is loaded in the
system Chromium with such a creative in an ad spot, and the host page is checked untouched."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote

from adsupport import ADS_SETTINGS, FLIGHT, TOP_LAYOUT, wait_for
from support import SEED_PATH, SEED_SLUG

from layoutserver.ads.config_import import import_ads
from layoutserver.core import get_core
from layoutserver.db import get_database

# Tries to read the host's cookie and DOM, to rewrite the host page and to navigate it away,
# then reports what it managed to a URL of the test server.
HOSTILE = """<p id="creative">An innocent-looking ad</p><script>
var seen = [];
try { seen.push("cookie=" + document.cookie); } catch (e) { seen.push("cookie-blocked"); }
try { seen.push("host-title=" + window.top.document.title); }
catch (e) { seen.push("dom-blocked"); }
try { window.top.document.body.innerHTML = "<h1>PWNED</h1>"; seen.push("dom-written"); }
catch (e) { seen.push("write-blocked"); }
try { window.top.location.href = "REPORT_BASE/navigated-away"; seen.push("nav-tried"); }
catch (e) { seen.push("nav-blocked"); }
try { localStorage.setItem("x", "1"); seen.push("storage-used"); }
catch (e) { seen.push("storage-blocked"); }
new Image().src = "REPORT_BASE/creative-report?" + encodeURIComponent(seen.join("|"));
</script>"""


def hostile_config(report_base: str) -> dict[str, Any]:
    return {
        "slots": [{"code": "top", "name": "Top", "sizes": {"*": ["300x250"]}}],
        "advertisers": [{"name": "Mallory"}],
        "campaigns": [{"name": "Mallory", "advertiser": "Mallory"}],
        "creatives": [{"name": "hostile", "advertiser": "Mallory", "kind": "html",
                       "size": "300x250", "click_url": "https://mallory.example.com/",
                       "html": HOSTILE.replace("REPORT_BASE", report_base)}],
        "line_items": [{"name": "mallory", "campaign": "Mallory", "tier": "sponsorship",
                        **FLIGHT, "status": "active", "creatives": ["hostile"]}],
    }


def test_a_hostile_creative_cannot_touch_the_host_page(
    make_app: Any, live_server: Any, browser: Any
) -> None:
    app = make_app(layouts={"article": TOP_LAYOUT}, settings=ADS_SETTINGS)
    server = live_server(app)
    import_ads(get_database(app), hostile_config(server.url), get_core(app).timezone)

    context = browser.new_context()
    context.add_cookies([{"name": "host_secret", "value": "s3cret", "url": server.url}])
    page = context.new_page()
    page.goto(server.url + SEED_PATH)
    frame = page.wait_for_selector("iframe.ad-spot__frame")
    sandbox = frame.get_attribute("sandbox") or ""
    assert "allow-scripts" in sandbox
    assert "allow-same-origin" not in sandbox and "allow-top-navigation" not in sandbox

    report = wait_for(lambda: [r for r in server.requests if r.startswith("/creative-report")])
    seen = unquote(report[0].split("?", 1)[1]).split("|")
    # The script ran (it reported), and every reach for the host page was refused.
    assert "cookie-blocked" in seen, seen
    assert "dom-blocked" in seen and "write-blocked" in seen, seen
    assert "storage-blocked" in seen, seen
    assert not any("s3cret" in item for item in seen), seen
    time.sleep(0.5)  # room for a navigation, had one been allowed
    assert page.url == server.url + SEED_PATH
    assert "/navigated-away" not in server.requests
    assert "PWNED" not in page.inner_text("body")  # (it is in the srcdoc attribute, as text)
    assert page.locator("article.article-body").count() == 1
    assert page.title().startswith("East Turkistan Government in Exile")
    assert page.evaluate("document.cookie") == "host_secret=s3cret"
    assert SEED_SLUG in page.url
    context.close()

