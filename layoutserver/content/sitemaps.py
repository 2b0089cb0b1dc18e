"""XML sitemaps (sitemaps.org 0.9) and the Google News sitemap, with their queries.

``/sitemap.xml`` is one urlset of every section and published article while they are at most
:data:`URLS_PER_SITEMAP` URLs; past that it is a sitemap index naming ``sections.xml`` and one
``articles-N.xml`` per block of :data:`URLS_PER_SITEMAP` article ids (block N holds the ids
``(N - 1) * size + 1`` to ``N * size``). A block is a range of the primary key, so each file is
one index range scan however many articles there are, an article stays in the same file for
good, and no query counts or skips more than one file's rows. The news sitemap holds the
articles published in the last :data:`NEWS_WINDOW`, newest first, at most :data:`NEWS_LIMIT`
(Google's limits), read by a range of the indexed ``published_at``.

Articles scheduled for later are left out until their time. No Flask here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from layoutserver.content.models import Article, Section
from layoutserver.content.site_xml import SiteUrls, XmlWriter, w3c_datetime
from layoutserver.db import Database

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"

URLS_PER_SITEMAP = 50_000
NEWS_WINDOW = timedelta(days=2)
NEWS_LIMIT = 1000


class SitemapSource:
    """The queries behind the sitemaps, each on a connection of its own."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def _rows(self, query: Any, **parameters: Any) -> list[Any]:
        with self._database.reading() as connection:
            return list(connection.execute(query, parameters).all())

    def published_count(self, now: datetime, at_most: int) -> int:
        """Published articles, counted up to ``at_most`` (the count stops there)."""
        some = select(Article.id).where(Article.published_at <= now).limit(at_most).subquery()
        with self._database.reading() as connection:
            return int(connection.scalar(select(func.count()).select_from(some)) or 0)

    def last_article_id(self) -> int:
        with self._database.reading() as connection:
            return int(connection.scalar(select(func.max(Article.id))) or 0)

    def articles(self, now: datetime, first_id: int, last_id: int) -> list[Any]:
        """(slug, last change: modified_at or published_at) of the published articles whose
        ids are in the range."""
        return self._rows(
            select(Article.slug, func.coalesce(Article.modified_at, Article.published_at))
            .where(Article.id >= first_id, Article.id <= last_id, Article.published_at <= now)
            .order_by(Article.id))

    def sections(self) -> list[str]:
        return [row[0] for row in self._rows(select(Section.slug).order_by(Section.slug))]

    def news(self, now: datetime) -> list[Any]:
        """(slug, title, published_at) of the articles of the news window, newest first."""
        return self._rows(
            select(Article.slug, Article.title, Article.published_at)
            .where(Article.published_at > now - NEWS_WINDOW, Article.published_at <= now)
            .order_by(Article.published_at.desc(), Article.id.desc())
            .limit(NEWS_LIMIT))


def sitemap(source: SitemapSource, urls: SiteUrls, now: datetime,
            size: int = URLS_PER_SITEMAP) -> bytes:
    """``/sitemap.xml``: the urlset of everything, or the index of the files past ``size``."""
    sections = source.sections() if urls.section_page_type else []
    articles = source.published_count(now, size + 1) if urls.article_page_type else 0
    xml = XmlWriter()
    if len(sections) + articles <= size:
        with xml.element("urlset", {"xmlns": SITEMAP_NS}):
            _sections(xml, urls, sections)
            if articles:
                _articles(xml, urls, source.articles(now, 1, source.last_article_id()))
        return xml.done()
    names = ["sections"] if sections else []
    names += [f"articles-{n}" for n in range(1, article_files(source, size) + 1)]
    with xml.element("sitemapindex", {"xmlns": SITEMAP_NS}):
        for name in names:
            with xml.element("sitemap"):
                xml.leaf("loc", urls.absolute(f"/sitemaps/{name}.xml"))
    return xml.done()


def article_files(source: SitemapSource, size: int = URLS_PER_SITEMAP) -> int:
    """How many ``articles-N.xml`` files the index names."""
    return -(-source.last_article_id() // size)


def sitemap_file(source: SitemapSource, urls: SiteUrls, now: datetime, name: str,
                 size: int = URLS_PER_SITEMAP) -> bytes | None:
    """One file of the index (``sections`` or ``articles-N``); None for no such file."""
    xml = XmlWriter()
    if name == "sections" and urls.section_page_type:
        with xml.element("urlset", {"xmlns": SITEMAP_NS}):
            _sections(xml, urls, source.sections())
        return xml.done()
    number = name.removeprefix("articles-")
    if (not urls.article_page_type or number == name or not number.isdigit()
            or number.startswith("0") or int(number) > article_files(source, size)):
        return None
    first = (int(number) - 1) * size + 1
    with xml.element("urlset", {"xmlns": SITEMAP_NS}):
        _articles(xml, urls, source.articles(now, first, first + size - 1))
    return xml.done()


def news_sitemap(source: SitemapSource, urls: SiteUrls, now: datetime, publication: str,
                 locale: str) -> bytes:
    """``/sitemap-news.xml``: the articles of the last two days, as Google News reads them."""
    language = news_language(locale)
    xml = XmlWriter()
    with xml.element("urlset", {"xmlns": SITEMAP_NS, "xmlns:news": NEWS_NS}):
        for slug, title, published_at in source.news(now) if urls.article_page_type else []:
            with xml.element("url"):
                xml.leaf("loc", urls.article(slug))
                with xml.element("news:news"):
                    with xml.element("news:publication"):
                        xml.leaf("news:name", publication)
                        xml.leaf("news:language", language)
                    xml.leaf("news:publication_date", w3c_datetime(published_at))
                    xml.leaf("news:title", title)
    return xml.done()


def news_language(locale: str) -> str:
    """The ISO 639 code Google News wants: ``en`` of ``en-US``; ``zh-cn`` and ``zh-tw`` whole."""
    code = locale.replace("_", "-").lower()
    if code.startswith(("zh-cn", "zh-hans")):
        return "zh-cn"
    if code.startswith(("zh-tw", "zh-hant")):
        return "zh-tw"
    return code.split("-")[0]


def _sections(xml: XmlWriter, urls: SiteUrls, slugs: list[str]) -> None:
    for slug in slugs:
        with xml.element("url"):
            xml.leaf("loc", urls.section(slug))


def _articles(xml: XmlWriter, urls: SiteUrls, rows: list[Any]) -> None:
    for slug, changed_at in rows:  # up to 50,000: no context manager per URL
        xml.start("url")
        xml.leaf("loc", urls.article(slug))
        xml.leaf("lastmod", w3c_datetime(changed_at))
        xml.end("url")
