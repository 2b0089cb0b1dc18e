"""Edits of a layout document (the JSON form of its TOML file): add, remove, move and change
placements. Pure functions over plain data: each returns a new document and leaves the one it
was given alone; what the edit makes is validated when the draft is saved
(``layouts.store.save_draft``), exactly as a file is.

The editor knows a document only as regions holding ordered placements, each a table with a
``widget`` and an ``id``: every other key (a placement's options, the device classes it shows
to, the placement it sits inside, and whatever else a layout may say of a placement or a
region) is carried along untouched, so a key the loader learns later is kept through every
edit.

A document has the layout's own regions and, in each of its section variants
(``[[variants]]``), the regions that replace some of them. Each is a *scope*: ``None`` for the
layout's own regions, a variant's name for its regions. Placement ids are unique within a
scope (a variant's region may reuse the ids of the region it replaces), so a placement is found
by its scope and id, and moves within its scope.

A placement may leave its id out (the loader then names it after its widget: ``latest-news``,
``latest-news-2``...); since such a name depends on the placements before it,
:func:`with_ids` writes every id out before an edit, so moving one placement never renames
another.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from layoutserver.layouts.loader import default_id

Document = dict[str, Any]
Scope = str | None
"""``None``: the layout's own regions; a variant's name: that variant's regions."""


class EditError(ValueError):
    """An edit that cannot be made to this document (an unknown placement, region or variant,
    a position out of range, an id taken): the message says which, ``key`` the placement's
    key it concerns (``id``, ``region``)."""

    def __init__(self, message: str, key: str = "id") -> None:
        self.key = key
        super().__init__(message)


@dataclass(frozen=True)
class Spot:
    """Where a placement sits: its scope, its region's name and index, its index there."""

    variant: Scope
    region: str
    region_index: int
    index: int


