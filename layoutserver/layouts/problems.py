"""A problem of a layout, located: file (or stored version), variant, region, placement, field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from layoutserver.layouts.model import Layout


@dataclass(frozen=True)
class LayoutProblem:
    file: str
    message: str
    region: str | None = None
    placement: str | None = None
    field: str | None = None
    variant: str | None = None
    """The ``[[variants]]`` entry the problem is in (its name, or ``#N``), if any."""

    def __str__(self) -> str:
        where = [self.file]
        if self.variant is not None:
            where.append(f"variant {self.variant}" if self.variant.startswith("#")
                         else f"variant {self.variant!r}")
        return ": ".join([*where, self.inner()])

    def inner(self) -> str:
        """The problem within its variant (or the layout): region, placement, field, message,
        as ``layouts check`` words them."""
        where: list[str] = []
        if self.region is not None:
            where.append(f"region {self.region!r}")
        if self.placement is not None:
            where.append(f"placement {self.placement}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return ": ".join([*where, self.message])


def unavailable(layout: Layout) -> list[str]:
    """A line for each placement, of the layout's regions or its variants', whose widget is
    not available (not installed any more, failed to load, or disabled): it renders empty."""
    scopes = [("", layout.regions), *((f"variant {variant.name!r}: ", variant.regions)
                                      for variant in layout.variants)]
    return [f"{where}placement {placement.id}: widget {placement.widget!r} is not available; "
            "it renders empty"
            for where, regions in scopes for region in regions
            for placement in region.placements if not placement.available]
