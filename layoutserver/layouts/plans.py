"""A layout compiled into the plans a request is served from, when the layout loads: one per
device class and section variant (plans alike are one object), each a :class:`Layout` with
only the placements its pages show, and its hosts' filled positions. A request picks its plan
with two dictionary lookups (device class, then the subject's section); a layout without
variants or device-only placements is its own one plan, with its own digest, so compiling it
changes no cache key."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from layoutserver.layouts.model import Layout, Placement, Region
from layoutserver.widgets import DEVICE_CLASSES, ArticleView, SectionView, Subject


@dataclass(frozen=True)
class DevicePlans:
    """The plans of one device class: the layout's own regions, and each variant's."""

    base: Layout
    by_section: Mapping[str, Layout]

    def for_subject(self, subject: Subject) -> Layout:
        """The plan of a page about ``subject``: its section's variant, else the base."""
        if not self.by_section:
            return self.base
        section = subject.section if isinstance(subject, ArticleView) else subject
        if not isinstance(section, SectionView):
            return self.base
        return self.by_section.get(section.slug, self.base)

    def for_section(self, section: str | None) -> Layout:
        """The plan of a page of the section ``section`` (None: of none)."""
        return self.by_section.get(section, self.base) if section else self.base

    @functools.cached_property
    def all(self) -> tuple[Layout, ...]:
        return tuple({id(plan): plan for plan in (self.base, *self.by_section.values())}
                     .values())


@dataclass(frozen=True)
class Plans:
    by_device: Mapping[str, DevicePlans]
    varies_on_device: bool
    """Whether some device class is shown other placements than another."""

    def for_device(self, device: str) -> DevicePlans:
        return self.by_device[device]

    @functools.cached_property
    def all(self) -> tuple[Layout, ...]:
        """Every distinct plan."""
        return tuple({id(plan): plan for plans in self.by_device.values()
                      for plan in plans.all}.values())

    @functools.cached_property
    def has_ad_slots(self) -> bool:
        """Whether a page of some device or section has an ad slot."""
        return any(plan.ad_slots for plan in self.all)

    def placement(self, placement_id: str) -> Placement | None:
        """The placement ``placement_id`` of whichever plan has it (a device's or variant's
        own), or None."""
        return next((found for plan in self.all
                     if (found := plan.placement(placement_id)) is not None), None)


def plans_of(layout: Layout) -> Plans:
    """The layout's plans (compiled now for a layout made without them: a plan is its own)."""
    return layout.plans or with_plans(layout).plans or Plans({}, False)


def shown_anywhere(layout: Layout, representation: str) -> tuple[Placement, ...]:
    """What a representation shows on some page of any device or section (each placement
    once): what its response may need the assets of."""
    return tuple({p.id: p for plan in plans_of(layout).all
                  for p in select(plan, representation)}.values())


def select(plan: Layout, representation: str) -> tuple[Placement, ...]:
    """The placements of ``plan`` a representation shows: ``page`` and ``json`` all of them,
    ``region:NAME`` that region's, ``widget:ID`` that placement with those inside it (none of
    them when the plan does not show it)."""
    kind, _, name = representation.partition(":")
    if kind == "region":
        region = plan.region(name)
        return region.placements if region is not None else ()
    if kind == "widget":
        placement = plan.placement(name)
        if placement is None:
            return ()
        return (placement, *(p for p in plan.placement_list if p.inside == placement.id))
    return plan.placement_list


def with_plans(layout: Layout) -> Layout:
    """``layout`` with its :class:`Plans`."""
    made: dict[tuple[object, ...], Layout] = {}
    by_device: dict[str, DevicePlans] = {}
    for device in DEVICE_CLASSES:
        base = _plan(layout, None, layout.regions, device, made)
        by_section = {section: _plan(layout, variant.name, _replaced(layout.regions,
                                                                     variant.regions),
                                     device, made)
                      for variant in layout.variants for section in variant.sections}
        by_device[device] = DevicePlans(base, by_section)
    shapes = {tuple(id(plan) for plan in (plans.base, *plans.by_section.values()))
              for plans in by_device.values()}
    object.__setattr__(layout, "plans", Plans(by_device, varies_on_device=len(shapes) > 1))
    return layout


def _replaced(regions: Sequence[Region], replacing: Sequence[Region]) -> tuple[Region, ...]:
    by_name = {region.name: region for region in replacing}
    return tuple(by_name.get(region.name, region) for region in regions)


def _plan(layout: Layout, variant: str | None, regions: Sequence[Region], device: str,
          made: dict[tuple[object, ...], Layout]) -> Layout:
    """The plan of ``regions`` for ``device``: the placements shown to it, placements inside
    another shown only with it, each host's filled positions those left."""
    shown = {p.id: p for region in regions for p in region.placements if p.shown_to(device)}
    shown = {pid: p for pid, p in shown.items() if p.inside is None or p.inside in shown}
    filled: dict[str, list[str]] = {}
    for placement in shown.values():
        if placement.inside is not None and placement.position is not None:
            filled.setdefault(placement.inside, []).append(placement.position)
    planned = tuple(
        replace(region, placements=tuple(
            _with_filled(p, tuple(dict.fromkeys(filled.get(p.id, ()))))
            for p in region.placements if p.id in shown))
        for region in regions)
    shape = (variant, tuple((p.id, p.filled) for region in planned for p in region.placements))
    if variant is None and planned == layout.regions:
        return made.setdefault(shape, layout)
    if shape not in made:
        digest = hashlib.sha256(repr((layout.digest, shape)).encode()).hexdigest()[:16]
        made[shape] = Layout(layout.page_type, layout.subject, layout.title, layout.source,
                             planned, digest,
                             {p.id: p for region in planned for p in region.placements})
    return made[shape]


def _with_filled(placement: Placement, filled: tuple[str, ...]) -> Placement:
    return placement if placement.filled == filled else replace(placement, filled=filled)
