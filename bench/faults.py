"""`make faults`: beacon bursts through faults of the parts production runs on, counted exactly.

Starts a PostgreSQL and a Redis of its own on loopback (Redis with ``appendonly yes``, as
docs/deployment.md asks; PostgreSQL as ``.ci/services`` starts it), two gunicorn hosts sharing
them the production way (``tests/production/cluster.py``: ``config/gunicorn.conf.py``,
``wsgi:app``), each host reaching PostgreSQL and Redis through a TCP proxy
(``tests/netproxy.py``) that can blackhole the network. Then, for each fault:

1. tracking tokens are made (``POST /ads/decide``, two slots a decision) and every count is
   flushed, for a baseline;
2. a burst of beacons, paced over ``--seconds``, by ``--concurrency`` clients, goes to the hosts
   as a load balancer would send it: each token's impression, for ``--click-share`` of them its
   click, for ``--view-share`` its viewable beacon and for ``--measure-share`` its measurable
   one (drawn apart: some tokens send both, some only one, as when a page's measurable beacon
   was lost), each sent again (``--replay-share``) to the other host a little later, with a page
   view every ``--page-every`` requests. The fault starts ``--lead`` seconds in;
3. every beacon that got no success during the burst is sent again until it does, as a page
   would (reported as "retried");
4. the counts are flushed (``layoutserver ads flush``) until nothing is queued, and compared per
   line item, creative and slot with the tokens: each token must count exactly once per kind
   (impression, click, measurable, viewable; a viewable beacon counts measurable too).

It prints a table (fault, beacons accepted, retried, counted, lost, doubled, page statuses,
p99 and max latency of every request in the burst) and exits non-zero if any count was lost or
doubled, or if a fault that must not disturb serving (``SERVING_FAULTS``: none, reloads) failed a
request or had a p99 of 1 s or more. One loss is allowed, and shown: when Redis loses its data
(redis-empty), the counts it held that no flush had copied yet (measured just before, with
clients' writes paused) are gone, unless a beacon is sent again (docs/reliability.md).

    .venv/bin/python bench/faults.py [--tokens 800] [--concurrency 8] [--seconds 16]
                                     [--faults redis-stop,postgres-stop] [--markdown]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "production")]

from cluster import Cluster, path_of, request  # noqa: E402
from netproxy import TcpProxy  # noqa: E402
from redis_fixtures import free_port  # noqa: E402

SEED_PATH = "/pages/article/east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
SLOTS = ["news-1", "news-2"]
SUCCESS = {"i": 204, "c": 302, "m": 204, "v": 204}
KINDS = tuple(SUCCESS)
"""Beacons by kind: impression, click, measurable, viewable (``ad_counts``' columns)."""
AD_BEACON = 'class="ad-spot__beacon"'
NO_ADS = 1
"""A page view's status in the table when it answered 200 without any ad in it."""
SERVING_FAULTS = {"none", "sighup", "rolling-restart"}
"""Faults that must not fail a request nor slow the burst's p99 to 1 s or more."""


# -- the servers --------------------------------------------------------------------------------


def _pg_bin() -> Path:
    for directory in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (directory / "pg_ctl").exists():
            return directory
    found = shutil.which("pg_ctl")
    if found is None:
        sys.exit("faults: PostgreSQL is not installed (apt-get install postgresql)")
    return Path(found).parent


def _as_owner(command: list[str]) -> list[str]:
    """initdb refuses root: as root, PostgreSQL runs as the postgres user (as .ci/services)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else command


class Postgres:
    def __init__(self, directory: Path) -> None:
        self.bin = _pg_bin()
        self.data = directory / "pg"
        self.port = free_port()
        self.url = f"postgresql+psycopg://layoutserver@127.0.0.1:{self.port}/layoutserver"
        if os.getuid() == 0:  # a no-op when the user exists
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"],
                           check=False, capture_output=True)
            shutil.chown(directory, "postgres")
        subprocess.run(_as_owner([str(self.bin / "initdb"), "-D", str(self.data), "-U",
                                  "layoutserver", "-A", "trust", "-E", "UTF8",
                                  "--locale=C.UTF-8", "--no-sync"]),
                       check=True, capture_output=True)
        self.start()
        subprocess.run(_as_owner([str(self.bin / "psql"), "-h", "127.0.0.1", "-p",
                                  str(self.port), "-U", "layoutserver", "-d", "postgres", "-qc",
                                  "CREATE DATABASE layoutserver"]), check=True)

    def start(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data.parent} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200")
        subprocess.run(_as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                                  str(self.data.parent / "postgres.log"), "-w", "-t", "60",
                                  "start", "-o", options]), check=True, capture_output=True)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(_as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode,
                                  "-w", "stop"]), check=False, capture_output=True)


class Redis:
    """redis-server with ``appendonly yes`` (``appendfsync everysec``), as in production."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "redis"
        self.directory.mkdir()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        server = shutil.which("redis-server") or "/usr/bin/redis-server"
        self._process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        """A clean shutdown (SIGTERM: Redis writes what it must and exits)."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)
            self._process = None

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=30)
            self._process = None

    def wipe(self) -> None:
        """Its data lost (a new machine, a lost disk)."""
        shutil.rmtree(self.directory)
        self.directory.mkdir()


# -- the fault suite ----------------------------------------------------------------------------


@dataclass
class Token:
    number: int
    impression: str
    click: str | None
    group: tuple[int, int, str]
    view: str = ""
    """The viewability URL's path."""
    beacons: tuple[str, ...] = ("i",)
    """The kinds of beacon sent for it (``KINDS``)."""
    """(line item, creative, slot): what ``ad_counts`` counts it under."""


@dataclass
class Result:
    fault: str
    accepted: int = 0
    retried: int = 0
    expected: int = 0
    counted: int = 0
    lost: int = 0
    doubled: int = 0
    pages: Counter[str] = field(default_factory=Counter)
    beacon_failures: int = 0
    p99: float = 0.0
    worst: float = 0.0
    notes: list[str] = field(default_factory=list)
    unflushed: int = 0
    """Counts Redis held, not yet flushed, when it lost its data (redis-empty): they may be
    lost (docs/reliability.md); the rest must not be."""

    @property
    def failed_requests(self) -> int:
        return self.beacon_failures + sum(n for k, n in self.pages.items() if k != "200")

    def ok(self) -> bool:
        if self.lost > self.unflushed or self.doubled:
            return False
        return self.fault not in SERVING_FAULTS or (self.failed_requests == 0
                                                    and self.p99 < 1.0)


class Suite:
    def __init__(self, options: argparse.Namespace, directory: Path) -> None:
        self.options = options
        self.postgres = Postgres(directory)
        self.redis = Redis(directory)
        self.pg_proxy = TcpProxy("127.0.0.1", self.postgres.port)
        self.redis_proxy = TcpProxy("127.0.0.1", self.redis.port)
        host_env = {
            "LAYOUTSERVER_DATABASE_URL": self.postgres.url.replace(
                f":{self.postgres.port}/", f":{self.pg_proxy.port}/"),
            "LAYOUTSERVER_REDIS_URL": f"redis://127.0.0.1:{self.redis_proxy.port}/0",
            "GUNICORN_GRACEFUL_TIMEOUT": "10",
        }
        self.cluster = Cluster(self.postgres.url, self.redis.url, directory,
                               workers=options.workers, host_env=host_env)
        self.engine = create_engine(self.postgres.url, pool_pre_ping=True)
        self.rotation = list(range(len(self.cluster.urls)))
        """The hosts a load balancer sends requests to (a draining host leaves it)."""
        self._rotation_lock = threading.Lock()
        self.unflushed = 0
        """Set by the redis-empty fault: counts Redis held unflushed when it lost its data."""

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.cluster.stop()
        self.engine.dispose()
        self.pg_proxy.close()
        self.redis_proxy.close()
        self.redis.kill()
        self.postgres.stop("immediate")

    # -- the faults ----------------------------------------------------------------------------

    def faults(self) -> dict[str, Callable[[], None]]:
        outage = self.options.outage
        cluster = self.cluster

        def worker_kill() -> None:
            cluster.kill_worker(0)

        def host_kill() -> None:
            cluster.kill_host(0)
            time.sleep(2)
            cluster.start_host(0, wait=False)

        def redis_stop() -> None:
            self.redis.stop()
            time.sleep(min(outage, 5))
            self.redis.start()

        def redis_kill() -> None:
            self.redis.kill()
            time.sleep(min(outage, 5))
            self.redis.start()

        def redis_empty() -> None:
            self.unflushed = self.unflushed_counts()
            self.redis.kill()
            self.redis.wipe()
            time.sleep(min(outage, 5))
            self.redis.start()

        def postgres_stop() -> None:
            self.postgres.stop()
            time.sleep(outage)
            self.postgres.start()

        def blackhole(proxy: TcpProxy) -> Callable[[], None]:
            def run() -> None:
                proxy.blackhole()
                time.sleep(outage)
                proxy.restore()
            return run

        def rolling_restart() -> None:
            for host in range(len(cluster.urls)):
                self._leave(host)  # the load balancer drains it first
                time.sleep(0.5)
                cluster.stop_host(host)
                cluster.start_host(host)
                self._join(host)

        return {
            "none": lambda: None,
            "worker-kill": worker_kill,
            "host-kill": host_kill,
            "redis-stop": redis_stop,
            "redis-kill": redis_kill,
            "redis-empty": redis_empty,
            "postgres-stop": postgres_stop,
            "redis-blackhole": blackhole(self.redis_proxy),
            "postgres-blackhole": blackhole(self.pg_proxy),
            "sighup": lambda: cluster.signal_host(0, signal.SIGHUP),
            "rolling-restart": rolling_restart,
        }

    def unflushed_counts(self) -> int:
        """Counts in Redis not yet flushed into the database: what Redis losing its data loses
        (read with clients' writes paused, just before the loss)."""
        client = redis.Redis.from_url(self.redis.url)
        prefix = self.cluster.env["LAYOUTSERVER_CACHE_KEY_PREFIX"] + "r:"
        client.client_pause(2000, all=False)
        epoch = (client.get(prefix + "epoch") or b"").decode()
        in_redis = 0
        for hour in client.smembers(f"{prefix}{epoch}:windows"):
            in_redis += sum(int(v) for v in client.hvals(f"{prefix}{epoch}:w:{hour.decode()}"))
        with self.engine.connect() as connection:
            flushed = connection.execute(text(
                "SELECT coalesce(sum(impressions + clicks + measurable + viewable), 0) "
                "FROM ad_counts "
                "WHERE source = :epoch"), {"epoch": epoch}).scalar_one()
        client.close()
        return max(in_redis - int(flushed), 0)

    def _leave(self, host: int) -> None:
        with self._rotation_lock:
            self.rotation = [h for h in self.rotation if h != host]

    def _join(self, host: int) -> None:
        with self._rotation_lock:
            self.rotation = sorted({*self.rotation, host})

    def host(self, preferred: int) -> str:
        rotation = self.rotation
        return self.cluster.urls[rotation[preferred % len(rotation)]]

    # -- one fault -----------------------------------------------------------------------------

    def run(self, name: str, fault: Callable[[], None]) -> Result:
        result = Result(name)
        self.unflushed = 0
        for url in self.cluster.urls:
            self.cluster.wait_ready(url, timeout=90)
        tokens = self.tokens(self.options.tokens)
        before = self.counted_groups()
        requests = self.plan(tokens)
        succeeded: set[tuple[str, int]] = set()
        timings: list[float] = []
        lock = threading.Lock()
        started = time.monotonic()
        pace = self.options.seconds / max(len(requests), 1)
        position = iter(range(len(requests)))

        def client() -> None:
            while True:
                with lock:
                    index = next(position, None)
                if index is None:
                    return
                delay = started + index * pace - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                kind, token, hop = requests[index]
                began = time.monotonic()
                status = self.send(kind, token, hop)
                took = time.monotonic() - began
                with lock:
                    timings.append(took)
                    if kind == "page":
                        result.pages["200 no ads" if status == NO_ADS else str(status)] += 1
                    elif status == SUCCESS[kind]:
                        assert token is not None
                        succeeded.add((kind, token.number))
                    else:
                        result.beacon_failures += 1

        def inject() -> None:
            time.sleep(self.options.lead)
            fault()

        injector = threading.Thread(target=inject, name=f"fault-{name}")
        injector.start()
        with ThreadPoolExecutor(self.options.concurrency) as pool:
            for _ in range(self.options.concurrency):
                pool.submit(client)
        injector.join()
        result.accepted = len(succeeded)
        timings.sort()
        if timings:
            result.p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
            result.worst = timings[-1]
        # every beacon without a success is sent again until it has one, as a page would
        for url in self.cluster.urls:
            self._join(self.cluster.urls.index(url))
            self.cluster.wait_ready(url, timeout=90)
        unanswered = [(kind, one) for one in tokens for kind in one.beacons
                      if (kind, one.number) not in succeeded]
        for kind, token in unanswered:
            result.retried += 1
            deadline = time.monotonic() + 60
            while self.send(kind, token, token.number) != SUCCESS[kind]:
                if time.monotonic() > deadline:
                    result.notes.append(f"{kind} {token.number} never accepted")
                    break
                time.sleep(0.2)
        self.settle()
        after = self.counted_groups()
        result.unflushed = self.unflushed
        expected: Counter[tuple[str, int, int, str]] = Counter()
        for token in tokens:
            for kind in counted_kinds(token.beacons):
                expected[(kind, *token.group)] += 1
        for key in set(expected) | set(after) | set(before):
            got = after.get(key, 0) - before.get(key, 0)
            want = expected.get(key, 0)
            result.counted += got
            result.expected += want
            result.lost += max(want - got, 0)
            result.doubled += max(got - want, 0)
        return result

    def tokens(self, count: int) -> list[Token]:
        made: list[Token] = []
        lock = threading.Lock()

        def decide(number: int) -> None:
            body = {"page": {"page_type": "article", "slug": "story", "path": "/story"},
                    "slots": SLOTS, "user_key": f"reader-{random.randrange(10**9)}"}
            answer = request("POST", f"{self.host(number)}/ads/decide", body=body)
            assert answer.status == 200, answer.body
            with lock:
                for decision in answer.json()["decisions"]:
                    if decision["impression_url"]:
                        made.append(Token(
                            len(made), path_of(decision["impression_url"]),
                            path_of(decision["click_url"]) if decision["click_url"] else None,
                            (decision["line_item_id"], decision["creative_id"],
                             decision["slot"]), path_of(decision["viewability_url"])))

        number = 0
        with ThreadPoolExecutor(4) as pool:
            while len(made) < count:
                list(pool.map(decide, range(number, number + 8)))
                number += 8
        made = made[:count]
        clicks = int(len(made) * self.options.click_share)
        for token in made[clicks:]:
            token.click = None
        rng = random.Random(count)
        for token in made:
            drawn = {"c": token.click is not None,
                     "m": rng.random() < self.options.measure_share,
                     "v": rng.random() < self.options.view_share}
            token.beacons = ("i", *(kind for kind in KINDS[1:] if drawn[kind]))
        return made

    def plan(self, tokens: list[Token]) -> list[tuple[str, Token | None, int]]:
        """(kind, token, host hint) in sending order: "i"/"c" beacons, "page" views. A replay
        goes to the other host a few requests after the first."""
        rng = random.Random(len(tokens))
        planned: list[tuple[str, Token | None, int]] = []
        later: list[tuple[int, tuple[str, Token | None, int]]] = []
        for token in tokens:
            for kind in token.beacons:
                planned.append((kind, token, token.number))
                if rng.random() < self.options.replay_share:
                    later.append((len(planned) + rng.randrange(2, 40),
                                  (kind, token, token.number + 1)))
            if token.number % self.options.page_every == 0:
                planned.append(("page", None, token.number))
        for at, item in sorted(later, key=lambda pair: pair[0], reverse=True):
            planned.insert(min(at, len(planned)), item)
        return planned

    def send(self, kind: str, token: Token | None, hop: int) -> int:
        """One request; its status, 0 when the connection failed, :data:`NO_ADS` for a page
        view answered without ads."""
        try:
            if kind == "page":
                page = request("GET", self.host(hop) + SEED_PATH,
                               headers={"X-User-Key": f"page-{hop}"}, timeout=30)
                if page.status == 200 and AD_BEACON not in page.body:
                    return NO_ADS
                return page.status
            assert token is not None
            path = {"i": token.impression, "c": token.click, "m": f"{token.view}?s=m",
                    "v": token.view}[kind]
            return request("GET", self.host(hop) + str(path), timeout=30).status
        except OSError:
            return 0

    def settle(self) -> None:
        """Flush until nothing is queued and the epoch is ready (after Redis lost its data
        its guards are restored first)."""
        deadline = time.monotonic() + 120
        while True:
            try:
                self.cluster.cli("ads", "flush")
                with self.engine.connect() as connection:
                    queued = connection.execute(
                        text("SELECT count(*) FROM ad_pending_counts")).scalar_one()
                if queued == 0:
                    return
            except AssertionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the counts never settled")
            time.sleep(0.5)

    def counted_groups(self) -> Counter[tuple[str, int, int, str]]:
        found: Counter[tuple[str, int, int, str]] = Counter()
        with self.engine.connect() as connection:
            for row in connection.execute(text(
                "SELECT line_item_id, creative_id, slot, sum(impressions), sum(clicks), "
                "sum(measurable), sum(viewable) "
                "FROM ad_counts GROUP BY line_item_id, creative_id, slot"
            )):
                for kind, value in zip(KINDS, row[3:], strict=True):
                    found[(kind, row[0], row[1], row[2])] = int(value)
        return found


def counted_kinds(beacons: tuple[str, ...]) -> set[str]:
    """What a token's beacons count: each its own kind, and a viewable one measurable too."""
    return {*beacons, *(("m",) if "v" in beacons else ())}


def table(results: list[Result], options: argparse.Namespace, markdown: bool) -> str:
    head = ["fault", "accepted", "retried", "counted", "lost", "doubled", "failed beacons",
            "pages", "p99 ms", "max ms"]
    rows = [[r.fault, str(r.accepted), str(r.retried), f"{r.counted}/{r.expected}",
             f"{r.lost} (of {r.unflushed} unflushed)" if r.unflushed else str(r.lost),
             str(r.doubled), str(r.beacon_failures),
             " ".join(f"{k}:{n}" for k, n in sorted(r.pages.items())),
             f"{r.p99 * 1000:.0f}", f"{r.worst * 1000:.0f}"] for r in results]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    else:
        widths = [max(len(row[n]) for row in [head, *rows]) for n in range(len(head))]
        lines = ["  ".join(cell.ljust(widths[n]) for n, cell in enumerate(row))
                 for row in [head, *rows]]
    lines.append("")
    lines.append(f"tokens {options.tokens} per fault ({options.click_share:.0%} also clicked, "
                 f"{options.view_share:.0%} viewable, {options.measure_share:.0%} measurable "
                 f"beacons, {options.replay_share:.0%} of beacons sent again to the other "
                 "host), "
                 f"{options.concurrency} clients over {options.seconds:g} s, fault at "
                 f"{options.lead:g} s, outages {options.outage:g} s (Redis: at most 5 s), "
                 f"2 hosts x {options.workers} workers, {os.cpu_count()} cores")
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tokens", type=int, default=500, help="tokens per fault")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=13.0, help="each burst's length")
    parser.add_argument("--lead", type=float, default=2.0, help="seconds before the fault")
    parser.add_argument("--outage", type=float, default=10.0, help="PostgreSQL and network "
                        "outages (Redis stops for at most 5 s)")
    parser.add_argument("--click-share", type=float, default=0.3)
    parser.add_argument("--view-share", type=float, default=0.4,
                        help="tokens sending a viewable beacon")
    parser.add_argument("--measure-share", type=float, default=0.3,
                        help="tokens sending a measurable beacon (drawn apart)")
    parser.add_argument("--replay-share", type=float, default=0.5)
    parser.add_argument("--page-every", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per host")
    parser.add_argument("--faults", default="all", help="comma-separated, or all")
    parser.add_argument("--markdown", action="store_true", help="the table as Markdown")
    return parser.parse_args(argv)


@contextlib.contextmanager
def suite(options: argparse.Namespace) -> Iterator[Suite]:
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    directory = Path(tempfile.mkdtemp(prefix="layoutserver-faults-", dir=base))
    running: Suite | None = None
    try:
        running = Suite(options, directory)
        yield running
    finally:
        if running is not None:
            running.close()
        shutil.rmtree(directory, ignore_errors=True)


def run(options: argparse.Namespace, out: Any = sys.stdout) -> list[Result]:
    results: list[Result] = []
    with suite(options) as running:
        available = running.faults()
        names = list(available) if options.faults == "all" else options.faults.split(",")
        for name in names:
            began = time.monotonic()
            result = running.run(name, available[name])
            results.append(result)
            print(f"{name}: {result.counted}/{result.expected} counted, lost {result.lost}, "
                  f"doubled {result.doubled}, failed beacons {result.beacon_failures}, pages "
                  f"{dict(result.pages)}, p99 {result.p99 * 1000:.0f} ms "
                  f"({time.monotonic() - began:.0f} s)", file=out, flush=True)
            for note in result.notes:
                print(f"  {note}", file=out)
    print(file=out)
    print(table(results, options, options.markdown), file=out)
    return results


def main() -> int:
    options = parse()
    results = run(options)
    failed = [r.fault for r in results if not r.ok()]
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
