"""The web side of the page pipeline (``render/page.py``): a request becomes a
:class:`PageCall`, its :class:`PageResult` a response with the headers its audience needs.

Who may keep a response, by what is in it:

* shared (no holes, or holes an edge or the browser fills): ``Cache-Control: public`` with the
  TTL of the widgets inside and ``stale-while-revalidate``/``stale-if-error``, a strong ETag,
  and the surrogate keys it depends on (``Surrogate-Key`` and ``xkey``) for purges;
* with this reader's own output (ads rendered here): ``private, no-store``.

An edge that does ESI (it sends ``Surrogate-Capability: ...="ESI/1.0"``) gets a page or region
with holes in three forms (``render/page.py``):

* its *shared form*, holes left as empty slots: the edge may keep it
  (``Surrogate-Control: max-age=...``), and shows it when the origin cannot answer; browsers and
  any cache behind the edge are told ``no-store`` (what they get in its place is the reader's),
  there is no ETag, and ``X-Reader-Frame: 1`` tells the edge to ask for the reader's frame;
* the reader's *frame*, asked for with ``X-Reader-Frame: 1``: the holes rendered here and the
  shared pieces as includes, ``private, no-store`` and ``Surrogate-Control: no-store,
  content="ESI/1.0"`` (the edge assembles it and keeps nothing);
* each shared piece (``/parts/...``): shared, with the page's TTL and surrogate keys.

An edge that does SSI (nginx, which sends ``Surrogate-Capability: ...="SSI/1.0"``: the shipped
``config/edge/nginx.conf`` sets it) gets the same three forms in its dialect, with one
difference: nginx cannot turn a kept response into a request for another, so its shared form
includes the reader's frame itself (``<!--# include virtual="/_ls/frame<URL>" stub=... -->``:
nginx asks the origin for it with ``X-Reader-Frame: 1``), with the page (ad slots empty,
shared pieces included) as the stub nginx shows when the frame fails. nginx does not read
``Surrogate-Control``: the shared form's TTL is also in ``X-Accel-Expires``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import Request, Response, request, url_for
from werkzeug.exceptions import NotFound

from layoutserver.core import Core
from layoutserver.edge.keys import header_value
from layoutserver.layouts import Layout
from layoutserver.layouts.plans import plans_of
from layoutserver.render.holes import ClientHoles, EmptyHoles, Holes, ReservedHoles, ServerHoles
from layoutserver.render.page import (
    FRAME,
    SHARED_FORM,
    Builder,
    EdgePart,
    PageCall,
    PagePipeline,
    PageResult,
    PartNotFound,
    SubjectNotFound,
)
from layoutserver.render.request_view import VIEWPORT_HINT, header
from layoutserver.render.shell import ESI, SSI, IncludeMarkup
from layoutserver.web.responses import finish
from layoutserver.widgets import RequestView

#: Where a page, region, JSON or widget response notes in the WSGI environ whether the body
#: cache answered ("hit") or not ("miss"), for ``layoutserver.metrics``.
PAGE_CACHE_OUTCOME = "layoutserver.page_cache"
#: On a shared form: the edge should ask for the reader's frame; on a request (from the edge):
#: the reader's frame is asked for.
FRAME_HEADER = "X-Reader-Frame"
#: Where an SSI shared form includes the reader's frame: this prefix and the page's own URL.
#: The shipped nginx.conf answers it (an internal location) from the page's URL with
#: ``X-Reader-Frame: 1``.
SSI_FRAME_PREFIX = "/_ls/frame"


class PageNotFound(NotFound):
    """A page whose subject does not exist: briefly cacheable, and purged by the surrogate
    keys of the subject when it is created (``web/errors.py`` sets the headers)."""

    def __init__(self, description: str, keys: Sequence[str]) -> None:
        super().__init__(description)
        self.surrogate_keys = tuple(keys)


def serve(core: Core, pipeline: PagePipeline, layout: Layout, slug: str, representation: str,
          build: Builder, part: EdgePart | None = None) -> Response:
    """The response for one representation of a page (or one part of it)."""
    current: Request = request._get_current_object()  # type: ignore[attr-defined]
    views: list[RequestView] = []

    def reader() -> RequestView:
        if not views:
            views.append(core.request_view(current))
        return views[0]

    markup = _edge_markup(current) if _may_include(representation) else None
    frame, frame_url = None, None
    if markup is not None and part is None:
        if current.method != "HEAD" and header(current, FRAME_HEADER):
            frame = _part_urls(layout, slug, representation)
        elif markup is SSI:
            frame = _part_urls(layout, slug, representation)
            query = current.query_string.decode("latin-1")
            frame_url = (f"{SSI_FRAME_PREFIX}{current.script_root}{current.path}"
                         + (f"?{query}" if query else ""))
    shared_form = markup is not None and part is None and (frame is None or frame_url is not None)
    call = PageCall(layout, slug, representation, build, reader,
                    lambda: _holes(core, current, representation, shared_form=shared_form),
                    frame, part, markup or ESI, frame_url)
    try:
        result = pipeline.serve(call)
    except SubjectNotFound as missing:
        raise PageNotFound(str(missing), missing.keys) from None
    except PartNotFound as gone:
        raise NotFound(str(gone)) from None
    current.environ[PAGE_CACHE_OUTCOME] = result.cache_outcome
    response = _response(core, result, representation, current, markup)
    if representation == "page" and (plans_of(layout).has_ad_slots or "device" in result.vary):
        # Ad sizes and device-only placements follow the viewport: ask the browser for its
        # width, on this very request too (Critical-CH: a browser that did not send it
        # retries once with it).
        response.headers["Accept-CH"] = VIEWPORT_HINT
        response.headers["Critical-CH"] = VIEWPORT_HINT
    view = views[0] if views else None
    if result.decided_ads and view is not None and view.new_user_key and view.user_key:
        # a reader with no key yet, whose ads were decided with the one made for it
        response.headers.add("Set-Cookie", core.user_cookie.value(view.user_key,
                                                                  current.is_secure))
    return response


def _edge_markup(current: Request) -> IncludeMarkup | None:
    """The dialect of the edge in front, by what it says it does (``Surrogate-Capability``):
    ESI (Varnish), SSI (nginx), or None (no edge that assembles)."""
    capability = header(current, "Surrogate-Capability") or ""
    if "ESI/1.0" in capability:
        return ESI
    if "SSI/1.0" in capability:
        return SSI
    return None


def _part_urls(layout: Layout, slug: str, representation: str) -> Callable[[str, int], str]:
    def part_url(structure: str, index: int) -> str:
        return url_for("pages.part", page_type=layout.page_type, slug=slug,
                       representation=representation, structure=structure, index=index)

    return part_url


def _holes(core: Core, current: Request, representation: str, shared_form: bool) -> Holes:
    """How this request's holes are filled: nothing for HEAD; ad slots left to ads.js when
    ads are delivered by the browser; empty slots in the shared form an edge doing ESI keeps;
    otherwise rendered here (in the reader's frame, for such an edge)."""
    if current.method == "HEAD":
        return EmptyHoles()
    holes: Holes = ReservedHoles(core.ads) if shared_form else ServerHoles(core.renderer)
    if core.config["ADS_DELIVERY"] == "client" and representation != "json":
        holes = ClientHoles(holes, url_for("ads.script"), core.ads)
    return holes


def _response(core: Core, result: PageResult, representation: str, current: Request,
              markup: IncludeMarkup | None) -> Response:
    config = core.config
    dialect = markup.name if markup is not None and result.edge_role else ""
    headers = _headers(result.per_reader, result.policy.shared, result.edge_role, dialect,
                       result.policy.ttl, result.vary, _may_include(representation),
                       result.surrogate_keys, config["DEVICE_HEADER"], config["CONSENT_HEADER"],
                       config["EDGE_STALE_WHILE_REVALIDATE"], config["EDGE_STALE_IF_ERROR"])
    return finish(result.body, result.mimetype, result.timing,
                  None if result.edge_role else result.etag, headers=headers,
                  environ=current.environ)


def shared_headers(config: Mapping[str, Any], ttl: int, surrogate_keys: tuple[str, ...]
                   ) -> tuple[tuple[str, str], ...]:
    """The headers of a response the same for every reader and built from nothing a widget
    renders (sitemaps, feeds, robots.txt): ``public`` for ``ttl`` seconds and its keys."""
    return _headers(False, True, "", "", ttl, (), False, surrogate_keys, config["DEVICE_HEADER"],
                    config["CONSENT_HEADER"], config["EDGE_STALE_WHILE_REVALIDATE"],
                    config["EDGE_STALE_IF_ERROR"])


@functools.lru_cache(maxsize=1024)
def _headers(per_reader: bool, shared: bool, edge_role: str, dialect: str, ttl: int,
             vary_keys: tuple[str, ...],
             includes: bool, surrogate_keys: tuple[str, ...], device_header: str,
             consent_header: str, stale_while_revalidate: int, stale_if_error: int
             ) -> tuple[tuple[str, str], ...]:
    """The headers of a response but its ETag and Server-Timing, by what is in it and the
    dialect of the edge it is for (the same few shapes for every request: worked out once
    each)."""
    stale = (f"stale-while-revalidate={stale_while_revalidate}, "
             f"stale-if-error={stale_if_error}")
    if per_reader or not shared:
        headers = [("Cache-Control", "private, no-store")]
        if edge_role == FRAME:
            headers.append(("Surrogate-Control", f'no-store, content="{dialect}/1.0"'))
    elif edge_role == SHARED_FORM:
        headers = [("Cache-Control", "no-store"),
                   ("Surrogate-Control", f"max-age={ttl}, {stale}"), (FRAME_HEADER, "1")]
        if dialect == "SSI":
            # nginx reads no Surrogate-Control; X-Accel-Expires it reads, and hides. Before
            # Cache-Control: nginx 1.22 keeps the first of the two it reads.
            headers.insert(0, ("X-Accel-Expires", str(ttl)))
    else:
        headers = [("Cache-Control", f"public, max-age={ttl}, {stale}")]
    if not per_reader:
        keys = header_value(surrogate_keys)
        headers += [("Surrogate-Key", keys), ("xkey", keys)]
    names = {"device_header": device_header, "consent_header": consent_header}
    vary = [header.format(**names) for key in vary_keys for header in VARY_HEADERS.get(key, ())]
    if includes:
        vary.append("Surrogate-Capability")
    if vary:
        headers.append(("Vary", ", ".join(vary)))
    return tuple(headers)


def _may_include(representation: str) -> bool:
    """Whether the representation is HTML that an edge doing ESI gets with includes (a page or
    a region): its response varies on ``Surrogate-Capability``."""
    return representation != "json" and not representation.startswith("widget:")


#: The request headers behind each vary key, for the Vary response header.
VARY_HEADERS = {
    "device": ("User-Agent", VIEWPORT_HINT, "{device_header}"),
    "locale": ("Accept-Language",),
    "consent": ("{consent_header}",),
}
