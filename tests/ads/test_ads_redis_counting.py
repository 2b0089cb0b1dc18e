"""Counting through Redis, shared by two apps on one database and one Redis (two hosts): each
token counts once whichever host sees it, caps and goals see every host's counts at once, the
flush copies exact counts into the database and counts a window once however often it runs, and
an unreachable Redis loses nothing and doubles nothing: counts are queued in the database and
applied through Redis's replay guard when it is back; a Redis that lost its data gets the
flushed guards back before it counts again."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from adsupport import ADS_SETTINGS, counts, small_config, user_counts
from flask import Flask
from flask.testing import FlaskClient
from netproxy import TcpProxy
from redis_fixtures import RedisServer
from sqlalchemy import select

from layoutserver.ads import flush as flush_module
from layoutserver.ads.config_import import import_ads
from layoutserver.ads.delivery import GoalCounts
from layoutserver.ads.extension import get_ads
from layoutserver.ads.flush import LOCK_SECONDS
from layoutserver.ads.models import AdCount, PendingCount, TokenUse
from layoutserver.core import get_core
from layoutserver.db import get_database

PAGE = {"page_type": "article", "slug": "a-story", "path": "/pages/article/a-story"}
HOUR = "2024-10-10T16:00:00+00:00"  # the pinned site clock, 12:00 in New York
Hosts = Callable[..., tuple[Flask, Flask]]


@pytest.fixture
def hosts(make_app: Callable[..., Flask], redis_settings: dict[str, Any]) -> Hosts:
    """``hosts(redis=..., **acme)``: two apps sharing one database and one Redis, with the small
    ad configuration; goal counts are read fresh on every decision."""

    def factory(redis_url: str | None = None, **acme: Any) -> tuple[Flask, Flask]:
        settings = {**ADS_SETTINGS, **redis_settings}
        if redis_url:
            settings["REDIS_URL"] = redis_url
        first = make_app(settings=settings)
        import_ads(get_database(first), small_config(**acme), get_core(first).timezone)
        second = make_app(settings={**settings, "DATABASE_URL": get_database(first).url},
                          demo=False)
        for app in (first, second):
            get_ads(app).tally.goal_counts = GoalCounts(max_age=0)
        return first, second

    return factory


def decide(client: FlaskClient, user_key: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"page": PAGE, "slots": ["top"]}
    if user_key:
        body["user_key"] = user_key
    response = client.post("/ads/decide", json=body)
    assert response.status_code == 200, response.json
    decision: dict[str, Any] = response.json["decisions"][0]
    return decision


def path_of(url: str) -> str:
    return url.removeprefix("http://localhost")


def flush(app: Flask) -> Any:
    flusher = get_ads(app).flusher
    assert flusher is not None
    return flusher.flush()


def test_a_token_counts_once_across_hosts_and_a_flush_twice_counts_once(hosts: Hosts) -> None:
    a, b = hosts()
    ad = decide(a.test_client())
    assert b.test_client().get(path_of(ad["impression_url"])).status_code == 204
    assert a.test_client().get(path_of(ad["impression_url"])).status_code == 204  # a replay
    assert a.test_client().get(path_of(ad["click_url"])).status_code == 302
    assert b.test_client().get(path_of(ad["click_url"])).status_code == 302  # a replay
    database = get_database(a)
    assert counts(database) == []  # in Redis until flushed
    first = flush(a)
    assert (first.windows, first.rows) == (1, 1)
    expected = [(1, ad["creative_id"], "top", HOUR, 1, 1)]
    assert counts(database) == expected
    flush(b)
    flush(a)
    assert counts(database) == expected


def test_more_counts_after_a_flush_raise_the_row_to_the_new_total(hosts: Hosts) -> None:
    a, b = hosts()
    for host in (a, b, a):
        host.test_client().get(path_of(decide(host.test_client())["impression_url"]))
        flush(b)
    assert [row[4] for row in counts(get_database(a))] == [3]


def test_a_frequency_cap_holds_across_hosts(hosts: Hosts) -> None:
    a, b = hosts(caps=[{"impressions": 2, "period": "day"}])
    served = []
    for host in (a, b, a, b, a):
        ad = decide(host.test_client(), user_key="reader-1")
        served.append(ad["line_item_id"])
        host.test_client().get(path_of(ad["impression_url"]))
    assert served == [1, 1, 2, 2, 2]  # then only the house line item (2)
    assert user_counts(get_database(a)) == {}  # cap counts live in Redis


def test_a_lifetime_goal_is_reached_on_every_host_without_waiting_for_a_flush(
    hosts: Hosts,
) -> None:
    a, b = hosts(goal={"metric": "impressions", "amount": 3, "period": "lifetime"},
                 pacing="asap")
    served = []
    for host in (a, b, a, b, a):
        ad = decide(host.test_client())
        served.append(ad["line_item_id"])
        host.test_client().get(path_of(ad["impression_url"]))
    assert served == [1, 1, 1, 2, 2]


def test_goal_counts_add_the_database_rows_of_other_sources(hosts: Hosts) -> None:
    a, b = hosts(goal={"metric": "impressions", "amount": 3, "period": "lifetime"},
                 pacing="asap")
    for host in (a, b):
        host.test_client().get(path_of(decide(host.test_client())["impression_url"]))
    flush(a)
    # Redis loses its data: a new epoch starts from zero, the flushed rows still count.
    wipe(a)
    ad = decide(b.test_client())
    assert ad["line_item_id"] == 1
    b.test_client().get(path_of(ad["impression_url"]))  # queued: the guards come back first
    report = flush(a)
    assert (report.guards_restored, report.pending_applied) == (2, 1)
    assert decide(a.test_client())["line_item_id"] == 2  # 2 flushed + 1 in the new epoch
    flush(a)
    with get_database(a).session() as session:
        sources = session.scalars(select(AdCount.source)).all()
    assert len(set(sources)) == 2 and "" not in sources
    assert sum(row[4] for row in counts(get_database(a))) == 3


def wipe(app: Flask) -> None:
    """Redis loses this app's data (as a Redis restarted empty)."""
    store = get_ads(app).redis_counts
    assert store is not None
    client = store.store.client
    for key in client.scan_iter(f"{store.store.prefix}*"):
        client.delete(key)


