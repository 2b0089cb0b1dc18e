"""The traffic record: what serving notes (in memory, no write per page view), what a flush writes
(kinds, hourly rows, hour-of-week sums), processes adding up, a failed write keeping its counts,
and the prune."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from adsupport import ADS_SETTINGS, DEMO_ADS, SEED_SLOTS
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from support import SEED_PATH

from layoutserver.ads.config_import import import_ads_file
from layoutserver.ads.decisions.model import PageRequest
from layoutserver.ads.extension import get_ads
from layoutserver.ads.forecast.traffic import week_hour
from layoutserver.ads.traffic import TrafficRecorder, check_settings, page_kind
from layoutserver.ads.traffic_models import AdTraffic, AdTrafficKind, AdTrafficProfile
from layoutserver.core import get_core
from layoutserver.db import Database, get_database
from layoutserver.settings import DEFAULTS, SettingsError

DECIDE = {"page": {"page_type": "article", "section": "world", "path": "/pages/article/a",
                   "key_values": {"campaign": "autumn", "utm_source": "mail"}},
          "slots": ["news-1", "nowhere", "news-1"], "device": "mobile"}


def stored(database: Database) -> dict[tuple[str, str, tuple[tuple[str, str], ...]], int]:
    """Requests per (slots, device, key-values) in ``ad_traffic``."""
    with database.session() as session:
        rows = session.execute(select(AdTrafficKind, func.sum(AdTraffic.requests))
                               .join(AdTraffic, AdTraffic.kind == AdTrafficKind.kind)
                               .group_by(AdTrafficKind.kind)).all()
        found = {}
        for row, requests in rows:
            kind = page_kind(row)
            found[(" ".join(kind.slots), kind.device, kind.key_values)] = int(requests)
        return found


def profile_sums(database: Database) -> dict[tuple[int, str], int]:
    with database.session() as session:
        return {(w, k): int(n) for w, k, n in session.execute(select(
            AdTrafficProfile.week_hour, AdTrafficProfile.kind, AdTrafficProfile.requests))}


def test_requests_served_are_noted_then_written_by_kind_and_hour(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(settings={**ADS_SETTINGS, "ADS_FORECAST_KEYS": "campaign"})
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    client = app.test_client()
    for headers in ({}, {}, {"X-Device-Class": "mobile"}):
        assert client.get(SEED_PATH, headers=headers).status_code == 200
    assert client.post("/ads/decide", json=DECIDE).status_code == 200
    database = get_database(app)
    recorder = get_ads(app).traffic
    assert recorder.pending() == 4
    assert stored(database) == {}  # serving wrote nothing

    assert recorder.flush() == 3  # three kinds, one hour
    page = " ".join(SEED_SLOTS)
    assert stored(database) == {
        (page, "desktop", ()): 2,
        (page, "mobile", ()): 1,
        # known slots once each; a key no line item targets but the setting names is kept
        ("news-1", "mobile", (("campaign", "autumn"),)): 1,
    }
    now = get_ads(app).now()
    sums = profile_sums(database)
    assert set(hour for hour, _ in sums) == {week_hour(now, get_core(app).timezone)}
    assert sum(sums.values()) == 4
    assert recorder.pending() == 0 and recorder.flush() == 0


def test_processes_add_up_a_failed_write_keeps_its_counts_and_old_hours_go(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(settings=ADS_SETTINGS)
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    database, zone = get_database(app), get_core(app).timezone
    snapshot = get_ads(app).snapshots.current()
    now = datetime(2024, 10, 10, 16, 30, tzinfo=UTC)
    old = now - timedelta(weeks=9)  # past the 8 kept

    def page(at: datetime, section: str = "world") -> PageRequest:
        return PageRequest(slots=("article-3",), now=at, section=section, page_type="article")

    first, second = (TrafficRecorder(database, zone, app.config, lambda: now) for _ in "ab")
    for recorder, count in ((first, 3), (second, 2)):  # two processes
        for _ in range(count):
            recorder.note(page(now), snapshot)
        recorder.note(page(old, "business"), snapshot)
    first.flush()
    with database.engine.begin() as connection:  # the database refuses the next write
        connection.execute(text("ALTER TABLE ad_traffic RENAME TO ad_traffic_away"))
    with pytest.raises(SQLAlchemyError):
        second.flush()
    assert second.pending() == 3  # kept for the next flush
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE ad_traffic_away RENAME TO ad_traffic"))
    second.flush()

    # each flush pruned the hour 9 weeks back it had written: off the sums, its kind gone
    assert stored(database) == {("article-3", "desktop", ()): 5}
    with database.session() as session:
        kinds = session.scalars(select(AdTrafficKind.kind)).all()
    assert profile_sums(database) == {(week_hour(now, zone), kinds[0]): 5}
    assert len(kinds) == 1


@pytest.mark.parametrize(("key", "value"), [
    ("ADS_TRAFFIC_WEEKS", 0), ("ADS_FORECAST_SAMPLES", "many"), ("ADS_FORECAST_VALUES", True),
    ("ADS_TRAFFIC_FLUSH_SECONDS", -1), ("ADS_FORECAST_PAGES_PER_READER", 0),
    ("ADS_FORECAST_KEYS", ["lang", 3]), ("ADS_FORECAST_TAGS", {"a": 1}),
])
def test_a_bad_setting_is_refused_by_name(key: str, value: object) -> None:
    with pytest.raises(SettingsError, match=key):
        check_settings({**DEFAULTS, key: value})


def test_names_may_come_comma_separated_from_the_environment() -> None:
    config = {**DEFAULTS, "ADS_FORECAST_KEYS": "lang, topic,", "ADS_FORECAST_TAGS": []}
    check_settings(config)
    assert config["ADS_FORECAST_KEYS"] == ["lang", "topic"]
