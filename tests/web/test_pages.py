"""GET /pages/<page_type>/<slug>: the whole HTML document, regions in layout order, every widget
wrapped with its name and placement id, assets listed once in the head; the seed page in full."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from layoutserver.content.importer import import_content
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.widgets import Assets, Markup, RenderContext, Widget

# tests/conftest.py defines these too, but ``from conftest import ...`` is unreliable here: once
# tests/content/conftest.py is collected, the module named ``conftest`` is that one.
SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
SEED_PATH = f"/pages/article/{SEED_SLUG}"
SEED_TEXT = Path(__file__).with_name("seed_article_page.txt")
REPO = Path(__file__).resolve().parents[2]
SEED_TITLE = (
    "East Turkistan Government in Exile Condemns China-Pakistan Cooperation, Accuses Nations "
    "of Genocide Support"
)

#: Tags that do not break a line of text; every other tag separates the text around it.
INLINE_TAGS = frozenset({"a", "abbr", "b", "code", "em", "i", "small", "span", "strong", "sub",
                         "sup"})


class _TextExtractor(HTMLParser):
    """The visible text of the <body>, with block elements separated by newlines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.in_body = True
        if tag not in INLINE_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag not in INLINE_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_body:
            self.parts.append(data)


class _WidgetWrappers(HTMLParser):
    """(region, widget, placement) of every widget wrapper, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.region = ""
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("data-region"):
            self.region = values["data-region"] or ""
        if "data-placement" in values:
            self.found.append(
                (self.region, values.get("data-widget") or "", values["data-placement"] or "")
            )


def page_text(html: str) -> str:
    """The body's text, whitespace-normalised: one space between words and blocks."""
    parser = _TextExtractor()
    parser.feed(html)
    return normalise("".join(parser.parts))


def normalise(text: str) -> str:
    return " ".join(text.split())


def wrappers(html: str) -> list[tuple[str, str, str]]:
    parser = _WidgetWrappers()
    parser.feed(html)
    return parser.found


def head_of(html: str) -> str:
    match = re.search(r"<head>(.*?)</head>", html, re.DOTALL)
    assert match, "the page has no <head>"
    return match.group(1)


def seed_lines() -> list[str]:
    lines = [normalise(line) for line in SEED_TEXT.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and "- Advertisement -" not in line]


def test_seed_page_shows_every_line_of_the_seed_page_in_its_order(demo_client: Any) -> None:
    response = demo_client.get(SEED_PATH)
    assert response.status_code == 200
    text = page_text(response.get_data(as_text=True))
    expected = seed_lines()
    assert len(expected) > 30  # date, title, 15 paragraphs, author, 2 headings, 8 items ...
    position = 0
    for line in expected:
        found = text.find(line, position)
        if found < 0:
            anywhere = text.find(line)
            where = "missing" if anywhere < 0 else f"out of order (found at {anywhere})"
            pytest.fail(f"seed line {where} after position {position}: {line!r}")
        position = found + len(line)


def test_seed_page_blocks(demo_client: Any) -> None:
    text = page_text(demo_client.get(SEED_PATH).get_data(as_text=True))
    date = text.find("Thursday, October 10, 2024")
    title = text.find(SEED_TITLE)
    author = text.find("Author profile Pia Sherman Pia Sherman is a freelance writer.")
    latest = text.find("Latest news Dystopia")
    must_read = text.find("Must read Prepare Your Social Media for the Election")
    assert -1 < date < title < author < latest < must_read
    # Must read: the list's own order and its nine-word excerpts.
    assert text.endswith(
        "Must read Prepare Your Social Media for the Election Three tips to stay sane and "
        "connected without being... Tibetan Leader Criticizes Paris Museums for Adopting "
        "Chinese Terminology Paris — The Sikyong, leader of the Central Tibetan..."
    )


def test_page_is_a_whole_html_document(demo_client: Any) -> None:
    response = demo_client.get(SEED_PATH)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert html.lower().startswith("<!doctype html>")
    assert html.rstrip().endswith("</html>")
    assert re.search(r"<title>[^<]*East Turkistan Government in Exile[^<]*"
                     r"layoutserver demo</title>", html)


def test_every_widget_is_wrapped_with_its_name_and_placement_in_layout_order(
    demo_app: Flask,
) -> None:
    html = demo_app.test_client().get(SEED_PATH).get_data(as_text=True)
    layout = get_core(demo_app).layouts.get("article")
    assert layout is not None
    found = wrappers(html)
    assert found == [(p.region, p.widget, p.id) for p in layout.placements()]
    seed_blocks = [
        ("header", "date_bar", "date-bar"),
        ("main", "article_body", "article"),
        ("main", "author_box", "author"),
        ("main", "latest_news", "latest-news"),
        ("main", "latest_news", "more-news"),
        ("aside", "must_read", "must-read"),
    ]
    assert [item for item in found if item in seed_blocks] == seed_blocks


REORDERED = """\
subject = "article"

[[regions]]
name = "aside"

[[regions.placements]]
widget = "must_read"
id = "picks"

[[regions]]
name = "top"

[[regions.placements]]
widget = "author_box"
id = "by"

[[regions.placements]]
widget = "date_bar"
id = "today"
"""


def test_regions_and_placements_follow_the_layout_file(make_app: Any) -> None:
    client = make_app(layouts={"article": REORDERED}).test_client()
    html = client.get(SEED_PATH).get_data(as_text=True)
    assert wrappers(html) == [
        ("aside", "must_read", "picks"),
        ("top", "author_box", "by"),
        ("top", "date_bar", "today"),
    ]
    text = page_text(html)
    assert text.find("Must read") < text.find("Pia Sherman") < text.find("October 10, 2024")
    assert SEED_TITLE not in text  # no article_body placement in this layout


