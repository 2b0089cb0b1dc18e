"""Caching: warm requests hit; output is keyed by widget name, version, options, vary keys and
content version, so an import shows on the very next request and a no-op import changes
nothing; concurrent misses on a cold cache render once."""

from __future__ import annotations

import copy
import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from support import timing_outcomes
from testwidgets import Counting

from layoutserver import create_app
from layoutserver.content.importer import import_content, import_file
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.widgets import Markup, RenderContext, Widget


@pytest.fixture
def demo_app(make_app: Any) -> Any:
    """The demo with its ad spots switched off: these tests are about a page whose widgets are
    all shared (the ad spots, per request, would make it private)."""
    return make_app(settings={"WIDGETS_DISABLED": ["ad_spot"]})

SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
SEED_PATH = f"/pages/article/{SEED_SLUG}"
SEED_TITLE = (
    "East Turkistan Government in Exile Condemns China-Pakistan Cooperation, Accuses Nations "
    "of Genocide Support"
)
DEMO_CONTENT = Path(__file__).resolve().parents[2] / "layoutserver" / "demo" / "content.json"
DEMO: dict[str, Any] = json.loads(DEMO_CONTENT.read_text(encoding="utf-8"))
JSON = {"Accept": "application/json"}
NEW_YORK = ZoneInfo("America/New_York")


def demo_article(slug: str) -> dict[str, Any]:
    return copy.deepcopy(next(a for a in DEMO["articles"] if a["slug"] == slug))


def timing(response: Any) -> str:
    return str(response.headers["Server-Timing"])


def outcomes(client: Any, path: str = SEED_PATH) -> dict[str, str]:
    json_path = path.replace("/pages/", "/fragments/", 1)
    return timing_outcomes(client.get(json_path, headers=JSON))




# --- Hits ---------------------------------------------------------------------------------------


def test_the_second_request_is_a_page_cache_hit(demo_app: Flask) -> None:
    demo_client = demo_app.test_client()
    layout = get_core(demo_app).layouts.get("article")
    assert layout is not None
    placements = len([p for p in layout.placements() if p.available])
    first = demo_client.get(SEED_PATH)
    assert "page-cache" not in timing(first)
    assert timing(first).count(' miss"') == placements
    second = demo_client.get(SEED_PATH)
    assert second.get_data() == first.get_data()
    assert timing(second).count(' page-cache"') == len(list(layout.placements()))
    assert 'desc="page-cache hit"' in timing(second)


def test_widgets_rendered_for_a_page_are_hits_for_its_fragments(demo_app: Flask) -> None:
    demo_client = demo_app.test_client()
    layout = get_core(demo_app).layouts.get("article")
    assert layout is not None
    main = [placement for placement in layout.placements()
            if placement.region == "main" and placement.available]
    demo_client.get(SEED_PATH)
    region = demo_client.get(f"/fragments/article/{SEED_SLUG}/main")
    assert timing(region).count(' hit"') == len(main) >= 4
    assert "miss" not in timing(region)
    widget = demo_client.get(f"/widgets/article/{SEED_SLUG}/must-read")
    assert 'desc="must_read hit"' in timing(widget)
    assert set(outcomes(demo_client).values()) == {"hit", "unavailable"}  # ad spots: disabled


# --- Keys ---------------------------------------------------------------------------------------


def test_the_same_widget_with_other_options_is_cached_apart(demo_client: Any) -> None:
    demo_client.get(SEED_PATH)  # warms latest-news (count 4) and more-news (count 2, offset 4)
    first = demo_client.get(f"/widgets/article/{SEED_SLUG}/latest-news")
    more = demo_client.get(f"/widgets/article/{SEED_SLUG}/more-news")
    assert 'desc="latest_news hit"' in timing(first)
    assert 'desc="latest_news hit"' in timing(more)
    assert first.get_data(as_text=True).count('class="news-list__item"') == 4
    assert more.get_data(as_text=True).count('class="news-list__item"') == 2
    assert "Dystopia" in first.get_data(as_text=True)
    assert "Dystopia" not in more.get_data(as_text=True)


def test_a_widget_varying_on_slug_is_cached_per_article(demo_client: Any) -> None:
    seed = demo_client.get(SEED_PATH).get_data(as_text=True)
    assert SEED_TITLE in seed
    other = demo_client.get("/pages/article/dystopia")
    assert other.status_code == 200
    html = other.get_data(as_text=True)
    assert "<h1 class=\"article-body__title\">Dystopia</h1>" in html
    assert SEED_TITLE not in html.split('data-placement="author"')[0]
    assert 'desc="article_body miss"' in timing(other)
    # must_read varies on nothing: the seed page's copy serves this page.
    assert 'desc="must_read hit"' in timing(other)


