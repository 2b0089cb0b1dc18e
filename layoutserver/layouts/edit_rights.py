"""Who may change which part of a layout.

A layout has two parts: its **ad placements** (placements of a widget that fills ad slots,
known by the widget contract's ``ad_slots`` hook: the core names no ad widget) and **the rest**
(content widgets, and the layout's own keys: title, subject, regions). A change is allowed when
every difference it makes lies in the parts the changer may change: ad ops move ad spots
anywhere among the content, publishers arrange the content around the ad spots, admins both.

Each part is compared as a projection of the document: the part's placements region by region,
in their order (each with all its keys, so a key the loader learns later is covered too), and,
for the rest, the layout's and its regions' own keys. A difference in a part the changer may not
change is a :class:`~layoutserver.layouts.loader.LayoutProblem`, located at the placement it
concerns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from layoutserver.layouts.changes import out_of_order
from layoutserver.layouts.editing import Spot, regions, variants, walk, with_ids
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


def _placed(document: Mapping[str, Any], part: Part, is_ad: Callable[[str], bool]
            ) -> dict[tuple[str | None, str], Placed]:
    """The part's placements by scope and id."""
    return {(spot.variant, str(table.get("id"))): Placed(spot, table)
            for spot, table in walk(document) if part_of(table, is_ad) == part}


def _placements(old: Mapping[str, Any], new: Mapping[str, Any], part: Part,
                is_ad: Callable[[str], bool], where: str, why: str) -> list[LayoutProblem]:
    before, after = _placed(old, part, is_ad), _placed(new, part, is_ad)
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
    for scope, region in {(p.spot.variant, p.spot.region) for p in after.values()}:
        kept = [key for key, placed in after.items()
                if (placed.spot.variant, placed.spot.region) == (scope, region)
                and key in before and before[key].spot.region == region]
        order_before = [key[1] for key in sorted(kept, key=lambda k: before[k].spot.index)]
        order_after = [key[1] for key in sorted(kept, key=lambda k: after[k].spot.index)]
        for moved in out_of_order(order_before, order_after):
            refuse(after[(scope, moved)], "reorders")
    return sorted(found, key=lambda p: (str(p.variant), str(p.region), str(p.placement)))


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
