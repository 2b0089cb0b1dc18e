"""Serving one representation (page, region, JSON, widget) of a page, with a body cache.

Every representation goes one way: layout -> placements -> renderer -> assembly -> response.
The finished body is cached too, keyed by the same facts as the widgets inside it. Per-request
widgets (ad spots) are left out of the cached body as marks; a request then renders only them
and fills the marks in, so a page with ads still skips the subject lookup and the rest of the
rendering when warm.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from flask import Request, Response, abort, request, url_for
from markupsafe import Markup

from layoutserver.core import Core
from layoutserver.layouts import Layout, Placement
from layoutserver.render.assembly import Assembly, ResponsePolicy, timings
from layoutserver.render.renderer import RenderedPlacement
from layoutserver.web.live import LIVE_MARK, Shell
from layoutserver.web.responses import VARY_HEADERS, finish, server_timing, strong_etag
from layoutserver.widgets import PageContext, Subject, vary_value

#: A cached body is kept at most this long, whatever the widgets inside allow.
BODY_TTL_CAP = 3600
PRIVATE = ResponsePolicy(shared=False, ttl=0)

Builder = Callable[[Assembly], tuple[bytes, str]]
#: Where a page, region, JSON or widget response notes in the WSGI environ whether the body
#: cache answered ("hit", also with per-request widgets rendered into it) or not ("miss"), for
#: ``layoutserver.metrics``.
PAGE_CACHE_OUTCOME = "layoutserver.page_cache"
#: Vary keys whose values come from the request rather than the page or the site clock.
READER_KEYS = frozenset({"device", "locale", "consent"})


@dataclass(frozen=True)
class CachedBody:
    body: bytes
    """The finished body, with a LIVE_MARK where each per-request placement goes."""
    mimetype: str
    etag: str | None
    """None when per-request placements are inside: each final body gets its own."""
    policy: ResponsePolicy
    hit_timing: str
    """Server-Timing entries of the shared placements, as a hit reports them."""
    live: tuple[str, ...]
    """Ids of the per-request placements left as marks."""
    subject: Subject
    expires_at: float
    """Wall-clock expiry, so a copy in a process's local memo expires with the shared one."""
    shell: Shell | None = None
    """The body split at its marks, when per-request placements are inside."""


@dataclass(frozen=True)
class Inside:
    """What the widgets of a response imply for caching it; fixed for a layout and the
    placements shown, so it is worked out once and kept on the layout."""

    vary_keys: tuple[str, ...]
    versions: tuple[str, ...]
    """name=version of each widget inside: a new widget version must miss the body cache."""
    vary_headers: tuple[str, ...]
    """The Vary response header's names (``Surrogate-Capability`` included for HTML that an
    edge may get with ESI includes)."""
    needs_reader: bool
    """Whether the cache key needs facts of the request (device, locale, consent)."""

    @classmethod
    def of(cls, core: Core, layout: Layout, representation: str,
           placements: Sequence[Placement]) -> Inside:
        memo_key = ("inside", representation)
        known = layout.memo.get(memo_key)
        if isinstance(known, Inside):
            return known
        keys: set[str] = set()
        versions: set[str] = set()
        for placement in placements:
            installed = core.registry.get(placement.widget)
            if installed is not None:
                keys.update(installed.widget.cache_policy.vary)
                versions.add(f"{installed.name}={installed.widget.version}")
        vary_keys = tuple(sorted(keys))
        headers = vary_headers(core, vary_keys)
        if _may_include(representation):
            headers.append("Surrogate-Capability")
        inside = cls(vary_keys, tuple(sorted(versions)), tuple(headers),
                     bool(keys & READER_KEYS))
        layout.memo[memo_key] = inside
        return inside


def serve(
    core: Core, layout: Layout, slug: str, representation: str, placements: Sequence[Placement],
    build: Builder,
) -> Response:
    """The response for one representation. An edge cache that says it does ESI (the
    ``Surrogate-Capability`` request header) gets HTML with an ``<esi:include>`` for each
    per-request widget instead of its output: the page itself then stays cacheable, and the
    edge fetches each included widget's own URL, uncached."""
    # the request itself, once: each use of the request proxy costs a context lookup
    current: Request = request._get_current_object()  # type: ignore[attr-defined]
    esi = _edge_includes(representation, current.environ)
    response = _serve(core, layout, slug, representation + ("+esi" if esi else ""), placements,
                      build, _includer(layout, slug) if esi else None, current)
    if esi:
        response.headers["Surrogate-Control"] = 'content="ESI/1.0"'
    return response


def _serve(
    core: Core, layout: Layout, slug: str, representation: str, placements: Sequence[Placement],
    build: Builder, include: Callable[[Placement], Markup] | None, current: Request,
) -> Response:
    environ = current.environ
    started = time.perf_counter()
    site = core.site_view()
    version = core.content.version()
    inside = Inside.of(core, layout, representation, placements)
    reader = core.request_view(current) if inside.needs_reader else None
    facts = ("body", representation, layout.page_type, slug, layout.digest, *inside.versions,
             *[f"{key}={vary_value(key, layout.page_type, slug, reader, site)}"
               for key in inside.vary_keys], f"cv={version}")
    cached = _cached_body(core, facts)
    if cached is not None and not cached.live:
        environ[PAGE_CACHE_OUTCOME] = "hit"
        timing = f'{cached.hit_timing}total;dur={_ms(started):.2f};desc="page-cache hit"'
        return finish(cached.body, cached.mimetype, cached.policy, timing, inside.vary_headers,
                      etag=cached.etag, environ=environ)
    reader = reader or core.request_view(current)
    if cached is not None:
        environ[PAGE_CACHE_OUTCOME] = "hit"
        context = core.page_context(layout, slug, cached.subject, reader, site)
        return _fill_live(core, layout, context, cached, version, inside, started, environ)

    subject = core.subject(layout, slug, site)
    if subject is None:
        abort(404, f"No {layout.subject} {slug!r}.")
    context = core.page_context(layout, slug, subject, reader, site)
    rendered = core.renderer.render(layout, context, placements, version, include)
    assembly = Assembly(layout, subject, rendered)
    live_items = [item for item in assembly.rendered if not item.policy.shared]
    shell, mimetype = build(marked(assembly, live_items))
    split = Shell.of(shell, (item.placement.id for item in live_items)) if live_items else None
    body, etag = split.fill(mimetype, live_items) if split else (shell, strong_etag(shell))
    policy = assembly.policy
    if assembly.clean_shared:
        _store(core, facts, assembly, shell, mimetype, etag, split)
    entries = assembly.timings()
    entries.append(("total", _ms(started), "rendered"))
    environ[PAGE_CACHE_OUTCOME] = "miss"
    return finish(body, mimetype, policy, server_timing(entries), inside.vary_headers, etag=etag,
                  environ=environ)


