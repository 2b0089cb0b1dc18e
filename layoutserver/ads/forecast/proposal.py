"""The proposed line item, and the snapshot it would be booked into.

A proposal is a :class:`~layoutserver.ads.decisions.model.LineItemSpec` like any other, with
:data:`PROPOSAL_ID` and one stand-in creative per size it would bring. :func:`with_line_item`
adds it to a snapshot as a configuration change would (``Snapshot.with_line_items``), without
rebuilding the snapshot's index: the result holds exactly what ``Snapshot.build`` of the
configuration with it would (``tests/ads/forecast/test_forecast_proposal.py`` compares them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from layoutserver.ads.decisions.entries import Entry, make_entry
from layoutserver.ads.decisions.model import CreativeSpec, LineItemSpec, Size
from layoutserver.ads.decisions.snapshot import Snapshot

PROPOSAL_ID = -1
"""The proposal's line item id: no stored line item has it."""
OPEN_ID = -2
"""The id of the proposal's open variant (:func:`open_variant`)."""
FOCUS_ID = -3
"""The id the proposal's targeting is checked under (``focus.focus_of``)."""


def stand_in_creatives(item_id: int, sizes: Iterable[Size]) -> tuple[CreativeSpec, ...]:
    """One creative per size, with ids no stored creative has (negative)."""
    return tuple(CreativeSpec(id=item_id * 1000 - n, kind="image", size=size,
                              click_url="https://forecast.invalid/")
                 for n, size in enumerate(dict.fromkeys(sizes)))


def open_variant(item: LineItemSpec) -> LineItemSpec:
    """The proposal as it would be with weight 0, no goal and ``asap`` pacing: it then takes
    only what the line items of its tier and priority and above leave (a weight of 0 loses
    every lottery it shares), and all of that. What it gets is what is *available*."""
    return replace(item, id=OPEN_ID, weight=0, goal=None, pacing="asap",
                   creatives=stand_in_creatives(OPEN_ID, (c.size for c in item.creatives)))


def with_line_item(snapshot: Snapshot, item: LineItemSpec) -> Snapshot:
    """``snapshot`` with ``item`` added (an active line item with creatives), with memos of its
    own: the slots ``item`` does not target share ``snapshot``'s index, the shelves it joins
    are revised (``Snapshot.with_line_items``)."""
    return snapshot.with_line_items((item,), f"{snapshot.version}+{item.id}")


def entry_of(snapshot: Snapshot, item: LineItemSpec) -> Entry:
    """The engine's entry of ``item`` (its flight as timestamps, its rank)."""
    return make_entry(item, snapshot.timezone)


def flight(item: LineItemSpec, snapshot: Snapshot) -> tuple[datetime, datetime]:
    """``item``'s start and end, aware (naive ones are site-local, as the engine reads them)."""
    zone = snapshot.timezone
    return tuple(moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
                 for moment in (item.start, item.end))  # type: ignore[return-value]
