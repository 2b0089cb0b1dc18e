"""Site-facing routes: a whole page, one region, all regions as JSON, or one placed widget.

Every route goes one way: layout -> placements -> renderer (cache, budget, fallback) -> assembly
-> response. When everything inside is shared, the finished body is cached as well, keyed by the
same facts as the widgets inside it, so a warm request costs a content-version read and a lookup.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Blueprint, Response, abort, render_template, request, send_from_directory
from markupsafe import Markup

from layoutserver.content.schemas import SLUG_PATTERN
from layoutserver.core import Core, get_core
from layoutserver.layouts import Layout, Placement
from layoutserver.render.assembly import Assembly, ResponsePolicy
from layoutserver.web.responses import VARY_HEADERS, finish, strong_etag
from layoutserver.widgets import ArticleView, vary_value

blueprint = Blueprint("pages", __name__)

SLUG = re.compile(SLUG_PATTERN)
DOCUMENT_TTL_CAP = 3600


@dataclass(frozen=True)
class CachedBody:
    body: bytes
    mimetype: str
    etag: str
    policy: ResponsePolicy
    placements: tuple[tuple[str, str], ...]
    """(placement id, widget) of what is inside, for Server-Timing on a hit."""


@blueprint.get("/pages/<page_type>/<slug>")
def page(page_type: str, slug: str) -> Response:
    layout = _layout(page_type, slug)

    def build(assembly: Assembly) -> tuple[bytes, str]:
        core = get_core()
        assets = assembly.assets(core.registry)
        html = render_template(
            "page.html",
            layout=layout,
            title=_title(assembly),
            site_name=core.config["SITE_NAME"],
            locale=core.config["SITE_LOCALE"],
            regions=assembly.regions(),
            assets=assets,
        )
        return html.encode(), "text/html"

    return _serve(layout, slug, "page", list(layout.placements()), build)


@blueprint.get("/fragments/<page_type>/<slug>/<region>")
def region_fragment(page_type: str, slug: str, region: str) -> Response:
    layout = _layout(page_type, slug)
    found = layout.region(region)
    if found is None:
        names = ", ".join(r.name for r in layout.regions)
        abort(404, f"Page type {page_type!r} has no region {region!r}; it has: {names}.")

    def build(assembly: Assembly) -> tuple[bytes, str]:
        return str(assembly.regions().get(region, Markup(""))).encode(), "text/html"

    return _serve(layout, slug, f"region:{region}", list(found.placements), build)


@blueprint.get("/fragments/<page_type>/<slug>")
def all_fragments(page_type: str, slug: str) -> Response:
    layout = _layout(page_type, slug)
    accept = request.accept_mimetypes
    if accept and accept.best_match(["application/json"]) is None:
        abort(406, "This URL answers JSON only: send 'Accept: application/json', or ask for "
                   f"one region at /fragments/{page_type}/{slug}/<region>.")

    def build(assembly: Assembly) -> tuple[bytes, str]:
        assets = assembly.assets(get_core().registry)
        document = {
            "page_type": layout.page_type,
            "slug": slug,
            "regions": {name: str(html) for name, html in assembly.regions().items()},
            "assets": {"css": list(assets.css), "js": list(assets.js)},
            "widgets": [
                {"placement": item.placement.id, "widget": item.placement.widget,
                 "region": item.placement.region}
                for item in assembly.rendered
            ],
        }
        return json.dumps(document).encode(), "application/json"

    response = _serve(layout, slug, "json", list(layout.placements()), build)
    response.vary.add("Accept")
    return response


@blueprint.get("/widgets/<page_type>/<slug>/<placement_id>")
def widget(page_type: str, slug: str, placement_id: str) -> Response:
    """One placed widget's HTML, for an ESI or SSI include."""
    layout = _layout(page_type, slug)
    placement = layout.placement(placement_id)
    if placement is None:
        ids = ", ".join(p.id for p in layout.placements())
        abort(404, f"Page type {page_type!r} has no placement {placement_id!r}; it has: {ids}.")

    def build(assembly: Assembly) -> tuple[bytes, str]:
        return "".join(str(item.html) for item in assembly.rendered).encode(), "text/html"

    return _serve(layout, slug, f"widget:{placement_id}", [placement], build)