def outage(*apps: Flask) -> None:
    """Redis unreachable for these apps (their breakers open) while it keeps its data."""
    for app in apps:
        redis_counts = get_ads(app).redis_counts
        assert redis_counts is not None
        redis_counts.store.breaker.trip(ConnectionError("test outage"))


def back(*apps: Flask) -> None:
    for app in apps:
        redis_counts = get_ads(app).redis_counts
        assert redis_counts is not None
        redis_counts.store.breaker.reset()


def impressions(app: Flask) -> int:
    return sum(row[4] for row in counts(get_database(app)))


def test_with_redis_unreachable_counts_are_queued_and_applied_when_it_is_back(
    hosts: Hosts, redis_server: RedisServer
) -> None:
    a, b = hosts(redis_url=redis_server.url, caps=[{"impressions": 2, "period": "day"}])
    first = decide(a.test_client(), user_key="reader-1")
    redis_server.stop()
    assert a.test_client().get(path_of(first["impression_url"])).status_code == 204
    assert b.test_client().get(path_of(first["impression_url"])).status_code == 204  # replay
    database = get_database(a)
    with database.session() as session:
        assert len(session.scalars(select(PendingCount)).all()) == 1  # queued once
    assert counts(database) == []
    assert user_counts(database) == {("reader-1", 1): 1}  # caps decided meanwhile see it
    second = decide(b.test_client(), user_key="reader-1")  # decided against the database
    assert second["line_item_id"] == 1
    redis_server.start()
    back(a, b)
    report = flush(a)
    assert (report.pending_applied, report.user_rows_moved) == (1, 1)
    assert user_counts(database) == {}
    a.test_client().get(path_of(first["impression_url"]))  # a replay: Redis has its guard
    b.test_client().get(path_of(second["impression_url"]))
    flush(a)
    assert [row[4] for row in counts(database)] == [2]
    # the cap saw the impression counted while Redis was unreachable: 2 of 2 reached
    assert decide(a.test_client(), user_key="reader-1")["line_item_id"] == 2


