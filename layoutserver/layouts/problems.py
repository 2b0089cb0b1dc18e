"""A problem of a layout, located: file (or stored version), variant, region, placement, field."""

from __future__ import annotations

from dataclasses import dataclass


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
        if self.region is not None:
            where.append(f"region {self.region!r}")
        if self.placement is not None:
            where.append(f"placement {self.placement}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{': '.join(where)}: {self.message}"
