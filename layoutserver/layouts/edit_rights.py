"""Who may change which part of a layout.

A layout has two parts: its **ad placements** (placements of a widget that fills ad slots,
known by the widget contract's ``ad_slots`` hook: the core names no ad widget) and **the rest**
(content widgets, and the layout's own keys: title, subject, regions). A change is allowed when
every difference it makes lies in the parts the changer may change: ad ops move ad spots
anywhere among the content, publishers arrange the content around the ad spots, admins both.

Each part is compared as a projection of the document: the part's placements region by region,
in their order (each with all its keys, so a key the loader learns later is covered too), on
the layout's own pages and on each section variant's (the variant's regions in place of those
they replace), and, for the rest, the layout's, its regions' and its variants' own keys. So a
difference is what a kind of page shows differently: a variant that comes to replace a region
with a copy of it changes no placement, and one that replaces it without its ad spots removes
them. A difference in a part the changer may not change is a
:class:`~layoutserver.layouts.loader.LayoutProblem`, located at the placement it concerns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from layoutserver.layouts.changes import out_of_order
from layoutserver.layouts.editing import (
    Spot,
    placements_of,
    regions,
    variant_names,
    variants,
    with_ids,
)
from layoutserver.layouts.problems import LayoutProblem

Part = Literal["ads", "content"]
PARTS: frozenset[Part] = frozenset({"ads", "content"})
NOUNS: dict[Part, str] = {"ads": "ad placements", "content": "content widgets and the layout"}


@dataclass(frozen=True)
class Placed:
    spot: Spot
    table: Mapping[str, Any]

    @property
    def label(self) -> str:
        return (f"#{self.spot.index + 1} ({self.table.get('widget')}, "
                f"id {self.table.get('id')!r})")


def part_of(table: Mapping[str, Any], is_ad: Callable[[str], bool]) -> Part:
    widget = table.get("widget")
    return "ads" if isinstance(widget, str) and is_ad(widget) else "content"


def refused_changes(before: Mapping[str, Any], after: Mapping[str, Any],
                    parts: Iterable[Part], is_ad: Callable[[str], bool], where: str
                    ) -> list[LayoutProblem]:
    """Each difference from ``before`` to ``after`` outside ``parts``, as a problem located at
    ``where`` (the draft's or version's name) and its region and placement."""
    allowed = frozenset(parts)
    if allowed >= PARTS:
        return []
    old, new = with_ids(before), with_ids(after)
    problems: list[LayoutProblem] = []
    for part in sorted(PARTS - allowed):
        why = (f"your role may change {' and '.join(NOUNS[p] for p in sorted(allowed))}"
               if allowed else "your role may not change layouts")
        problems += _placements(old, new, part, is_ad, where, why)
        if part == "content":
            problems += _own_keys(old, new, where, why)
    return problems


def _pages(document: Mapping[str, Any], variant: str | None) -> list[tuple[Spot, Any]]:
    """The placements the pages of ``variant`` show, each where it is written: the layout's
    own regions, those the variant replaces replaced by its own. A variant the document does
    not have (added or removed by the change) has the layout's own pages."""
    replacing: dict[str, tuple[int, dict[str, Any]]] = {}
    if variant in variant_names(document):
        replacing = {str(region.get("name")): (index, region)
                     for index, region in enumerate(regions(document, variant))}
    shown: list[tuple[Spot, Any]] = []
    for own_index, own in enumerate(regions(document)):
        name = str(own.get("name", ""))
        scope, index, region = ((variant, *replacing[name]) if name in replacing
                                else (None, own_index, own))
        shown += [(Spot(scope, name, index, number), table)
                  for number, table in enumerate(placements_of(region))]
    return shown


def _placements(old: Mapping[str, Any], new: Mapping[str, Any], part: Part,
                is_ad: Callable[[str], bool], where: str, why: str) -> list[LayoutProblem]:
    """The part's differences on the layout's own pages, then on each variant's (before or
    after the change) that its own pages do not show: so a variant that comes to replace a
    region with a copy of it changes nothing, and one that replaces it without its ad spots
    removes them from the variant's pages."""
    found = _differences(_pages(old, None), _pages(new, None), part, is_ad, where, why)
    seen = {(problem.region, problem.placement, problem.message) for problem in found}
    for variant in dict.fromkeys([*variant_names(old), *variant_names(new)]):
        for problem in _differences(_pages(old, variant), _pages(new, variant), part, is_ad,
                                    where, why):
            # a difference in a region of the layout's own that the variant's pages show
            # too is said once, of the layout's own pages
            if problem.variant is not None or (
                    (problem.region, problem.placement, problem.message) not in seen):
                found.append(replace(problem, variant=variant))
    return sorted(found, key=lambda p: (str(p.variant), str(p.region), str(p.placement)))


def _differences(old: list[tuple[Spot, Any]], new: list[tuple[Spot, Any]], part: Part,
                 is_ad: Callable[[str], bool], where: str, why: str) -> list[LayoutProblem]:
    """The part's differences between the placements of two versions of one kind of page
    (ids are unique on a page)."""
    before = {str(table.get("id")): Placed(spot, table) for spot, table in old
              if part_of(table, is_ad) == part}
    after = {str(table.get("id")): Placed(spot, table) for spot, table in new
             if part_of(table, is_ad) == part}
    noun = "an ad placement" if part == "ads" else "a content widget"
    found: list[LayoutProblem] = []

    def refuse(placed: Placed, what: str) -> None:
        found.append(LayoutProblem(where, f"{what} {noun}: {why}", placed.spot.region,
                                   placed.label, variant=placed.spot.variant))

    for key, placed in after.items():
        was = before.get(key)
        if was is None:
            refuse(placed, "adds")
        elif was.spot.region != placed.spot.region:
            refuse(placed, f"moves (from region {was.spot.region!r})")
        elif dict(was.table) != dict(placed.table):
            refuse(placed, "changes")
    for key, placed in before.items():
        if key not in after:
            refuse(placed, "removes")
    for region in {placed.spot.region for placed in after.values()}:
        kept = [key for key, placed in after.items()
                if placed.spot.region == region and key in before
                and before[key].spot.region == region]
        order_before = sorted(kept, key=lambda k: before[k].spot.index)
        order_after = sorted(kept, key=lambda k: after[k].spot.index)
        for moved in out_of_order(order_before, order_after):
            refuse(after[moved], "reorders")
    return found


def _own_keys(old: Mapping[str, Any], new: Mapping[str, Any], where: str, why: str
              ) -> list[LayoutProblem]:
    """The layout's keys (title, subject...), its regions' (name, element, label...) and their
    order, and its variants' (name, sections, the regions each replaces)."""
    found = [LayoutProblem(where, f"changes the layout's {key}: {why}", field=key)
             for key in sorted({*old, *new} - {"regions", "variants"})
             if old.get(key) != new.get(key)]
    if _shape(regions(old)) != _shape(regions(new)):
        found.append(LayoutProblem(where, f"changes the regions: {why}", field="regions"))

    def shapes(document: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{**{k: v for k, v in variant.items() if k != "regions"},
                 "regions": _shape(_tables(variant.get("regions")))}
                for variant in variants(document)]

    if shapes(old) != shapes(new):
        found.append(LayoutProblem(where, f"changes the variants: {why}", field="variants"))
    return found


def _shape(tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in region.items() if k != "placements"} for region in tables]


def _tables(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
