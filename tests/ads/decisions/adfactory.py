"""Builders for decision engine tests: slots, line items, requests and a traffic simulator.

Imported by the test modules of this directory (pytest puts it on ``sys.path``)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from layoutserver.ads.decisions.engine import decide_page
from layoutserver.ads.decisions.model import (
    CreativeSpec,
    LineItemSpec,
    PageDecision,
    PageRequest,
    Size,
    SlotSpec,
    Tier,
)
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.decisions.state import InMemoryDeliveryState

TZ = ZoneInfo("America/New_York")
NOW = datetime(2024, 10, 10, 12, 0, tzinfo=TZ)
LEADERBOARD = Size(728, 90)
RECTANGLE = Size(300, 250)
BANNER = Size(320, 50)
DEFAULT_SIZES: Mapping[str, tuple[Size, ...]] = {
    "desktop": (LEADERBOARD, RECTANGLE),
    "mobile": (BANNER,),
}


def slot(code: str, sizes: Mapping[str, tuple[Size, ...]] | None = None, **kw: Any) -> SlotSpec:
    return SlotSpec(code=code, name=code, sizes=sizes or DEFAULT_SIZES, **kw)


def creative(creative_id: int, size: Size = RECTANGLE) -> CreativeSpec:
    return CreativeSpec(
        id=creative_id,
        kind="image",
        size=size,
        click_url=f"https://example.com/{creative_id}",
        image_url=f"https://cdn.example.com/{creative_id}.png",
    )


def line_item(
    item_id: int,
    *,
    tier: Tier = Tier.STANDARD,
    priority: int = 5,
    sizes: Sequence[Size] = (RECTANGLE,),
    start: datetime | None = None,
    end: datetime | None = None,
    **kw: Any,
) -> LineItemSpec:
    """A line item running from 30 days before NOW to 30 days after, with one creative per
    size in ``sizes`` (ids ``item_id * 100 + n``), unless ``creatives`` is given."""
    if "creatives" not in kw:
        kw["creatives"] = tuple(creative(item_id * 100 + n, s) for n, s in enumerate(sizes))
    return LineItemSpec(
        id=item_id,
        name=kw.pop("name", f"li-{item_id}"),
        campaign_id=kw.pop("campaign_id", 1),
        advertiser_id=kw.pop("advertiser_id", 1),
        tier=tier,
        priority=priority,
        start=start or NOW - timedelta(days=30),
        end=end or NOW + timedelta(days=30),
        **kw,
    )


def request(*slots: str, now: datetime = NOW, **kw: Any) -> PageRequest:
    return PageRequest(slots=slots or ("top",), now=now, **kw)


def snapshot(
    slots: Iterable[SlotSpec],
    items: Iterable[LineItemSpec],
    house: Iterable[CreativeSpec] = (),
) -> Snapshot:
    return Snapshot.build(slots, items, TZ, version=1, house_creatives=house)


def decide(
    snap: Snapshot,
    req: PageRequest,
    state: InMemoryDeliveryState | None = None,
    seed: int = 0,
    explain: bool = False,
) -> PageDecision:
    return decide_page(snap, req, state or InMemoryDeliveryState(TZ), random.Random(seed), explain)


def chosen(decision: PageDecision) -> dict[str, int | None]:
    """Line item id per slot (None: empty or house)."""
    return {code: d.line_item_id for code, d in decision.slots.items()}


def reasons(decision: PageDecision, code: str) -> dict[int, str]:
    return {c.line_item_id: c.reason for c in decision.considered[code]}


#: Share of a day's page views per site-local hour: a news site's curve (night trough at
#: ~15 % of the average hour, lunchtime and evening peaks).
DAILY_CURVE = (
    0.45, 0.3, 0.2, 0.15, 0.15, 0.25, 0.5, 0.9, 1.3, 1.45, 1.45, 1.4,
    1.5, 1.45, 1.35, 1.3, 1.3, 1.35, 1.45, 1.5, 1.4, 1.15, 0.85, 0.6,
)  # fmt: skip


def hourly_views(per_hour: int, curve: Sequence[float] | None = None) -> list[int]:
    """Page views for each hour of a day, ``per_hour`` on average."""
    if curve is None:
        return [per_hour] * 24
    scale = per_hour * 24 / sum(curve)
    return [round(share * scale) for share in curve]


@dataclass
class Simulation:
    """Page views through ``decide_page``, impressions recorded as they are decided."""

    snap: Snapshot
    state: InMemoryDeliveryState = field(default_factory=lambda: InMemoryDeliveryState(TZ))
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    hourly: dict[int, Counter[int]] = field(default_factory=dict)
    """Impressions per line item, by hours since the start of the simulation."""

    def view(self, req: PageRequest, hour: int = 0) -> PageDecision:
        decision = decide_page(self.snap, req, self.state, self.rng)
        counts = self.hourly.setdefault(hour, Counter())
        for slot_decision in decision.slots.values():
            if slot_decision.line_item_id is not None:
                counts[slot_decision.line_item_id] += 1
                self.state.record_impression(slot_decision.line_item_id, req.user_key, req.now)
        return decision

    def day(
        self, start: datetime, views: Sequence[int], slots: Sequence[str] = ("top",), **kw: Any
    ) -> None:
        """One page view after another, evenly spread inside each (absolute) hour from
        ``start``."""
        origin = start.astimezone(UTC)
        for hour, count in enumerate(views):
            for n in range(count):
                now = origin + timedelta(hours=hour, seconds=(n + 0.5) * 3600 / count)
                self.view(PageRequest(slots=tuple(slots), now=now, **kw), hour)

    def total(self, item_id: int) -> int:
        return sum(counts[item_id] for counts in self.hourly.values())

    def per_hour(self, item_id: int) -> list[int]:
        return [self.hourly.get(hour, Counter())[item_id] for hour in range(max(self.hourly) + 1)]