def test_the_date_bar_turns_over_at_the_sites_midnight_on_a_warm_cache(demo_app: Flask) -> None:
    client = demo_app.test_client()
    assert "Thursday, October 10, 2024" in client.get(SEED_PATH).get_data(as_text=True)
    get_core(demo_app).pinned_now = datetime(2024, 10, 11, 0, 5, tzinfo=NEW_YORK)
    response = client.get(SEED_PATH)
    html = response.get_data(as_text=True)
    assert "Friday, October 11, 2024" in html
    assert "Thursday, October 10, 2024" not in html
    assert "page-cache" not in timing(response)
    assert 'desc="date_bar miss"' in timing(response)
    assert 'desc="article_body hit"' in timing(response)  # varies on slug only


def test_a_scheduled_article_appears_in_latest_news_on_its_day(demo_app: Flask) -> None:
    scheduled = {
        "slug": "tomorrows-story",
        "title": "Tomorrow's story",
        "excerpt": "Held back until its time.",
        "body_html": "<p>Later.</p>",
        "published_at": "2024-10-11T06:00:00-04:00",
        "section": "world",
    }
    import_content(get_database(demo_app), {"articles": [scheduled]})
    client = demo_app.test_client()
    assert "Tomorrow&#39;s story" not in client.get(SEED_PATH).get_data(as_text=True)
    get_core(demo_app).pinned_now = datetime(2024, 10, 11, 12, 0, tzinfo=NEW_YORK)
    html = client.get(SEED_PATH).get_data(as_text=True)
    assert "Tomorrow&#39;s story" in html
    assert html.index("Tomorrow&#39;s story") < html.index("Dystopia")


# --- Invalidation by content --------------------------------------------------------------------


def test_an_edited_title_shows_on_the_very_next_request(demo_app: Flask) -> None:
    client = demo_app.test_client()
    before = client.get(SEED_PATH)
    client.get(SEED_PATH)  # warm: page cache and fragments
    article = demo_article(SEED_SLUG)
    article["title"] = "Exiled Government Condemns Cooperation"
    assert import_content(get_database(demo_app), {"articles": [article]}).changed
    after = client.get(SEED_PATH)
    html = after.get_data(as_text=True)
    assert "Exiled Government Condemns Cooperation" in html
    assert SEED_TITLE not in html
    assert after.headers["ETag"] != before.headers["ETag"]
    assert client.get(SEED_PATH, headers={"If-None-Match": before.headers["ETag"]}).status_code \
        == 200


def test_a_reordered_must_read_list_shows_on_the_very_next_request(demo_app: Flask) -> None:
    client = demo_app.test_client()
    url = f"/widgets/article/{SEED_SLUG}/must-read"
    before = client.get(url).get_data(as_text=True)
    assert before.index("Prepare Your Social Media") < before.index("Tibetan Leader")
    client.get(SEED_PATH)
    picks = copy.deepcopy(DEMO["editorial_lists"][0])
    picks["articles"].reverse()
    import_content(get_database(demo_app), {"editorial_lists": [picks]})
    after = client.get(url).get_data(as_text=True)
    assert after.index("Tibetan Leader") < after.index("Prepare Your Social Media")
    page = client.get(SEED_PATH).get_data(as_text=True)
    aside = page[page.index('data-region="aside"'):]
    assert aside.index("Tibetan Leader") < aside.index("Prepare Your Social Media")


def test_an_excerpt_edit_of_another_article_shows_in_latest_news(demo_app: Flask) -> None:
    client = demo_app.test_client()
    client.get(SEED_PATH)
    other = demo_article("dystopia")
    other["excerpt"] = "A rewritten excerpt."
    import_content(get_database(demo_app), {"articles": [other]})
    assert "A rewritten excerpt...." in client.get(SEED_PATH).get_data(as_text=True)


def test_importing_the_same_content_again_keeps_the_etag(demo_app: Flask) -> None:
    client = demo_app.test_client()
    first = client.get(SEED_PATH)
    report = import_file(get_database(demo_app), DEMO_CONTENT)
    assert not report.changed
    again = client.get(SEED_PATH)
    assert again.headers["ETag"] == first.headers["ETag"]
    assert "page-cache" in timing(again)  # nothing was invalidated
    assert client.get(SEED_PATH, headers={"If-None-Match": first.headers["ETag"]}).status_code \
        == 304


