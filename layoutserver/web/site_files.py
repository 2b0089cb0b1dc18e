"""The files a site serves beside its pages: ``/robots.txt``, ``/sitemap.xml`` (and its files
under ``/sitemaps/``), ``/sitemap-news.xml``, the Atom feeds ``/feed.xml`` and
``/feeds/<section>.xml``, and ``/favicon.ico``.

Each is shared like a page without holes: ``public`` with ``stale-*``, a strong ETag (304 on
a match) and surrogate keys a content change purges (``edge.keys.listing_keys``). The bodies
built from content are kept in the fragment cache under the versions of the content scopes
those keys name (``all``, ``articles``), so an edit shows on the next request; an article
scheduled for later shows within :data:`CONTENT_FILE_TTL`. The builders are Flask-free
(``content/sitemaps.py``, ``content/feeds.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, current_app, request

from layoutserver.content import sitemaps
from layoutserver.content.feeds import ATOM_TYPE, FEED_ENTRIES, atom_feed
from layoutserver.content.scopes import ALL
from layoutserver.content.site_xml import SiteUrls
from layoutserver.content.sitemaps import SitemapSource
from layoutserver.core import Core, get_core
from layoutserver.db import get_database
from layoutserver.edge.keys import listing_keys
from layoutserver.render.shell import strong_etag
from layoutserver.web.pages import SLUG
from layoutserver.web.responses import finish
from layoutserver.web.serving import PageNotFound, shared_headers
from layoutserver.web.site_urls import base_url, favicon_href

blueprint = Blueprint("site_files", __name__)

#: How long sitemaps and feeds may be kept: the longest a scheduled article waits to be in them.
CONTENT_FILE_TTL = 120
#: How long robots.txt and the favicon redirect may be kept (they change with a deploy).
SETTINGS_FILE_TTL = 3600

XML = "application/xml"

DEFAULT_ROBOTS_TXT = """\
User-agent: *
Disallow:

Sitemap: {base_url}/sitemap.xml
Sitemap: {base_url}/sitemap-news.xml
"""


@blueprint.get("/robots.txt")
def robots_txt() -> Response:
    configured = current_app.config["ROBOTS_TXT"]
    text = (DEFAULT_ROBOTS_TXT if configured is None else configured).replace(
        "{base_url}", base_url())
    body = (text if text.endswith("\n") or not text else text + "\n").encode()
    return _response(body, "text/plain", SETTINGS_FILE_TTL, (ALL,), "settings")


@blueprint.get("/favicon.ico")
def favicon() -> Response:
    href = favicon_href()
    if not href:
        abort(404, "This site has no icon (SITE_FAVICON).")
    return Response(status=302, headers=[
        ("Location", href), *shared_headers(current_app.config, SETTINGS_FILE_TTL, (ALL,))])


@blueprint.get("/sitemap.xml")
def sitemap() -> Response:
    return _content_file("sitemap", XML, listing_keys(), lambda core, urls, now: sitemaps.sitemap(
        _source(), urls, now, sitemaps.URLS_PER_SITEMAP))


@blueprint.get("/sitemaps/<name>.xml")
def sitemap_file(name: str) -> Response:
    def build(core: Core, urls: SiteUrls, now: Any) -> bytes | None:
        return sitemaps.sitemap_file(_source(), urls, now, name, sitemaps.URLS_PER_SITEMAP)

    return _content_file(f"sitemaps/{name}", XML, listing_keys(), build)


@blueprint.get("/sitemap-news.xml")
def news_sitemap() -> Response:
    return _content_file("sitemap-news", XML, listing_keys(),
                         lambda core, urls, now: sitemaps.news_sitemap(
                             _source(), urls, now, core.config["SITE_NAME"],
                             core.config["SITE_LOCALE"]))


@blueprint.get("/feed.xml")
def site_feed() -> Response:
    def build(core: Core, urls: SiteUrls, now: Any) -> bytes:
        return atom_feed(urls=urls, self_path="/feed.xml", title=core.config["SITE_NAME"],
                         page_url=None, site_name=core.config["SITE_NAME"],
                         locale=core.config["SITE_LOCALE"], now=now,
                         articles=core.content.latest_articles(FEED_ENTRIES,
                                                               published_before=now))

    return _content_file("feed", ATOM_TYPE, listing_keys(), build)


@blueprint.get("/feeds/<slug>.xml")
def section_feed(slug: str) -> Response:
    keys = listing_keys(slug)

    def build(core: Core, urls: SiteUrls, now: Any) -> bytes | None:
        section = core.content.section(slug)
        if section is None:
            return None
        site_name = core.config["SITE_NAME"]
        return atom_feed(urls=urls, self_path=f"/feeds/{slug}.xml",
                         title=f"{section.name} | {site_name}", page_url=urls.section(slug),
                         site_name=site_name, locale=core.config["SITE_LOCALE"], now=now,
                         articles=core.content.latest_articles(
                             FEED_ENTRIES, section=slug, published_before=now))

    if not SLUG.match(slug) or len(slug) > 200:
        abort(404, f"No section {slug!r}.")
    return _content_file(f"feeds/{slug}", ATOM_TYPE, keys, build, missing=f"No section {slug!r}.")


Build = Callable[[Core, SiteUrls, Any], bytes | None]


def _content_file(name: str, mimetype: str, keys: tuple[str, ...], build: Build,
                  missing: str = "") -> Response:
    """A file built from content, kept in the fragment cache under the versions of the content
    it shows and the base URL; ``build`` answering None is a 404 (with ``missing``, its text:
    a file that content may create, briefly cacheable under ``keys``, purged when it appears)."""
    core = get_core()
    urls = _urls(core)
    fragments = core.fragments
    # keyed by the versions of the scopes its keys name: an edit of an editorial list, which
    # no site file shows, leaves them cached
    scopes = core.content.scope_versions(core.content.version())
    key = fragments.key("site-file", name, urls.base, urls.article_page_type,
                        urls.section_page_type, *[f"{k}={scopes.get(k, 0)}" for k in keys])
    cached = fragments.get(key) if fragments.enabled else None
    outcome = "hit"
    if not isinstance(cached, tuple):
        outcome = "miss"
        cached = (build(core, urls, core.site_view().now),)
        if fragments.enabled:
            fragments.set(key, cached, CONTENT_FILE_TTL)
    body = cached[0]
    if body is None:
        if not missing:
            abort(404, f"No /{name}.xml here.")
        raise PageNotFound(missing, keys)
    return _response(body, mimetype, CONTENT_FILE_TTL, keys, outcome)


def _response(body: bytes, mimetype: str, ttl: int, keys: tuple[str, ...], outcome: str
              ) -> Response:
    return finish(body, mimetype, f'total;desc="site file {outcome}"', strong_etag(body),
                  headers=shared_headers(current_app.config, ttl, keys),
                  environ=request.environ)


def _source() -> SitemapSource:
    return SitemapSource(get_database())


def _urls(core: Core) -> SiteUrls:
    """The site's URLs: the page types that show articles and sections (the one named after
    its subject, else the first)."""
    types: dict[str, str] = {}
    for layout in sorted(core.layouts, key=lambda layout: layout.page_type != layout.subject):
        types.setdefault(layout.subject, layout.page_type)
    return SiteUrls(base_url(), types.get("article"), types.get("section"))
