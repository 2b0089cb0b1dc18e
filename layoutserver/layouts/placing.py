"""Where a placement shows beyond its region and order: to which device classes
(``devices``), and inside which other placement, at which of its inner positions (``inside``,
``position``: the host's widget declares its positions, ``Widget.positions``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from layoutserver.layouts.model import Placement, Region
from layoutserver.layouts.problems import LayoutProblem
from layoutserver.registry import WidgetRegistry
from layoutserver.widgets import DEVICE_CLASSES, POSITION_NAME

Placed = tuple[frozenset[str] | None, str | None, str | None]
"""A placement's devices, the id it is inside and the position there."""


def placed_where(raw: dict[str, Any], where: LayoutProblem,
                 problems: list[LayoutProblem]) -> Placed | None:
    """The ``devices``, ``inside`` and ``position`` keys of a placement table, checked on
    their own (whether the host and its position exist is :func:`check_inline`'s); None,
    with the problems added, when any is wrong."""
    before = len(problems)
    devices: frozenset[str] | None = None
    if "devices" in raw:
        given = raw["devices"]
        known = ", ".join(DEVICE_CLASSES)
        if (not isinstance(given, list) or not given
                or not all(isinstance(device, str) for device in given)):
            problems.append(replace(where, field="devices", message=(
                f"must be a list of one or more device classes ({known}), "
                f"e.g. devices = [\"mobile\"]")))
        else:
            unknown = [device for device in given if device not in DEVICE_CLASSES]
            if unknown:
                problems.append(replace(where, field="devices", message=(
                    f"unknown device class(es) {', '.join(map(repr, unknown))}; "
                    f"known: {known}")))
            elif len(set(given)) < len(given):
                problems.append(replace(where, field="devices",
                                        message="names a device class twice"))
            else:
                devices = frozenset(given)
    inside, position = raw.get("inside"), raw.get("position")
    if inside is not None and not isinstance(inside, str):
        problems.append(replace(where, field="inside", message=(
            "must be the id of the placement (in this region) whose inner position this one "
            "fills")))
    if position is not None and (not isinstance(position, str)
                                 or not POSITION_NAME.match(position) or "{n}" in position):
        problems.append(replace(where, field="position", message=(
            "must be the name of an inner position, such as 'after-paragraph-3'")))
    if inside is not None and position is None:
        problems.append(replace(where, field="position", message=(
            f"required with 'inside': which inner position of placement {inside!r} this "
            "placement fills")))
    if position is not None and inside is None:
        problems.append(replace(where, field="inside", message=(
            "required with 'position': the id of the placement (in this region) whose "
            "inner position this placement fills")))
    if len(problems) > before:
        return None
    return devices, inside, position


def check_inline(file: str, region: Region, numbers: Mapping[str, int],
                 registry: WidgetRegistry, problems: list[LayoutProblem]) -> Region:
    """Check each placement of ``region`` placed inside another: the host is a placement of
    the same region, not itself inside one, whose widget offers the position, and shown to
    some device the placement is shown to. Returns the region with each host's ``filled``
    positions set (a problem leaves it as it was). ``numbers``: each placement's number in
    the region's table, as problems name it."""
    by_id = {placement.id: placement for placement in region.placements}
    filled: dict[str, list[str]] = {}
    for placement in region.placements:
        if placement.inside is None or placement.position is None:
            continue
        where = LayoutProblem(file, "", region.name, f"#{numbers[placement.id]} "
                              f"({placement.widget}, id {placement.id!r})", "inside")
        problem = _host_problem(placement, by_id.get(placement.inside), registry)
        if problem is not None:
            field, message = problem
            problems.append(replace(where, field=field, message=message))
            continue
        filled.setdefault(placement.inside, []).append(placement.position)
    if not filled:
        return region
    return replace(region, placements=tuple(
        replace(p, filled=tuple(dict.fromkeys(filled[p.id]))) if p.id in filled else p
        for p in region.placements))


def _host_problem(placement: Placement, host: Placement | None,
                  registry: WidgetRegistry) -> tuple[str, str] | None:
    """What is wrong with ``host`` as the placement's host: (field, message), or None."""
    assert placement.inside is not None and placement.position is not None
    if host is None:
        return "inside", (f"no placement {placement.inside!r} in this region: a placement "
                          "inside another is listed in the region of the one it is inside")
    if host.id == placement.id:
        return "inside", "a placement cannot be inside itself"
    if host.inside is not None:
        return "inside", (f"placement {host.id!r} is itself inside {host.inside!r}: "
                          "placements inside others do not nest")
    if (placement.devices is not None and host.devices is not None
            and not placement.devices & host.devices):
        return "devices", (f"shown to no device: placement {host.id!r} is shown only to "
                           f"{', '.join(sorted(host.devices))}")
    installed = registry.get(host.widget) if host.available else None
    if installed is None:
        return None  # its widget is unavailable: the host renders empty, and so does this
    offered = installed.widget.positions
    if not any(position.offers(placement.position) for position in offered):
        if not offered:
            return "position", (f"widget {host.widget!r} (placement {host.id!r}) offers no "
                                "inner positions")
        names = ", ".join(position.name for position in offered)
        return "position", (f"widget {host.widget!r} (placement {host.id!r}) offers no "
                            f"position {placement.position!r}; it offers: {names} "
                            "({n}: a number from 1)")
    return None
