"""The engine's specs (``decisions/model.py``) of ad configuration rows, and the reads that
make them: the whole configuration for a snapshot's build, or the line items and slots a
change touched for its revision (``snapshot_source``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

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
from layoutserver.ads.models import AdSlot, Creative, LineItem
from layoutserver.importing import IN_CHUNK

TIERS = {"sponsorship": Tier.SPONSORSHIP, "standard": Tier.STANDARD, "house": Tier.HOUSE}


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


def slots_and_house_creatives(session: Session
                              ) -> tuple[list[SlotSpec], list[CreativeSpec]]:
    """Every slot, and the servable house creatives they name (a configuration has few)."""
    slots = session.scalars(select(AdSlot)).unique().all()
    house = [creative_spec(slot.house_creative) for slot in slots
             if slot.house_creative is not None and servable(slot.house_creative)]
    return [slot_spec(slot) for slot in slots], house


def active_line_items(session: Session, timezone: ZoneInfo) -> list[LineItemSpec]:
    """Every active line item (the only ones a snapshot indexes)."""
    rows = session.scalars(select(LineItem).where(LineItem.status == "active")).unique().all()
    return [line_item_spec(row, timezone) for row in rows]


def line_items_by_id(session: Session, ids: Iterable[int], timezone: ZoneInfo
                     ) -> dict[int, LineItemSpec | None]:
    """The line items ``ids`` as they are now, any status; None for one that is gone."""
    wanted = sorted(set(ids))
    found: dict[int, LineItemSpec | None] = dict.fromkeys(wanted)
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start:start + IN_CHUNK]
        for row in session.scalars(select(LineItem).where(LineItem.id.in_(chunk))).unique():
            found[row.id] = line_item_spec(row, timezone)
    return found
