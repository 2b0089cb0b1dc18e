"""Forecast time with 10, 1,000 and 10,000 line items, side by side (target: at most 2 s at
10,000).

``.venv/bin/python bench/forecast.py``: in-process, no Flask. The networks are
``bench/decisions.py``'s (the same generator: sections, tiers, priorities, goals, caps,
targeting...). The traffic profile is a large news site's: 40,000 ad requests in an average hour
(a daily curve, weekends lower) over 800 kinds of page (50 sections by popularity, two device
classes, article and front pages, two languages, with and without a user key). The proposal is
a two-week sponsorship above every other (priority 0) on three sections, mobile, capped at 3 a
day, with a lifetime goal. Two times per network: **first**, the first forecast on a snapshot
just built that never served (cold: it composes the buckets and plans it reads), and
**forecast**, the later ones (warm: a forecast reads the snapshot the process serves from,
whose buckets serving has composed). Target: both at most 2 s at 10,000 line items.

Times are CPU time (``time.process_time``: the machine is shared), the median of the rounds,
the configurations timed in turns so drift hits them alike. Also timed: reading the traffic
record (the profile's rows, one per kind and hour of the week) from a SQLite file, and the
cost of noting one request on the serving path. Prints only; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from decisions import NOW, PAGE, SECTIONS, SLOTS, TZ, make_line_items

from layoutserver.ads.decisions.model import (
    FrequencyCap,
    Goal,
    LineItemSpec,
    PageRequest,
    Size,
    Targeting,
    Tier,
)
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.forecast.forecaster import Forecast, Settings, forecast
from layoutserver.ads.forecast.proposal import PROPOSAL_ID, stand_in_creatives
from layoutserver.ads.forecast.traffic import WEEK_HOURS, PageKind, TrafficProfile
from layoutserver.ads.forecast_source import KindCache, traffic_profile
from layoutserver.ads.traffic import TrafficRecorder, digest, kind_row
from layoutserver.ads.traffic_models import AdTraffic, AdTrafficKind, AdTrafficProfile
from layoutserver.db import Database

DAILY_CURVE = (0.45, 0.3, 0.2, 0.15, 0.15, 0.25, 0.5, 0.9, 1.3, 1.45, 1.45, 1.4,
               1.5, 1.45, 1.35, 1.3, 1.3, 1.35, 1.45, 1.5, 1.4, 1.15, 0.85, 0.6)
FRONT = PAGE[:1] + PAGE[3:]
TARGET_SECONDS = 2.0


def kinds() -> list[tuple[PageKind, float]]:
    """Every kind of page with its share of the requests."""
    zipf = [1 / (n + 1) for n in range(len(SECTIONS))]
    found = []
    for index, section in enumerate(SECTIONS):
        for device, device_share in (("desktop", 0.6), ("mobile", 0.4)):
            for page_type, page_share, slots in (("article", 0.8, PAGE), ("front", 0.2, FRONT)):
                for lang, lang_share in (("en", 0.8), ("es", 0.2)):
                    for keyed, keyed_share in ((True, 0.9), (False, 0.1)):
                        kind = PageKind(slots, device, section, page_type, keyed,
                                        (("lang", lang),))
                        found.append((kind, zipf[index] / sum(zipf) * device_share
                                      * page_share * lang_share * keyed_share))
    return found


def profile_rows(per_hour: float, weeks: int) -> list[tuple[int, PageKind, int]]:
    """Requests summed over ``weeks`` per hour of the week and kind."""
    rows = []
    for hour in range(WEEK_HOURS):
        weekday, clock = divmod(hour, 24)
        volume = per_hour * DAILY_CURVE[clock] * 24 / sum(DAILY_CURVE) * (
            0.8 if weekday >= 5 else 1.08)
        for kind, share in kinds():
            requests = round(volume * share * weeks)
            if requests:
                rows.append((hour, kind, requests))
    return rows


def proposal() -> LineItemSpec:
    return LineItemSpec(
        id=PROPOSAL_ID, name="proposal", campaign_id=0, advertiser_id=0, tier=Tier.SPONSORSHIP,
        priority=0, start=NOW, end=NOW + timedelta(days=14),
        creatives=stand_in_creatives(PROPOSAL_ID, [Size(300, 250), Size(320, 50)]),
        goal=Goal("impressions", 400_000, "lifetime"), caps=(FrequencyCap(3, "day"),),
        targeting=Targeting(sections=frozenset(SECTIONS[1:4]), devices=frozenset({"mobile"})))


class Network:
    def __init__(self, count: int, profile: TrafficProfile, settings: Settings) -> None:
        self.count = count
        self.profile = profile
        self.settings = settings
        self.snapshot = Snapshot.build(SLOTS, make_line_items(count, 20241010), TZ,
                                       version=count)
        started = time.process_time()
        self.last = self.run(0)  # cold: composes the buckets serving would have
        self.cold = time.process_time() - started
        self.samples: list[float] = []

    def run(self, seed: int) -> Forecast:
        return forecast(self.snapshot, self.profile, proposal(), NOW, {}, {}, 0.002,
                        replace(self.settings, seed=seed))

    def timed(self, seed: int) -> None:
        started = time.process_time()
        self.last = self.run(seed)
        self.samples.append(time.process_time() - started)


def read_profile(rows: list[tuple[int, PageKind, int]], weeks: int) -> tuple[float, int]:
    """CPU seconds to read the traffic record of ``rows`` from a SQLite file, and its rows."""
    with tempfile.TemporaryDirectory() as directory:
        database = Database(f"sqlite:///{Path(directory) / 'traffic.sqlite3'}")
        database.create_all()
        first = NOW.astimezone(UTC) - timedelta(weeks=weeks)
        with database.session() as session:
            named = {kind: kind_row(kind) for _, kind, _ in rows}
            session.execute(AdTrafficKind.__table__.insert(), list(named.values()))
            session.execute(AdTrafficProfile.__table__.insert(), [
                {"week_hour": hour, "kind": digest(kind), "requests": requests}
                for hour, kind, requests in rows])
            session.execute(AdTraffic.__table__.insert(), [
                {"hour": first, "week_hour": 0, "kind": digest(rows[0][1]), "requests": 1}])
        started = time.process_time()
        with database.session() as session:
            profile, _ = traffic_profile(session, TZ, NOW, KindCache())
        seconds = time.process_time() - started
        database.dispose()
        assert profile.recorded_hours == weeks * WEEK_HOURS
        return seconds, len(rows)


def noting_cost(count: int = 20_000) -> float:
    """Microseconds of CPU to note one request (the serving path's share of the record)."""
    snapshot = Snapshot.build(SLOTS, make_line_items(1000, 1), TZ, version=1)
    recorder = TrafficRecorder(Database("sqlite://"), TZ, {
        "ADS_TRAFFIC_WEEKS": 8, "ADS_FORECAST_KEYS": [], "ADS_FORECAST_TAGS": [],
        "ADS_FORECAST_VALUES": 20}, lambda: NOW)
    rng = random.Random(1)
    requests = [PageRequest(slots=PAGE, now=NOW + timedelta(seconds=n), device=rng.choice(
        ("desktop", "mobile")), page_type="article", section=rng.choice(SECTIONS),
        tags=frozenset({f"tag-{rng.randint(0, 30)}"}), path=f"/pages/article/story-{n}",
        key_values={"lang": rng.choice(("en", "es")), "utm_source": "mail"},
        user_key=f"reader-{n}") for n in range(count)]
    recorder.note(requests[0], snapshot)  # the snapshot's folding, worked out once
    started = time.process_time()
    for request in requests:
        recorder.note(request, snapshot)
    return (time.process_time() - started) / count * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 1_000, 10_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=Settings().samples)
    parser.add_argument("--weeks", type=int, default=8)
    args = parser.parse_args(argv)

    rows = profile_rows(40_000, args.weeks)
    profile = TrafficProfile(TZ, rows, [args.weeks] * WEEK_HOURS)
    settings = Settings(samples=args.samples)
    networks = [Network(count, profile, settings) for count in args.counts]
    for round_ in range(args.rounds):
        for network in networks:
            network.timed(round_ + 1)

    print(f"forecast of a two-week proposal, {args.samples} samples a run, three runs; "
          f"CPU time, median of {args.rounds} rounds")
    print(f"python {sys.version.split()[0]}")
    print(f"{'line items':>11} {'forecast':>9} {'first':>7} {'matched':>10} {'available':>10} "
          f"{'forecast':>9} {'losers':>7}")
    for network in networks:
        found: Any = network.last
        print(f"{network.count:>11,} {statistics.median(network.samples):>8.2f}s "
              f"{network.cold:>6.2f}s {found.matched:>10,.0f} {found.available:>10,.0f} "
              f"{found.forecast:>9,.0f} {len(found.competitors):>7}")
    low, high = networks[0], networks[-1]
    seconds = statistics.median(high.samples)
    print(f"ratio {high.count:,}/{low.count:,}: "
          f"{seconds / statistics.median(low.samples):.2f}x; {high.count:,} line items: "
          f"first {high.cold:.2f} s, then {seconds:.2f} s "
          f"(target: at most {TARGET_SECONDS:.0f} s each)")
    read, count = read_profile(rows, args.weeks)
    print(f"reading the traffic record: {count:,} rows (kinds x hours of the week) "
          f"in {read * 1000:.0f} ms")
    print(f"noting a request on the serving path: {noting_cost():.1f} us")


if __name__ == "__main__":
    main()