def test_a_token_counted_in_redis_is_not_counted_again_during_an_outage(hosts: Hosts) -> None:
    a, b = hosts()
    ad = decide(a.test_client())
    assert a.test_client().get(path_of(ad["impression_url"])).status_code == 204  # in Redis
    outage(a, b)
    assert b.test_client().get(path_of(ad["impression_url"])).status_code == 204  # queued
    back(a, b)
    report = flush(b)
    assert (report.pending_applied, report.pending_replays) == (0, 1)
    assert impressions(a) == 1


def test_a_token_queued_during_an_outage_counts_once_when_replayed_after_it(
    hosts: Hosts,
) -> None:
    a, b = hosts()
    ad = decide(a.test_client())
    outage(a, b)
    assert a.test_client().get(path_of(ad["impression_url"])).status_code == 204  # queued
    back(a, b)
    assert b.test_client().get(path_of(ad["impression_url"])).status_code == 204  # in Redis
    report = flush(a)
    assert (report.pending_applied, report.pending_replays) == (0, 1)
    assert impressions(a) == 1
    flush(b)
    assert impressions(a) == 1


def test_after_redis_lost_its_data_a_flushed_token_is_not_counted_again(hosts: Hosts) -> None:
    a, b = hosts()
    flushed = decide(a.test_client())
    a.test_client().get(path_of(flushed["impression_url"]))
    report = flush(a)
    assert report.guards_saved == 1  # the guard went into the database with its count
    lost = decide(b.test_client())
    b.test_client().get(path_of(lost["impression_url"]))  # counted, never flushed
    wipe(a)
    for host in (a, b):
        for ad in (flushed, lost):
            assert host.test_client().get(path_of(ad["impression_url"])).status_code == 204
    report = flush(b)
    assert (report.guards_restored, report.pending_applied) == (1, 1)
    # the flushed token once; the lost one counted again by its replay, once
    assert impressions(a) == 2
    for ad in (flushed, lost):  # the new epoch is ready: Redis refuses both now
        a.test_client().get(path_of(ad["impression_url"]))
    flush(a)
    assert impressions(a) == 2


def test_with_the_database_gone_clicks_redirect_and_counts_and_ads_keep_serving(
    hosts: Hosts, make_app: Callable[..., Flask], redis_settings: dict[str, Any]
) -> None:
    if not os.environ.get("LAYOUTSERVER_TEST_DATABASE_URL"):
        pytest.skip("needs PostgreSQL: runs in make test's PostgreSQL pass")
    a, _ = hosts()
    url = urlsplit(get_database(a).engine.url.render_as_string(hide_password=False))
    proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 5432)
    through = url._replace(netloc=f"{url.username or ''}"
                           f"{':' + url.password if url.password else ''}@127.0.0.1:{proxy.port}")
    b = make_app(settings={**ADS_SETTINGS, **redis_settings, "DATABASE_URL": through.geturl()},
                 demo=False)
    warm = decide(b.test_client())  # the snapshot and the goal counts read once
    assert b.test_client().get(path_of(warm["impression_url"])).status_code == 204
    first = decide(b.test_client())
    proxy.cut()
    try:
        client = b.test_client()
        click = client.get(path_of(first["click_url"]))
        assert click.status_code == 302  # the destination is in the ad snapshot
        assert client.get(path_of(first["impression_url"])).status_code == 204  # in Redis
        assert decide(client)["line_item_id"] == 1  # ads still served
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json["degraded"][0].startswith("database unreachable")
    finally:
        proxy.close()
    flush(a)
    assert [row[4:] for row in counts(get_database(a))] == [(2, 1)]


def viewed(app: Flask) -> tuple[int, int]:
    """Measurable and viewable impressions in ``ad_counts``."""
    with get_database(app).session() as session:
        rows = session.execute(select(AdCount.measurable, AdCount.viewable)).all()
    return sum(row[0] for row in rows), sum(row[1] for row in rows)


def view(host: Flask, ad: dict[str, Any], query: str = "") -> None:
    assert host.test_client().get(path_of(ad["viewability_url"]) + query).status_code == 204


