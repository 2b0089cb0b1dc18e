"""Whole-page ad decision time with 10, 1,000, 10,000 and 100,000 line items, side by side.

``.venv/bin/python bench/decisions.py``: in-process, no Flask, no database. One page is the
seed article page's five slots (``article-top`` 728x90 desktop / 320x50 mobile, two
``article-mid`` slots 300x250 desktop / 320x50 mobile, two ``sidebar`` slots 300x250 desktop
only). Line items are generated with a fixed seed and a spread meant to look like a news site's
ad server: ~50 sections (most line items target a few of them), three tiers and a dozen
priorities, weights, some device, key-value, page-type, tag and path targeting, day-parts,
frequency caps, daily and lifetime goals with even and asap pacing, exclusion labels, a few
roadblocks, some ended or not started. Delivery counters (in memory) hold a morning's worth of
impressions so that goals, caps and pacing are exercised.

Each configuration decides the same pool of page requests; the configurations are timed in
turns, round after round, in CPU time (``time.process_time``: the machine is shared, and a
process waiting for a core is not charged), each round the least of two runs, and the least
round per configuration is kept: the run the machine disturbed least, for each alike. Prints
microseconds per page decision and the ratio of the largest to the smallest configuration
(target: at most 2). Prints only; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from layoutserver.ads.decisions.engine import decide_page
from layoutserver.ads.decisions.model import (
    CreativeSpec,
    DayPart,
    FrequencyCap,
    Goal,
    GoalPeriod,
    LineItemSpec,
    PageRequest,
    Size,
    SlotSpec,
    Targeting,
    Tier,
)
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.decisions.state import InMemoryDeliveryState

TZ = ZoneInfo("America/New_York")
NOW = datetime(2024, 10, 10, 12, 0, tzinfo=TZ)
LEADERBOARD, RECTANGLE, BANNER = Size(728, 90), Size(300, 250), Size(320, 50)
SECTIONS = [f"section-{n:02d}" for n in range(50)]
SLOTS = [
    SlotSpec("article-top", "Top", {"desktop": (LEADERBOARD,), "mobile": (BANNER,)}),
    SlotSpec("article-mid-1", "Mid 1", {"desktop": (RECTANGLE,), "mobile": (BANNER, RECTANGLE)}),
    SlotSpec("article-mid-2", "Mid 2", {"desktop": (RECTANGLE,), "mobile": (BANNER, RECTANGLE)}),
    SlotSpec("sidebar-1", "Sidebar 1", {"desktop": (RECTANGLE,)}),
    SlotSpec("sidebar-2", "Sidebar 2", {"desktop": (RECTANGLE,)}),
]
PAGE = tuple(slot.code for slot in SLOTS)
SIZES = (LEADERBOARD, RECTANGLE, BANNER)
LABELS = ("auto", "bank", "airline", "telecom", "insurance")


def section_choice(rng: random.Random) -> str:
    """Sections by popularity: a few big ones, a long tail (Zipf-like)."""
    return rng.choices(SECTIONS, weights=[1 / (n + 1) for n in range(len(SECTIONS))])[0]


def make_line_item(item_id: int, rng: random.Random, roadblock: bool) -> LineItemSpec:
    tier = rng.choices(list(Tier), weights=(5, 75, 20))[0]
    priority = rng.randint(1, 4) if tier is Tier.SPONSORSHIP else rng.randint(1, 12)
    sizes = rng.sample(SIZES, k=rng.choice((1, 1, 2, 3)))
    if roadblock:
        sizes = [LEADERBOARD, RECTANGLE, RECTANGLE, RECTANGLE, RECTANGLE, BANNER, BANNER]
    creatives = tuple(
        CreativeSpec(item_id * 10 + n, "image", size, f"https://ads.example/{item_id}/{n}")
        for n, size in enumerate(sizes)
    )
    roll = rng.random()
    start = NOW - timedelta(days=rng.randint(1, 30))
    end = NOW + timedelta(days=rng.randint(1, 30))
    if roll < 0.10:
        end = NOW - timedelta(hours=rng.randint(1, 100))
    elif roll < 0.15:
        start = NOW + timedelta(hours=rng.randint(1, 100))
    sections = frozenset(rng.sample(SECTIONS, k=rng.randint(1, 3))) if rng.random() < 0.7 else None
    slots = frozenset(rng.sample(PAGE, k=rng.randint(1, 2))) if rng.random() < 0.4 else None
    targeting = Targeting(
        slots=frozenset() if roadblock or slots is None else slots,
        sections=sections or frozenset(),
        page_types=frozenset({"article"}) if rng.random() < 0.2 else frozenset(),
        tags=frozenset({f"tag-{rng.randint(0, 30)}"}) if rng.random() < 0.1 else frozenset(),
        devices=frozenset({rng.choice(("desktop", "mobile"))})
        if rng.random() < 0.15
        else frozenset(),
        key_values={"lang": frozenset({rng.choice(("en", "es"))})} if rng.random() < 0.15 else {},
        paths=("/pages/article/*",) if rng.random() < 0.05 else (),
    )
    goal = None
    if rng.random() < 0.5:
        period: GoalPeriod = "daily" if rng.random() < 0.5 else "lifetime"
        amount = rng.randint(500, 5000) if period == "daily" else rng.randint(10_000, 200_000)
        goal = Goal("impressions", amount, period)
    caps: tuple[FrequencyCap, ...] = ()
    if rng.random() < 0.3:
        caps = (FrequencyCap(rng.randint(1, 5), rng.choice(("hour", "day", "week", "flight"))),)
    dayparts: tuple[DayPart, ...] = ()
    if rng.random() < 0.1:
        dayparts = (DayPart(frozenset(range(5)), 6, 22),)
    return LineItemSpec(
        id=item_id,
        name=f"line item {item_id}",
        campaign_id=item_id // 3,
        advertiser_id=item_id // 7,
        tier=tier,
        priority=priority,
        start=start,
        end=end,
        creatives=creatives,
        weight=rng.randint(1, 10),
        pacing=rng.choice(("even", "even", "asap")),
        goal=goal,
        caps=caps,
        dayparts=dayparts,
        targeting=targeting,
        exclusion_labels=frozenset({rng.choice(LABELS)}) if rng.random() < 0.1 else frozenset(),
        roadblock=roadblock,
    )


BASE = 10
DESKTOP = frozenset({"desktop"})
SPANISH = frozenset({"es"})


def base_line_items() -> list[LineItemSpec]:
    """What every configuration starts from, as a small publisher's ad server would hold:
    run-of-site house and backfill line items (so that pages fill), two section sponsorships
    and a roadblock for one section. The larger configurations add to these."""
    every_size = (LEADERBOARD, RECTANGLE, RECTANGLE, BANNER, BANNER)
    items: list[LineItemSpec] = []

    def add(tier: Tier, priority: int, sizes: tuple[Size, ...], **kw: Any) -> None:
        item_id = len(items) + 1
        items.append(
            LineItemSpec(
                id=item_id,
                name=f"base {item_id}",
                campaign_id=item_id,
                advertiser_id=item_id,
                tier=tier,
                priority=priority,
                start=NOW - timedelta(days=10),
                end=NOW + timedelta(days=10),
                creatives=tuple(
                    CreativeSpec(item_id * 10 + n, "image", size, f"https://ads.example/{n}")
                    for n, size in enumerate(sizes)
                ),
                weight=1 + item_id % 3,
                **kw,
            )
        )

    add(Tier.SPONSORSHIP, 1, every_size, roadblock=True, targeting=sections(SECTIONS[:1]))
    add(Tier.SPONSORSHIP, 2, (RECTANGLE, BANNER), targeting=sections(SECTIONS[1:3]))
    add(Tier.SPONSORSHIP, 2, (LEADERBOARD,), targeting=sections(SECTIONS[3:6]))
    add(Tier.STANDARD, 4, every_size, goal=Goal("impressions", 20_000, "daily"))
    add(Tier.STANDARD, 4, (RECTANGLE, BANNER), caps=(FrequencyCap(3, "day"),))
    add(Tier.STANDARD, 6, (LEADERBOARD, RECTANGLE), targeting=Targeting(devices=DESKTOP))
    add(Tier.STANDARD, 8, every_size, targeting=Targeting(key_values={"lang": SPANISH}))
    add(Tier.HOUSE, 1, every_size)
    add(Tier.HOUSE, 1, every_size)
    add(Tier.HOUSE, 2, every_size)
    assert len(items) == BASE
    return items


def sections(names: list[str]) -> Targeting:
    return Targeting(sections=frozenset(names))


def make_line_items(count: int, seed: int) -> list[LineItemSpec]:
    """The base line items, then ``count - BASE`` generated ones (roadblocks: 1 in 1,000)."""
    rng = random.Random(seed)
    extra = count - BASE
    roadblocks = extra // 1000
    generated = [make_line_item(BASE + n + 1, rng, roadblock=n < roadblocks) for n in range(extra)]
    return base_line_items()[:count] + generated


def make_state(items: list[LineItemSpec], seed: int) -> InMemoryDeliveryState:
    """A morning of delivery: impressions since 06:00 for line items with goals, and some
    readers that have already seen capped line items."""
    rng = random.Random(seed)
    state = InMemoryDeliveryState(TZ)
    morning = NOW.replace(hour=6)
    for item in items:
        if item.goal is not None:
            daily = item.goal.amount if item.goal.period == "daily" else item.goal.amount // 20
            for _ in range(int(daily * rng.uniform(0.05, 0.6) / 10)):
                at = morning + timedelta(seconds=rng.uniform(0, 6 * 3600))
                state.record_impression(item.id, None, at)
        if item.caps:
            for user in rng.sample(range(1000), k=20):
                state.record_impression(item.id, f"reader-{user}", NOW - timedelta(minutes=5))
    return state


def make_requests(count: int, seed: int) -> list[PageRequest]:
    rng = random.Random(seed)
    requests = []
    for n in range(count):
        user = rng.randrange(1000)
        requests.append(
            PageRequest(
                slots=PAGE,
                now=NOW + timedelta(seconds=n * 3),
                device="desktop" if rng.random() < 0.6 else "mobile",
                page_type="article" if rng.random() < 0.8 else "front",
                section=section_choice(rng),
                tags=frozenset({f"tag-{rng.randint(0, 30)}", f"tag-{rng.randint(0, 30)}"}),
                path=f"/pages/article/story-{n}",
                key_values={"lang": "en" if rng.random() < 0.8 else "es"},
                user_key=None if rng.random() < 0.1 else f"reader-{user}",
            )
        )
    return requests


class Config:
    def __init__(self, count: int, requests: list[PageRequest], seed: int) -> None:
        self.count = count
        items = make_line_items(count, seed)
        started = time.process_time()
        self.snapshot = Snapshot.build(SLOTS, items, TZ, version=count)
        self.build_ms = (time.process_time() - started) * 1000
        self.state = make_state(items, seed)
        self.requests = requests
        self.rng = random.Random(seed)
        self.samples: list[float] = []

    def run(self) -> None:
        snapshot, state, rng = self.snapshot, self.state, self.rng
        for request in self.requests:
            decide_page(snapshot, request, state, rng)

    def candidates(self) -> float:
        """Average candidates per slot of the request pool (what the index hands a decision)."""
        sizes = [
            len(self.snapshot.bucket(code, request.section))
            for request in self.requests
            for code in request.slots
        ]
        return statistics.fmean(sizes)

    def filled(self) -> float:
        rng = random.Random(0)
        decisions = [decide_page(self.snapshot, r, self.state, rng) for r in self.requests]
        slots = [d for decision in decisions for d in decision.slots.values()]
        return sum(not d.empty for d in slots) / len(slots)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 1_000, 10_000, 100_000])
    parser.add_argument("--pages", type=int, default=500, help="page requests per timing")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seed", type=int, default=20241010)
    args = parser.parse_args(argv)

    requests = make_requests(args.pages, args.seed)
    configs = [Config(count, requests, args.seed) for count in args.counts]
    for config in configs:  # warm up: the first runs fill caches of the interpreter
        config.run()
    for _ in range(args.rounds):
        for config in configs:
            run: Callable[[], None] = config.run
            config.samples.append(min(timeit.repeat(run, number=1, repeat=2,
                                                    timer=time.process_time)))

    print(f"page decision, {len(PAGE)} slots, {args.pages} page requests x {args.rounds} rounds"
          ", CPU time, least round")
    print(f"python {sys.version.split()[0]}")
    header = f"{'line items':>11} {'us/page':>9} {'candidates/slot':>16} {'filled':>7} {'build':>9}"
    print(header)
    for config in configs:
        per_page = min(config.samples) / args.pages * 1e6
        print(
            f"{config.count:>11,} {per_page:>9.1f} {config.candidates():>16.1f}"
            f" {config.filled():>6.0%} {config.build_ms:>7.0f}ms"
        )
    low, high = configs[0], configs[-1]
    ratio = min(high.samples) / min(low.samples)
    print(f"ratio {high.count:,}/{low.count:,}: {ratio:.2f}x (target: at most 2x)")


if __name__ == "__main__":
    main()
