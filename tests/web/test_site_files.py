"""Site files: robots.txt, the XML sitemap (an index past its page size), the Google News
sitemap, Atom feeds, the favicon, the 404 page in the site's shell and the print stylesheet.

Each is shared with surrogate keys a content change purges, and an edit shows on the next
request. XML is checked with ``xml.etree``: well formed, in its namespaces."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Config, Flask
from flask.testing import FlaskClient
from support import SEED_PATH, SEED_SLUG, statements_run

from layoutserver.ads.config_import import import_ads_file
from layoutserver.content import service, sitemaps
from layoutserver.content.scopes import article_scopes
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.edge.keys import change_keys
from layoutserver.settings import SettingsError, load_settings

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "https://news.example.com"
#: The demo's 8 articles, all published by SITE_NOW (2024-10-10T16:00Z); 4 of them within the
#: two days before it.
ARTICLES = 8
SECTIONS = ["climate", "opinion", "technology", "us-politics", "world"]
HOSTILE = 'Breaking <script>alert("x")</script> & ]]> <![CDATA[ "quoted" \x0b end'

AppFactory = Callable[..., Flask]


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app(settings={"SITE_BASE_URL": BASE})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def parse(response: Any) -> ET.Element:
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_data()
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(body)


def locs(root: ET.Element) -> list[str]:
    return [str(loc.text) for loc in root.iter(f"{SM}loc")]


def write(app: Flask, kind: Any, key: str | None, data: dict[str, Any]) -> None:
    """Create (``key`` None) or update content through the content service, as the API does."""
    with get_database(app).session() as session:
        if key is None:
            service.create(session, "test", kind, data)
        else:
            service.update(session, "test", kind, key, data)


def article(slug: str, title: str, published_at: str, section: str = "world") -> dict[str, Any]:
    return {"slug": slug, "title": title, "body_html": "<p>Text.</p>",
            "published_at": published_at, "section": section, "excerpt": f"About {title}"}


def test_robots_txt_allows_all_and_names_the_sitemaps(client: FlaskClient,
                                                     make_app: AppFactory) -> None:
    response = client.get("/robots.txt")
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == (
        f"User-agent: *\nDisallow:\n\nSitemap: {BASE}/sitemap.xml\n"
        f"Sitemap: {BASE}/sitemap-news.xml\n")
    assert response.headers["Cache-Control"].startswith("public, max-age=3600, stale-")
    own = make_app(settings={"ROBOTS_TXT": "User-agent: *\nDisallow: /private/\n"
                                           "Sitemap: {base_url}/sitemap.xml"}).test_client()
    assert own.get("/robots.txt").get_data(as_text=True) == (
        "User-agent: *\nDisallow: /private/\nSitemap: http://localhost/sitemap.xml\n")


@pytest.mark.parametrize(("name", "value"), [
    ("SITE_FAVICON", "no-such-icon.png"), ("SITE_FAVICON", "../setup.py"),
    ("SITE_FAVICON", "/etc/passwd"), ("SITE_FAVICON", "https://x.example/a b.png"),
    ("ROBOTS_TXT", ["User-agent: *"]),
])
def test_bad_site_settings_are_refused_by_name(name: str, value: Any) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings(Config("."), {name: value})


def test_sitemap_lists_sections_and_published_articles(app: Flask, client: FlaskClient) -> None:
    write(app, "article", None, article("later", "Scheduled", "2024-10-11T09:00:00Z"))
    root = parse(client.get("/sitemap.xml"))
    assert root.tag == f"{SM}urlset"
    urls = locs(root)
    assert urls[:5] == [f"{BASE}/pages/section/{slug}" for slug in SECTIONS]
    assert len(urls) == 5 + ARTICLES
    assert f"{BASE}/pages/article/{SEED_SLUG}" in urls
    assert f"{BASE}/pages/article/later" not in urls  # not published yet
    seed = next(url for url in root if url.findtext(f"{SM}loc", "").endswith(SEED_SLUG))
    assert seed.findtext(f"{SM}lastmod") == "2024-10-10T13:00:00Z"
    # an article's last change, once it has one
    write(app, "article", SEED_SLUG, {"modified_at": "2024-10-12T07:30:00+00:00"})
    root = parse(client.get("/sitemap.xml"))
    seed = next(url for url in root if url.findtext(f"{SM}loc", "").endswith(SEED_SLUG))
    assert seed.findtext(f"{SM}lastmod") == "2024-10-12T07:30:00Z"


def test_past_its_page_size_the_sitemap_is_an_index_of_id_ranges(
        app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sitemaps, "URLS_PER_SITEMAP", 3)
    index = parse(client.get("/sitemap.xml"))
    assert index.tag == f"{SM}sitemapindex"
    names = ["sections", "articles-1", "articles-2", "articles-3"]  # ids 1-3, 4-6, 7-8
    assert locs(index) == [f"{BASE}/sitemaps/{name}.xml" for name in names]
    files = {name: parse(client.get(f"/sitemaps/{name}.xml")) for name in names}
    assert all(root.tag == f"{SM}urlset" for root in files.values())
    assert locs(files["sections"]) == [f"{BASE}/pages/section/{slug}" for slug in SECTIONS]
    articles = [locs(files[name]) for name in names[1:]]
    assert [len(urls) for urls in articles] == [3, 3, 2]
    whole = locs(ET.fromstring(app.test_client().get("/sitemap.xml").get_data()))
    assert len({url for urls in articles for url in urls}) == ARTICLES
    assert whole == locs(index)
    for missing in ("articles-4", "articles-0", "articles-01", "articles-x", "other"):
        assert client.get(f"/sitemaps/{missing}.xml").status_code == 404, missing


def test_the_sitemaps_read_ranges_never_an_offset(app: Flask, client: FlaskClient,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap at any size: the count stops past one file's worth, each file is a range of
    the primary key (or of published_at for the news), and nothing is skipped with OFFSET."""
    monkeypatch.setattr(sitemaps, "URLS_PER_SITEMAP", 3)
    with statements_run(get_database(app).engine) as statements:
        for path in ("/sitemap.xml", "/sitemaps/articles-2.xml", "/sitemap-news.xml"):
            assert client.get(path).status_code == 200
    reads = [s for s in statements if "articles" in s and "content_state" not in s]
    assert reads and not any("OFFSET" in s.upper() for s in reads)
    counts = [s for s in reads if "count(" in s.lower()]
    assert counts and all("LIMIT" in s.upper() for s in counts)
    assert any("articles.id >=" in s and "articles.id <=" in s for s in reads)