TWO_LISTS = """\
subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "latest_news"
id = "first"
options = { count = 2 }

[[regions.placements]]
widget = "article_body"

[[regions.placements]]
widget = "latest_news"
id = "second"
options = { count = 2, offset = 2, heading = "" }
"""


def test_assets_are_listed_once_in_the_head_in_first_seen_order(make_app: Any) -> None:
    client = make_app(layouts={"article": TWO_LISTS},
                      settings={"PAGE_CSS": "link"}).test_client()
    html = client.get(SEED_PATH).get_data(as_text=True)
    head = head_of(html)
    hrefs = re.findall(r'<link rel="stylesheet" href="([^"]+)"', head)
    assert re.fullmatch(r"/assets/[0-9a-f]{12}/layoutserver\.css", hrefs[0])
    assert [re.sub(r"/[0-9a-f]{12}/", "/", href) for href in hrefs[-2:]] == [
        "/assets/widgets/latest_news/news_list.css",
        "/assets/widgets/article_body/article_body.css"]
    assert len(hrefs) == len(set(hrefs))
    assert html.count("news_list.css") == 1
    assert client.get(hrefs[-2]).status_code == 200


def test_two_widgets_sharing_a_stylesheet_file_link_it_once(make_app: Any) -> None:
    """latest_news and must_read both name news_list.css of the built-ins' static folder."""
    html = make_app(settings={"PAGE_CSS": "link"}).test_client().get(SEED_PATH).get_data(
        as_text=True)
    assert html.count("news_list.css") == 1
    assert "/widgets/must_read/" not in html


def test_an_article_scheduled_for_later_is_not_served_yet(make_app: Any) -> None:
    app = make_app()
    import_content(get_database(app), {"articles": [{
        "slug": "embargoed", "title": "Embargoed", "body_html": "<p>Later.</p>",
        "published_at": "2024-10-11T06:00:00-04:00"}]})
    client = app.test_client()
    assert client.get("/pages/article/embargoed").status_code == 404
    assert "Embargoed" not in client.get(SEED_PATH).get_data(as_text=True)
    later = make_app(settings={"SITE_NOW": "2024-10-11T06:00:00"})
    import_content(get_database(later), {"articles": [{
        "slug": "embargoed", "title": "Embargoed", "body_html": "<p>Later.</p>",
        "published_at": "2024-10-11T06:00:00-04:00"}]})
    assert later.test_client().get("/pages/article/embargoed").status_code == 200


def test_seed_page_carries_each_stylesheet_once_in_the_head(demo_client: Any) -> None:
    """Inlined (``PAGE_CSS = "inline"``, the default): the core's and each widget's
    stylesheet once, in one <style> element, and no stylesheet to fetch."""
    html = demo_client.get(SEED_PATH).get_data(as_text=True)
    head = head_of(html)
    assert head.count("<style>") == 1 and "<style>" not in html.split("</head>")[1]
    assert '<link rel="stylesheet"' not in html
    style = head.split("<style>")[1].split("</style>")[0]
    for widget, css in [("date_bar", "date_bar.css"), ("article_body", "article_body.css"),
                        ("author_box", "author_box.css"), ("latest_news", "news_list.css")]:
        text = (REPO / "plugins" / "static" / css).read_text()
        assert style.count(text.strip().splitlines()[0]) == 1, css
        assert demo_client.get(f"/static/widgets/{widget}/{css}").mimetype == "text/css"


class _ScriptA(Widget):
    name = "pages_script_a"
    version = "1"
    assets = Assets(css=("/assets/shared.css",), js=("/assets/shared.js", "/assets/a.js"))

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        return Markup("<p>script a</p>")


class _ScriptB(Widget):
    name = "pages_script_b"
    version = "1"
    assets = Assets(css=("/assets/shared.css", "/assets/b.css"), js=("/assets/shared.js",))

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        return Markup("<p>script b</p>")


@pytest.fixture
def layoutserver_widgets() -> list[type[Widget]]:
    return [_ScriptA, _ScriptB]


@pytest.fixture
def layoutserver_settings(layoutserver_settings: dict[str, Any]) -> dict[str, Any]:
    layouts = Path(layoutserver_settings["LAYOUTS_DIR"])
    (layouts / "scripted.toml").write_text(
        'subject = "article"\n[[regions]]\nname = "main"\n'
        '[[regions.placements]]\nwidget = "pages_script_a"\n'
        '[[regions.placements]]\nwidget = "pages_script_b"\n'
        '[[regions.placements]]\nwidget = "pages_script_a"\n'
    )
    return layoutserver_settings


def test_css_and_js_of_several_widgets_are_listed_once(
    layoutserver_client: Any, layoutserver_content: Any
) -> None:
    layoutserver_content.add_article("scripted-story", title="Scripted")
    response = layoutserver_client.get("/pages/scripted/scripted-story")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    head = head_of(html)
    css = re.findall(r'<link rel="stylesheet" href="(/assets/[^"]+)"', head)
    assert css == ["/assets/shared.css", "/assets/b.css"]
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts == ["/assets/shared.js", "/assets/a.js"]
    assert html.count("script a</p>") == 2


def test_section_page_lists_only_its_sections_articles(demo_client: Any) -> None:
    response = demo_client.get("/pages/section/world")
    assert response.status_code == 200
    text = page_text(response.get_data(as_text=True))
    assert "Thursday, October 10, 2024" in text
    assert SEED_TITLE in text
    assert "Does Hezbollah Represent Lebanon?" in text
    assert "Dystopia" not in text  # opinion
    assert "Fossil Phaseout Pledge" not in text  # climate
