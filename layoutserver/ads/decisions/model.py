"""The engine's inputs and outputs: immutable values, built from the database by the ads package
and from plain literals by tests."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Literal, NamedTuple, Protocol

SIZE = re.compile(r"^(\d{1,4})x(\d{1,4})$")

CreativeKind = Literal["image", "html", "text"]
Pacing = Literal["even", "asap"]
GoalMetric = Literal["impressions", "clicks", "viewable"]
"""What a goal counts; ``viewable``: viewable impressions (docs/viewability.md)."""
GoalPeriod = Literal["lifetime", "daily"]
CapPeriod = Literal["hour", "day", "week", "flight"]
Status = Literal["draft", "active", "paused"]
EmptySlot = Literal["collapse", "house"]


class Tier(IntEnum):
    """Priority tiers, served in this order; inside a tier a lower ``priority`` number first."""

    SPONSORSHIP = 1
    STANDARD = 2
    HOUSE = 3


@dataclass(frozen=True, order=True, slots=True)
class Size:
    width: int
    height: int

    @classmethod
    def parse(cls, text: str) -> Size:
        match = SIZE.match(text.strip())
        if match is None:
            raise ValueError(f"not a size like 300x250: {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True, slots=True)
class SlotSpec:
    code: str
    name: str
    sizes: Mapping[str, tuple[Size, ...]]
    """Accepted sizes by device class (desktop, tablet, mobile); key "*" for any device."""
    label: str = "- Advertisement -"
    enabled: bool = True
    when_empty: EmptySlot = "collapse"
    house_creative_id: int | None = None
    lazy: bool = False
    count_on_render: bool = False

    def sizes_for(self, device: str) -> tuple[Size, ...]:
        return self.sizes.get(device) or self.sizes.get("*", ())


@dataclass(frozen=True, slots=True)
class CreativeSpec:
    id: int
    kind: CreativeKind
    size: Size
    click_url: str
    image_url: str = ""
    alt: str = ""
    html: str = ""
    text: str = ""
    popups_escape_sandbox: bool = False
    """Its advertiser lets windows it opens leave its sandbox (HTML creatives)."""


@dataclass(frozen=True, slots=True)
class DayPart:
    """Serve on these weekdays (0 = Monday) between these site-local hours [start, end)."""

    weekdays: frozenset[int]
    start_hour: int
    end_hour: int


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    impressions: int
    period: CapPeriod


@dataclass(frozen=True, slots=True)
class Goal:
    metric: GoalMetric
    amount: int
    period: GoalPeriod


@dataclass(frozen=True, slots=True)
class Targeting:
    """Every non-empty rule must match. Inside a rule any listed value matches (tags: any of the
    page's tags; key_values: for each key, any of its values; paths: any fnmatch pattern)."""

    slots: frozenset[str] = frozenset()
    page_types: frozenset[str] = frozenset()
    sections: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    key_values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LineItemSpec:
    id: int
    name: str
    campaign_id: int
    advertiser_id: int
    tier: Tier
    priority: int
    start: datetime
    end: datetime
    creatives: tuple[CreativeSpec, ...]
    status: Status = "active"
    weight: int = 1
    pacing: Pacing = "even"
    goal: Goal | None = None
    caps: tuple[FrequencyCap, ...] = ()
    dayparts: tuple[DayPart, ...] = ()
    targeting: Targeting = field(default_factory=Targeting)
    exclusion_labels: frozenset[str] = frozenset()
    roadblock: bool = False
    """Fill every slot of the page this line item targets, or none."""


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One page's worth of ad slots and what is known about the page and the reader."""

    slots: tuple[str, ...]
    now: datetime
    """Aware; the engine converts it to the site time zone for schedules and day-parting."""
    device: str = "desktop"
    page_type: str = ""
    slug: str = ""
    section: str | None = None
    tags: frozenset[str] = frozenset()
    path: str = "/"
    key_values: Mapping[str, str] = field(default_factory=dict)
    user_key: str | None = None
    """First-party user key for frequency caps; None when there is none or consent denies."""


class DeliveryState(Protocol):
    """What has been delivered so far, as the counters say (database or Redis)."""

    def delivered(self, line_item_id: int, metric: GoalMetric, since: datetime | None) -> int:
        """Impressions, clicks or viewable impressions of a line item since ``since`` (None:
        its whole flight)."""
        ...

    def user_impressions(self, user_key: str, line_item_id: int, since: datetime | None) -> int:
        """Impressions of a line item to one user since ``since`` (None: the whole flight)."""
        ...


class SlotDecision(NamedTuple):
    """One slot's decision (a tuple: a page makes one per slot)."""

    slot: str
    size: Size | None
    line_item_id: int | None = None
    creative: CreativeSpec | None = None
    house: bool = False
    """True when the slot shows its house creative because nothing was eligible."""

    @property
    def empty(self) -> bool:
        return self.creative is None


@dataclass(frozen=True, slots=True)
class Consideration:
    """Why one line item was or was not chosen for one slot (the explain view)."""

    line_item_id: int
    name: str
    chosen: bool
    reason: str
    """e.g. "chosen", "schedule: ends 2024-10-09", "targeting: section", "cap reached",
    "goal reached", "pacing", "lost the lottery", "lower priority", "exclusion: label",
    "roadblock", "size", "paused", "same creative already on page"."""


@dataclass(frozen=True, slots=True)
class PageDecision:
    slots: Mapping[str, SlotDecision]
    considered: Mapping[str, tuple[Consideration, ...]] = field(default_factory=dict)
    """Filled only when explanations were asked for."""


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """The ad configuration's changes since a snapshot's version, as a snapshot applies them
    (``Snapshot.apply``): every slot and house creative as they are now (a configuration has
    few), and each line item that changed as it is now."""

    version: int | str
    slots: tuple[SlotSpec, ...]
    house_creatives: tuple[CreativeSpec, ...]
    line_items: Mapping[int, LineItemSpec | None]
    """By id; None for one that is gone. One that is not active, or has no creative, leaves
    the snapshot as a deleted one does."""
