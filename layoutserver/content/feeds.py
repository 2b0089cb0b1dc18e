"""Atom feeds (RFC 4287) of the newest articles: the whole site's and one per section.

Atom rather than RSS 2.0: every entry has a required permanent id and an ``updated`` time in
RFC 3339 (the sitemaps' format), text constructs say whether they are text or HTML (RSS leaves
the escaping of ``description`` to guesswork), and ``xml:lang`` and a ``self`` link are part of
the format. Every feed reader and aggregator reads it. No Flask here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime

from layoutserver.content.site_xml import SiteUrls, child, document, w3c_datetime
from layoutserver.content.views import ArticleSummary

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

#: Entries of a feed: the newest published articles.
FEED_ENTRIES = 20


def atom_feed(*, urls: SiteUrls, self_path: str, title: str, page_url: str | None,
              site_name: str, locale: str, articles: Sequence[ArticleSummary], now: datetime
              ) -> bytes:
    """The feed at ``self_path`` of ``articles`` (newest first); ``page_url``: the HTML page
    it follows (a section front), if there is one. Its ``updated`` is the newest article's
    date (``now`` when there is none), so the same articles make the same document."""
    feed = ET.Element("feed", {"xmlns": ATOM_NS, XML_LANG: locale})
    self_url = urls.absolute(self_path)
    child(feed, "id", self_url)
    child(feed, "title", title)
    child(feed, "updated",
          w3c_datetime(articles[0].published_at if articles else now))
    child(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    if page_url is not None:
        child(feed, "link", rel="alternate", type="text/html", href=page_url)
    author = child(feed, "author")
    child(author, "name", site_name)
    for article in articles:
        url = urls.article(article.slug)
        if url is None:
            continue
        entry = child(feed, "entry")
        child(entry, "id", url)
        child(entry, "title", article.title, type="text")
        child(entry, "link", rel="alternate", type="text/html", href=url)
        published = w3c_datetime(article.published_at)
        child(entry, "published", published)
        child(entry, "updated", published)
        if article.section is not None:
            child(entry, "category", term=article.section.slug,
                  label=article.section.name)
        if article.excerpt:
            child(entry, "summary", article.excerpt, type="text")
    return document(feed)
