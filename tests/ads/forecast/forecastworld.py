"""A synthetic news site for the forecast's tests: its traffic (weekly seasonality, a daily
curve, a mix of pages that moves with the hour, noise), recorded weeks as the traffic record
keeps them, a held-out week of page views one by one with their readers, and generated line
items.

Imported by the test modules of this directory (pytest puts it on ``sys.path``)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from layoutserver.ads.decisions.model import (
    CreativeSpec,
    DayPart,
    FrequencyCap,
    Goal,
    LineItemSpec,
    Size,
    SlotSpec,
    Targeting,
    Tier,
)
from layoutserver.ads.forecast.traffic import WEEK_HOURS, PageKind, TrafficProfile, week_hour

TZ = ZoneInfo("America/New_York")
HISTORY_START = datetime(2024, 9, 2, tzinfo=TZ)  # a Monday
WEEKS = 4
HELD_OUT = HISTORY_START + timedelta(weeks=WEEKS)
HELD_OUT_END = HELD_OUT + timedelta(weeks=1)
LEADERBOARD, RECTANGLE, BANNER = Size(728, 90), Size(300, 250), Size(320, 50)
SLOTS = (
    SlotSpec("top", "Top", {"desktop": (LEADERBOARD,), "mobile": (BANNER,)}),
    SlotSpec("mid", "Mid", {"desktop": (RECTANGLE,), "mobile": (RECTANGLE, BANNER)}),
    SlotSpec("side", "Side", {"desktop": (RECTANGLE,)}),
)
PAGES = {"article": ("top", "mid", "side"), "front": ("top", "side")}
SECTIONS = {"world": 0.4, "sport": 0.3, "business": 0.2, "culture": 0.1}
DAILY_CURVE = (
    0.45, 0.3, 0.2, 0.15, 0.15, 0.25, 0.5, 0.9, 1.3, 1.45, 1.45, 1.4,
    1.5, 1.45, 1.35, 1.3, 1.3, 1.35, 1.45, 1.5, 1.4, 1.15, 0.85, 0.6,
)  # fmt: skip
WEEKDAY = (1.1, 1.1, 1.05, 1.05, 1.0, 0.7, 0.8)
PAGES_PER_READER = 3.0


@dataclass(frozen=True)
class Site:
    per_hour: float = 120.0
    """Ad requests in an average hour."""
    noise: float = 0.12
    """Hour-to-hour noise of the volume (log-normal sigma)."""
    keyed: float = 0.9
    """Share of requests with a user key."""

    def volume(self, moment: datetime) -> float:
        local = moment.astimezone(TZ)
        curve = DAILY_CURVE[local.hour] * 24 / sum(DAILY_CURVE)
        return self.per_hour * curve * WEEKDAY[local.weekday()] * 7 / sum(WEEKDAY)

    def mix(self, moment: datetime) -> dict[PageKind, float]:
        """Each kind's share of an hour's requests: mobile heavier mornings and evenings."""
        hour = moment.astimezone(TZ).hour
        mobile = 0.35 + 0.25 * math.cos((hour - 8) / 24 * 2 * math.pi) ** 2
        shares: dict[PageKind, float] = {}
        for page_type, slots in PAGES.items():
            page_share = 0.8 if page_type == "article" else 0.2
            for section, section_share in SECTIONS.items():
                for device, device_share in (("mobile", mobile), ("desktop", 1 - mobile)):
                    for lang, lang_share in (("en", 0.85), ("es", 0.15)):
                        for keyed, keyed_share in ((True, self.keyed), (False, 1 - self.keyed)):
                            kind = PageKind(slots, device, section, page_type, keyed,
                                            (("lang", lang),))
                            shares[kind] = (page_share * section_share * device_share
                                            * lang_share * keyed_share)
        return shares

    def hour_counts(self, moment: datetime, rng: random.Random) -> Iterator[tuple[PageKind, int]]:
        """The requests of one hour by kind: its volume with noise, spread over the mix."""
        volume = self.volume(moment) * rng.lognormvariate(-self.noise ** 2 / 2, self.noise)
        for kind, share in self.mix(moment).items():
            count = _poisson(volume * share, rng)
            if count:
                yield kind, count


def _poisson(mean: float, rng: random.Random) -> int:
    """A Poisson draw (Knuth's method, the means here are small; normal above 30)."""
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def hours(start: datetime, end: datetime) -> Iterator[datetime]:
    moment = start.astimezone(UTC)
    while moment < end:
        yield moment
        moment += timedelta(hours=1)


def recorded_profile(site: Site, seed: int, weeks: int = WEEKS) -> TrafficProfile:
    """The recorded weeks before the held-out one, as the traffic record sums them."""
    rng = random.Random(seed)
    sums: dict[tuple[int, PageKind], int] = {}
    recorded = [0] * WEEK_HOURS
    for moment in hours(HELD_OUT - timedelta(weeks=weeks), HELD_OUT):
        bin_ = week_hour(moment, TZ)
        recorded[bin_] += 1
        for kind, count in site.hour_counts(moment, rng):
            sums[(bin_, kind)] = sums.get((bin_, kind), 0) + count
    return TrafficProfile(TZ, ((b, k, n) for (b, k), n in sums.items()), recorded)


@dataclass(frozen=True)
class View:
    at: datetime
    kind: PageKind
    user_key: str | None


def held_out_views(site: Site, seed: int) -> list[View]:
    """The held-out week's requests one by one, in time order, each with its reader: readers
    per device class, ``PAGES_PER_READER`` requests a day each on average, not all alike (a
    reader's share of the day's requests is drawn from a gamma distribution)."""
    rng = random.Random(seed)
    views: list[View] = []
    for moment in hours(HELD_OUT, HELD_OUT_END):
        for kind, count in site.hour_counts(moment, rng):
            views.extend(View(moment + timedelta(seconds=rng.random() * 3600), kind, None)
                         for _ in range(count))
    views.sort(key=lambda view: view.at)
    return _with_readers(views, rng)


def _with_readers(views: list[View], rng: random.Random) -> list[View]:
    by_day: dict[tuple[object, str], list[int]] = {}
    for index, view in enumerate(views):
        if view.kind.keyed:
            day = view.at.astimezone(TZ).date()
            by_day.setdefault((day, view.kind.device), []).append(index)
    pools: dict[str, list[float]] = {}
    for (_, device), indexes in by_day.items():
        size = max(1, round(len(indexes) / PAGES_PER_READER))
        activity = pools.setdefault(device, [])
        while len(activity) < size:  # the same readers come back every day
            activity.append(rng.gammavariate(4.0, 1.0))
        readers = rng.choices(range(size), weights=activity[:size], k=len(indexes))
        for index, reader in zip(indexes, readers, strict=True):
            view = views[index]
            views[index] = View(view.at, view.kind, f"{device}:{reader}")
    return views


def _creatives(item_id: int, sizes: Sequence[Size]) -> tuple[CreativeSpec, ...]:
    return tuple(CreativeSpec(item_id * 10 + n, "image", size, f"https://ads.example/{item_id}")
                 for n, size in enumerate(sizes))


def line_items(seed: int) -> list[LineItemSpec]:
    """Ten line items, generated from ten shapes a news site books, their figures drawn with
    ``seed``: sponsorships, standard line items with daily and lifetime goals (even and asap),
    caps, device, section, key-value and day-part targeting, flights starting and ending inside
    the week, and house line items that take what is left."""
    rng = random.Random(seed)
    week = HELD_OUT
    weekly = 120 * 168  # requests in an average week

    def share(low: float, high: float) -> int:
        return round(weekly * rng.uniform(low, high))

    def item(item_id: int, tier: Tier, priority: int, sizes: Sequence[Size],
             **kw: object) -> LineItemSpec:
        return LineItemSpec(
            id=item_id, name=f"generated {item_id}", campaign_id=item_id, advertiser_id=item_id,
            tier=tier, priority=priority, start=kw.pop("start", week),  # type: ignore[arg-type]
            end=kw.pop("end", HELD_OUT_END), creatives=_creatives(item_id, sizes),
            **kw)  # type: ignore[arg-type]

    section = rng.choice(["world", "sport"])
    return [
        item(1, Tier.SPONSORSHIP, 1, (LEADERBOARD, BANNER),
             targeting=Targeting(sections=frozenset({section}), slots=frozenset({"top"})),
             goal=Goal("impressions", share(0.02, 0.04) // 7, "daily")),
        item(2, Tier.SPONSORSHIP, 2, (RECTANGLE,), roadblock=False,
             targeting=Targeting(key_values={"lang": frozenset({"es"})}),
             goal=Goal("impressions", share(0.06, 0.09), "lifetime"), pacing="asap"),
        item(3, Tier.STANDARD, 4, (RECTANGLE, BANNER),
             targeting=Targeting(devices=frozenset({"mobile"})),
             goal=Goal("impressions", share(0.05, 0.08) // 7, "daily")),
        item(4, Tier.STANDARD, 4, (RECTANGLE,), weight=rng.randint(2, 4),
             caps=(FrequencyCap(rng.randint(1, 2), "day"),),
             targeting=Targeting(slots=frozenset({"side"}))),
        item(5, Tier.STANDARD, 5, (LEADERBOARD, RECTANGLE, BANNER),
             targeting=Targeting(sections=frozenset({"business", "culture"})),
             goal=Goal("impressions", share(0.04, 0.06), "lifetime")),
        item(6, Tier.STANDARD, 5, (LEADERBOARD, BANNER),
             start=week + timedelta(days=2), end=week + timedelta(days=5, hours=12),
             goal=Goal("impressions", share(0.05, 0.07), "lifetime")),
        item(7, Tier.STANDARD, 6, (RECTANGLE,),
             dayparts=(DayPart(frozenset(range(5)), 6, 12),),
             targeting=Targeting(page_types=frozenset({"article"}))),
        item(8, Tier.STANDARD, 8, (LEADERBOARD, RECTANGLE, BANNER), weight=2,
             caps=(FrequencyCap(4, "week"),), exclusion_labels=frozenset({"bank"})),
        item(9, Tier.HOUSE, 1, (LEADERBOARD, RECTANGLE, BANNER), weight=3,
             exclusion_labels=frozenset({"bank"})),
        item(10, Tier.HOUSE, 1, (LEADERBOARD, RECTANGLE, BANNER), weight=1),
    ]
