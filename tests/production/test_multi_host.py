"""Several gunicorn hosts sharing one database and one Redis: counted impressions equal the
acknowledged beacons exactly, no reader goes over a frequency cap, a line item paused through
one host stops serving on the other within 2 seconds, a worker killed mid-burst loses no
acknowledged count, pages keep answering when Redis stops, and a starting host refuses
connections until it can answer them (the app is built before the port is bound)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import redis
from cluster import Cluster, beacons, path_of, request
from prometheus_client.parser import text_string_to_metric_families
from redis_fixtures import RedisServer
from sqlalchemy import create_engine, select, text

from layoutserver.ads.models import LineItem

SEED_PATH = "/pages/article/east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
NEWS_SLOTS = ["news-1", "news-2"]
READERS = 12
ROUNDS = 6


def counted_impressions(cluster: Cluster, flush: bool = True) -> int:
    """Impressions in ``ad_counts``, after ``layoutserver ads flush`` unless ``flush`` is
    False (then what the hosts' background flushes copied so far)."""
    if flush:
        cluster.cli("ads", "flush")
    engine = create_engine(cluster.env["LAYOUTSERVER_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            return int(connection.execute(
                text("SELECT coalesce(sum(impressions), 0) FROM ad_counts")).scalar_one())
    finally:
        engine.dispose()


def metric_impressions(cluster: Cluster) -> float:
    """``layoutserver_ad_events_total{kind="impression"}`` summed over slots and hosts."""
    total = 0.0
    for host in cluster.urls:
        answer = request("GET", host + "/metrics")
        assert answer.status == 200
        for family in text_string_to_metric_families(answer.body):
            total += sum(sample.value for sample in family.samples
                         if sample.name == "layoutserver_ad_events_total"
                         and sample.labels.get("kind") == "impression")
    return total


def admin_token(cluster: Cluster) -> str:
    return cluster.cli("tokens", "create", f"ops-{random.randrange(10**6)}", "--role",
                       "adops").strip().splitlines()[-1].strip()


def line_items(cluster: Cluster) -> list[dict[str, Any]]:
    """Every line item's id, name, caps and roadblock flag (the API names them; ids are what
    decisions and counts carry)."""
    engine = create_engine(cluster.env["LAYOUTSERVER_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(LineItem.id, LineItem.name, LineItem.caps,
                                             LineItem.roadblock)).all()
    finally:
        engine.dispose()
    return [{"id": row[0], "name": row[1], "caps": row[2], "roadblock": row[3]} for row in rows]


def test_counts_are_exact_and_caps_hold_across_hosts(cluster: Cluster) -> None:
    acknowledged: set[str] = set()
    lock = threading.Lock()

    def beacon(url: str) -> None:
        answer = request("GET", url)
        assert answer.status == 204, answer.body
        with lock:
            acknowledged.add(path_of(url))

    def reader(number: int) -> None:
        key = f"reader-{number:04d}"
        for round_ in range(ROUNDS):
            host, other = cluster.urls[round_ % 2], cluster.urls[(round_ + 1) % 2]
            page = request("GET", host + SEED_PATH, headers={"X-User-Key": key})
            assert page.status == 200
            for path in beacons(page.body):
                beacon(other + path)
            decided = request("POST", f"{other}/ads/decide", body={
                "page": {"page_type": "article", "slug": "story", "path": "/story"},
                "slots": NEWS_SLOTS, "user_key": key})
            assert decided.status == 200, decided.body
            for decision in decided.json()["decisions"]:
                if decision["impression_url"]:
                    beacon(host + path_of(decision["impression_url"]))
            beacon(other + path_of(decided.json()["decisions"][0]["impression_url"]))  # replay

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(reader, range(READERS)))

    assert len(acknowledged) >= READERS * ROUNDS * 5
    deadline = time.monotonic() + 10  # the hosts flush every second on their own
    while counted_impressions(cluster, flush=False) != len(acknowledged):
        assert time.monotonic() < deadline, "the background flush did not copy the counts"
        time.sleep(0.2)
    assert counted_impressions(cluster) == len(acknowledged)  # and a flush more changes nothing
    # every worker's batched metric updates reach its host's /metrics within seconds
    deadline = time.monotonic() + 10
    while metric_impressions(cluster) != len(acknowledged):
        assert time.monotonic() < deadline, "the workers did not write their metric updates"
        time.sleep(0.2)

    capped = {item["id"]: item["caps"] for item in line_items(cluster) if item["caps"]}
    assert capped, "the demo configuration has a capped line item"
    client = redis.Redis.from_url(cluster.env["LAYOUTSERVER_REDIS_URL"])
    prefix = cluster.env["LAYOUTSERVER_CACHE_KEY_PREFIX"] + "r:"
    epoch = client.get(prefix + "epoch")
    assert epoch is not None
    seen = Counter[int]()
    for item_id, caps in capped.items():
        limit = min(int(cap["impressions"]) for cap in caps)
        for key in client.scan_iter(f"{prefix}{epoch.decode()}:u:{item_id}:*"):
            total = int(client.hget(key, "t") or 0)
            assert 0 < total <= limit, (key, total)
            seen[item_id] += total
    assert sum(seen.values()) >= READERS  # every reader saw the capped line item