def test_an_edit_undone_gives_the_first_etag_back(demo_app: Flask) -> None:
    """The ETag is the page's bytes, not a version: the same article (its modified date
    included, which the head shows) is the same ETag."""
    client = demo_app.test_client()
    original = {**demo_article(SEED_SLUG), "modified_at": "2024-10-11T08:00:00+00:00"}
    import_content(get_database(demo_app), {"articles": [original]})
    first = client.get(SEED_PATH).headers["ETag"]
    edited = {**original, "title": "Temporary title", "modified_at": "2024-10-12T08:00:00Z"}
    import_content(get_database(demo_app), {"articles": [edited]})
    assert client.get(SEED_PATH).headers["ETag"] != first
    import_content(get_database(demo_app), {"articles": [original]})
    assert client.get(SEED_PATH).headers["ETag"] == first


# --- Stampede -----------------------------------------------------------------------------------

COUNTING = """\
subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "test_counting"
id = "counter"
"""


def test_concurrent_misses_on_a_cold_cache_render_once(make_app: Any) -> None:
    app = make_app(layouts={"article": COUNTING}, settings={"WIDGET_BUDGET_MS": 5000})
    Counting.renders = 0
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    statuses: list[int] = []
    bodies: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def fetch() -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=10)
            response = client.get(SEED_PATH)
            with lock:
                statuses.append(response.status_code)
                bodies.append(response.get_data(as_text=True))
        except BaseException as exc:  # reported below, not lost in the thread
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert errors == []
    assert statuses == [200] * threads_count
    assert all("<p>counted</p>" in body for body in bodies)
    assert Counting.renders == 1
    app.test_client().get(SEED_PATH)
    assert Counting.renders == 1


# --- Widget version -----------------------------------------------------------------------------

VERSIONED = """\
subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "caching_versioned"
id = "versioned"
"""


class _VersionOne(Widget):
    name = "caching_versioned"
    version = "1"

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        return Markup("<p>output of version 1</p>")


class _VersionTwo(Widget):
    name = "caching_versioned"
    version = "2"

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        return Markup("<p>output of version 2</p>")


def _deploys(tmp_path: Path, database_url: str) -> tuple[Flask, Flask]:
    """The same site before and after a deploy that bumps a widget's version, both on one
    shared cache backend (a file-system cache standing in for Redis or memcached)."""
    layouts = tmp_path / "versioned-layouts"
    layouts.mkdir()
    (layouts / "article.toml").write_text(VERSIONED)
    settings = {
        "LAYOUTS_DIR": str(layouts),
        "DATABASE_URL": database_url,
        "CACHE_TYPE": "FileSystemCache",
        "CACHE_DIR": str(tmp_path / "shared-cache"),
        "SITE_TIMEZONE": "America/New_York",
        "SITE_NOW": "2024-10-10T12:00:00",
        # Roomy, as in the demo settings: a loaded machine must not turn the first render
        # (new connections) into the widget's empty fallback.
        "WIDGET_BUDGET_MS": 5000,
    }
    before = create_app(settings, extra_widgets=[_VersionOne])
    get_database(before).create_all()
    import_file(get_database(before), DEMO_CONTENT)
    after = create_app(settings, extra_widgets=[_VersionTwo])
    return before, after


def _close(*apps: Flask) -> None:
    for app in apps:
        get_core(app).close()
        get_database(app).dispose()


def test_a_new_widget_version_misses_the_fragment_cache(
    tmp_path: Path, layoutserver_database_url: str
) -> None:
    before, after = _deploys(tmp_path, layoutserver_database_url)
    try:
        old = before.test_client().get(SEED_PATH).get_data(as_text=True)
        assert "output of version 1" in old
        region = after.test_client().get(f"/fragments/article/{SEED_SLUG}/main")
        assert "output of version 2" in region.get_data(as_text=True)
        assert 'desc="caching_versioned miss"' in timing(region)
    finally:
        _close(before, after)


def test_a_new_widget_version_misses_the_page_cache(
    tmp_path: Path, layoutserver_database_url: str
) -> None:
    """The cache key of a whole page holds its widgets' versions as well: after a deploy, a
    shared cache does not keep serving pages built by the old widget."""
    before, after = _deploys(tmp_path, layoutserver_database_url)
    try:
        assert "output of version 1" in before.test_client().get(SEED_PATH).get_data(as_text=True)
        page = after.test_client().get(SEED_PATH)
        assert "output of version 2" in page.get_data(as_text=True), timing(page)
    finally:
        _close(before, after)
