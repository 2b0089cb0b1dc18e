"""One page decision's view of time, the request and delivery: eligibility checks, cached per
line item for the page (a line item competes for several slots of a page; it is checked once).

Reasons are constant strings on this path, so the fast path does not pay for explanations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cached_property
from typing import NamedTuple

from . import pacing
from .buckets import Bucket
from .entries import Candidate, Entry
from .model import (
    CapPeriod,
    CreativeSpec,
    DayPart,
    DeliveryState,
    Goal,
    PageRequest,
    SlotDecision,
    SlotSpec,
)
from .snapshot import Snapshot


class Delivery(NamedTuple):
    """What the delivery counters allow a line item on this page (a tuple: made per line item
    and page)."""

    reason: str | None
    """None when it may serve."""
    weight: float = 0.0
    """Its lottery weight, pacing included."""
    factor: float = 1.0
    """What pacing multiplied its weight by (1 to ``pacing.MAX_BOOST``)."""
    headroom: float = math.inf
    """Impressions its frequency caps still allow this user (inf: no caps)."""


UNKNOWN = "(not checked yet)"
"""What a memo of reasons answers for a line item not checked yet (None is a reason's "none"):
compared by identity, never shown."""
NO_USER_KEY = "cap: no user key"
BEFORE_TAGS = frozenset({"schedule: not started", "schedule: ended", "daypart",
                         "targeting: page type", "targeting: section"})
"""Static reasons checked before tags (the order the explain view documents)."""

GOAL_REACHED = Delivery("goal reached")
CAP_REACHED = Delivery("cap reached")
AHEAD = Delivery("pacing: ahead of schedule")


def in_daypart(part: DayPart, weekday: int, hour: int) -> bool:
    """``[start_hour, end_hour)`` on the listed weekdays; a part with ``start_hour > end_hour``
    runs over midnight (the weekday is that of the hour being checked)."""
    if weekday not in part.weekdays:
        return False
    if part.start_hour <= part.end_hour:
        return part.start_hour <= hour < part.end_hour
    return hour >= part.start_hour or hour < part.end_hour


SharedVerdicts = dict[int, Delivery]
"""Delivery verdicts by line item id, shared by the pages that decide on the same delivery
counts (a process keeps goal counts for a second: ``layoutserver.ads.delivery.GoalCounts``);
those of line items with caps as for a reader with no impressions."""


class PageContext:
    """State of one page decision: the clock in the site time zone, the eligibility caches and
    what the page holds so far (creatives, exclusion labels, impressions per line item).

    With ``shared``, the delivery verdict of a line item the page does not hold yet is taken
    from there, or worked out and put there: without frequency caps it depends only on the
    counts and the time, so pages deciding on the same counts share it. A line item with caps
    shares its verdict only among ``new_reader`` pages (a reader whose key was just made has no
    impressions, so caps leave every such reader the same headroom). Pacing then moves with
    the counts (at most a second behind) rather than with every page's clock."""

    def __init__(self, snapshot: Snapshot, request: PageRequest, state: DeliveryState,
                 shared: SharedVerdicts | None = None, new_reader: bool = False) -> None:
        if request.now.tzinfo is None:
            raise ValueError("PageRequest.now must be an aware datetime")
        self.request = request
        self.state = state
        self.local = request.now.astimezone(snapshot.timezone)
        self.now = request.now.timestamp()
        self.weekday = self.local.weekday()
        self.hour = self.local.hour
        self.used_creatives: set[int] = set()
        self.used_labels: dict[str, int] = {}
        self.page_counts: dict[int, int] = {}
        self._static = snapshot.static_reasons(request, self.now, self.weekday, self.hour)
        self._own: dict[Entry, str | None] = {}
        self._delivery: dict[int, Delivery] = {}
        self._shared = shared
        self._new_reader = new_reader

    # -- the site-local calendar, computed only when a goal or cap asks for it ------------------

    @cached_property
    def hour_start(self) -> datetime:
        return self.local.replace(minute=0, second=0, microsecond=0)

    @cached_property
    def day_start(self) -> datetime:
        return datetime.combine(self.local.date(), time(), tzinfo=self.local.tzinfo)

    @cached_property
    def day_end(self) -> datetime:
        tomorrow = self.local.date() + timedelta(days=1)
        return datetime.combine(tomorrow, time(), tzinfo=self.local.tzinfo)

    @cached_property
    def week_start(self) -> datetime:
        monday = self.local.date() - timedelta(days=self.weekday)
        return datetime.combine(monday, time(), tzinfo=self.local.tzinfo)

    @cached_property
    def day_span(self) -> tuple[float, float]:
        """The site-local day as POSIX timestamps (23 or 25 hours long on a DST change)."""
        return self.day_start.timestamp(), self.day_end.timestamp()

    @cached_property
    def hour_span(self) -> tuple[float, float]:
        start = self.hour_start.timestamp()
        return start, start + 3600.0

    def since(self, period: CapPeriod) -> datetime | None:
        if period == "hour":
            return self.hour_start
        if period == "day":
            return self.day_start
        if period == "week":
            return self.week_start
        return None

    # -- eligibility --------------------------------------------------------------------------

    def usable(
        self, candidate: Candidate, size_key: str, explain: bool
    ) -> tuple[str | None, tuple[CreativeSpec, ...]]:
        """Whether the candidate can fill the slot now, page rules included: (None, the
        creatives it may show) or (why not, ())."""
        fitting = candidate.fits.get(size_key)
        if fitting is None:
            return "size", ()
        entry = candidate.entry
        reason = self.static_reason(entry) or self.delivery(entry).reason
        if reason is not None:
            return reason, ()
        if entry.item.exclusion_labels:
            label = self.conflict(entry)
            if label is not None:
                return (f"exclusion: {label}" if explain else "exclusion"), ()
        creatives = self.unused(fitting)
        if not creatives:
            return "creative already on page", ()
        return None, creatives

    def reason(self, candidate: Candidate, size_key: str) -> str | None:
        """Why the candidate cannot fill the slot, page rules aside; None when it can. The
        order of the checks is the one the explain view documents (the first failure)."""
        entry = candidate.entry
        reason = self.static_reason(entry)
        if reason is not None:
            return reason
        if size_key not in candidate.fits:
            return "size"
        return self.delivery(entry).reason

    def static_reason(self, entry: Entry) -> str | None:
        """Schedule, day-parting, targeting and consent: what needs no delivery counters."""
        # dict.get, not try/except: a page meets many line items for the first time, and a
        # raised KeyError costs more than the lookup
        kept = self._own if entry.per_page else self._static
        reason = kept.get(entry, UNKNOWN)
        if reason is UNKNOWN:
            reason = kept[entry] = (self._page_reason(entry) if entry.per_page
                                    else self._check_static(entry))
        return reason

    def _page_reason(self, entry: Entry) -> str | None:
        """The static reason of a line item targeting tags or paths, which pages share less
        than the other facts: the rest is kept for pages alike, these are checked per page,
        and the first failure in the documented order wins."""
        shared = self._static.get(entry, UNKNOWN)
        if shared is UNKNOWN:
            shared = self._static[entry] = self._check_static(entry)
        if shared in BEFORE_TAGS:
            return shared
        request = self.request
        tags = entry.item.targeting.tags
        if tags and tags.isdisjoint(request.tags):
            return "targeting: tags"
        if shared is not None and shared != NO_USER_KEY:
            return shared
        if entry.paths is not None and entry.paths.match(request.path) is None:
            return "targeting: path"
        return shared

    def _check_static(self, entry: Entry) -> str | None:
        """:meth:`static_reason` but for tags and paths (see :meth:`_page_reason`)."""
        if self.now < entry.start:
            return "schedule: not started"
        if self.now >= entry.end:
            return "schedule: ended"
        item = entry.item
        if item.dayparts and not any(
            in_daypart(part, self.weekday, self.hour) for part in item.dayparts
        ):
            return "daypart"
        targeting = item.targeting
        request = self.request
        if targeting.page_types and request.page_type not in targeting.page_types:
            return "targeting: page type"
        if targeting.sections and request.section not in targeting.sections:
            return "targeting: section"
        if targeting.devices and request.device not in targeting.devices:
            return "targeting: device"
        for key, values in targeting.key_values.items():
            if request.key_values.get(key) not in values:
                return "targeting: key-values"
        if item.caps and request.user_key is None:
            return NO_USER_KEY
        return None

    def delivery(self, entry: Entry) -> Delivery:
        """Goal, frequency caps and pacing, counting what this page already holds."""
        item = entry.item
        item_id = item.id
        kept = self._delivery.get(item_id)
        if kept is not None:
            return kept
        shared = self._shared
        if shared is None or item_id in self.page_counts or (item.caps and not self._new_reader):
            verdict = self._check_delivery(entry)
        else:
            found = shared.get(item_id)
            if found is None:
                found = shared[item_id] = self._check_delivery(entry)
            verdict = found
        self._delivery[item_id] = verdict
        return verdict

    def _check_delivery(self, entry: Entry) -> Delivery:
        item = entry.item
        on_page = self.page_counts.get(item.id, 0)
        goal = item.goal
        delivered = 0
        if goal is not None:
            daily = goal.period == "daily"
            delivered = self.state.delivered(
                item.id, goal.metric, self.day_start if daily else None
            )
            if goal.metric == "impressions":
                delivered += on_page
            if delivered >= goal.amount:
                return GOAL_REACHED
        headroom = math.inf
        user_key = self.request.user_key
        if item.caps and user_key is not None:
            for cap in item.caps:
                seen = self.state.user_impressions(user_key, item.id, self.since(cap.period))
                left = cap.impressions - seen - on_page
                if left <= 0:
                    return CAP_REACHED
                headroom = min(headroom, left)
        factor = 1.0
        if goal is not None and item.pacing == "even":
            paced = self._pace(entry, goal, delivered, on_page)
            if paced is None:
                return AHEAD
            factor = paced
        return Delivery(None, item.weight * factor, factor, headroom)

    def _pace(self, entry: Entry, goal: Goal, delivered: int, on_page: int) -> float | None:
        if goal.period == "daily":
            day_start, day_end = self.day_span
            start, end = max(day_start, entry.start), min(day_end, entry.end)
        else:
            start, end = entry.start, entry.end
        hour_start, hour_end = self.hour_span
        slice_ = (max(hour_start, start), min(hour_end, end))
        in_slice = self.state.delivered(entry.item.id, goal.metric, self.hour_start)
        if goal.metric == "impressions":
            in_slice += on_page
        return pacing.even_factor(goal.amount, delivered, in_slice, (start, end), slice_, self.now)

    # -- page rules -----------------------------------------------------------------------------

    def conflict(self, entry: Entry) -> str | None:
        """An exclusion label this line item shares with another line item on the page."""
        for label in entry.item.exclusion_labels:
            owner = self.used_labels.get(label)
            if owner is not None and owner != entry.item.id:
                return label
        return None

    def unused(self, creatives: tuple[CreativeSpec, ...]) -> tuple[CreativeSpec, ...]:
        used = self.used_creatives
        if not used:
            return creatives
        if len(creatives) == 1:  # most line items have one creative of a size
            return () if creatives[0].id in used else creatives
        return tuple(c for c in creatives if c.id not in used)

    def use(self, entry: Entry, creatives: list[CreativeSpec]) -> None:
        """Put creatives of a line item on the page; its delivery verdict is recomputed next
        time so that caps and goals count them."""
        item_id = entry.item.id
        for creative in creatives:
            self.used_creatives.add(creative.id)
        for label in entry.item.exclusion_labels:
            self.used_labels.setdefault(label, item_id)
        self.page_counts[item_id] = self.page_counts.get(item_id, 0) + len(creatives)
        self._delivery.pop(item_id, None)


@dataclass(slots=True)
class SlotRun:
    """One slot of the page being decided."""

    slot: SlotSpec
    fitting: Bucket
    """The candidates with a creative for the slot's sizes on this device (and roadblocks)."""
    size_key: str
    decision: SlotDecision | None = None
    roadblock: bool = False
    """True when a roadblock filled it."""
    clear: int = 0
    """How many of :attr:`fitting`'s groups, best first, are known to hold no eligible line
    item (``roadblocks._better_eligible``)."""
    best: tuple[int, int] | None = None
    """The rank of the best group known to hold an eligible line item."""


Notes = dict[tuple[str, int], str]
"""Explain mode: the reason per (slot code, line item id), as the decision found it."""
