"""CPU per worker per ad configuration change at 10,000 and 100,000 line items, and memory per
worker at the largest size.

``.venv/bin/python bench/ads_changes.py``: generates each network once per schema (the line
items of ``bench/decisions.py``, written straight into a migrated SQLite file under
``.cache/ads-network/``, reused by later runs); each run works on a copy of it, so that every
run starts from the same network. For each size, one worker (``SnapshotSource`` on its own
engine, as a gunicorn worker has) builds its snapshot (a fresh worker: CPU and wall time; its
resident memory and what the build left allocated, by tracemalloc, at the largest size). Then
a writer (another engine on the same file, as another process or host) makes each change
through the config service, in its own transaction, and the worker follows it on its next
request: the CPU time (``time.process_time``) of ``current()`` and of noting the request in
the traffic record is what one worker spends on one change (read the version, read the change
log, read the touched line items, revise the snapshot, gather what its line items target for
the traffic record's folding). Each kind (a pause, an edit of targeting and
priority, an add) is made ``--repeat`` times; the median is printed, with the CPU of the first
``--pages`` page decisions after the change over the same pages decided again (what the memos
a change empties cost to fill), and, at the smallest size, a full rebuild for comparison
(``ADS_SNAPSHOT_REVISIONS = false``). Target: at most 50 ms per change at 100,000. Prints only;
asserts that every change reached the worker and nothing else.
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from decisions import NOW, SLOTS, TZ, make_line_items, make_requests, make_state
from made_once import made_once
from sqlalchemy import create_engine, insert

from layoutserver import migrate
from layoutserver.ads import config_service
from layoutserver.ads.decisions.engine import decide_page
from layoutserver.ads.decisions.model import LineItemSpec
from layoutserver.ads.decisions.snapshot import Snapshot
from layoutserver.ads.models import (
    AdSlot,
    AdsState,
    Advertiser,
    Campaign,
    Creative,
    LineItem,
    line_item_creatives,
)
from layoutserver.ads.snapshot_source import SnapshotSource
from layoutserver.ads.traffic import TrafficRecorder
from layoutserver.db import Database
from layoutserver.settings import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / ".cache" / "ads-network"
SEED = 20241010
TIERS = {1: "sponsorship", 2: "standard", 3: "house"}
ACTOR = "bench"


def network_database(count: int) -> Path:
    """The SQLite file of a network of ``count`` line items, made once per schema (the
    migrations' head is in its name) and kept in .cache; the files of other schemas go."""
    revision = migrate.head()
    for stale in CACHE_DIR.glob(f"ads-{count}-*"):
        if not stale.name.startswith(f"ads-{count}-{revision}."):
            stale.unlink()
    return made_once(CACHE_DIR / f"ads-{count}-{revision}.sqlite3",
                     lambda path: _write(count, path))


def working_copy(count: int, directory: Path) -> str:
    """A copy of the network's file in ``directory``, for one run to change (each run starts
    from the same network), as a database URL."""
    copy = directory / f"ads-{count}.sqlite3"
    shutil.copyfile(network_database(count), copy)
    return f"sqlite:///{copy}"


def _write(count: int, path: Path) -> None:
    url = f"sqlite:///{path}"
    print(f"ads network: writing {count:,} line items into {path}", flush=True)
    migrate.upgrade(url)
    items = make_line_items(count, SEED)
    engine = create_engine(url)
    with engine.begin() as connection:
        campaigns = sorted({item.campaign_id for item in items})
        advertisers = sorted({campaign // 3 for campaign in campaigns})
        connection.execute(insert(Advertiser), [
            {"id": n, "name": f"advertiser {n}", "popups_escape_sandbox": False}
            for n in advertisers])
        connection.execute(insert(Campaign), [
            {"id": n, "name": f"campaign {n}", "advertiser_id": n // 3} for n in campaigns])
        connection.execute(insert(Creative), [
            {"id": creative.id, "name": f"creative {creative.id}",
             "advertiser_id": item.campaign_id // 3, "kind": "image",
             "width": creative.size.width, "height": creative.size.height,
             "click_url": creative.click_url, "image_url": f"/img/{creative.id}.png",
             "alt": "An ad", "html": "", "text": ""}
            for item in items for creative in item.creatives])
        connection.execute(insert(AdSlot), [
            {"code": slot.code, "name": slot.name, "label": slot.label, "enabled": True,
             "sizes": {key: [str(size) for size in sizes] for key, sizes in slot.sizes.items()},
             "when_empty": "collapse", "house_creative_id": None, "lazy": False,
             "count_on_render": False}
            for slot in SLOTS])
        for start in range(0, len(items), 5000):
            chunk = items[start:start + 5000]
            connection.execute(insert(LineItem), [_row(item) for item in chunk])
            connection.execute(insert(line_item_creatives), [
                {"line_item_id": item.id, "creative_id": creative.id}
                for item in chunk for creative in item.creatives])
        connection.execute(insert(AdsState), [{"id": 1, "version": 1}])
    engine.dispose()


def _row(item: LineItemSpec) -> dict[str, Any]:
    """The row the importer would write for ``item`` (lists sorted, as it keeps them)."""
    targeting = item.targeting
    goal = item.goal
    return {
        "id": item.id, "name": item.name, "campaign_id": item.campaign_id,
        "tier": TIERS[int(item.tier)], "priority": item.priority,
        "start": item.start.astimezone(UTC), "end": item.end.astimezone(UTC),
        "dayparts": [{"weekdays": sorted(part.weekdays), "start_hour": part.start_hour,
                      "end_hour": part.end_hour} for part in item.dayparts],
        "goal_metric": goal.metric if goal else None,
        "goal_amount": goal.amount if goal else None,
        "goal_period": goal.period if goal else None,
        "pacing": item.pacing, "weight": item.weight,
        "caps": [{"impressions": cap.impressions, "period": cap.period} for cap in item.caps],
        "targeting": {
            "slots": sorted(targeting.slots), "page_types": sorted(targeting.page_types),
            "sections": sorted(targeting.sections), "tags": sorted(targeting.tags),
            "devices": sorted(targeting.devices),
            "key_values": {key: sorted(values)
                           for key, values in sorted(targeting.key_values.items())},
            "paths": sorted(targeting.paths),
        },
        "exclusion_labels": sorted(item.exclusion_labels), "roadblock": item.roadblock,
        "status": item.status,
    }


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def cpu(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.process_time()
    result = call()
    return (time.process_time() - started) * 1000, result


class Network:
    """One worker and one writer on a network of ``count`` line items."""

    def __init__(self, count: int, args: argparse.Namespace, directory: Path) -> None:
        self.count = count
        url = working_copy(count, directory)
        self.worker_db = Database(url)
        self.writer_db = Database(url)
        self.source = SnapshotSource(self.worker_db, TZ)
        gc.collect()
        before = rss_mb()
        wall = time.perf_counter()
        self.build_ms, self.snapshot = cpu(self.source.current)
        self.build_wall_ms = (time.perf_counter() - wall) * 1000
        gc.collect()
        self.rss_mb = rss_mb()
        self.rss_growth_mb = self.rss_mb - before
        self.traced_mb: float | None = None
        self.rng = random.Random(SEED)
        self.requests = make_requests(args.pages, SEED)
        self.state = make_state(list(self.snapshot.line_items.values()), SEED)
        self.samples: dict[str, list[tuple[float, float]]] = {}
        self.traffic = TrafficRecorder(self.worker_db, TZ, DEFAULTS, lambda: NOW)
        self.traffic.note(self.requests[0], self.snapshot)
        self.added = 0

    def trace_build(self) -> None:
        """What a build leaves allocated (the snapshot: specs and index), by tracemalloc."""
        self.snapshot = None  # type: ignore[assignment]
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        built = self.source.build()
        gc.collect()
        self.traced_mb = (tracemalloc.get_traced_memory()[0] - base) / 1e6
        tracemalloc.stop()
        self.snapshot = built

    def decide_all(self, snapshot: Snapshot) -> float:
        rng = random.Random(SEED)
        started = time.process_time()
        for request in self.requests:
            decide_page(snapshot, request, self.state, rng)
        return (time.process_time() - started) * 1000

    def change(self, kind: str) -> None:
        """Make one change of ``kind`` through the config service; the worker follows it."""
        with self.writer_db.session() as session:
            if kind == "add":
                self.added += 1
                name = f"bench added {self.added} {time.time_ns()}"
                config_service.create(session, ACTOR, "line_item", {
                    "name": name, "campaign": "campaign 1", "tier": "standard",
                    "priority": self.rng.randint(1, 12), "start": NOW.isoformat(),
                    "end": (NOW.replace(year=NOW.year + 1)).isoformat(), "status": "active",
                    "targeting": {"sections": [f"section-{self.rng.randint(0, 49):02d}"]},
                    "creatives": [f"creative {self.rng.choice(self._creatives())}"],
                }, TZ)
                check: Callable[[Snapshot], bool] = lambda s: any(  # noqa: E731
                    item.name == name for item in s.line_items.values())
            else:
                item = self.rng.choice([i for i in self.snapshot.line_items.values()
                                        if not i.name.startswith("bench added")])
                if kind == "pause":
                    data: dict[str, Any] = {"status": "paused"}
                    check = lambda s: item.id not in s.line_items  # noqa: E731
                else:
                    data = {"priority": item.priority % 12 + 1,
                            "targeting": {"sections": [f"section-{self.rng.randint(0, 49):02d}"]}}
                    check = lambda s: s.line_items[item.id].priority == data["priority"]  # noqa: E731
                config_service.update(session, ACTOR, "line_item", item.name, data, TZ)
        warm = self.decide_all(self.snapshot)
        spent, snapshot = cpu(self.follow)
        if not check(snapshot):
            raise SystemExit(f"the {kind} did not reach the worker")
        first = self.decide_all(snapshot)
        again = self.decide_all(snapshot)
        del warm
        self.snapshot = snapshot
        self.samples.setdefault(kind, []).append((spent, first - again))

    def follow(self) -> Snapshot:
        """What a worker does on its first request after a change, the decision aside: read
        and revise the snapshot, and fold the request for the traffic record (which gathers
        what the new snapshot's line items target)."""
        snapshot = self.source.current()
        self.traffic.note(self.requests[0], snapshot)
        return snapshot

    def _creatives(self) -> list[int]:
        return [creative_id for creative_id in list(self.snapshot.creatives)[:200]]

    def close(self) -> None:
        self.worker_db.dispose()
        self.writer_db.dispose()

    def rebuild_ms(self) -> float:
        return cpu(self.source.build)[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5, help="changes of each kind")
    parser.add_argument("--pages", type=int, default=100,
                        help="page decisions timed after each change")
    parser.add_argument("--no-trace", action="store_true",
                        help="skip the tracemalloc build at the largest size")
    args = parser.parse_args(argv)

    networks = []
    with tempfile.TemporaryDirectory(prefix="ads-changes-") as directory:
        for count in args.counts:
            network = Network(count, args, Path(directory))
            networks.append(network)
            for _ in range(args.repeat):
                for kind in ("pause", "edit", "add"):
                    network.change(kind)
            assert network.source.builds == 1, "a change was followed by a build"
        rebuild = networks[0].rebuild_ms()
        if not args.no_trace:
            networks[-1].trace_build()
        for network in networks:
            network.close()

    print(f"ad configuration changes, per worker; python {sys.version.split()[0]}; "
          f"{args.repeat} of each kind; CPU time (process_time), median")
    print(f"{'line items':>11} {'kind':>6} {'change ms':>10} {'most ms':>8} {'refill ms':>10}")
    for network in networks:
        for kind, samples in network.samples.items():
            spent = statistics.median(s for s, _ in samples)
            most = max(s for s, _ in samples)
            refill = statistics.median(r for _, r in samples)
            print(f"{network.count:>11,} {kind:>6} {spent:>10.1f} {most:>8.1f} {refill:>10.1f}")
    print("(most: the costliest of the repeats, a collection of the young generation included "
          "when one fell in it; refill: the first page decisions after the change over the same "
          f"pages again, {args.pages} pages)")
    for network in networks:
        print(f"{network.count:>11,} fresh worker: build {network.build_ms:,.0f} ms CPU "
              f"({network.build_wall_ms:,.0f} ms wall), RSS {network.rss_mb:,.0f} MB "
              f"(+{network.rss_growth_mb:,.0f} MB)")
    print(f"{networks[0].count:>11,} a change rebuilt afresh (ADS_SNAPSHOT_REVISIONS = false): "
          f"{rebuild:,.0f} ms CPU")
    largest = networks[-1]
    if largest.traced_mb is not None:
        print(f"{largest.count:>11,} snapshot memory (tracemalloc of a build): "
              f"{largest.traced_mb:,.0f} MB")
    worst = max(statistics.median(s for s, _ in samples)
                for samples in largest.samples.values())
    print(f"worst median change at {largest.count:,}: {worst:.1f} ms (target: at most 50 ms)")


if __name__ == "__main__":
    main()