def test_a_pause_on_one_host_stops_serving_on_the_other_within_2_seconds(
    cluster: Cluster,
) -> None:
    token = admin_token(cluster)
    roadblock = next(item for item in line_items(cluster) if item["roadblock"])
    host_a, host_b = cluster.urls
    body = {"page": {"page_type": "article", "slug": "story", "path": "/story",
                     "section": "world"},
            "slots": ["article-1", "article-2", "article-3"]}  # a roadblock fills all or none
    served = request("POST", f"{host_b}/ads/decide", body=body).json()["decisions"][0]
    assert served["line_item_id"] == roadblock["id"]
    url = f"{host_a}/api/v1/line-items/{quote(str(roadblock['name']))}"
    auth = {"Authorization": f"Bearer {token}"}
    etag = request("GET", url, headers=auth).headers["ETag"]
    paused = request("PATCH", url, body={"status": "paused"}, headers={**auth, "If-Match": etag})
    assert paused.status == 200, paused.body
    since = time.monotonic()
    last_served = 0.0  # seconds after the pause, when a worker of host B last served it
    while (elapsed := time.monotonic() - since) < 3.0:  # every worker, polled for 3 seconds
        decision = request("POST", f"{host_b}/ads/decide", body=body).json()["decisions"][0]
        if decision["line_item_id"] == roadblock["id"]:
            last_served = elapsed
        time.sleep(0.01)
    assert last_served < 2.0, f"host B served the paused line item {last_served:.2f} s later"


def test_a_worker_killed_mid_burst_loses_no_acknowledged_count(cluster: Cluster) -> None:
    host = cluster.urls[1]
    urls: list[str] = []
    for number in range(40):
        page = request("GET", host + SEED_PATH, headers={"X-User-Key": f"k-{number}"})
        urls += [host + path for path in beacons(page.body)]
    acknowledged: set[str] = set()
    failed: list[str] = []
    lock = threading.Lock()
    killed: list[int] = []

    def fire(index_and_url: tuple[int, str]) -> None:
        index, url = index_and_url
        if index == len(urls) // 3:
            killed.append(cluster.kill_worker(1))
        try:
            answer = request("GET", url, timeout=5)
        except OSError:
            with lock:
                failed.append(url)
            return
        assert answer.status == 204
        with lock:
            acknowledged.add(url)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fire, enumerate(urls)))
    assert killed and killed[0] not in cluster.workers(1)  # gunicorn replaced the worker
    assert counted_impressions(cluster) >= len(acknowledged)  # nothing acknowledged was lost
    for url in failed:  # a beacon that got no answer is sent again, as a page would
        for _ in range(50):
            try:
                assert request("GET", url).status == 204
                acknowledged.add(url)
                break
            except OSError:
                time.sleep(0.1)
    assert len(acknowledged) == len(urls)
    assert counted_impressions(cluster) == len(urls)  # each exactly once


def test_pages_keep_answering_when_redis_stops(cluster: Cluster,
                                               redis_server: RedisServer) -> None:
    statuses: list[int] = []
    for round_ in range(40):
        if round_ == 10:
            redis_server.stop()
        page = request("GET", cluster.urls[round_ % 2] + SEED_PATH,
                       headers={"X-User-Key": f"r-{round_}"})
        statuses.append(page.status)
        for path in beacons(page.body):
            assert request("GET", cluster.urls[(round_ + 1) % 2] + path).status == 204
    assert statuses == [200] * 40
    ready = request("GET", cluster.urls[0] + "/readyz")
    assert ready.status == 503 and ready.json()["checks"]["redis"].startswith("unreachable")


def test_a_starting_host_refuses_connections_until_it_can_answer_them(cluster: Cluster) -> None:
    cluster.kill_host(0)
    cluster.start_host(0, wait=False)
    slowest = 0.0
    deadline = time.monotonic() + 60
    while True:  # the app is built before the port is bound: refused, then answered at once
        began = time.monotonic()
        try:
            answered = request("GET", cluster.urls[0] + "/readyz", timeout=10).status
        except OSError:
            answered = 0
        slowest = max(slowest, time.monotonic() - began)
        if answered == 200:
            break
        assert time.monotonic() < deadline, "the host never became ready"
        time.sleep(0.05)
    assert slowest < 1.0, f"a connection waited {slowest:.1f} s for an answer"