@blueprint.get("/static/widgets/<name>/<path:filename>")
def widget_asset(name: str, filename: str) -> Response:
    installed = get_core().registry.get(name)
    if installed is None or installed.widget.static_folder is None:
        abort(404, f"No static files for widget {name!r}.")
    return send_from_directory(installed.widget.static_folder, filename, max_age=86400)


def _layout(page_type: str, slug: str) -> Layout:
    layout = get_core().layouts.get(page_type)
    if layout is None:
        known = ", ".join(sorted(get_core().layouts.layouts)) or "(none)"
        abort(404, f"Unknown page type {page_type!r}; page types: {known}.")
    if not SLUG.match(slug) or len(slug) > 200:
        abort(404, f"No {layout.subject} {slug!r}.")
    return layout


def _serve(
    layout: Layout,
    slug: str,
    representation: str,
    placements: Sequence[Placement],
    build: Callable[[Assembly], tuple[bytes, str]],
) -> Response:
    core = get_core()
    started = time.perf_counter()
    site, reader = core.site_view(), core.request_view(request)
    version = core.content.version()
    inside = _Inside.of(core, placements)
    vary_headers = _vary_headers(core, inside.vary_keys)
    body_key = None
    if inside.shared:
        values = [f"{key}={vary_value(key, layout.page_type, slug, reader, site)}"
                  for key in inside.vary_keys]
        body_key = core.fragments.key("body", representation, layout.page_type, slug,
                                      layout.digest, *inside.versions, *values, f"cv={version}")
        cached = core.fragments.get(body_key)
        if isinstance(cached, CachedBody):
            timings = [(pid, 0.0, f"{widget} page-cache") for pid, widget in cached.placements]
            timings.append(("total", (time.perf_counter() - started) * 1000, "page-cache hit"))
            return finish(cached.body, cached.mimetype, cached.policy, timings, vary_headers,
                          etag=cached.etag)

    subject = core.subject(layout, slug, site)
    if subject is None:
        abort(404, f"No {layout.subject} {slug!r}.")
    context = core.page_context(layout, slug, subject, reader, site)
    assembly = Assembly(layout, subject, core.renderer.render(layout, context, placements, version))
    body, mimetype = build(assembly)
    policy = assembly.policy
    etag = strong_etag(body)
    if body_key is not None and policy.shared and assembly.clean:
        contents = tuple((item.placement.id, item.placement.widget) for item in assembly.rendered)
        core.fragments.set(body_key, CachedBody(body, mimetype, etag, policy, contents),
                           min(policy.ttl, DOCUMENT_TTL_CAP))
    timings = assembly.timings()
    timings.append(("total", (time.perf_counter() - started) * 1000, "rendered"))
    return finish(body, mimetype, policy, timings, vary_headers, etag=etag)


@dataclass(frozen=True)
class _Inside:
    """What the widgets of a response imply for caching the whole of it."""

    shared: bool
    vary_keys: tuple[str, ...]
    versions: tuple[str, ...]
    """name=version of each widget inside: a new widget version must miss the body cache."""

    @classmethod
    def of(cls, core: Core, placements: Sequence[Placement]) -> _Inside:
        shared = True
        keys: set[str] = set()
        versions: set[str] = set()
        for placement in placements:
            installed = core.registry.get(placement.widget)
            if installed is None:
                continue
            policy = installed.widget.cache_policy
            shared = shared and policy.shared
            keys.update(policy.vary)
            versions.add(f"{installed.name}={installed.widget.version}")
        return cls(shared, tuple(sorted(keys)), tuple(sorted(versions)))


def _vary_headers(core: Core, vary_keys: Sequence[str]) -> list[str]:
    names = {"device_header": core.config["DEVICE_HEADER"],
             "consent_header": core.config["CONSENT_HEADER"]}
    headers: list[str] = []
    for key in vary_keys:
        headers.extend(header.format(**names) for header in VARY_HEADERS.get(key, ()))
    return headers


def _title(assembly: Assembly) -> str:
    subject = assembly.subject
    return subject.title if isinstance(subject, ArticleView) else subject.name
