"""Site-facing routes: a whole page, one region, all regions as JSON, or one placed widget (and
the shared parts of a page or region that an edge doing ESI keeps).

Each route names its representation (``page``, ``region:NAME``, ``widget:ID``, ``json``: which
placements of the request's plan it shows, ``layouts.plans.select``) and how to build its body;
``serving.serve`` does the rest (see there).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from flask import Blueprint, Response, abort, current_app, request, send_from_directory, url_for
from markupsafe import Markup

from layoutserver.content.schemas import SLUG_PATTERN
from layoutserver.core import Core, get_core
from layoutserver.layouts import Layout, Placement
from layoutserver.layouts.plans import plans_of, shown_anywhere
from layoutserver.render.assembly import Assembly
from layoutserver.render.page import Builder, EdgePart, PagePipeline
from layoutserver.web.assets import get_assets, linked, page_assets
from layoutserver.web.fragment_errors import NoSuchFragment
from layoutserver.web.fragment_links import add_links
from layoutserver.web.serving import serve
from layoutserver.web.site_urls import favicon_href
from layoutserver.widgets import ArticleView, SectionView

blueprint = Blueprint("pages", __name__)
PIPELINE_KEY = "layoutserver.pages"

SLUG = re.compile(SLUG_PATTERN)


@blueprint.get("/pages/<page_type>/<slug>")
def page(page_type: str, slug: str) -> Response:
    core, layout = _layout(page_type, slug)
    return serve(core, _pipeline(), layout, slug, "page", _page_builder(core))


#: The endpoints other pages include (their errors are short: web/fragment_errors.py).
INCLUDED_ENDPOINTS = ("pages.region_fragment", "pages.widget")


@blueprint.get("/fragments/<page_type>/<slug>/<region>")
def region_fragment(page_type: str, slug: str, region: str) -> Response:
    """One region's HTML, with its assets as ``Link`` headers (for Tailor)."""
    return region_response(page_type, slug, region)


def region_response(page_type: str, slug: str, region: str) -> Response:
    core, layout = _layout(page_type, slug)
    build = region_builder(layout, region)
    representation = f"region:{region}"
    return add_links(serve(core, _pipeline(), layout, slug, representation, build), core,
                     shown_anywhere(layout, representation))


@blueprint.get("/parts/<page_type>/<slug>/<representation>/<structure>/<int:index>")
def part(page_type: str, slug: str, representation: str, structure: str, index: int
         ) -> Response:
    """One shared piece of a page or region, for the frames an edge doing ESI assembles
    (``render/shell.py``); its URL is made by the frame, never by hand."""
    core, layout = _layout(page_type, slug)
    if representation == "page":
        build = _page_builder(core)
    elif representation.startswith("region:"):
        build = region_builder(layout, representation.removeprefix("region:"))
    else:
        abort(404, f"No part of a {representation!r}: parts are of 'page' or 'region:NAME'.")
    return serve(core, _pipeline(), layout, slug, representation, build,
                 part=EdgePart(structure, index))


def _page_builder(core: Core) -> Builder:
    def build(assembly: Assembly) -> tuple[bytes, str]:
        widget_assets = assembly.assets(core.registry)
        files = get_assets()
        inline = core.config["PAGE_CSS"] == "inline"
        css = widget_assets.css
        needed = page_assets(files, widget_assets)
        # The template straight from the Jinja environment: render_template's signals and
        # context processors cost more than this page needs on every uncached render.
        html = current_app.jinja_env.get_template("page.html").render(
            layout=assembly.layout,
            title=_title(assembly),
            site_name=core.config["SITE_NAME"],
            locale=core.config["SITE_LOCALE"],
            favicon=favicon_href(),
            feeds=_feeds(core, assembly),
            regions=assembly.regions(),
            style=files.stylesheet(css) if inline else None,
            stylesheets=([files.url(url) for url in linked(files, css)] if inline else
                         needed.css),
            scripts=needed.js,
            head=assembly.head_html(),
        )
        return html.encode(), "text/html"

    return build


def region_parts(layout: Layout, region: str) -> tuple[Sequence[Placement], Builder]:
    """What one region shows on some page (any device or section) and the builder of its
    HTML (404 for an unknown region)."""
    build = region_builder(layout, region)
    return shown_anywhere(layout, f"region:{region}"), build


def region_builder(layout: Layout, region: str) -> Builder:
    """The builder of one region's HTML (404 for an unknown region)."""
    if layout.region(region) is None:
        names = ", ".join(r.name for r in layout.regions)
        raise NoSuchFragment(
            f"Page type {layout.page_type!r} has no region {region!r}; it has: {names}.")

    def build(assembly: Assembly) -> tuple[bytes, str]:
        return str(assembly.regions().get(region, Markup(""))).encode(), "text/html"

    return build