def _tables(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def variants(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The document's ``[[variants]]`` tables."""
    return _tables(document.get("variants"))


def variant_names(document: Mapping[str, Any]) -> list[str]:
    return [str(v["name"]) for v in variants(document) if isinstance(v.get("name"), str)]


def regions(document: Mapping[str, Any], variant: Scope = None) -> list[dict[str, Any]]:
    """The region tables of a scope."""
    if variant is None:
        return _tables(document.get("regions"))
    for table in variants(document):
        if table.get("name") == variant:
            return _tables(table.get("regions"))
    raise EditError(f"there is no variant {variant!r} in this layout (variants: "
                    f"{', '.join(variant_names(document)) or 'none'})", "variant")


def placements_of(region: Mapping[str, Any]) -> list[dict[str, Any]]:
    return _tables(region.get("placements"))


def scopes(document: Mapping[str, Any]) -> list[Scope]:
    """The layout's own regions, then each variant's."""
    return [None, *variant_names(document)]


def with_ids(document: Mapping[str, Any]) -> Document:
    """A copy of ``document`` with every placement's id written out, as the loader names the
    ones that leave it out (in a variant, the ids of the regions it keeps are taken)."""
    edited = copy.deepcopy(dict(document))
    _name(regions(edited), set())
    for variant in variants(edited):
        replaced = {region.get("name") for region in _tables(variant.get("regions"))}
        kept = {str(p.get("id")) for region in regions(edited)
                if region.get("name") not in replaced for p in placements_of(region)}
        _name(_tables(variant.get("regions")), kept)
    return edited


def _name(tables: list[dict[str, Any]], taken: set[str]) -> None:
    for region in tables:
        for placement in placements_of(region):
            if not placement.get("id") and isinstance(placement.get("widget"), str):
                placement["id"] = default_id(placement["widget"], taken)
            if isinstance(placement.get("id"), str):
                taken.add(placement["id"])


def walk(document: Mapping[str, Any], variant: Scope | bool = True
         ) -> Iterator[tuple[Spot, dict[str, Any]]]:
    """Every placement table with where it sits, in page order: of one scope, or (``True``)
    of every scope, the layout's own first."""
    for scope in (scopes(document) if variant is True else [variant]):
        assert scope is None or isinstance(scope, str)
        for region_index, region in enumerate(regions(document, scope)):
            for index, placement in enumerate(placements_of(region)):
                yield Spot(scope, str(region.get("name", "")), region_index, index), placement


def find(document: Mapping[str, Any], placement_id: str, variant: Scope = None
         ) -> tuple[Spot, dict[str, Any]]:
    for spot, placement in walk(document, variant):
        if placement.get("id") == placement_id:
            return spot, placement
    where = "this layout" if variant is None else f"variant {variant!r}"
    raise EditError(f"there is no placement {placement_id!r} in {where}")


def at(document: Mapping[str, Any], region: str, index: int, variant: Scope = None
       ) -> dict[str, Any]:
    """The placement table at ``index`` in ``region``."""
    for spot, placement in walk(document, variant):
        if (spot.region, spot.index) == (region, index):
            return placement
    raise EditError(f"region {region!r} has no position {index + 1}", "region")


def places(document: Mapping[str, Any], moving: str | None = None, variant: Scope = None
           ) -> list[tuple[str, int, str | None]]:
    """Every place a placement of the scope can go, in page order: (region, index, the id of
    the placement it would follow, None at the region's top). With ``moving``, the places of
    that placement once it is taken out (the indexes :func:`move` takes)."""
    found: list[tuple[str, int, str | None]] = []
    for region in regions(document, variant):
        name = str(region.get("name", ""))
        found.append((name, 0, None))
        others = [p for p in placements_of(region) if p.get("id") != moving]
        found += [(name, number, str(p.get("id"))) for number, p in enumerate(others, start=1)]
    return found


def _region(document: Document, name: str, variant: Scope) -> dict[str, Any]:
    for region in regions(document, variant):
        if region.get("name") == name:
            if not isinstance(region.get("placements"), list):
                region["placements"] = []
            return region
    names = ", ".join(str(r.get("name")) for r in regions(document, variant))
    raise EditError(f"there is no region {name!r} in "
                    f"{'this layout' if variant is None else f'variant {variant!r}'} "
                    f"(regions: {names})", "region")


def _insert(document: Document, region_name: str, index: int | None,
            placement: dict[str, Any], variant: Scope) -> None:
    target: list[Any] = _region(document, region_name, variant)["placements"]
    at = len(target) if index is None else index
    if not 0 <= at <= len(target):
        raise EditError(f"region {region_name!r} has no position {at + 1} (it holds "
                        f"{len(target)} placement(s))", "region")
    target.insert(at, placement)


def _take(document: Document, placement_id: str, variant: Scope) -> dict[str, Any]:
    spot, placement = find(document, placement_id, variant)
    regions(document, variant)[spot.region_index]["placements"].remove(placement)
    return placement


def add(document: Mapping[str, Any], region: str, placement: Mapping[str, Any],
        index: int | None = None, variant: Scope = None) -> Document:
    """``placement`` (a table with at least ``widget``) inserted into ``region`` at ``index``
    (0 is the top; None, the bottom). Without an id it is given the loader's default one."""
    edited = with_ids(document)
    new = copy.deepcopy(dict(placement))
    if not isinstance(new.get("widget"), str) or not new["widget"]:
        raise EditError("a placement needs a widget", "widget")
    taken = {str(p.get("id")) for _, p in walk(edited, variant)}
    if new.get("id") in taken:
        raise EditError(f"the id {new['id']!r} is taken in this layout")
    if not new.get("id"):
        new = {"widget": new["widget"], "id": default_id(new["widget"], taken),
               **{k: v for k, v in new.items() if k not in ("widget", "id")}}
    _insert(edited, region, index, new, variant)
    return edited


def remove(document: Mapping[str, Any], placement_id: str, variant: Scope = None) -> Document:
    edited = with_ids(document)
    _take(edited, placement_id, variant)
    return edited


def move(document: Mapping[str, Any], placement_id: str, region: str, index: int | None = None,
         variant: Scope = None) -> Document:
    """The placement taken out and put into ``region`` at ``index`` (counted among the
    region's placements once it is taken out; None: the bottom), within its scope."""
    edited = with_ids(document)
    placement = _take(edited, placement_id, variant)
    _insert(edited, region, index, placement, variant)
    return edited


def step(document: Mapping[str, Any], placement_id: str, offset: int, variant: Scope = None
         ) -> Document:
    """The placement moved ``offset`` places within its region (-1: up one)."""
    edited = with_ids(document)
    spot, _ = find(edited, placement_id, variant)
    target = spot.index + offset
    if not 0 <= target < len(placements_of(regions(edited, variant)[spot.region_index])):
        where = "top" if offset < 0 else "bottom"
        raise EditError(f"placement {placement_id!r} is at the {where} of region "
                        f"{spot.region!r} already: move it to another region instead")
    return move(edited, placement_id, spot.region, target, variant)


def replace(document: Mapping[str, Any], placement_id: str, placement: Mapping[str, Any],
            variant: Scope = None) -> Document:
    """The placement's table replaced by ``placement`` where it sits (its id may change, to
    one not taken in its scope)."""
    edited = with_ids(document)
    spot, _ = find(edited, placement_id, variant)
    new_id = placement.get("id")
    if new_id != placement_id and any(p.get("id") == new_id for _, p in walk(edited, variant)):
        raise EditError(f"the id {new_id!r} is taken in this layout")
    regions(edited, variant)[spot.region_index]["placements"][spot.index] = copy.deepcopy(
        dict(placement))
    return edited


def add_variant(document: Mapping[str, Any], name: str, sections: Sequence[str],
                replaced: Sequence[str]) -> Document:
    """A section variant ``name`` for the pages of ``sections``, replacing the layout's regions
    named in ``replaced`` with copies of them (their placements, ids and all), to be changed
    from there. Whether the name and sections are good is the loader's to say."""
    edited = with_ids(document)
    if name in variant_names(edited):
        raise EditError(f"there is a variant {name!r} already", "name")
    own = {str(region.get("name")): region for region in regions(edited)}
    unknown = [region for region in replaced if region not in own]
    if not replaced or unknown:
        raise EditError(f"choose one or more of the layout's regions ({', '.join(own)}) for "
                        "the variant to replace", "regions")
    copies = [{"name": region, "placements": copy.deepcopy(placements_of(own[region]))}
              for region in own if region in replaced]
    edited.setdefault("variants", []).append(
        {"name": name, "sections": list(sections), "regions": copies})
    return edited


def set_sections(document: Mapping[str, Any], variant: str, sections: Sequence[str]
                 ) -> Document:
    edited = with_ids(document)
    _variant(edited, variant)["sections"] = list(sections)
    return edited


def remove_variant(document: Mapping[str, Any], variant: str) -> Document:
    edited = with_ids(document)
    edited["variants"].remove(_variant(edited, variant))
    if not edited["variants"]:
        del edited["variants"]
    return edited


def _variant(document: Document, name: str) -> dict[str, Any]:
    regions(document, name)  # EditError when there is none
    return next(table for table in variants(document) if table.get("name") == name)