def test_news_sitemap_holds_the_last_two_days(app: Flask, client: FlaskClient,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    write(app, "article", None, article("later", "Scheduled", "2024-10-11T09:00:00Z"))
    root = parse(client.get("/sitemap-news.xml"))
    assert root.tag == f"{SM}urlset"
    entries = root.findall(f"{SM}url")
    assert [e.findtext(f"{NEWS}news/{NEWS}publication_date") for e in entries] == [
        "2024-10-10T13:00:00Z", "2024-10-10T12:00:00Z", "2024-10-09T21:00:00Z",
        "2024-10-09T13:00:00Z"]  # the fossil article, at exactly two days, is out
    first = entries[0]
    assert first.findtext(f"{SM}loc") == f"{BASE}/pages/article/{SEED_SLUG}"
    assert first.findtext(f"{NEWS}news/{NEWS}publication/{NEWS}name") == "layoutserver demo"
    assert first.findtext(f"{NEWS}news/{NEWS}publication/{NEWS}language") == "en"
    assert first.findtext(f"{NEWS}news/{NEWS}title", "").startswith("East Turkistan")
    monkeypatch.setattr(sitemaps, "NEWS_LIMIT", 2)
    write(app, "article", SEED_SLUG, {"excerpt": "a new version"})
    assert len(parse(client.get("/sitemap-news.xml")).findall(f"{SM}url")) == 2


@pytest.mark.parametrize(("locale", "language"), [
    ("en-US", "en"), ("de", "de"), ("pt_BR", "pt"), ("zh-CN", "zh-cn"), ("zh-Hant-TW", "zh-tw")])
def test_news_language_is_the_iso_639_code(locale: str, language: str) -> None:
    assert sitemaps.news_language(locale) == language


def test_feeds_are_atom_with_the_newest_articles(client: FlaskClient) -> None:
    site = parse(client.get("/feed.xml"))
    assert client.get("/feed.xml").mimetype == "application/atom+xml"
    assert site.tag == f"{ATOM}feed"
    assert site.get("{http://www.w3.org/XML/1998/namespace}lang") == "en-US"
    assert site.findtext(f"{ATOM}id") == f"{BASE}/feed.xml"
    assert site.findtext(f"{ATOM}updated") == "2024-10-10T13:00:00Z"
    assert site.findtext(f"{ATOM}author/{ATOM}name") == "layoutserver demo"
    entries = site.findall(f"{ATOM}entry")
    assert len(entries) == ARTICLES
    assert entries[0].findtext(f"{ATOM}id") == f"{BASE}/pages/article/{SEED_SLUG}"
    assert entries[0].find(f"{ATOM}link[@rel='alternate']").get("href") == (  # type: ignore[union-attr]
        f"{BASE}/pages/article/{SEED_SLUG}")
    assert entries[0].find(f"{ATOM}category").get("term") == "world"  # type: ignore[union-attr]
    world = parse(client.get("/feeds/world.xml"))
    assert world.findtext(f"{ATOM}title") == "World | layoutserver demo"
    assert world.find(f"{ATOM}link[@rel='alternate']").get("href") == (  # type: ignore[union-attr]
        f"{BASE}/pages/section/world")
    assert {e.find(f"{ATOM}category").get("term")  # type: ignore[union-attr]
            for e in world.findall(f"{ATOM}entry")} == {"world"}
    assert len(world.findall(f"{ATOM}entry")) == 3


def test_hostile_titles_are_escaped_in_feeds_and_sitemaps(app: Flask,
                                                          client: FlaskClient) -> None:
    write(app, "article", SEED_SLUG, {"title": HOSTILE, "excerpt": HOSTILE})
    expected = HOSTILE.replace("\x0b", "")  # XML 1.0 cannot carry it at all
    for path in ("/feed.xml", "/feeds/world.xml"):
        body = client.get(path).get_data()
        assert b"<script>" not in body and b"]]>" not in body and b"\x0b" not in body
        entry = parse(client.get(path)).findall(f"{ATOM}entry")[0]
        assert entry.findtext(f"{ATOM}title") == expected
        assert entry.findtext(f"{ATOM}summary") == expected
    news = parse(client.get("/sitemap-news.xml"))
    assert news.findtext(f"{SM}url/{NEWS}news/{NEWS}title") == expected
    write(app, "section", "world", {"name": "World & <Friends>"})
    assert parse(client.get("/feeds/world.xml")).findtext(f"{ATOM}title") == (
        "World & <Friends> | layoutserver demo")


SITE_FILES = ["/sitemap.xml", "/sitemaps/articles-1.xml", "/sitemap-news.xml", "/feed.xml",
              "/feeds/world.xml"]


@pytest.mark.parametrize("path", SITE_FILES)
def test_site_files_are_shared_with_keys_a_content_change_purges(
        client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["Cache-Control"] == (
        "public, max-age=120, stale-while-revalidate=30, stale-if-error=86400")
    keys = set(response.headers["Surrogate-Key"].split())
    assert keys == set(response.headers["xkey"].split())
    assert keys & set(change_keys(article_scopes("any-article")))  # an article edit
    assert keys & set(change_keys(None))  # a section or author change
    if path == "/feeds/world.xml":
        assert "section:world" in keys
    etag = response.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith('W/')
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_an_edit_or_a_publication_shows_on_the_next_request(app: Flask,
                                                            client: FlaskClient) -> None:
    first = {path: client.get(path) for path in SITE_FILES}
    warm = client.get("/feed.xml")
    assert 'site file hit' in warm.headers["Server-Timing"]
    assert warm.headers["ETag"] == first["/feed.xml"].headers["ETag"]
    write(app, "editorial_list", "must-read", {"title": "Read this"})  # in no site file
    assert 'site file hit' in client.get("/feed.xml").headers["Server-Timing"]
    write(app, "article", SEED_SLUG, {"title": "Edited title"})
    for path in ("/sitemap-news.xml", "/feed.xml", "/feeds/world.xml"):
        response = client.get(path)
        assert response.headers["ETag"] != first[path].headers["ETag"], path
        assert b"Edited title" in response.get_data(), path
    write(app, "article", None, article("fresh", "Just published", "2024-10-10T15:00:00Z"))
    for path in SITE_FILES:
        response = client.get(path)
        assert f"{BASE}/pages/article/fresh".encode() in response.get_data(), path


def test_an_unknown_sections_feed_is_a_brief_404_purged_when_it_appears(
        app: Flask, client: FlaskClient) -> None:
    missing = client.get("/feeds/sport.xml", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    assert missing.headers["Cache-Control"] == "public, max-age=10"
    keys = set(missing.headers["Surrogate-Key"].split())
    assert keys & set(change_keys(None))  # creating a section purges it
    assert client.get("/feeds/Not_A_Slug.xml").status_code == 404
    write(app, "section", None, {"slug": "sport", "name": "Sport"})
    assert parse(client.get("/feeds/sport.xml")).findtext(f"{ATOM}title") == (
        "Sport | layoutserver demo")


def test_the_favicon_is_linked_from_pages_and_served_at_favicon_ico(
        client: FlaskClient, make_app: AppFactory) -> None:
    html = client.get(SEED_PATH).get_data(as_text=True)
    linked = re.search(r'<link rel="icon" href="(/assets/[0-9a-f]{12}/favicon\.svg)">', html)
    assert linked is not None  # at its fingerprinted URL
    redirect = client.get("/favicon.ico")
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == linked.group(1)
    assert redirect.headers["Cache-Control"].startswith("public, max-age=3600")
    icon = client.get(linked.group(1))
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert icon.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    remote = make_app(settings={"SITE_FAVICON": "https://cdn.example.com/icon.png"})
    assert '<link rel="icon" href="https://cdn.example.com/icon.png">' in (
        remote.test_client().get(SEED_PATH).get_data(as_text=True))
    none = make_app(settings={"SITE_FAVICON": ""}).test_client()
    assert 'rel="icon"' not in none.get(SEED_PATH).get_data(as_text=True)
    assert none.get("/favicon.ico").status_code == 404


FEED_LINK = re.compile(r'<link rel="alternate" type="application/atom\+xml" title="([^"]*)" '
                       r'href="([^"]*)">')


def feed_links(client: FlaskClient, path: str) -> list[tuple[str, str]]:
    html = client.get(path).get_data(as_text=True)
    head = html[:html.index("</head>")]
    return [(title.replace("&amp;", "&").replace("&#34;", '"'), href)
            for title, href in FEED_LINK.findall(head)]


def test_page_heads_name_the_site_feed_and_their_sections(app: Flask,
                                                          client: FlaskClient) -> None:
    site = get_core(app).config["SITE_NAME"]
    write(app, "section", "world", {"name": 'World & "Foreign"'})
    section_feed = ('World & "Foreign" | ' + site, "/feeds/world.xml")
    assert feed_links(client, SEED_PATH) == [(site, "/feed.xml"), section_feed]
    assert feed_links(client, "/pages/section/world") == [(site, "/feed.xml"), section_feed]
    for _, href in (section_feed, (site, "/feed.xml")):
        feed = parse(client.get(href))
        assert feed.tag == f"{ATOM}feed"
    # the article moves: its page names its new section's feed
    write(app, "article", SEED_SLUG, {"section": "climate"})
    assert feed_links(client, SEED_PATH)[1][1] == "/feeds/climate.xml"


def test_the_404_page_is_in_the_sites_shell(client: FlaskClient) -> None:
    missing = client.get("/pages/article/no-such-article", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    html = missing.get_data(as_text=True)
    shell = ['<html lang="en-US">', "<title>404 Not Found | layoutserver demo</title>",
             '<link rel="stylesheet" href="/assets/',
             '/layoutserver.css">', '<link rel="icon" href="/assets/', '/favicon.svg">',
             '<body class="ls-page ls-page--error">',
             f'<p class="ls-masthead"><a href="{BASE}/">layoutserver demo</a></p>',
             "<h1>404 Not Found</h1>", "no-such-article",
             '<footer class="ls-region ls-region--footer ls-footer">',
             '<meta name="robots" content="noindex">']
    assert [part for part in shell if part not in html] == []
    # still briefly cacheable with the subject's keys, as a missing article's 404 is
    assert missing.headers["Cache-Control"] == "public, max-age=10"
    assert "article:no-such-article" in missing.headers["Surrogate-Key"].split()
    other = client.get("/no/such/path", headers={"Accept": "text/html"})
    assert other.status_code == 404 and "ls-masthead" in other.get_data(as_text=True)
    assert other.headers["Cache-Control"] == "no-store"


DEMO_ADS = Path(__file__).resolve().parents[2] / "layoutserver" / "demo" / "ads.json"


@pytest.fixture(params=["server", "client"])
def print_page(request: Any, make_app: AppFactory, live_server: Any, browser: Any
               ) -> Iterator[Any]:
    """The seed page with the demo's ads, rendered here or filled by ads.js."""
    app = make_app(settings={"SECRET_KEY": "print-secret", "ADS_SEED": 7,
                             "ADS_DELIVERY": request.param})
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    server = live_server(app)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.url + SEED_PATH)
    page.locator(".ad-spot").first.wait_for(state="attached")
    yield page
    context.close()


SHOWN = """selector => Array.from(document.querySelectorAll(selector)).map(element => {
  const box = element.getBoundingClientRect();
  return getComputedStyle(element).display !== 'none' && box.width > 0 && box.height > 0;
})"""


def test_print_hides_ads_and_widget_chrome_and_keeps_the_article(print_page: Any) -> None:
    page = print_page
    on_screen = page.evaluate(SHOWN, ".ad-spot")
    assert len(on_screen) == 5 and all(on_screen)
    assert all(page.evaluate(SHOWN, ".date-bar"))
    page.emulate_media(media="print")
    for chrome in (".ad-spot", ".ad-slot", ".ls-widget--ad_spot", ".date-bar", ".news-list",
                   ".ls-region--aside", ".author-box__avatar"):
        assert not any(page.evaluate(SHOWN, chrome)), chrome
    assert page.evaluate(SHOWN, ".article-body__title") == [True]
    paragraphs = page.evaluate(SHOWN, ".article-body__text p")
    assert paragraphs and all(paragraphs)
    assert all(page.evaluate(SHOWN, ".author-box__name"))
    # one column, the whole width: the article is not squeezed beside an empty aside
    width = page.evaluate("document.querySelector('.article-body').getBoundingClientRect().width")
    assert width > 0.9 * page.evaluate("document.body.getBoundingClientRect().width")
