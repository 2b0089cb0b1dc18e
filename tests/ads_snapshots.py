"""What an ad snapshot holds, as plain values: a revised snapshot (``Snapshot.apply``) must hold
exactly what a build of the same configuration does, index included (the decision tests and the
snapshot source's tests compare them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from layoutserver.ads.decisions.entries import Candidate
from layoutserver.ads.decisions.snapshot import Snapshot


def _ids(candidates: Iterable[Candidate]) -> list[int]:
    return [candidate.entry.item.id for candidate in candidates]


def described(snapshot: Snapshot) -> dict[str, Any]:
    index: dict[str, Any] = {}
    for code, slot_index in snapshot.index.items():
        shelves: dict[str | None, Any] = {}
        for audience, shelf in slot_index.shelves.items():
            every = list(shelf.candidates())
            shelves[audience] = {
                "candidates": _ids(every),
                "size": shelf.size,
                "roadblocks": _ids(shelf.roadblocks),
                "idle": _ids(shelf.idle),
                "fits": {c.entry.item.id: {key: [creative.id for creative in found]
                                           for key, found in c.fits.items()}
                         for c in every},
                "parts": {key: [(part.rank, _ids(part.candidates), list(part.cumulative),
                                 part.total) for part in parts]
                          for key, parts in shelf.parts.items()},
            }
        index[code] = {"slot": slot_index.slot, "shelves": shelves}
    return {
        "version": snapshot.version,
        "slots": dict(snapshot.slots),
        "line_items": dict(snapshot.line_items),
        "entries": {item_id: (entry.item, entry.order, entry.start, entry.end)
                    for item_id, entry in snapshot.entries.items()},
        "creatives": dict(snapshot.creatives),
        "boundaries": list(snapshot.boundaries),
        "moments": dict(snapshot.moments),
        "creative_uses": dict(snapshot.creative_uses),
        "house": snapshot.house,
        "index": index,
    }
