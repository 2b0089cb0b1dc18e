"""The viewability URL (``/ads/v/<token>``): measurable with ``?s=m``, viewable without; each
counted once per token, durably, per line item, creative, slot and hour; a viewable impression
is counted measurable too (its measurable beacon may have been lost); a bad token or state
counts nothing; and a line item's goal in viewable impressions is paced on what was counted
viewable (docs/viewability.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import itsdangerous
import pytest
from adsupport import small_config
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from layoutserver.ads.config_import import import_ads
from layoutserver.ads.counting import Tracked
from layoutserver.ads.decisions.state import InMemoryDeliveryState
from layoutserver.ads.delivery import GoalCounts
from layoutserver.ads.extension import get_ads
from layoutserver.ads.models import AdCount
from layoutserver.ads.tokens import Tokens
from layoutserver.core import get_core
from layoutserver.db import Database, get_database

PAGE = {"page_type": "article", "slug": "a-story", "path": "/pages/article/a-story"}
HOUR = "2024-10-10T16:00:00+00:00"  # the pinned site clock, 12:00 in New York


def decide(client: FlaskClient) -> dict[str, Any]:
    response = client.post("/ads/decide", json={"page": PAGE, "slots": ["top"]})
    assert response.status_code == 200, response.json
    decision: dict[str, Any] = response.json["decisions"][0]
    return decision


def view_path(ad: dict[str, Any]) -> str:
    return str(ad["viewability_url"]).removeprefix("http://localhost")


def viewability(database: Database) -> list[tuple[int, int, str, str, int, int, int]]:
    """``ad_counts`` rows as (line item, creative, slot, hour, impressions, measurable,
    viewable)."""
    with database.session() as session:
        return [(r.line_item_id, r.creative_id, r.slot, r.hour.isoformat(), r.impressions,
                 r.measurable, r.viewable)
                for r in session.scalars(select(AdCount).order_by(AdCount.id))]


@pytest.fixture
def app(small_app: Callable[..., Flask]) -> Flask:
    return small_app()


def test_measurable_then_viewable_each_count_once(
    app: Flask, fresh_database: Callable[[Flask], Database]
) -> None:
    client = app.test_client()
    ad = decide(client)
    token = ad["impression_url"].rsplit("/", 1)[1]
    assert view_path(ad) == f"/ads/v/{token}"  # the slot's one token
    assert client.get(ad["impression_url"]).status_code == 204
    for _ in range(2):  # the second is a replay: answered alike, counted nothing
        response = client.get(view_path(ad) + "?s=m")
        assert response.status_code == 204 and response.headers["Cache-Control"] == "no-store"
    row = (1, ad["creative_id"], "top", HOUR, 1, 1, 0)
    assert viewability(fresh_database(app)) == [row]  # committed before the answer
    for _ in range(2):
        assert client.get(view_path(ad)).status_code == 204
    assert viewability(fresh_database(app)) == [(*row[:-1], 1)]
    assert client.get(view_path(ad) + "?s=m").status_code == 204  # late: counts nothing
    assert viewability(fresh_database(app)) == [(*row[:-1], 1)]


def test_a_viewable_beacon_whose_measurable_one_was_lost_counts_both(
    app: Flask, fresh_database: Callable[[Flask], Database]
) -> None:
    client = app.test_client()
    ads = [decide(client) for _ in range(3)]
    for ad in ads:
        assert client.get(view_path(ad) + "?s=v").status_code == 204
    assert viewability(fresh_database(app)) == [(1, ads[0]["creative_id"], "top", HOUR, 0, 3, 3)]


def bad_tokens(app: Flask) -> list[str]:
    """A foreign secret's token, a tampered one, and an impression token of the previous
    format (pages of that format had no viewability URL)."""
    tracked = Tracked("d1", "top", 1, 1, None)
    legacy = itsdangerous.TimestampSigner("test-secret", salt="layoutserver.ads.impression")
    return [Tokens("another secret", 60).sign(tracked),
            get_ads(app).tokens().sign(tracked)[:-3] + "xyz",
            legacy.sign("impression~d1~top~1~1~").decode()]


def test_a_bad_token_or_state_gets_400_and_counts_nothing(
    app: Flask, fresh_database: Callable[[Flask], Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    json = {"Accept": "application/json"}
    for token in bad_tokens(app):
        for query in ("", "?s=m"):
            response = client.get(f"/ads/v/{token}{query}", headers=json)
            assert response.status_code == 400
            assert response.json["detail"] == "Not counted: invalid token."
    ad = decide(client)
    for state in ("x", "viewable", ""):
        response = client.get(f"{view_path(ad)}?s={state}", headers=json)
        assert response.status_code == 400
        assert response.json["detail"] == "Not counted: s is m (measurable) or v (viewable)."
    real = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() + 86400 + 5)
    response = client.get(view_path(ad), headers=json)
    assert response.status_code == 400
    assert response.json["detail"] == "Not counted: expired token."
    assert viewability(fresh_database(app)) == []


def test_a_goal_in_viewable_impressions_is_paced_on_viewable_counts(
    app: Flask, fresh_database: Callable[[Flask], Database]
) -> None:
    """Served impressions do not count toward it; viewable ones do, up to the goal."""
    document = small_config(goal={"metric": "viewable", "amount": 2, "period": "lifetime"},
                            pacing="asap")
    import_ads(get_database(app), document, get_core(app).timezone)
    get_ads(app).tally.goal_counts = GoalCounts(max_age=0)  # read fresh on every decision
    client = app.test_client()
    served = []
    for n in range(4):
        ad = decide(client)
        served.append(ad["line_item_id"])
        client.get(ad["impression_url"])
        if n >= 2:  # the first two only served; then two seen
            client.get(view_path(ad))
    assert served == [1, 1, 1, 1]
    assert decide(client)["line_item_id"] == 2  # 2 of 2 viewable: the house line item
    assert [row[4:] for row in viewability(fresh_database(app))] == [(4, 2, 2)]


def test_the_in_memory_state_counts_viewable_impressions_apart() -> None:
    state = InMemoryDeliveryState(ZoneInfo("America/New_York"))
    at = datetime.fromisoformat(HOUR)
    state.record_impression(1, None, at)
    state.record_viewable(1, at)
    state.record_viewable(1, at)
    assert [state.delivered(1, metric, None) for metric in ("impressions", "viewable",
                                                            "clicks")] == [1, 2, 0]
