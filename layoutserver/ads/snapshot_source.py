"""The engine's :class:`Snapshot`, built from the database and kept in memory.

Requests read only the ads config version (:data:`version.VERSION_SQL`, polled by
``Database.read_version``); slots, line items and creatives are read again only when that
version has moved, i.e. after an import or any other config change, which bumps it in the same
transaction. One process builds one snapshot at a time; requests meanwhile keep using the one
they have.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import select

from layoutserver.ads.decisions.model import (
    CapPeriod,
    CreativeKind,
    CreativeSpec,
    DayPart,
    EmptySlot,
    FrequencyCap,
    Goal,
    GoalMetric,
    GoalPeriod,
    LineItemSpec,
    Pacing,
    Size,
    SlotSpec,
    Status,
    Targeting,
    Tier,
)
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.models import AdSlot, Creative, LineItem
from layoutserver.ads.version import VERSION_SQL, read_ads_version
from layoutserver.db import Database

TIERS = {"sponsorship": Tier.SPONSORSHIP, "standard": Tier.STANDARD, "house": Tier.HOUSE}


class SnapshotSource:
    """The current snapshot of one app's ad configuration."""

    def __init__(self, database: Database, timezone: ZoneInfo) -> None:
        self._database = database
        self.timezone = timezone
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self.builds = 0
        """How many snapshots this source has built (tests and monitoring read it)."""

    def version(self) -> int:
        return self._database.read_version(VERSION_SQL)

    def current(self) -> Snapshot:
        """The snapshot of the stored configuration: the version (polled), and a rebuild only
        when it differs from the snapshot's."""
        version = self.version()
        snapshot = self._snapshot
        if snapshot is not None and snapshot.version == version:
            return snapshot
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or snapshot.version != version:
                snapshot = self._snapshot = self.build()
            return snapshot

    def build(self) -> Snapshot:
        """Read the whole configuration in one transaction and index it. The snapshot is
        labelled with the version read in that same transaction."""
        with self._database.session() as session:
            version = read_ads_version(session)
            slots = session.scalars(select(AdSlot)).unique().all()
            items = session.scalars(
                select(LineItem).where(LineItem.status == "active")
            ).unique().all()
            house = [slot.house_creative for slot in slots
                     if slot.house_creative is not None and servable(slot.house_creative)]
            snapshot = Snapshot.build(
                slots=[slot_spec(slot) for slot in slots],
                line_items=[line_item_spec(item, self.timezone) for item in items],
                timezone=self.timezone,
                version=version,
                house_creatives=[creative_spec(creative) for creative in house],
            )
        self.builds += 1
        return snapshot


def slot_spec(row: AdSlot) -> SlotSpec:
    sizes = {key: tuple(Size.parse(size) for size in accepted)
             for key, accepted in row.sizes.items()}
    return SlotSpec(
        code=row.code,
        name=row.name,
        sizes=sizes,
        label=row.label,
        enabled=row.enabled,
        when_empty=cast(EmptySlot, row.when_empty),
        house_creative_id=row.house_creative_id,
        lazy=row.lazy,
        count_on_render=row.count_on_render,
    )


def servable(row: Creative) -> bool:
    """False for an image creative whose image was not given or uploaded yet."""
    return row.kind != "image" or bool(row.image_url)


def creative_spec(row: Creative) -> CreativeSpec:
    return CreativeSpec(
        id=row.id,
        kind=cast(CreativeKind, row.kind),
        size=Size(row.width, row.height),
        click_url=row.click_url,
        image_url=row.image_url,
        alt=row.alt,
        html=row.html,
        text=row.text,
        popups_escape_sandbox=row.advertiser is not None and row.advertiser.popups_escape_sandbox,
    )


def line_item_spec(row: LineItem, timezone: ZoneInfo) -> LineItemSpec:
    goal = None
    if row.goal_metric and row.goal_amount is not None:
        goal = Goal(cast(GoalMetric, row.goal_metric), row.goal_amount,
                    cast(GoalPeriod, row.goal_period or "lifetime"))
    return LineItemSpec(
        id=row.id,
        name=row.name,
        campaign_id=row.campaign_id,
        advertiser_id=row.campaign.advertiser_id,
        tier=TIERS[row.tier],
        priority=row.priority,
        start=row.start.astimezone(timezone),
        end=row.end.astimezone(timezone),
        creatives=tuple(creative_spec(creative) for creative in row.creatives
                        if servable(creative)),
        status=cast(Status, row.status),
        weight=row.weight,
        pacing=cast(Pacing, row.pacing),
        goal=goal,
        caps=tuple(FrequencyCap(cap["impressions"], cast(CapPeriod, cap["period"]))
                   for cap in row.caps),
        dayparts=tuple(DayPart(frozenset(part["weekdays"]), part["start_hour"], part["end_hour"])
                       for part in row.dayparts),
        targeting=targeting(row.targeting),
        exclusion_labels=frozenset(row.exclusion_labels),
        roadblock=row.roadblock,
    )


def targeting(stored: Mapping[str, Any]) -> Targeting:
    def values(name: str) -> frozenset[str]:
        found: Iterable[str] = stored.get(name) or ()
        return frozenset(found)

    key_values: Mapping[str, Iterable[str]] = stored.get("key_values") or {}
    return Targeting(
        slots=values("slots"),
        page_types=values("page_types"),
        sections=values("sections"),
        tags=values("tags"),
        devices=values("devices"),
        key_values={key: frozenset(found) for key, found in key_values.items()},
        paths=tuple(stored.get("paths") or ()),
    )
