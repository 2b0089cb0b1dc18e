"""How the per-request placements of a page (its *holes*: ad spots and any other widget whose
output is the reader's own) are filled for one request.

The body around the holes is the same for every reader and is what the body cache keeps
(``render/page.py``); only the filling differs:

* :class:`ServerHoles`: rendered here, for this reader (the page is then ``private``);
* :class:`ReservedHoles`: each ad slot an empty ``<div data-slot>`` that reserves the slot's
  room (:func:`slot_divs`), other holes nothing: the
  *shared form* of a page that an edge doing ESI keeps. Per page view the edge asks for the
  reader's frame (holes rendered here, the shared pieces included: ``Shell.frame``), and shows
  the shared form when the origin cannot answer;
* :class:`ClientHoles`: each ad placement becomes an empty ``<div data-slot>``, its room
  reserved, that ``ads.js`` fills with one ``/ads/decide`` per page view; the page is shared
  everywhere;
* :class:`EmptyHoles`: nothing, for a ``HEAD`` request, which must decide and count nothing.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from markupsafe import Markup

from layoutserver.layouts import Layout, Placement
from layoutserver.render.renderer import INCLUDE_POLICY, RenderedPlacement, Renderer, wrap
from layoutserver.widgets import (
    AdSource,
    ArticleView,
    PageContext,
    SectionView,
    SlotRoom,
    Subject,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HolePage:
    """What a filling may need of the page: a server render needs the whole page context,
    made only when asked for (a cached body has the subject; nothing else is looked up)."""

    layout: Layout
    slug: str
    subject: Subject
    content_version: int
    context: Callable[[], PageContext]


class Holes(Protocol):
    name: str
    """What becomes of the holes, as Server-Timing says it ("per-request widgets ...")."""
    renders_here: bool
    """Whether filling renders the holes with the page's renderer: then a page that misses
    the body cache renders them with its shared placements, in one budget."""

    def per_reader(self, placements: Sequence[Placement]) -> bool:
        """Whether filling ``placements`` puts this reader's own output in the response."""

    def fill(self, page: HolePage, placements: Sequence[Placement]
             ) -> list[RenderedPlacement]: ...


class ServerHoles:
    name = "rendered"
    renders_here = True

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    def per_reader(self, placements: Sequence[Placement]) -> bool:
        return bool(placements)

    def fill(self, page: HolePage, placements: Sequence[Placement]
             ) -> list[RenderedPlacement]:
        return self.renderer.render(page.layout, page.context(), placements,
                                    page.content_version)


class EmptyHoles:
    name = "skipped"
    renders_here = False

    def per_reader(self, placements: Sequence[Placement]) -> bool:
        return bool(placements)

    def fill(self, page: HolePage, placements: Sequence[Placement]
             ) -> list[RenderedPlacement]:
        return [wrap(placement, Markup(""), "skipped", 0.0, INCLUDE_POLICY)
                for placement in placements]


class ReservedHoles:
    name = "reserved"
    renders_here = False

    def __init__(self, ads: AdSource | None) -> None:
        self.ads = ads

    def per_reader(self, placements: Sequence[Placement]) -> bool:
        return False

    def fill(self, page: HolePage, placements: Sequence[Placement]
             ) -> list[RenderedPlacement]:
        rooms = slot_rooms(self.ads, placements)
        return [wrap(placement, slot_divs(placement.ad_slots, rooms), "reserved", 0.0,
                     INCLUDE_POLICY)
                for placement in placements]


def slot_rooms(ads: AdSource | None, placements: Sequence[Placement]) -> Mapping[str, SlotRoom]:
    """The room of every ad slot the placements declare: none without an ad source, or when
    it fails (its configuration unreadable), which is logged; the page is served all the same,
    its slots reserving nothing."""
    codes = [code for placement in placements for code in placement.ad_slots]
    if ads is None or not codes:
        return {}
    try:
        return ads.slot_rooms(codes)
    except Exception:
        log.exception("ad slot rooms unavailable; slots %s reserve nothing", ", ".join(codes))
        return {}


def slot_divs(codes: Sequence[str], rooms: Mapping[str, SlotRoom]) -> Markup:
    """An empty ``<div data-slot>`` per ad slot: where ``ads.js`` puts the slot's ad, or where
    it would have gone. It reserves the slot's room on each device class: the sizes go in as
    custom properties (``--ls-ad-w-mobile``, ``--ls-ad-h-mobile``, ...; ``ad-slot--labelled``
    when a label shows above the box), which the core stylesheet turns into a reserved box per
    breakpoint (``static/layoutserver.css``), with no script."""
    return Markup("").join(_slot_div(code, rooms.get(code)) for code in codes)


@functools.lru_cache(maxsize=1024)
def _slot_div(code: str, room: SlotRoom | None) -> Markup:
    if room is None:
        return Markup('<div class="ad-slot" data-slot="{}"></div>').format(code)
    style = ";".join(f"--ls-ad-w-{device}:{width}px;--ls-ad-h-{device}:{height}px"
                     for device, width, height in room.sizes)
    kind = "ad-slot ad-slot--labelled" if room.labelled else "ad-slot"
    return Markup('<div class="{}" data-slot="{}" style="{}"></div>').format(kind, code, style)


class ClientHoles:
    """Ad placements (those declaring ``ad_slots``) become ``<div data-slot>`` elements, with
    one ``ads.js`` tag for the page that names its subject for targeting; other per-request
    placements are filled by ``rest`` (rendered here, or included by an edge)."""

    name = "left to ads.js"
    renders_here = False

    def __init__(self, rest: Holes, script_url: str, ads: AdSource | None) -> None:
        self.rest = rest
        self.script_url = script_url
        self.ads = ads

    def per_reader(self, placements: Sequence[Placement]) -> bool:
        return self.rest.per_reader([p for p in placements if not p.ad_slots])

    def fill(self, page: HolePage, placements: Sequence[Placement]
             ) -> list[RenderedPlacement]:
        others = [p for p in placements if not p.ad_slots]
        rendered = {item.placement.id: item
                    for item in (self.rest.fill(page, others) if others else [])}
        script = self._script(page)
        rooms = slot_rooms(self.ads, placements)
        for placement in placements:
            if not placement.ad_slots:
                continue
            rendered[placement.id] = wrap(placement, slot_divs(placement.ad_slots, rooms) + script,
                                          "client", 0.0, INCLUDE_POLICY)
            script = Markup("")
        return [rendered[placement.id] for placement in placements]

    def _script(self, page: HolePage) -> Markup:
        subject = page.subject
        section, tags = "", ""
        if isinstance(subject, ArticleView):
            section = subject.section.slug if subject.section is not None else ""
            tags = json.dumps(list(subject.tags), ensure_ascii=False)
        elif isinstance(subject, SectionView):
            section = subject.slug
        return Markup(
            '<script src="{}" async data-page-type="{}" data-slug="{}" data-section="{}" '
            'data-tags="{}"></script>').format(self.script_url, page.layout.page_type,
                                                page.slug, section, tags)

