"""The built-in widgets, each through the ``render_widget`` fixture of layoutserver.testing (the
way a widget author tests one) and, for the site clock, through demo pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError

from layoutserver.content.importer import import_content
from layoutserver.db import get_database

SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
SEED_PATH = f"/pages/article/{SEED_SLUG}"


@pytest.fixture
def layoutserver_settings(layoutserver_settings: dict[str, Any]) -> dict[str, Any]:
    """The fixture's settings in New York time, so dates show in the site's time zone."""
    return {**layoutserver_settings, "SITE_TIMEZONE": "America/New_York",
            "SITE_NOW": "2030-01-01T12:00:00"}


def titles(html: str) -> list[str]:
    return re.findall(r'<h3 class="news-list__title"><a href="[^"]*">([^<]*)</a></h3>', html)


def excerpts(html: str) -> list[str]:
    return re.findall(r'<p class="news-list__excerpt">([^<]*)</p>', html)


def headings(html: str) -> list[str]:
    return re.findall(r"<h2[^>]*>([^<]*)</h2>", html)


# --- article_body -------------------------------------------------------------------------------


def test_article_body_shows_title_date_and_body_markup(
    render_widget: Any, layoutserver_content: Any
) -> None:
    layoutserver_content.add_article(
        "late-night-story",
        title="Rates <up> & away",
        body_html='<p>First <em>para</em>graph.</p>\n<h2>Sub</h2><p><a href="https://e.org/x">'
                  'A link</a></p><script>alert(1)</script>',
        # 02:00 UTC on the 11th is still the evening of the 10th in New York.
        published_at="2024-10-11T02:00:00+00:00",
    )
    result = render_widget("article_body", slug="late-night-story")
    assert result.outcome == "miss"
    html = result.html
    assert '<h1 class="article-body__title">Rates &lt;up&gt; &amp; away</h1>' in html
    assert ">October 10, 2024</time>" in html
    assert 'datetime="2024-10-11T02:00:00+00:00"' in html
    assert "<p>First <em>para</em>graph.</p>" in html
    assert "<h2>Sub</h2>" in html
    assert '<a href="https://e.org/x"' in html
    assert "<script" not in html


def test_article_body_is_wrapped_and_then_cached(
    render_widget: Any, layoutserver_content: Any
) -> None:
    layoutserver_content.add_article("cached-story", title="Cached story")
    first = render_widget("article_body", slug="cached-story")
    assert first.wrapped.startswith(
        '<div class="ls-widget ls-widget--article_body" data-widget="article_body" '
        'data-placement="under-test">'
    )
    assert first.html in first.wrapped
    second = render_widget("article_body", slug="cached-story")
    assert second.outcome == "hit"
    assert second.html == first.html


# --- author_box ---------------------------------------------------------------------------------

AUTHORS = {
    "authors": [
        {"slug": "pia-sherman", "name": "Pia Sherman",
         "bio": "Pia Sherman is a freelance writer. Views expressed are solely of the author."},
        {"slug": "ann-avatar", "name": "Ann <Avatar>", "bio": "",
         "avatar_url": "https://cdn.example.org/ann.jpg"},
    ]
}


def test_author_box_shows_heading_name_and_bio_without_avatar(
    render_widget: Any, layoutserver_content: Any
) -> None:
    layoutserver_content.load(AUTHORS)
    layoutserver_content.add_article("by-pia", author="pia-sherman")
    html = render_widget("author_box", slug="by-pia").html
    assert headings(html) == ["Author profile"]
    assert '<p class="author-box__name">Pia Sherman</p>' in html
    assert ('<p class="author-box__bio">Pia Sherman is a freelance writer. Views expressed are '
            "solely of the author.</p>") in html
    assert "<img" not in html
    assert html.index("Author profile") < html.index("author-box__name") < html.index("bio")


def test_author_box_shows_the_avatar_when_there_is_one(
    render_widget: Any, layoutserver_content: Any
) -> None:
    layoutserver_content.load(AUTHORS)
    layoutserver_content.add_article("by-ann", author="ann-avatar")
    html = render_widget("author_box", {"heading": "Written by"}, slug="by-ann").html
    assert headings(html) == ["Written by"]
    assert html.count("<img") == 1
    assert 'src="https://cdn.example.org/ann.jpg"' in html
    assert 'alt="Ann &lt;Avatar&gt;"' in html
    assert "Ann &lt;Avatar&gt;</p>" in html
    assert "author-box__bio" not in html  # empty bio: no paragraph


def test_author_box_is_empty_when_the_article_has_no_author(
    render_widget: Any, layoutserver_content: Any
) -> None:
    layoutserver_content.add_article("anonymous")
    result = render_widget("author_box", slug="anonymous")
    assert result.outcome == "miss"
    assert result.html == ""


# --- latest_news --------------------------------------------------------------------------------

NEWS = {
    "sections": [{"slug": "world", "name": "World"}, {"slug": "sport", "name": "Sport"}],
    "articles": [
        {"slug": f"story-{n}", "title": f"Story {n}", "excerpt": f"Excerpt of story {n} in words",
         "body_html": "<p>Body.</p>", "published_at": f"2029-12-{n:02d}T12:00:00+00:00",
         "section": "world" if n % 2 else "sport"}
        for n in range(1, 9)
    ],
}
NEWEST_FIRST = [f"Story {n}" for n in range(8, 0, -1)]


@pytest.fixture
def news(layoutserver_content: Any) -> Any:
    layoutserver_content.load(NEWS)
    return layoutserver_content


def test_latest_news_lists_the_newest_articles(render_widget: Any, news: Any) -> None:
    html = render_widget("latest_news", {"count": 3}).html
    assert titles(html) == NEWEST_FIRST[:3]
    assert headings(html) == ["Latest news"]
    assert '<a href="/pages/article/story-8">Story 8</a>' in html
    assert excerpts(html)[0] == "Excerpt of story 8 in words..."
    assert len(titles(render_widget("latest_news").html)) == 5  # the default count


def test_latest_news_offset_continues_the_list(render_widget: Any, news: Any) -> None:
    first = titles(render_widget("latest_news", {"count": 3}).html)
    more = titles(render_widget("latest_news", {"count": 3, "offset": 3}).html)
    assert first + more == NEWEST_FIRST[:6]


def test_latest_news_leaves_out_the_article_shown(render_widget: Any, news: Any) -> None:
    html = render_widget("latest_news", {"count": 3}, slug="story-7").html
    assert titles(html) == ["Story 8", "Story 6", "Story 5"]


def test_latest_news_of_one_section(render_widget: Any, news: Any) -> None:
    world = titles(render_widget("latest_news", {"section": "world", "count": 10}).html)
    assert world == ["Story 7", "Story 5", "Story 3", "Story 1"]
    same = render_widget("latest_news", {"same_section": True, "count": 2}, slug="story-4").html
    assert titles(same) == ["Story 8", "Story 6"]  # sport, without story 4 itself


def test_latest_news_truncates_excerpts_to_a_word_count(render_widget: Any, news: Any) -> None:
    html = render_widget("latest_news", {"count": 2, "excerpt_words": 3}).html
    assert excerpts(html) == ["Excerpt of story...", "Excerpt of story..."]
    html = render_widget("latest_news", {"count": 1, "excerpt_words": 2,
                                         "excerpt_suffix": " [more]"}).html
    assert excerpts(html) == ["Excerpt of [more]"]


def test_latest_news_heading_is_configurable(render_widget: Any, news: Any) -> None:
    assert headings(render_widget("latest_news", {"heading": "More <news>"}).html) == [
        "More &lt;news&gt;"
    ]
    for empty in ("", None):
        html = render_widget("latest_news", {"heading": empty, "count": 2}).html
        assert headings(html) == []
        assert titles(html) == NEWEST_FIRST[:2]


def test_latest_news_hides_articles_dated_after_now(render_widget: Any, news: Any) -> None:
    news.add_article("from-the-future", title="From the future",
                     published_at="2030-01-01T17:01:00+00:00")  # 12:01 in New York
    news.add_article("just-now", title="Just now", published_at="2030-01-01T17:00:00+00:00")
    html = render_widget("latest_news", {"count": 2}).html
    assert titles(html) == ["Just now", "Story 8"]


def test_latest_news_links_to_articles_by_the_url_pattern(render_widget: Any, news: Any) -> None:
    """``{slug}`` anywhere in the pattern (it was once accepted only at the very start)."""
    html = render_widget("latest_news", {"url_pattern": "https://www.example.com/n/{slug}.html"}
                         ).html
    assert '<a href="https://www.example.com/n/story-8.html">Story 8</a>' in html


@pytest.mark.parametrize("widget", ["latest_news", "must_read"])
def test_a_url_pattern_without_the_slug_is_refused(render_widget: Any, widget: str) -> None:
    with pytest.raises(ValidationError, match=r"Must contain \{slug\}"):
        render_widget(widget, {"url_pattern": "/news/latest.html"})


def test_latest_news_without_articles_renders_nothing(render_widget: Any) -> None:
    result = render_widget("latest_news")
    assert result.outcome == "miss"
    assert result.html == ""


def test_must_read_leaves_out_picks_scheduled_for_later(render_widget: Any, news: Any) -> None:
    news.add_article("tomorrow", "Not yet", published_at="2030-01-02T12:00:00+00:00")
    news.load({"editorial_lists": [
        {"name": "picks", "title": "Picks", "articles": ["tomorrow", "story-3"]}]})
    assert titles(render_widget("must_read", {"list": "picks"}).html) == ["Story 3"]


def test_latest_news_excerpt_empty_gives_no_paragraph(render_widget: Any, news: Any) -> None:
    news.add_article("no-excerpt", title="No excerpt", excerpt="",
                     published_at="2029-12-31T12:00:00+00:00")
    html = render_widget("latest_news", {"count": 1}).html
    assert titles(html) == ["No excerpt"]
    assert excerpts(html) == []


# --- must_read ----------------------------------------------------------------------------------


def test_must_read_keeps_the_lists_order(render_widget: Any, news: Any) -> None:
    news.load({"editorial_lists": [
        {"name": "must-read", "title": "Must read", "articles": ["story-2", "story-7", "story-4"]}
    ]})
    html = render_widget("must_read").html
    assert titles(html) == ["Story 2", "Story 7", "Story 4"]
    assert headings(html) == ["Must read"]
    news.load({"editorial_lists": [
        {"name": "must-read", "title": "Must read", "articles": ["story-4", "story-2"]}
    ]})
    assert titles(render_widget("must_read").html) == ["Story 4", "Story 2"]


def test_must_read_heading_defaults_to_the_list_title(render_widget: Any, news: Any) -> None:
    news.load({"editorial_lists": [
        {"name": "editors-picks", "title": "Editors' picks", "articles": ["story-1"]}
    ]})
    assert headings(render_widget("must_read", {"list": "editors-picks"}).html) == [
        "Editors&#39; picks"
    ]
    html = render_widget("must_read", {"list": "editors-picks", "heading": "Read this"}).html
    assert headings(html) == ["Read this"]
    assert titles(html) == ["Story 1"]


def test_must_read_truncates_excerpts(render_widget: Any, news: Any) -> None:
    news.load({"editorial_lists": [
        {"name": "must-read", "title": "Must read", "articles": ["story-3"]}
    ]})
    assert excerpts(render_widget("must_read", {"excerpt_words": 2}).html) == ["Excerpt of..."]
    assert excerpts(render_widget("must_read").html) == ["Excerpt of story 3 in words..."]


def test_must_read_of_an_unknown_or_empty_list_is_empty(render_widget: Any, news: Any) -> None:
    result = render_widget("must_read", {"list": "no-such-list"})
    assert result.outcome == "miss"
    assert result.html == ""
    news.load({"editorial_lists": [{"name": "empty", "title": "Empty", "articles": []}]})
    assert render_widget("must_read", {"list": "empty"}).html == ""


# --- date_bar -----------------------------------------------------------------------------------

DATE_BAR = """\
subject = "article"

