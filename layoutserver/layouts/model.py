"""Validated layouts: page types, their regions, and the widget placements in each."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layoutserver.widgets import PlacementRequest

if TYPE_CHECKING:
    from layoutserver.layouts.plans import Plans

#: What a page type's slug names.
SUBJECT_KINDS = ("article", "section")

#: The HTML elements a region may be (``element`` in a layout file): the landmarks a page's
#: readers and their assistive technology navigate by, or a plain ``div``.
REGION_ELEMENTS = ("header", "main", "aside", "footer", "nav", "section", "div")


def default_element(name: str) -> str:
    """A region's element when its layout names none: the region's name when that is a landmark
    element (``header``, ``main``, ``aside``, ``footer``, ``nav``), else ``div``."""
    return name if name in REGION_ELEMENTS and name not in ("section", "div") else "div"


@dataclass(frozen=True)
class Placement:
    """One widget placed in a region, with its validated options."""

    id: str
    widget: str
    region: str
    options: Any
    """The options as the widget's schema loaded them."""
    options_key: str
    """The raw options as canonical JSON: the part of the cache key that stands for them."""
    available: bool = True
    """False when the widget is installed but failed to load: the placement renders empty."""
    ad_slots: tuple[str, ...] = ()
    """The ad slot codes the placement fills (its widget's ``ad_slots(options)``)."""
    devices: frozenset[str] | None = None
    """The device classes it is shown to (``devices`` in the layout); None: every one."""
    inside: str | None = None
    """The id of the placement of its region whose inner position it fills (``inside``)."""
    position: str | None = None
    """That inner position (``position``: ``after-paragraph-3``)."""
    filled: tuple[str, ...] = ()
    """Its own inner positions that placements fill in this plan (part of its cache key: the
    output holds a mark at each of them)."""

    def shown_to(self, device: str) -> bool:
        return self.devices is None or device in self.devices

    @functools.cached_property
    def request(self) -> PlacementRequest:
        """What the widget's whole-page step is given for it (the same on every page)."""
        return PlacementRequest(self.id, self.region, self.options)


@dataclass(frozen=True)
class Region:
    name: str
    placements: tuple[Placement, ...]
    element: str = "div"
    """The region's HTML element (one of :data:`REGION_ELEMENTS`)."""
    label: str | None = None
    """Its accessible name (``aria-label``), when the layout gives one."""


@dataclass(frozen=True)
class Variant:
    """Regions that replace the layout's own of the same names on the pages of some
    sections (``[[variants]]``)."""

    name: str
    sections: tuple[str, ...]
    """Section slugs: an article of one of them (a section front of one of them)."""
    regions: tuple[Region, ...]


@dataclass(frozen=True)
class Layout:
    page_type: str
    subject: str
    title: str
    source: Path
    regions: tuple[Region, ...]
    digest: str
    """A hash of the file, so that editing a layout changes every cache key built from it;
    a plan's (:attr:`plans`) also names the plan."""
    _placements: Mapping[str, Placement] = field(repr=False, compare=False, default_factory=dict)
    variants: tuple[Variant, ...] = ()
    """The section variants as written (a plan has none)."""
    plans: Plans | None = field(default=None, repr=False, compare=False)
    """What a request is served from: the layout compiled per device class and section
    (``layouts/plans.py``); None for a plan itself."""

    def region(self, name: str) -> Region | None:
        return next((region for region in self.regions if region.name == name), None)

    @functools.cached_property
    def main_region(self) -> Region | None:
        """The region that is the page's ``<main>`` (at most one: the loader sees to it)."""
        return next((region for region in self.regions if region.element == "main"), None)

    def placement(self, placement_id: str) -> Placement | None:
        return self._placements.get(placement_id)

    def placements(self) -> Iterator[Placement]:
        for region in self.regions:
            yield from region.placements

    @functools.cached_property
    def ad_slots(self) -> tuple[str, ...]:
        """The page's ad slot codes, each once, in page order."""
        return tuple(dict.fromkeys(code for p in self.placement_list for code in p.ad_slots))

    @functools.cached_property
    def placement_list(self) -> tuple[Placement, ...]:
        """Every placement in page order, worked out once (a page request needs them all)."""
        return tuple(self.placements())


def written_placements(layout: Layout) -> Iterator[Placement]:
    """Every placement the layout's text has: its regions', then its variants' regions'."""
    yield from layout.placements()
    for variant in layout.variants:
        for region in variant.regions:
            yield from region.placements


@dataclass(frozen=True)
class LayoutSet:
    """Every loaded layout, by page type."""

    layouts: Mapping[str, Layout]

    def get(self, page_type: str) -> Layout | None:
        return self.layouts.get(page_type)

    def __iter__(self) -> Iterator[Layout]:
        return iter(self.layouts.values())

    def __len__(self) -> int:
        return len(self.layouts)
