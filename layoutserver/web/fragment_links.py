"""The assets of an included fragment (a region, a placed widget, a podlet) as absolute URLs,
and as the ``Link`` header Zalando Tailor reads.

Tailor (node-tailor) writes a ``<link rel="stylesheet">`` for each ``rel="stylesheet"`` of a
fragment's ``Link`` header and loads each ``rel="fragment-script"`` with its AMD loader, at most
``maxAssetLinks`` of each per fragment (1 unless configured: docs/edge.md). The host page is
not ours, so the URLs are absolute: ``SITE_BASE_URL``, else the URL the request came to, then
the fingerprinted path (``web/assets.py``). Each fragment lists the core stylesheet too: any
one of them may be the only fragment of ours on a page.

A response's assets follow from its placements alone (the layout and the installed widgets,
fixed for a process), so each list is worked out once per placements and base URL.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from flask import Response

from layoutserver.core import Core
from layoutserver.layouts import Placement
from layoutserver.registry import WidgetRegistry
from layoutserver.render.assembly import assets_of
from layoutserver.web.assets import StaticFiles, get_assets, page_assets
from layoutserver.web.site_urls import base_url
from layoutserver.widgets import Assets


def fragment_assets(core: Core, placements: Sequence[Placement]) -> Assets:
    """Every asset the placements need, in load order, at absolute fingerprinted URLs."""
    return _absolute_assets(get_assets(), core.registry,
                            tuple(p.widget for p in placements), base_url())


def add_links(response: Response, core: Core, placements: Sequence[Placement]) -> Response:
    """``response`` with a ``Link`` header naming the placements' stylesheets and scripts."""
    response.headers["Link"] = _link_value(fragment_assets(core, placements))
    return response


@functools.lru_cache(maxsize=256)
def _absolute_assets(files: StaticFiles, registry: WidgetRegistry, widgets: tuple[str, ...],
                     base: str) -> Assets:
    found = page_assets(files, assets_of(registry, widgets))
    return Assets(css=tuple(absolute(base, url) for url in found.css),
                  js=tuple(absolute(base, url) for url in found.js))


@functools.lru_cache(maxsize=256)
def _link_value(assets: Assets) -> str:
    return ", ".join([*(f'<{url}>; rel="stylesheet"' for url in assets.css),
                      *(f'<{url}>; rel="fragment-script"' for url in assets.js)])


def absolute(base: str, url: str) -> str:
    """``url`` (a path of this site, or already absolute) as an absolute URL."""
    if url.startswith(("http://", "https://", "//")):
        return url
    return base + url
