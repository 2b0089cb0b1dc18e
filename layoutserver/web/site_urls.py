"""The site's own URLs, from its settings and the request: its base URL and its icon."""

from __future__ import annotations

from flask import current_app, request, url_for

from layoutserver.web.assets import get_assets


def base_url() -> str:
    """The site's base URL, without a trailing slash: ``SITE_BASE_URL``, else the URL this
    request came to."""
    return str(current_app.config["SITE_BASE_URL"] or request.url_root).rstrip("/")


def favicon_href() -> str:
    """The ``<link rel="icon">`` URL of ``SITE_FAVICON`` ("" for none)."""
    favicon = str(current_app.config["SITE_FAVICON"] or "")
    if not favicon or favicon.startswith(("http://", "https://")):
        return favicon
    try:
        return get_assets().core_url(favicon)
    except FileNotFoundError:
        return url_for("static", filename=favicon)