[[regions]]
name = "header"

[[regions.placements]]
widget = "date_bar"
"""


def date_bar_html(make_app: Any, **settings: str) -> str:
    client = make_app(layouts={"article": DATE_BAR}, settings=settings).test_client()
    response = client.get(f"/widgets/article/{SEED_SLUG}/date-bar")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_date_bar_shows_the_site_date(demo_client: Any) -> None:
    html = demo_client.get(f"/widgets/article/{SEED_SLUG}/date-bar").get_data(as_text=True)
    assert '<time datetime="2024-10-10">Thursday, October 10, 2024</time>' in html


def test_date_bar_late_evening_in_the_site_time_zone(make_app: Any) -> None:
    # 23:30 in New York is already 03:30 on the 11th in UTC.
    html = date_bar_html(make_app, SITE_TIMEZONE="America/New_York",
                         SITE_NOW="2024-10-10T23:30:00")
    assert '<time datetime="2024-10-10">Thursday, October 10, 2024</time>' in html


def test_date_bar_converts_a_utc_clock_to_the_site_time_zone(make_app: Any) -> None:
    html = date_bar_html(make_app, SITE_TIMEZONE="America/New_York",
                         SITE_NOW="2024-10-11T03:30:00+00:00")
    assert '<time datetime="2024-10-10">Thursday, October 10, 2024</time>' in html
    utc = date_bar_html(make_app, SITE_TIMEZONE="UTC", SITE_NOW="2024-10-11T03:30:00+00:00")
    assert '<time datetime="2024-10-11">Friday, October 11, 2024</time>' in utc


def test_date_bar_east_of_utc(make_app: Any) -> None:
    html = date_bar_html(make_app, SITE_TIMEZONE="Asia/Tokyo",
                         SITE_NOW="2024-10-10T20:00:00+00:00")
    assert '<time datetime="2024-10-11">Friday, October 11, 2024</time>' in html


def test_date_bar_day_has_no_leading_zero(render_widget: Any) -> None:
    # The fixture's clock: 2030-01-01 12:00 in New York.
    assert render_widget("date_bar").html == (
        '<div class="date-bar"><time datetime="2030-01-01">Tuesday, January 1, 2030</time></div>'
    )


# --- section_title ------------------------------------------------------------------------------


def test_section_title_is_the_section_fronts_h1(demo_client: Any) -> None:
    html = demo_client.get("/widgets/section/world/section-title").get_data(as_text=True)
    assert '<h1 class="section-title">World</h1>' in html
    page = demo_client.get("/pages/section/world").get_data(as_text=True)
    assert page.count("<h1") == 1
    css = (Path(__file__).resolve().parents[2] / "plugins" / "static" / "section_title.css")
    assert css.read_text().strip().splitlines()[0] in page  # its stylesheet, inlined


def test_section_title_escapes_the_name_and_is_empty_on_an_article(
        render_widget: Any, make_app: Any) -> None:
    assert render_widget("section_title").html == ""
    app = make_app(demo=False)
    import_content(get_database(app), {"sections": [{"slug": "r-d", "name": "R&D <Lab>"}]})
    html = app.test_client().get("/widgets/section/r-d/section-title").get_data(as_text=True)
    assert '<h1 class="section-title">R&amp;D &lt;Lab&gt;</h1>' in html
