"""Each region and each placed widget of a page type as a Podium podlet (@podium/client 5).

For the region ``main`` of ``article`` (a widget: ``widget/<placement id>``):

* ``/podlets/article/region/main/manifest.json``: the manifest (``name``, ``version``,
  ``content``, ``fallback``, ``css``, ``js``; URLs absolute). A layout registers this URL once
  and asks for one article with ``podlet.fetch(incoming, {pathname: slug})``;
* ``/podlets/article/region/main/content/<slug>``: the region, as ``/fragments/...`` answers it
  (the same body, the same caching), with the ``podlet-version`` header;
* ``/podlets/article/region/main/fallback``: what the layout shows while the podlet fails: the
  region's element with each placement's wrapper empty and each ad slot an empty, reserved
  ``<div data-slot>``, so the page keeps its shape.

The client keeps a manifest and its fallback until a content response's ``podlet-version``
differs from the manifest's ``version``; then it fetches both again. The version is a digest of
what they are made of: the layout file, layoutserver's version, the versions of the widgets
inside and their assets' digests. Each process works it out once per podlet.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from flask import Blueprint, Flask, Response, request
from markupsafe import Markup

from layoutserver.core import Core
from layoutserver.layouts import Layout, Placement
from layoutserver.render.assembly import assets_of, region_html
from layoutserver.render.holes import slot_divs, slot_rooms
from layoutserver.render.renderer import INCLUDE_POLICY, wrap
from layoutserver.render.shell import strong_etag
from layoutserver.web import fragment_errors
from layoutserver.web.assets import get_assets, page_assets
from layoutserver.web.fragment_links import add_links, fragment_assets
from layoutserver.web.pages import (
    known_layout,
    known_placement,
    region_parts,
    region_response,
    widget_response,
)
from layoutserver.web.responses import finish

blueprint = Blueprint("podium", __name__)
VERSION_HEADER = "podlet-version"
PODLET = "/podlets/<page_type>/<any(region, widget):kind>/<name>"
NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@blueprint.get(f"{PODLET}/manifest.json")
def manifest(page_type: str, kind: str, name: str) -> Response:
    core, layout, placements = _podlet(page_type, kind, name)
    assets = fragment_assets(core, placements)
    # where the client fetched this manifest: it reaches the content and fallback there too
    here = f"{request.url_root.rstrip('/')}/podlets/{page_type}/{kind}/{name}"
    document = {
        "name": podlet_name(page_type, kind, name),
        "version": podlet_version(core, layout, kind, name, placements),
        # the client appends the slug it is given (``pathname``) to this
        "content": f"{here}/content",
        "fallback": f"{here}/fallback",
        "css": [{"value": url, "type": "text/css", "rel": "stylesheet"} for url in assets.css],
        "js": [{"value": url, "defer": True} for url in assets.js],
    }
    body = json.dumps(document).encode()
    # no-cache: a cache in between asks again each time; the client keeps the manifest by its
    # version (a max-age would make it drop the manifest, and with it the fallback).
    return finish(body, "application/json", "total;dur=0", strong_etag(body),
                  headers=[("Cache-Control", "no-cache")], environ=request.environ)


@blueprint.get(f"{PODLET}/content/<slug>")
def content(page_type: str, kind: str, name: str, slug: str) -> Response:
    core, layout, placements = _podlet(page_type, kind, name)
    response = (region_response(page_type, slug, name) if kind == "region" else
                widget_response(page_type, slug, name))
    response.headers[VERSION_HEADER] = podlet_version(core, layout, kind, name, placements)
    return response


@blueprint.get(f"{PODLET}/fallback")
def fallback(page_type: str, kind: str, name: str) -> Response:
    core, layout, placements = _podlet(page_type, kind, name)
    rooms = slot_rooms(core.ads, placements)
    empty = [wrap(p, slot_divs(p.ad_slots, rooms), "fallback", 0.0, INCLUDE_POLICY)
             for p in placements]
    if kind == "region":
        region = layout.region(name)
        assert region is not None  # _podlet found it
        html = region_html(region, [item.html for item in empty])
    else:
        html = Markup("").join(item.html for item in empty)
    body = str(html).encode()
    response = finish(body, "text/html", "total;dur=0", strong_etag(body),
                      headers=[("Cache-Control", "no-cache"),
                               (VERSION_HEADER,
                                podlet_version(core, layout, kind, name, placements))],
                      environ=request.environ)
    return add_links(response, core, placements)


def podlet_name(page_type: str, kind: str, name: str) -> str:
    """The manifest's name (Podium allows letters, digits, ``_`` and ``-``)."""
    return NAME_UNSAFE.sub("_", f"{page_type}-{kind}-{name}")[:100]


def podlet_version(core: Core, layout: Layout, kind: str, name: str,
                   placements: Sequence[Placement]) -> str:
    widgets = []
    for placement in placements:
        installed = core.registry.get(placement.widget)
        widgets.append(f"{placement.widget}={installed.widget.version if installed else '-'}")
    assets = page_assets(get_assets(),
                         assets_of(core.registry, tuple(p.widget for p in placements)))
    return _version(layout.digest, kind, name, tuple(widgets), (*assets.css, *assets.js))


@functools.lru_cache(maxsize=512)
def _version(layout_digest: str, kind: str, name: str, widgets: tuple[str, ...],
             assets: tuple[str, ...]) -> str:
    text = "\n".join((_package_version(), layout_digest, kind, name, *widgets, *assets))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.cache
def _package_version() -> str:
    try:
        return version("layoutserver")
    except PackageNotFoundError:
        return "unknown"


def _podlet(page_type: str, kind: str, name: str
            ) -> tuple[Core, Layout, Sequence[Placement]]:
    """The page type's layout and the podlet's placements (a missing one: NoSuchFragment)."""
    core, layout = known_layout(page_type)
    if kind == "region":
        placements, _ = region_parts(layout, name)
        return core, layout, placements
    return core, layout, [known_placement(layout, name)]


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
    fragment_errors.init_app(app, ("/podlets/",), ("podium.content", "podium.fallback"))
