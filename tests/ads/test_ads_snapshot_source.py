"""The snapshot is built from the database once per ads config version, and a page decision
costs a small fixed number of queries: the version, goal counts and the reader's cap counts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from adsupport import SEED_SLOTS, small_config
from flask import Flask
from sqlalchemy import event

from layoutserver.ads.config_import import import_ads
from layoutserver.ads.decisions.model import Tier
from layoutserver.ads.extension import get_ads
from layoutserver.core import get_core
from layoutserver.db import get_database

PAGE = {"page_type": "article", "slug": "a-story", "section": "world",
        "path": "/pages/article/a-story"}


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = get_database(app).engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def decide(app: Flask, slots: list[str] | None = None, **extra: Any) -> Any:
    response = app.test_client().post("/ads/decide",
                                      json={"page": PAGE, "slots": slots or SEED_SLOTS, **extra})
    assert response.status_code == 200, response.json
    return response.json


def test_the_snapshot_follows_the_version_and_only_it(ads_app: Flask) -> None:
    source = get_ads(ads_app).snapshots
    first = source.current()
    assert source.builds == 1
    for _ in range(5):
        assert source.current() is first
    assert source.builds == 1
    assert set(first.slots) == set(SEED_SLOTS)
    assert first.line_items[1].tier == Tier.SPONSORSHIP

    database, timezone = get_database(ads_app), get_core(ads_app).timezone
    import_ads(database, small_config(), timezone)  # adds slot "top": a change
    second = source.current()
    assert second is not first and (source.builds, source.revisions) == (1, 1)
    assert "top" in second.slots
    import_ads(database, small_config(), timezone)  # the same again: no change, no revision
    assert source.current() is second and (source.builds, source.revisions) == (1, 1)


def test_a_decision_reads_no_configuration_and_few_counters(
    ads_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    decide(ads_app)  # builds the snapshot
    database = get_database(ads_app)
    versions_read: list[str] = []
    read_int = database.read_int

    def counting_read_int(sql: str) -> int:
        versions_read.append(sql)
        return read_int(sql)

    monkeypatch.setattr(database, "read_int", counting_read_int)
    with statements(ads_app) as seen:
        answer = decide(ads_app)
    assert all(d["html"] for d in answer["decisions"])
    assert not any("ad_line_items" in s or "ad_slots" in s or "ad_creatives" in s for s in seen)
    # the goal counts of the candidates with goals, the reader's cap counts
    assert len(seen) <= 2, seen
    # the ads version, read once on the raw version-read path (not through SQLAlchemy)
    assert sum("ads_state" in sql for sql in versions_read) == 1


def test_delivery_questions_are_answered_from_two_queries(
    small_app: Callable[..., Flask],
) -> None:
    app = small_app(settings={"REDIS_URL": ""},  # the database's delivery state
                    goal={"metric": "impressions", "amount": 1000, "period": "daily"},
                    pacing="asap", caps=[{"impressions": 5, "period": "day"},
                                         {"impressions": 2, "period": "hour"}])
    decide(app, ["top"], user_key="reader-with-history")
    with statements(app) as seen:
        for _ in range(3):
            decide(app, ["top"], user_key="reader-with-history")
    # the reader's cap counts on every decision; the goal counts once (kept for a second)
    assert sum("ad_user_counts" in s for s in seen) == 3
    assert sum("FROM ad_counts" in s for s in seen) <= 1
    with statements(app) as seen:
        decide(app, ["top"])  # a reader whose key is made now has no counts to read
    assert [s for s in seen if "ad_user_counts" in s] == []


def test_goal_counts_are_kept_for_at_most_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    from layoutserver.ads import delivery

    clock = [1000.0]
    monkeypatch.setattr(delivery, "monotonic", lambda: clock[0])
    kept = delivery.GoalCounts(max_age=1.0)
    verdicts = kept.put(("ids",), {1: (5,)})
    verdicts[1] = "a verdict drawn from these counts"
    clock[0] += 0.9
    assert kept.get(("ids",)) == ({1: (5,)}, {1: "a verdict drawn from these counts"})
    clock[0] += 0.2
    assert kept.get(("ids",)) is None
    # fresh counts come with no verdicts: none drawn from the old counts outlive them
    assert kept.put(("ids",), {1: (6,)}) == {}
    assert kept.get(("ids",)) == ({1: (6,)}, {})


def test_verdicts_kept_with_the_counts_follow_a_configuration_change(
    small_app: Callable[..., Flask],
) -> None:
    goal = {"metric": "impressions", "amount": 1000, "period": "lifetime"}
    app = small_app(settings={"REDIS_URL": ""}, goal=goal, pacing="asap")
    (first,) = decide(app, ["top"])["decisions"]
    assert first["creative_id"] is not None
    acme = first["line_item_id"]
    assert app.test_client().get(first["impression_url"]).status_code in (200, 204)
    # within the second the counts and their verdicts are kept: the goal lowered to the one
    # impression served makes a new snapshot, whose pages work their verdicts out afresh
    import_ads(get_database(app), small_config(goal={**goal, "amount": 1}, pacing="asap"),
               get_core(app).timezone)
    (second,) = decide(app, ["top"])["decisions"]
    assert second["line_item_id"] != acme


def test_a_decision_keeps_its_verdicts_with_the_goal_counts(
    small_app: Callable[..., Flask],
) -> None:
    goal = {"metric": "impressions", "amount": 1000, "period": "lifetime"}
    app = small_app(settings={"REDIS_URL": ""}, goal=goal, pacing="asap")
    (served,) = decide(app, ["top"])["decisions"]
    kept = list(get_ads(app).tally.goal_counts._kept.values())
    assert len(kept) == 1
    _expiry, _counts, verdicts = kept[0]
    # the line item with the goal: its verdict, drawn from these counts, waits for the next page
    assert verdicts[served["line_item_id"]].reason is None


def test_an_advertisers_popup_allowance_is_read_with_the_snapshot(
    small_app: Callable[..., Flask],
) -> None:
    app = small_app()
    database, timezone = get_database(app), get_core(app).timezone
    html = {"name": "acme-1", "advertiser": "Acme", "kind": "html", "size": "300x250",
            "click_url": "https://acme.example.com/", "html": "<p>Acme</p>"}
    escape = "allow-popups-to-escape-sandbox"
    for allowed in (True, False):
        import_ads(database, {"advertisers": [{"name": "Acme", "popups_escape_sandbox": allowed}],
                              "creatives": [html]}, timezone)
        decide(app, ["top"])  # builds the snapshot
        with statements(app) as seen:
            (decision,) = decide(app, ["top"])["decisions"]
        assert (escape in decision["html"]) is allowed
        assert not any("ad_advertisers" in s or "ad_creatives" in s for s in seen)
