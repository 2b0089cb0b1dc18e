"""The requests a proposal can fill, as the sampling's focus (``sampling.Focus``): kinds of page
its targeting matches (the engine's own check) with a slot it targets that one of its creatives
fits, in hours of its flight its day-parts allow."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from layoutserver.ads.decisions.context import PageContext, in_daypart
from layoutserver.ads.decisions.model import LineItemSpec
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.decisions.state import InMemoryDeliveryState

from .proposal import FOCUS_ID, entry_of, flight
from .sampling import HOUR, Focus
from .traffic import PageKind

ALWAYS = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))


def focus_of(snapshot: Snapshot, item: LineItemSpec) -> Focus:
    """``item``'s focus; ``snapshot``'s memos get its checks (give it one of the forecast's
    own, not the one serving pages)."""
    start, end = flight(item, snapshot)
    zone = snapshot.timezone
    # its targeting and consent alone: a flight of all time, no day-parts
    timeless = entry_of(snapshot, replace(item, id=FOCUS_ID, start=ALWAYS[0], end=ALWAYS[1],
                                          dayparts=()))
    state = InMemoryDeliveryState(zone)
    sizes = {creative.size for creative in item.creatives}
    kinds: dict[PageKind, bool] = {}

    def fits(kind: PageKind) -> bool:
        found = kinds.get(kind)
        if found is None:
            page = PageContext(snapshot, kind.request(start, "r" if kind.keyed else None), state)
            found = page.static_reason(timeless) is None and any(
                not sizes.isdisjoint(slot.sizes_for(kind.device))
                for code in kind.slots
                if (slot := snapshot.slots.get(code)) is not None and slot.enabled
                and (not item.targeting.slots or code in item.targeting.slots))
            kinds[kind] = found
        return found

    def hours(moment: datetime) -> bool:
        if moment + HOUR <= start or moment >= end:
            return False
        if not item.dayparts:
            return True
        local = moment.astimezone(zone)
        return any(in_daypart(part, local.weekday(), local.hour) for part in item.dayparts)

    return Focus(fits, hours)
