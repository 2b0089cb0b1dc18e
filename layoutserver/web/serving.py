"""Serving one representation (page, region, JSON, widget) of a page, with a body cache.

Every representation goes one way: layout -> placements -> renderer -> assembly -> response.
The finished body is cached too, keyed by the same facts as the widgets inside it. Per-request
widgets (ad spots) are left out of the cached body as marks; a request then renders only them
and fills the marks in, so a page with ads still skips the subject lookup and the rest of the
rendering when warm.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from flask import Response, abort, request
from markupsafe import Markup

from layoutserver.core import Core, get_core
from layoutserver.layouts import Layout, Placement
from layoutserver.render.assembly import Assembly, ResponsePolicy
from layoutserver.render.renderer import RenderedPlacement
from layoutserver.web.responses import VARY_HEADERS, finish, strong_etag
from layoutserver.widgets import Subject, vary_value

#: A cached body is kept at most this long, whatever the widgets inside allow.
BODY_TTL_CAP = 3600
LIVE_MARK = "<!--ls-live:{}-->"
PRIVATE = ResponsePolicy(shared=False, ttl=0)

Builder = Callable[[Assembly], tuple[bytes, str]]
Timings = list[tuple[str, float, str]]


@dataclass(frozen=True)
class CachedBody:
    body: bytes
    """The finished body, with a LIVE_MARK where each per-request placement goes."""
    mimetype: str
    etag: str | None
    """None when per-request placements are inside: each final body gets its own."""
    policy: ResponsePolicy
    placements: tuple[tuple[str, str], ...]
    """(placement id, widget) of what is inside, for Server-Timing."""
    live: tuple[str, ...]
    """Ids of the per-request placements left as marks."""
    subject: Subject


@dataclass(frozen=True)
class Inside:
    """What the widgets of a response imply for caching the whole of it."""

    vary_keys: tuple[str, ...]
    versions: tuple[str, ...]
    """name=version of each widget inside: a new widget version must miss the body cache."""

    @classmethod
    def of(cls, core: Core, placements: Sequence[Placement]) -> Inside:
        keys: set[str] = set()
        versions: set[str] = set()
        for placement in placements:
            installed = core.registry.get(placement.widget)
            if installed is not None:
                keys.update(installed.widget.cache_policy.vary)
                versions.add(f"{installed.name}={installed.widget.version}")
        return cls(tuple(sorted(keys)), tuple(sorted(versions)))


def serve(
    layout: Layout, slug: str, representation: str, placements: Sequence[Placement],
    build: Builder,
) -> Response:
    core = get_core()
    started = time.perf_counter()
    site, reader = core.site_view(), core.request_view(request)
    version = core.content.version()
    inside = Inside.of(core, placements)
    vary = vary_headers(core, inside.vary_keys)
    values = [f"{key}={vary_value(key, layout.page_type, slug, reader, site)}"
              for key in inside.vary_keys]
    body_key = core.fragments.key("body", representation, layout.page_type, slug, layout.digest,
                                  *inside.versions, *values, f"cv={version}")
    cached = core.fragments.get(body_key)
    if isinstance(cached, CachedBody):
        timings: Timings = [(pid, 0.0, f"{widget} page-cache") for pid, widget in cached.placements
                            if pid not in cached.live]
        if not cached.live:
            timings.append(("total", _ms(started), "page-cache hit"))
            return finish(cached.body, cached.mimetype, cached.policy, timings, vary,
                          etag=cached.etag)
        context = core.page_context(layout, slug, cached.subject, reader, site)
        live = [p for p in (layout.placement(pid) for pid in cached.live) if p is not None]
        rendered = core.renderer.render(layout, context, live, version)
        body = fill(cached.body, cached.mimetype, rendered)
        timings.extend(Assembly(layout, cached.subject, rendered).timings())
        timings.append(("total", _ms(started), "page-cache hit, per-request widgets rendered"))
        return finish(body, cached.mimetype, PRIVATE, timings, vary)

    subject = core.subject(layout, slug, site)
    if subject is None:
        abort(404, f"No {layout.subject} {slug!r}.")
    context = core.page_context(layout, slug, subject, reader, site)
    assembly = Assembly(layout, subject, core.renderer.render(layout, context, placements, version))
    live_items = [item for item in assembly.rendered if not item.policy.shared]
    shell, mimetype = build(marked(assembly, live_items))
    body = fill(shell, mimetype, live_items)
    etag = strong_etag(body)
    policy = assembly.policy
    shared_part = ResponsePolicy.of(item for item in assembly.rendered if item.policy.shared)
    if assembly.clean_shared:
        contents = tuple((item.placement.id, item.placement.widget) for item in assembly.rendered)
        live_ids = tuple(item.placement.id for item in live_items)
        entry = CachedBody(shell, mimetype, None if live_ids else etag, policy, contents,
                           live_ids, subject)
        core.fragments.set(body_key, entry, min(shared_part.ttl, BODY_TTL_CAP))
    timings = assembly.timings()
    timings.append(("total", _ms(started), "rendered"))
    return finish(body, mimetype, policy, timings, vary, etag=etag)


def marked(assembly: Assembly, live: Sequence[RenderedPlacement]) -> Assembly:
    """The assembly with each per-request placement's HTML replaced by its mark."""
    ids = {item.placement.id for item in live}
    rendered = [
        replace(item, html=Markup(LIVE_MARK.format(item.placement.id)))  # noqa: S704
        if item.placement.id in ids else item
        for item in assembly.rendered
    ]
    return replace(assembly, rendered=rendered)


def fill(shell: bytes, mimetype: str, live: Sequence[RenderedPlacement]) -> bytes:
    """Put per-request output where its mark is (JSON-escaped in a JSON body)."""
    for item in live:
        html = str(item.html)
        text = json.dumps(html)[1:-1] if mimetype == "application/json" else html
        shell = shell.replace(LIVE_MARK.format(item.placement.id).encode(), text.encode(), 1)
    return shell


def vary_headers(core: Core, vary_keys: Sequence[str]) -> list[str]:
    names: Mapping[str, str] = {"device_header": core.config["DEVICE_HEADER"],
                                "consent_header": core.config["CONSENT_HEADER"]}
    headers: list[str] = []
    for key in vary_keys:
        headers.extend(header.format(**names) for header in VARY_HEADERS.get(key, ()))
    return headers


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
