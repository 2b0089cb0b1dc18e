"""Atom feeds (RFC 4287) of the newest articles: the whole site's and one per section.

Atom rather than RSS 2.0: every entry has a required permanent id and an ``updated`` time in
RFC 3339 (the sitemaps' format), text constructs say whether they are text or HTML (RSS leaves
the escaping of ``description`` to guesswork), and ``xml:lang`` and a ``self`` link are part of
the format. Every feed reader and aggregator reads it. No Flask here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from layoutserver.content.site_xml import SiteUrls, XmlWriter, w3c_datetime
from layoutserver.content.views import ArticleSummary

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml"

#: Entries of a feed: the newest published articles.
FEED_ENTRIES = 20


def atom_feed(*, urls: SiteUrls, self_path: str, title: str, page_url: str | None,
              site_name: str, locale: str, articles: Sequence[ArticleSummary], now: datetime
              ) -> bytes:
    """The feed at ``self_path`` of ``articles`` (newest first); ``page_url``: the HTML page
    it follows (a section front), if there is one. Its ``updated`` is the newest article's
    date (``now`` when there is none), so the same articles make the same document."""
    self_url = urls.absolute(self_path)
    xml = XmlWriter()
    with xml.element("feed", {"xmlns": ATOM_NS, "xml:lang": locale}):
        xml.leaf("id", self_url)
        xml.leaf("title", title, {"type": "text"})
        xml.leaf("updated", w3c_datetime(articles[0].published_at if articles else now))
        xml.leaf("link", attributes={"rel": "self", "type": ATOM_TYPE, "href": self_url})
        if page_url is not None:
            xml.leaf("link", attributes={"rel": "alternate", "type": "text/html",
                                         "href": page_url})
        with xml.element("author"):
            xml.leaf("name", site_name)
        for article in articles if urls.article_page_type else ():
            _entry(xml, urls.article(article.slug), article)
    return xml.done()


def _entry(xml: XmlWriter, url: str, article: ArticleSummary) -> None:
    with xml.element("entry"):
        xml.leaf("id", url)
        xml.leaf("title", article.title, {"type": "text"})
        xml.leaf("link", attributes={"rel": "alternate", "type": "text/html", "href": url})
        published = w3c_datetime(article.published_at)
        xml.leaf("published", published)
        xml.leaf("updated", published)
        if article.section is not None:
            xml.leaf("category", attributes={"term": article.section.slug,
                                             "label": article.section.name})
        if article.excerpt:
            xml.leaf("summary", article.excerpt, {"type": "text"})
