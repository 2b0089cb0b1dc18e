"""The page pipeline: one representation (page, region, JSON, widget) of a page, with a body
cache. Flask-free: the web layer (``web/serving.py``) turns a request into a :class:`PageCall`
and the :class:`PageResult` into a response.

Every representation goes one way: layout -> placements -> renderer -> assembly -> body. The
finished body is cached too (:class:`CachedBody`), keyed by the same facts as the widgets
inside it. Per-request placements (ad spots) are left in the cached body as marks, its *holes*;
each request fills them its own way (``render/holes.py``: rendered here, ESI includes, client
slots, or nothing for HEAD), so a warm page never looks up its subject or renders a shared
widget, whoever it is for.

For an edge that does ESI a page with holes has three forms: its *shared form* (holes left as
empty slots), which the edge keeps and shows when the origin cannot answer; per page
view, the reader's *frame* (holes rendered here, the shared pieces as includes); and each of
those pieces, a *part*, which the edge keeps (``render/shell.py``). For an edge that does SSI
(nginx) the same, but its shared form cannot make the edge ask for the frame: it includes the
frame itself, with the page (empty slots, shared pieces included) as the include's stub.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NamedTuple

from markupsafe import Markup

from layoutserver.edge.keys import response_keys
from layoutserver.layouts import Layout, Placement
from layoutserver.layouts.plans import DevicePlans, plans_of, select
from layoutserver.render.assembly import Assembly, ResponsePolicy, server_timing, timings
from layoutserver.render.holes import HolePage, Holes
from layoutserver.render.renderer import CLEAN_OUTCOMES, RenderedPlacement
from layoutserver.render.shell import ESI, LIVE_MARK, IncludeMarkup, Shell, strong_etag
from layoutserver.widgets import (
    DEVICE_CLASSES,
    CachePolicy,
    PageContext,
    RequestView,
    Subject,
    vary_value,
)

if TYPE_CHECKING:
    from layoutserver.core import Core

#: A cached body is kept at most this long, whatever the widgets inside allow.
BODY_TTL_CAP = 3600
#: Bytes counted per body in a process's memo beyond its pickle: the key (a tuple of some ten
#: short strings, the facts), the unpickled objects' headers, the dictionary slot; an estimate.
MEMO_ENTRY_OVERHEAD = 1024
#: Vary keys whose values come from the request rather than the page or the site clock.
READER_KEYS = frozenset({"device", "locale", "consent"})

Builder = Callable[[Assembly], tuple[bytes, str]]
"""Turns the assembled placements into a body and its mimetype (the web layer's templates)."""


#: What a result is for an edge doing ESI (``PageResult.edge_role``).
SHARED_FORM = "shared form"
FRAME = "frame"


class EdgePart(NamedTuple):
    """One shared piece of a frame: its shell's structure and its number there (0 first)."""

    structure: str
    number: int


class PartNotFound(LookupError):
    """The page is no longer cut the way the part's URL says (its layout changed)."""


class SubjectNotFound(LookupError):
    """The page's article or section does not exist (or is not published yet)."""

    def __init__(self, layout: Layout, slug: str) -> None:
        super().__init__(f"No {layout.subject} {slug!r}.")
        self.keys = response_keys(layout.page_type, layout.subject, slug, ())


class PageCall(NamedTuple):
    layout: Layout
    """The page type's layout as loaded: the request is served from one of its plans."""
    slug: str
    representation: str
    """``page``, ``json``, ``region:NAME`` or ``widget:ID``: which placements of the plan
    it shows (``layouts.plans.select``)."""
    build: Builder
    reader: Callable[[], RequestView]
    """The request's facts, made only when the cache key or a render needs them."""
    holes: Callable[[], Holes]
    """How the holes are filled for this request, asked only when there are holes."""
    frame: Callable[[str, int], str] | None = None
    """For the reader's frame (and an SSI shared form): the URL of a part, by its shell's
    structure and index."""
    part: EdgePart | None = None
    """For one part of a frame."""
    markup: IncludeMarkup = ESI
    """The edge's dialect, for the includes of a frame."""
    frame_url: str | None = None
    """For an SSI shared form: the URL of the reader's frame it includes."""


class PageResult(NamedTuple):
    body: bytes
    mimetype: str
    policy: ResponsePolicy
    """The cache policy of the shared part (the whole, when ``per_reader`` is False)."""
    per_reader: bool
    """The body holds this reader's own output: no shared cache may keep it."""
    edge_role: str
    """``SHARED_FORM`` or ``FRAME`` for an edge doing ESI, else empty."""
    etag: str | None
    timing: str
    """The ``Server-Timing`` value: each placement, then the total."""
    vary: tuple[str, ...]
    """Vary keys of the widgets inside (``device``, ``locale``, ...)."""
    surrogate_keys: tuple[str, ...]
    cache_outcome: str
    """``hit`` (the body cache answered) or ``miss``."""
    decided_ads: bool = False
    """Ads were decided here, with the reader's key (a new one is then stored)."""


@dataclass(frozen=True)
class CachedBody:
    body: bytes
    """The finished body, with a LIVE_MARK where each per-request placement goes."""
    mimetype: str
    etag: str | None
    """None when per-request placements are inside: each final body gets its own."""
    policy: ResponsePolicy
    """Of the shared placements."""
    hit_timing: str
    """Server-Timing entries of the shared placements, as a hit reports them."""
    live: tuple[str, ...]
    """Ids of the per-request placements left as marks."""
    subject: Subject
    surrogate_keys: tuple[str, ...]
    expires_at: float
    """Wall-clock expiry, so a copy in a process's local memo expires with the shared one."""
    shell: Shell | None = None
    """The body split at its marks, when per-request placements are inside."""


@dataclass(frozen=True)
class Inside:
    """What the widgets of a response imply for caching it, over every plan of its layout
    (a request's plan is known once its subject is); fixed for a layout and a
    representation (:meth:`PagePipeline.inside` keeps it)."""

    vary_keys: tuple[str, ...]
    """With ``device`` when the plans of some device classes show other placements."""
    versions: tuple[str, ...]
    """name=version of each widget inside: a new widget version must miss the body cache."""
    needs_reader: bool
    """Whether the cache key needs facts of the request (device, locale, consent)."""
    depends_on: tuple[tuple[str, ...] | None, ...]
    """Each shared widget's ``CachePolicy.depends_on``, for the surrogate keys."""
    by_device: bool
    """Whether the plan is picked by the reader's device class (else the first class's)."""
    selected: Mapping[str, tuple[Placement, ...]]
    """The placements shown, by plan digest."""


#: Whose plans serve a representation the same to every device class.
ANY_DEVICE = DEVICE_CLASSES[0]
#: Representations kept per pipeline before the oldest go (publishes add layouts' digests).
INSIDE_KEPT = 512


class PagePipeline:
    def __init__(self, core: Core) -> None:
        self.core = core
        self._inside: dict[tuple[str, str, str], Inside] = {}
        """Per page type, layout digest and representation (widgets are fixed for the app)."""

    def inside(self, layout: Layout, representation: str) -> Inside:
        known = self._inside.get((layout.page_type, layout.digest, representation))
        if known is not None:
            return known
        plans = plans_of(layout)
        selected = {plan.digest: select(plan, representation) for plan in plans.all}

        def shown(device: DevicePlans) -> tuple[object, ...]:
            pages = (("", device.base), *sorted(device.by_section.items()))
            return tuple((section, tuple((p.id, p.filled) for p in selected[plan.digest]))
                         for section, plan in pages)

        by_device = plans.varies_on_device and len(set(map(shown, plans.by_device.values()))) > 1
        keys: set[str] = {"device"} if by_device else set()
        versions: set[str] = set()
        depends: dict[str, tuple[str, ...] | None] = {}
        for placement in {p.widget: p for chosen in selected.values() for p in chosen}.values():
            installed = self.core.registry.get(placement.widget)
            if installed is not None:
                policy = installed.widget.cache_policy
                keys.update(policy.vary)
                versions.add(f"{installed.name}={installed.widget.version}")
                if policy.shared:
                    depends[installed.name] = policy.depends_on
        inside = Inside(tuple(sorted(keys)), tuple(sorted(versions)), bool(keys & READER_KEYS),
                        tuple(depends.values()), by_device, selected)
        if len(self._inside) >= INSIDE_KEPT:
            self._inside.clear()
        self._inside[(layout.page_type, layout.digest, representation)] = inside
        return inside

    def serve(self, call: PageCall) -> PageResult:
        """The body for ``call``; raises :class:`SubjectNotFound`."""
        core, layout, slug = self.core, call.layout, call.slug
        started = time.perf_counter()
        site = core.site_view()
        version = core.content.version()
        inside = self.inside(layout, call.representation)
        reader = call.reader() if inside.needs_reader else None
        facts = ("body", call.representation, layout.page_type, slug, layout.digest,
                 *inside.versions,
                 *[f"{key}={vary_value(key, layout.page_type, slug, reader, site)}"
                   for key in inside.vary_keys], f"cv={version}")
        cached = self._cached_body(facts)
        if cached is not None and not cached.live and call.part is None:
            timing = f'{cached.hit_timing}, total;dur={_ms(started):.2f};desc="page-cache hit"'
            return PageResult(cached.body, cached.mimetype, cached.policy, False, "",
                              cached.etag, timing, inside.vary_keys, cached.surrogate_keys,
                              "hit")
        # The plans of the reader's device class; the plan itself follows the subject's
        # section (an article's is fixed for the content version in the key).
        device = plans_of(layout).for_device(
            reader.device if inside.by_device and reader is not None else ANY_DEVICE)
        if cached is not None and call.part is not None:
            plan = device.for_subject(cached.subject)
            return _part(call, plan, call.part, cached, inside, started, "hit")
        if cached is not None:
            subject = cached.subject
        else:
            found = core.subject(layout, slug, site)
            if found is None:
                raise SubjectNotFound(layout, slug)
            subject = found
        plan = device.for_subject(subject)

        made: list[PageContext] = []

        def context() -> PageContext:
            if not made:
                made.append(core.page_context(plan, slug, subject, reader or call.reader(),
                                              site))
            return made[0]

        page = HolePage(plan, slug, subject, version, context)
        if cached is not None:
            return self._fill(call, call.holes(), cached, page, inside, started)

        # Holes rendered here are rendered with the rest, within one budget; others are
        # filled after the shared placements are, and so are all when one is inside another
        # placement: its position may not be there (a short article), and what is not shown
        # is not rendered (an ad not decided).
        placements = inside.selected[plan.digest]
        holes = [p for p in placements if not _shared(core, p)]
        hole_ids = {p.id for p in holes}
        holes_filler = call.holes() if holes else None
        together = (holes_filler is not None and holes_filler.renders_here
                    and not any(p.inside for p in holes))
        rendered = {item.placement.id: item for item in core.renderer.render(
            plan, page.context(),
            [p for p in placements if together or p.id not in hole_ids], version)}
        shared = {pid: item for pid, item in rendered.items() if pid not in hole_ids}
        assembly = Assembly(plan, subject, [
            _marked(p) if p.id in hole_ids else rendered[p.id] for p in placements])
        shell_bytes, mimetype = call.build(assembly)
        keys = response_keys(layout.page_type, layout.subject, slug, inside.depends_on)
        split = Shell.of(shell_bytes, (p.id for p in holes)) if holes else None
        live = tuple(p.id for p in holes if split is not None and p.id in split.ids)
        policy = ResponsePolicy.of(shared.values())
        entry = CachedBody(shell_bytes, mimetype, None if live else strong_etag(shell_bytes),
                           policy, server_timing([(item.placement.id, 0.0,
                                                   f"{item.placement.widget} page-cache")
                                                  for item in shared.values()]),
                           live, subject, keys,
                           time.time() + min(policy.ttl, BODY_TTL_CAP),
                           split if live else None)
        if all(item.outcome in CLEAN_OUTCOMES for item in shared.values()):
            self._store(facts, entry, min(policy.ttl, BODY_TTL_CAP))
        fresh = replace(entry, hit_timing=server_timing(timings(list(shared.values()))))
        if call.part is not None:
            return _part(call, plan, call.part, fresh, inside, started, "miss")
        done = [rendered[pid] for pid in live] if together else None
        return self._fill(call, holes_filler if live else None, fresh, page, inside, started,
                          outcome="miss", filled=done)

    def _fill(self, call: PageCall, holes: Holes | None, cached: CachedBody, page: HolePage,
              inside: Inside, started: float, outcome: str = "hit",
              filled: list[RenderedPlacement] | None = None) -> PageResult:
        """The cached body with its holes filled the way ``holes`` does it (``filled``:
        already, with the rest of the page; ``holes`` None: the body has none), or the
        reader's frame around them when the call asks for one."""
        placements = [p for p in map(page.layout.placement, cached.live) if p is not None]
        if filled is None:
            filled = holes.fill(page, placements) if holes is not None and placements else []
        per_reader = holes is not None and holes.per_reader(placements)
        body, etag, role = cached.body, cached.etag, ""
        if cached.live:
            shell = cached.shell or Shell.of(cached.body, cached.live)
            reserved = any(item.outcome == "reserved" for item in filled)
            if call.frame is not None and (call.frame_url is None or reserved):
                structure = shell.structure(page.layout.digest, call.representation)
                frame = call.frame
                body, etag, role = shell.frame(
                    filled, lambda index: frame(structure, index), call.markup), None, FRAME
                if call.frame_url is not None:
                    body, role = call.markup.envelope(body, call.frame_url), SHARED_FORM
            else:
                body, etag = shell.fill(cached.mimetype, filled)
                if reserved:
                    etag, role = None, SHARED_FORM
        if outcome == "miss":
            total = "rendered"
        elif filled and holes is not None:
            total = f"page-cache hit, per-request widgets {holes.name}"
        else:
            total = "page-cache hit"
        if role == FRAME or (role == SHARED_FORM and call.frame_url is not None):
            total += ", shared parts included"
        timing = ", ".join(part for part in (
            cached.hit_timing, server_timing([*timings(filled), ("total", _ms(started), total)]))
            if part)
        decided_ads = (holes is not None and holes.renders_here
                       and any(p.ad_slots for p in placements))
        return PageResult(body, cached.mimetype, cached.policy, per_reader, role, etag,
                          timing, inside.vary_keys, cached.surrogate_keys, outcome, decided_ads)

    def _cached_body(self, facts: tuple[str, ...]) -> CachedBody | None:
        """The local memo first (keyed by the facts themselves), then the shared cache (by
        their digest; a find there is then memoised locally)."""
        fragments = self.core.fragments
        if not fragments.enabled:
            return None
        cached = fragments.local.get(facts)
        if isinstance(cached, CachedBody):
            return cached
        cached = fragments.get(fragments.key(*facts))
        if not isinstance(cached, CachedBody):
            return None
        left = cached.expires_at - time.time()
        if left > 0:
            fragments.local.put(facts, cached, time.monotonic() + left, _weight(cached))
        return cached

    def _store(self, facts: tuple[str, ...], entry: CachedBody, ttl: int) -> None:
        """Into the shared cache; into the local memo when it is read back from there
        (:meth:`_cached_body`), not now: a long tail's pages, each read once, would push the
        pages read again out of the memo, and weighing a body (its pickle) costs a long-tail
        page as much as storing it does. Only while the shared cache is skipped (its breaker
        open) does a body go straight into the memo. The doorkeeper may leave a body out
        (``render/admission.py``)."""
        fragments = self.core.fragments
        if not fragments.enabled:  # NullCache: no key to make
            return
        key = fragments.key(*facts)
        if not fragments.admits(key):
            return
        fragments.set(key, entry, ttl)
        if not fragments.breaker.closed():  # the shared cache is skipped: the memo is all
            fragments.local.put(facts, entry, time.monotonic() + ttl, _weight(entry))




def _part(call: PageCall, plan: Layout, part: EdgePart, cached: CachedBody, inside: Inside,
          started: float, outcome: str) -> PageResult:
    """The shared piece of the page that ``part`` names; raises :class:`PartNotFound` when the
    page is not cut that way (any more)."""
    structure, index = part
    shell = cached.shell or (Shell.of(cached.body, cached.live) if cached.live else None)
    if (shell is None or not 0 <= index < len(shell.segments)
            or shell.structure(plan.digest, call.representation) != structure):
        raise PartNotFound(f"This page has no part {index} of {structure!r} (any more).")
    segment = call.markup.guard(shell.segments[index])
    timing = f'total;dur={_ms(started):.2f};desc="page-cache {outcome}, part {index}"'
    return PageResult(segment, cached.mimetype, cached.policy, False, "", strong_etag(segment),
                      timing, inside.vary_keys, cached.surrogate_keys, outcome)


def _shared(core: Core, placement: Placement) -> bool:
    """Whether the placement's output is the same for every reader (an unavailable widget's
    empty output is)."""
    installed = core.registry.get(placement.widget) if placement.available else None
    return installed is None or installed.widget.cache_policy.shared


def _marked(placement: Placement) -> RenderedPlacement:
    """A hole: the placement's mark, where its per-request output goes."""
    mark = Markup(LIVE_MARK.format(placement.id))  # noqa: S704 - an id of a loaded layout
    return RenderedPlacement(placement, mark, mark, "hole", 0.0, _HOLE_POLICY)


def _weight(entry: CachedBody) -> int:
    """The bytes a body takes in a process's memo: its pickle's length (the body, its shell's
    segments, its subject) and the memo's bookkeeping."""
    return len(pickle.dumps(entry, pickle.HIGHEST_PROTOCOL)) + MEMO_ENTRY_OVERHEAD


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


_HOLE_POLICY = CachePolicy.per_request()