def test_viewability_counts_once_across_hosts_and_a_viewable_goal_holds_on_every_host(
    hosts: Hosts,
) -> None:
    """A goal in viewable impressions reads Redis's viewable counters, exact the moment a
    beacon is answered on any host; the flush copies measurable and viewable counts once."""
    a, b = hosts(goal={"metric": "viewable", "amount": 2, "period": "lifetime"}, pacing="asap")
    first, second = decide(a.test_client()), decide(b.test_client())
    view(b, first, "?s=m")
    view(a, first, "?s=m")  # a replay on the other host
    view(a, first)
    view(b, first)  # a replay
    assert decide(a.test_client())["line_item_id"] == 1  # 1 of 2 viewable
    view(b, second)  # its measurable beacon lost: counted measurable too
    assert [decide(host.test_client())["line_item_id"] for host in (a, b)] == [2, 2]
    flush(a)
    flush(b)
    assert viewed(a) == (2, 2)
    assert [row[4:] for row in counts(get_database(a))] == [(0, 0)]  # no impression beacon


def test_viewability_through_an_outage_and_a_redis_that_lost_its_data(hosts: Hosts) -> None:
    a, b = hosts()
    queued, flushed = decide(a.test_client()), decide(a.test_client())
    view(a, flushed)
    flush(a)  # its guards go to the database with its counts
    outage(a, b)
    view(a, queued, "?s=m")
    view(b, queued, "?s=m")  # queued once
    view(b, queued)  # queued: viewable (its measurable count is queued already)
    back(a, b)
    view(a, queued, "?s=m")  # Redis counts it before the queue is applied: the queued one is
    report = flush(b)  # refused there, the queued viewable one applied
    assert (report.pending_applied, report.pending_replays) == (1, 1)
    assert viewed(a) == (2, 2)
    wipe(a)
    for ad in (queued, flushed):  # after the restore, Redis refuses every one of them
        view(b, ad)
        view(a, ad, "?s=m")
    flush(a)
    flush(b)
    assert viewed(a) == (2, 2)


def test_the_restore_advances_past_guards_of_one_instant(
    hosts: Hosts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flush_module, "_BATCH", 10)
    a, _ = hosts()
    now = get_ads(a).now()
    with get_database(a).session() as session:  # the pinned clock: every guard at one instant
        session.add_all(TokenUse(token_id=f"d{n}:top", kind="impression", used_at=now)
                        for n in range(25))
    wipe(a)
    ad = decide(a.test_client())
    a.test_client().get(path_of(ad["impression_url"]))  # queued until the guards are back
    report = flush(a)
    assert (report.guards_restored, report.pending_applied) == (25, 1)
    redis_counts = get_ads(a).redis_counts
    assert redis_counts is not None
    assert redis_counts.ready(redis_counts.epoch())
    assert redis_counts.store.client.exists(redis_counts.key("g:i:d24:top"))
    assert impressions(a) == 1


def test_the_flush_lock_keeps_two_flushes_from_running_at_once(hosts: Hosts) -> None:
    a, _ = hosts()
    flusher = get_ads(a).flusher
    assert flusher is not None
    client = flusher.counts.store.client
    client.set(flusher.lock_key, "someone-else", px=int(LOCK_SECONDS * 1000))
    assert flush(a).skipped
    assert 0 < client.pttl(flusher.lock_key) <= LOCK_SECONDS * 1000  # never outlives a holder
    client.delete(flusher.lock_key)
    assert not flush(a).skipped
    assert not client.exists(flusher.lock_key)  # released


def test_a_flush_whose_lock_was_taken_over_stops(
    hosts: Hosts, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = hosts()
    flusher = get_ads(a).flusher
    assert flusher is not None
    client = flusher.counts.store.client

    def stolen(*args: Any, **kwargs: Any) -> None:
        client.set(flusher.lock_key, "someone-else")  # our lock expired and was taken

    monkeypatch.setattr(flusher, "_apply_pending", stolen)
    report = flush(a)
    assert report.skipped and report.windows == 0
    assert client.get(flusher.lock_key) == b"someone-else"  # not released by us


def test_the_first_request_starts_the_flush_thread_and_skips_no_hook(
    make_app: Callable[..., Flask], redis_settings: dict[str, Any]
) -> None:
    app = make_app(settings={**ADS_SETTINGS, **redis_settings, "ADS_FLUSH_SECONDS": 30})
    background = get_ads(app).background_flush
    assert background is not None
    client = app.test_client()
    first = client.get("/healthz")
    assert first.headers.get("X-Request-ID")  # every before_request hook still ran
    thread = background.thread
    assert thread is not None and thread.is_alive()
    client.get("/healthz")
    assert background.thread is thread  # started once
    background.stop()
