"""Edits of a layout document (the JSON form of its TOML file): add, remove, move and change
placements. Pure functions over plain data: each returns a new document and leaves the one it
was given alone; what the edit makes is validated when the draft is saved
(``layouts.store.save_draft``), exactly as a file is.

The editor knows a document only as regions holding ordered placements, each a table with a
``widget`` and an ``id``: every other key (a placement's options, and whatever else a layout
may say of a placement or a region) is carried along untouched, so a field the loader learns
later is kept through every edit.

Placements are found by id. A placement may leave its id out (the loader then names it after
its widget: ``latest-news``, ``latest-news-2``...); since such a name depends on the
placements before it, :func:`with_ids` writes every id out before an edit, so moving one
placement never renames another.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from layoutserver.layouts.loader import default_id

Document = dict[str, Any]


class EditError(ValueError):
    """An edit that cannot be made to this document (an unknown placement or region, a
    position out of range, an id taken): the message says which, ``key`` the placement's key
    it concerns (``id``, ``region``)."""

    def __init__(self, message: str, key: str = "id") -> None:
        self.key = key
        super().__init__(message)


@dataclass(frozen=True)
class Spot:
    """Where a placement sits: its region's name and index, and its index in the region."""

    region: str
    region_index: int
    index: int


def regions(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The document's region tables (those that are tables)."""
    found = document.get("regions")
    return [region for region in found if isinstance(region, dict)] if isinstance(
        found, list) else []


def placements_of(region: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = region.get("placements")
    return [p for p in found if isinstance(p, dict)] if isinstance(found, list) else []


def with_ids(document: Mapping[str, Any]) -> Document:
    """A copy of ``document`` with every placement's id written out, as the loader names the
    ones that leave it out."""
    edited = copy.deepcopy(dict(document))
    taken: set[str] = {str(p["id"]) for region in regions(edited)
                       for p in placements_of(region) if p.get("id")}
    for region in regions(edited):
        for placement in placements_of(region):
            if not placement.get("id") and isinstance(placement.get("widget"), str):
                placement["id"] = default_id(placement["widget"], taken)
                taken.add(placement["id"])
    return edited


def walk(document: Mapping[str, Any]) -> Iterator[tuple[Spot, dict[str, Any]]]:
    """Every placement table with where it sits, in page order."""
    for region_index, region in enumerate(regions(document)):
        for index, placement in enumerate(placements_of(region)):
            yield Spot(str(region.get("name", "")), region_index, index), placement


def find(document: Mapping[str, Any], placement_id: str) -> tuple[Spot, dict[str, Any]]:
    for spot, placement in walk(document):
        if placement.get("id") == placement_id:
            return spot, placement
    raise EditError(f"there is no placement {placement_id!r} in this layout")


def places(document: Mapping[str, Any], moving: str | None = None
           ) -> list[tuple[str, int, str | None]]:
    """Every place a placement can go, in page order: (region, index, the id of the placement
    it would follow, None at the region's top). With ``moving``, the places of that placement
    once it is taken out (the indexes :func:`move` takes)."""
    found: list[tuple[str, int, str | None]] = []
    for region in regions(document):
        name = str(region.get("name", ""))
        found.append((name, 0, None))
        others = [p for p in placements_of(region) if p.get("id") != moving]
        found += [(name, number, str(p.get("id"))) for number, p in enumerate(others, start=1)]
    return found


def _region(document: Document, name: str) -> dict[str, Any]:
    for region in regions(document):
        if region.get("name") == name:
            if not isinstance(region.get("placements"), list):
                region["placements"] = []
            return region
    names = ", ".join(str(r.get("name")) for r in regions(document))
    raise EditError(f"there is no region {name!r} in this layout (regions: {names})",
                    "region")


def _insert(document: Document, region_name: str, index: int | None,
            placement: dict[str, Any]) -> None:
    target: list[Any] = _region(document, region_name)["placements"]
    at = len(target) if index is None else index
    if not 0 <= at <= len(target):
        raise EditError(f"region {region_name!r} has no position {at + 1} (it holds "
                        f"{len(target)} placement(s))", "region")
    target.insert(at, placement)


def add(document: Mapping[str, Any], region: str, placement: Mapping[str, Any],
        index: int | None = None) -> Document:
    """``placement`` (a table with at least ``widget``) inserted into ``region`` at ``index``
    (0 is the top; None, the bottom). Without an id it is given the loader's default one."""
    edited = with_ids(document)
    new = copy.deepcopy(dict(placement))
    if not isinstance(new.get("widget"), str) or not new["widget"]:
        raise EditError("a placement needs a widget", "widget")
    taken = {str(p.get("id")) for _, p in walk(edited)}
    if new.get("id") in taken:
        raise EditError(f"the id {new['id']!r} is taken in this layout")
    if not new.get("id"):
        new = {"widget": new["widget"], "id": default_id(new["widget"], taken),
               **{k: v for k, v in new.items() if k not in ("widget", "id")}}
    _insert(edited, region, index, new)
    return edited


def at(document: Mapping[str, Any], region: str, index: int) -> dict[str, Any]:
    """The placement table at ``index`` in ``region``."""
    for spot, placement in walk(document):
        if (spot.region, spot.index) == (region, index):
            return placement
    raise EditError(f"region {region!r} has no position {index + 1}", "region")


def remove(document: Mapping[str, Any], placement_id: str) -> Document:
    edited = with_ids(document)
    spot, _ = find(edited, placement_id)
    del regions(edited)[spot.region_index]["placements"][spot.index]
    return edited


def move(document: Mapping[str, Any], placement_id: str, region: str, index: int | None = None
         ) -> Document:
    """The placement taken out and put into ``region`` at ``index`` (counted among the
    region's placements once it is taken out; None: the bottom)."""
    edited = with_ids(document)
    spot, placement = find(edited, placement_id)
    del regions(edited)[spot.region_index]["placements"][spot.index]
    _insert(edited, region, index, placement)
    return edited


def step(document: Mapping[str, Any], placement_id: str, offset: int) -> Document:
    """The placement moved ``offset`` places within its region (-1: up one)."""
    edited = with_ids(document)
    spot, _ = find(edited, placement_id)
    target = spot.index + offset
    if not 0 <= target < len(placements_of(regions(edited)[spot.region_index])):
        where = "top" if offset < 0 else "bottom"
        raise EditError(f"placement {placement_id!r} is at the {where} of region "
                        f"{spot.region!r} already: move it to another region instead")
    return move(edited, placement_id, spot.region, target)


def replace(document: Mapping[str, Any], placement_id: str, placement: Mapping[str, Any]
            ) -> Document:
    """The placement's table replaced by ``placement`` where it sits (its id may change, to
    one not taken)."""
    edited = with_ids(document)
    spot, _ = find(edited, placement_id)
    new_id = placement.get("id")
    if new_id != placement_id and any(p.get("id") == new_id for _, p in walk(edited)):
        raise EditError(f"the id {new_id!r} is taken in this layout")
    regions(edited)[spot.region_index]["placements"][spot.index] = copy.deepcopy(
        dict(placement))
    return edited