@blueprint.get("/fragments/<page_type>/<slug>")
def all_fragments(page_type: str, slug: str) -> Response:
    core, layout = _layout(page_type, slug)
    accept = request.accept_mimetypes
    if accept and accept.best_match(["application/json"]) is None:
        abort(406, "This URL answers JSON only: send 'Accept: application/json', or ask for "
                   f"one region at /fragments/{page_type}/{slug}/<region>.")

    def build(assembly: Assembly) -> tuple[bytes, str]:
        assets = page_assets(get_assets(), assembly.assets(core.registry))
        document = {
            "page_type": layout.page_type,
            "slug": slug,
            "regions": {name: str(html) for name, html in assembly.regions().items()},
            # everything the page needs, in the order it loads them
            "assets": {"css": list(assets.css), "js": list(assets.js)},
            "head": [str(part.html()) for part in assembly.head()],
            "widgets": [
                {"placement": item.placement.id, "widget": item.placement.widget,
                 "region": item.placement.region}
                for item in assembly.rendered
            ],
        }
        return json.dumps(document).encode(), "application/json"

    response = serve(core, _pipeline(), layout, slug, "json", build)
    response.vary.add("Accept")
    return response


@blueprint.get("/widgets/<page_type>/<slug>/<placement_id>")
def widget(page_type: str, slug: str, placement_id: str) -> Response:
    """One placed widget's HTML, for an ESI or SSI include or Tailor (its assets as ``Link``
    headers)."""
    return widget_response(page_type, slug, placement_id)


def widget_response(page_type: str, slug: str, placement_id: str) -> Response:
    core, layout = _layout(page_type, slug)
    known_placement(layout, placement_id)

    def build(assembly: Assembly) -> tuple[bytes, str]:
        return "".join(str(html) for _, html in assembly.placed()).encode(), "text/html"

    representation = f"widget:{placement_id}"
    return add_links(serve(core, _pipeline(), layout, slug, representation, build), core,
                     shown_anywhere(layout, representation))


def known_placement(layout: Layout, placement_id: str) -> Placement:
    """The placement ``placement_id`` of the layout, of any device's or variant's page (a
    page that does not show it serves it empty)."""
    placement = plans_of(layout).placement(placement_id)
    if placement is None:
        ids = ", ".join(dict.fromkeys(p.id for plan in plans_of(layout).all
                                      for p in plan.placement_list))
        raise NoSuchFragment(f"Page type {layout.page_type!r} has no placement "
                             f"{placement_id!r}; it has: {ids}.")
    return placement


@blueprint.get("/static/widgets/<name>/<path:filename>")
def widget_asset(name: str, filename: str) -> Response:
    installed = get_core().registry.get(name)
    if installed is None or installed.widget.static_folder is None:
        abort(404, f"No static files for widget {name!r}.")
    return send_from_directory(installed.widget.static_folder, filename, max_age=86400)


def _pipeline() -> PagePipeline:
    pipeline: PagePipeline = current_app.extensions[PIPELINE_KEY]
    return pipeline


def _layout(page_type: str, slug: str) -> tuple[Core, Layout]:
    """The app's core and the page type's layout (404 for an unknown one or a bad slug)."""
    core, layout = known_layout(page_type)
    if not SLUG.match(slug) or len(slug) > 200:
        abort(404, f"No {layout.subject} {slug!r}.")
    return core, layout


def known_layout(page_type: str) -> tuple[Core, Layout]:
    core = get_core()
    layout = core.layouts.get(page_type)
    if layout is None:
        known = ", ".join(sorted(core.layouts.layouts)) or "(none)"
        raise NoSuchFragment(f"Unknown page type {page_type!r}; page types: {known}.")
    return core, layout


def _title(assembly: Assembly) -> str:
    subject = assembly.subject
    return subject.title if isinstance(subject, ArticleView) else subject.name


def _feeds(core: Core, assembly: Assembly) -> list[tuple[str, str]]:
    """The Atom feeds a page's head names (title, URL): the site's, and on a section's page or
    an article's the section's. The shell names them, not a widget: the feeds are the site's
    own files (``web/site_files.py``), there on every page whatever its layout holds."""
    site_name = str(core.config["SITE_NAME"])
    feeds = [(site_name, url_for("site_files.site_feed"))]
    subject = assembly.subject
    section = subject.section if isinstance(subject, ArticleView) else subject
    if isinstance(section, SectionView):
        feeds.append((f"{section.name} | {site_name}",
                      url_for("site_files.section_feed", slug=section.slug)))
    return feeds
