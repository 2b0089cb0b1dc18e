"""The seed page assembled by Zalando Tailor (node-tailor, npm) from our regions, seen in
Chromium: every widget's stylesheet comes through the regions' Link headers and applies, nothing
shifts, and a fragment no layout has gives way to its ``fallback-src``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from node_fixtures import require_packages
from support import REPO

from layoutserver.ads.config_import import import_ads_file
from layoutserver.core import get_core
from layoutserver.db import get_database

DEMO_ADS = REPO / "layoutserver" / "demo" / "ads.json"
SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
SEED_TITLE = ("East Turkistan Government in Exile Condemns China-Pakistan Cooperation, "
              "Accuses Nations of Genocide Support")

#: The seed page's regions as a Tailor template; the main region decides the page's status.
SEED_TEMPLATE = """<!doctype html>
<html lang="en-US">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tailor</title></head>
<body class="ls-page ls-page--article">
<fragment src="{origin}/fragments/article/{slug}/header"></fragment>
<fragment primary src="{origin}/fragments/article/{slug}/main"></fragment>
<fragment src="{origin}/fragments/article/{slug}/aside"></fragment>
</body>
</html>
"""
#: A region no layout has, with the aside podlet's empty shape as its fallback.
MISSING_TEMPLATE = """<!doctype html>
<html lang="en-US"><head><meta charset="utf-8"><title>Tailor</title></head>
<body class="ls-page ls-page--article">
<fragment src="{origin}/fragments/article/{slug}/sidebar"
          fallback-src="{origin}/podlets/article/region/aside/fallback"></fragment>
<fragment src="{origin}/fragments/article/no-such-article/aside"></fragment>
</body>
</html>
"""

#: For each stylesheet of the page: a rule of its own, as Chromium computed it (each value
#: differs from the browser's default).
STYLES = """() => {
  const style = (selector, property) => {
    const element = document.querySelector(selector);
    return element ? getComputedStyle(element)[property] : null;
  };
  return {
    layoutserver: style('body', 'display'),
    date_bar: style('.date-bar', 'backgroundColor'),
    article_body: style('.article-body__title', 'fontSize'),
    author_box: style('.author-box', 'borderTopWidth'),
    latest_news: style('.ls-widget--latest_news .news-list__items', 'listStyleType'),
    must_read: style('.ls-widget--must_read .news-list__items', 'listStyleType'),
    ad_spot: style('.ad-spot__label', 'fontSize'),
  };
}"""
EXPECTED_STYLES = {
    "layoutserver": "grid",  # the article grid of the core stylesheet
    "date_bar": "rgb(17, 17, 17)",
    "article_body": "33.6px",  # 2.1rem
    "author_box": "2px",
    "latest_news": "none",
    "must_read": "none",
    "ad_spot": "12px",  # 0.75rem
}
LAYOUT_SHIFTS = """() => new Promise(done => {
  let total = 0;
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) { if (!entry.hadRecentInput) total += entry.value; }
  }).observe({type: 'layout-shift', buffered: true});
  setTimeout(() => done(total), 500);
})"""


@pytest.fixture
def tailor(make_app: Any, live_server: Any, node_server: Any, tmp_path: Path) -> Any:
    require_packages("node-tailor", "requirejs")
    app: Flask = make_app()
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    origin = live_server(app).url
    for name, template in (("article", SEED_TEMPLATE), ("missing", MISSING_TEMPLATE)):
        (tmp_path / f"{name}.html").write_text(template.format(origin=origin, slug=SEED_SLUG))
    return node_server("tailor_server.js", str(tmp_path))


def test_tailor_assembles_the_seed_page_styled_without_shifts(tailor: Any, browser: Any
                                                              ) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    response = page.goto(tailor.url + "/article")
    assert response.status == 200
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text() == SEED_TITLE
    assert page.locator(".ls-widget--ad_spot .ad-spot").count() == 5  # filled: ads decided
    assert page.evaluate(STYLES) == EXPECTED_STYLES
    # each stylesheet arrives as a <link> Tailor wrote from a Link header, at its fingerprint
    links = page.eval_on_selector_all('link[rel="stylesheet"]', "els => els.map(e => e.href)")
    assert any("/assets/" in href and "layoutserver.css" in href for href in links)
    assert {href.rsplit("/", 1)[1] for href in links} >= {
        "layoutserver.css", "date_bar.css", "article_body.css", "author_box.css",
        "news_list.css", "ad_spot.css"}
    assert page.evaluate(LAYOUT_SHIFTS) == 0
    context.close()


def test_a_missing_fragment_falls_back_and_a_missing_article_inserts_no_page(
        tailor: Any, browser: Any) -> None:
    page = browser.new_page()
    assert page.goto(tailor.url + "/missing").status == 200
    html = page.content()
    # the sidebar region does not exist: Tailor fetched the fallback (the aside's empty shape)
    assert page.locator('aside[data-region="aside"] [data-placement="must-read"]').count() == 1
    assert page.locator("aside").inner_text().strip() == ""
    # an unknown article's region: a short comment, not the site's 404 page
    assert "<!-- layoutserver 404: No article 'no-such-article'. -->" in html
    assert html.count("<html") == 1 and "404 Not Found" not in html
    page.close()