def _fill_live(core: Core, layout: Layout, context: PageContext, cached: CachedBody,
               version: int, inside: Inside, started: float,
               environ: dict[str, Any]) -> Response:
    """A cached body with its per-request placements rendered for this request."""
    rendered = core.renderer.render(layout, context, _live_placements(layout, cached.live),
                                    version)
    shell = cached.shell or Shell.of(cached.body, cached.live)
    body, etag = shell.fill(cached.mimetype, rendered)
    entries = timings(rendered)
    entries.append(("total", _ms(started), "page-cache hit, per-request widgets rendered"))
    return finish(body, cached.mimetype, PRIVATE, cached.hit_timing + server_timing(entries),
                  inside.vary_headers, etag=etag, environ=environ)


def _live_placements(layout: Layout, ids: tuple[str, ...]) -> list[Placement]:
    """The layout's placements of ``ids`` (kept on the layout: the same few on every request)."""
    memo_key = ("live", ids)
    known = layout.memo.get(memo_key)
    if isinstance(known, list):
        return known
    found = [p for p in map(layout.placement, ids) if p is not None]
    layout.memo[memo_key] = found
    return found


def _may_include(representation: str) -> bool:
    """Whether the representation is HTML that an edge doing ESI gets with includes (a page or
    a region): its response varies on ``Surrogate-Capability``."""
    return representation != "json" and not representation.startswith("widget:")


def _edge_includes(representation: str, environ: dict[str, Any]) -> bool:
    """Whether to answer with ESI includes: an HTML page or region, for an edge that does ESI."""
    if not _may_include(representation):
        return False
    return "ESI/1.0" in environ.get("HTTP_SURROGATE_CAPABILITY", "")


def _includer(layout: Layout, slug: str) -> Callable[[Placement], Markup]:
    """Includes of the placements' own URLs, carrying the page's query (ad key-values)."""
    query = request.query_string.decode("latin-1")

    def include(placement: Placement) -> Markup:
        url = url_for("pages.widget", page_type=layout.page_type, slug=slug,
                      placement_id=placement.id)
        return Markup('<esi:include src="{}"/>').format(f"{url}?{query}" if query else url)

    return include


def _cached_body(core: Core, facts: tuple[str, ...]) -> CachedBody | None:
    """The local memo first (keyed by the facts themselves), then the shared cache (by their
    digest; a find there is then memoised locally)."""
    if not core.fragments.enabled:
        return None
    cached = core.fragments.local.get(facts)
    if isinstance(cached, CachedBody):
        return cached
    cached = core.fragments.get(core.fragments.key(*facts))
    if not isinstance(cached, CachedBody):
        return None
    left = cached.expires_at - time.time()
    if left > 0:
        core.fragments.local.put(facts, cached, time.monotonic() + left)
    return cached


def _store(core: Core, facts: tuple[str, ...], assembly: Assembly, shell: bytes,
           mimetype: str, etag: str, split: Shell | None) -> None:
    if not core.fragments.enabled:
        return
    ttl = min(ResponsePolicy.of(i for i in assembly.rendered if i.policy.shared).ttl, BODY_TTL_CAP)
    live_ids = tuple(item.placement.id for item in assembly.rendered if not item.policy.shared)
    hit_timing = "".join(
        f'{item.placement.id};dur=0.00;desc="{item.placement.widget} page-cache", '
        for item in assembly.rendered if item.placement.id not in live_ids
    )
    entry = CachedBody(shell, mimetype, None if live_ids else etag, assembly.policy, hit_timing,
                       live_ids, assembly.subject, time.time() + ttl, split)
    core.fragments.set(core.fragments.key(*facts), entry, ttl)
    core.fragments.local.put(facts, entry, time.monotonic() + ttl)


def marked(assembly: Assembly, live: Sequence[RenderedPlacement]) -> Assembly:
    """The assembly with each per-request placement's HTML replaced by its mark."""
    ids = {item.placement.id for item in live}
    rendered = [
        item._replace(html=Markup(LIVE_MARK.format(item.placement.id)))  # noqa: S704
        if item.placement.id in ids else item
        for item in assembly.rendered
    ]
    return replace(assembly, rendered=rendered)


def vary_headers(core: Core, vary_keys: Sequence[str]) -> list[str]:
    names: Mapping[str, str] = {"device_header": core.config["DEVICE_HEADER"],
                                "consent_header": core.config["CONSENT_HEADER"]}
    headers: list[str] = []
    for key in vary_keys:
        headers.extend(header.format(**names) for header in VARY_HEADERS.get(key, ()))
    return headers


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
