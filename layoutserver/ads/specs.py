"""The engine's specs (``decisions/model.py``) of ad configuration rows, and the reads that
make them: the whole configuration for a snapshot's build, or the line items and slots a
change touched for its revision (``snapshot_source``)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
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

BATCH = 2000
"""Line items read at once by a build."""
INTERNED = 65536
"""Distinct values kept for sharing (sets, sizes, caps): far more than a configuration has."""

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
        kind=cast(CreativeKind, sys.intern(row.kind)),
        size=_size(row.width, row.height),
        click_url=row.click_url,
        image_url=row.image_url,
        alt=sys.intern(row.alt),
        html=row.html,
        text=row.text,
        popups_escape_sandbox=row.advertiser is not None and row.advertiser.popups_escape_sandbox,
    )


def line_item_spec(row: LineItem, timezone: ZoneInfo) -> LineItemSpec:
    goal = None
    if row.goal_metric and row.goal_amount is not None:
        goal = _goal(row.goal_metric, row.goal_amount, row.goal_period or "lifetime")
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
        status=cast(Status, sys.intern(row.status)),
        weight=row.weight,
        pacing=cast(Pacing, sys.intern(row.pacing)),
        goal=goal,
        caps=tuple(_cap(cap["impressions"], cap["period"]) for cap in row.caps),
        dayparts=tuple(DayPart(_set(part["weekdays"]), part["start_hour"], part["end_hour"])
                       for part in row.dayparts),
        targeting=targeting(row.targeting),
        exclusion_labels=_set(row.exclusion_labels),
        roadblock=row.roadblock,
    )


NO_KEY_VALUES: Mapping[str, frozenset[str]] = MappingProxyType({})


def targeting(stored: Mapping[str, Any]) -> Targeting:
    def values(name: str) -> frozenset[str]:
        return _set(stored.get(name) or ())

    key_values: Mapping[str, Iterable[str]] = stored.get("key_values") or {}
    return Targeting(
        slots=values("slots"),
        page_types=values("page_types"),
        sections=values("sections"),
        tags=values("tags"),
        devices=values("devices"),
        key_values={key: _set(found) for key, found in key_values.items()} if key_values
        else NO_KEY_VALUES,
        paths=tuple(stored.get("paths") or ()),
    )


# Many line items share the same small values (sections, devices, sizes, caps): one object
# each, not one per line item (at 100,000 line items an empty frozenset alone is 216 bytes).


@functools.lru_cache(maxsize=INTERNED)
def _interned_set(values: tuple[Any, ...]) -> frozenset[Any]:
    return frozenset(sys.intern(value) if isinstance(value, str) else value
                     for value in values)


def _set(values: Iterable[Any]) -> frozenset[Any]:
    return _interned_set(tuple(values))


@functools.lru_cache(maxsize=INTERNED)
def _size(width: int, height: int) -> Size:
    return Size(width, height)


@functools.lru_cache(maxsize=INTERNED)
def _goal(metric: str, amount: int, period: str) -> Goal:
    return Goal(cast(GoalMetric, metric), amount, cast(GoalPeriod, period))


@functools.lru_cache(maxsize=INTERNED)
def _cap(impressions: int, period: str) -> FrequencyCap:
    return FrequencyCap(impressions, cast(CapPeriod, period))


def slots_and_house_creatives(session: Session
                              ) -> tuple[list[SlotSpec], list[CreativeSpec]]:
    """Every slot, and the servable house creatives they name (a configuration has few)."""
    slots = session.scalars(select(AdSlot)).unique().all()
    house = [creative_spec(slot.house_creative) for slot in slots
             if slot.house_creative is not None and servable(slot.house_creative)]
    return [slot_spec(slot) for slot in slots], house


def active_line_items(session: Session, timezone: ZoneInfo) -> Iterator[LineItemSpec]:
    """Every active line item (the only ones a snapshot indexes), read in batches: the rows of
    one batch are gone before the next is read, so a build's peak memory is the specs', not
    the rows' too."""
    query = (select(LineItem).where(LineItem.status == "active")
             .execution_options(yield_per=BATCH))
    for row in session.scalars(query):
        yield line_item_spec(row, timezone)


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
