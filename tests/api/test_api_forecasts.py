"""``POST /api/v1/forecasts``: a proposed line item against the demo's line items, on eight
recorded days of world and business article pages (``traffic_support``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apisupport import Api
from flask import Flask
from traffic_support import SECTIONS, record_traffic

from layoutserver.ads.config_import import import_ads_file
from layoutserver.auth.roles import ROLES
from layoutserver.auth.tokens import create_token
from layoutserver.core import get_core
from layoutserver.db import get_database

DEMO_ADS = Path(__file__).resolve().parents[2] / "layoutserver" / "demo" / "ads.json"
ADS_SETTINGS = {"SECRET_KEY": "test-secret", "ADS_SEED": 7}
WEEK = {"start": "2024-10-10T12:00:00", "end": "2024-10-17T00:00:00"}
RECTANGLE_SLOTS = 3  # article-3, news-1 and news-2 take 300x250
WORLD_A_DAY = SECTIONS["world"] * 2 * (16 * 2 + 8)  # two devices, twice as many by day


def api_on(app: Flask) -> Api:
    with get_database(app).session() as session:
        tokens = {role: create_token(session, f"{role}-forecast", role) for role in ROLES}
    return Api(app.test_client(), tokens)


@pytest.fixture
def demo_ads_app(make_app: Callable[..., Flask]) -> Flask:
    """The demo site and ad configuration, a thousand samples per forecast run."""
    app = make_app(settings={**ADS_SETTINGS, "ADS_FORECAST_SAMPLES": 1000})
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    return app


@pytest.fixture
def forecast_api(demo_ads_app: Flask) -> Api:
    record_traffic(demo_ads_app)
    return api_on(demo_ads_app)


def forecast(api: Api, role: str | None = "adops", **proposal: Any) -> Any:
    return api.post("/api/v1/forecasts", role, json={**WEEK, **proposal})


def test_a_proposal_is_forecast_day_by_day_against_the_line_items_booked(
        forecast_api: Api) -> None:
    response = forecast(forecast_api, tier="standard", priority=4, sizes=["300x250"],
                        targeting={"sections": ["world"]},
                        goal={"metric": "impressions", "amount": 300, "period": "lifetime"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    days = body["days"]
    assert [day["date"] for day in days] == [f"2024-10-{n}" for n in range(10, 17)]
    whole = days[1:]  # the first day starts at noon
    for day in whole:
        # every world article page has three slots taking its size...
        assert day["matched"] == pytest.approx(RECTANGLE_SLOTS * WORLD_A_DAY, rel=0.05)
        # ...and its one creative shows once a page: the engine's rule, simulated
        assert day["available"] == pytest.approx(WORLD_A_DAY, rel=0.05)
    assert body["matched"] == sum(day["matched"] for day in days)
    assert body["forecast"] == pytest.approx(300, rel=0.05)  # even pacing to its goal
    assert body["reachable"] is True and body["goal"] == 300
    losers = {item["name"]: item for item in body["competitors"]}
    assert set(losers) <= {"Fabrikam world news", "Contoso savings, run of site",
                           "Tailspin mobile mornings", "House promotions"}
    assert "Northwind fall fares roadblock" not in losers  # a sponsorship: ranked above it
    assert sum(item["loss"] for item in losers.values()) == pytest.approx(300, rel=0.15)
    assert all(item["without"] - item["beside"] == item["loss"] for item in losers.values())
    assert body["traffic"]["recorded_hours"] == 8 * 24
    assert body["notes"] == []


    # a goal the inventory cannot meet
    body = forecast(forecast_api, tier="standard", priority=4, sizes=["300x250"],
                    targeting={"sections": ["world"]},
                    goal={"metric": "impressions", "amount": 2 * WORLD_A_DAY,
                          "period": "daily"}).get_json()
    assert body["reachable"] is False
    assert body["short_days"] == [f"2024-10-{n}" for n in range(11, 17)]  # the whole days
    assert body["forecast"] <= body["available"] * 1.05


BAD = [
    ({"targeting": {"slots": ["nowhere"]}}, ("targeting", "slots")),
    ({"start": "2024-09-01T00:00:00", "end": "2024-10-01T00:00:00"}, ("end",)),
    ({"end": "2025-10-01T00:00:00"}, ("end",)),
    ({"sizes": ["300x251"], "targeting": {"slots": ["news-1"]}}, ("sizes",)),
    ({"sizes": ["big"]}, ("sizes", "0")),
    ({"tier": "gold"}, ("tier",)),
    ({"start": "2024-10-12T00:00:00", "end": "2024-10-11T00:00:00"}, ("end",)),
    ({"start": None}, ("start",)),
]


def test_who_may_ask_what_is_refused_and_what_no_traffic_gives(demo_ads_app: Flask) -> None:
    api = api_on(demo_ads_app)
    for role, status in ((None, 401), ("publisher", 403), ("viewer", 200)):
        assert forecast(api, role).status_code == status, role
    for proposal, where in BAD:
        response = forecast(api, **proposal)
        assert response.status_code == 422, (proposal, response.get_json())
        found: Any = response.get_json()["errors"]["json"]
        for key in where:
            found = found[key]
        assert found and all(isinstance(message, str) for message in found), proposal
    body = forecast(api, sizes=["300x250"]).get_json()
    assert body["matched"] == body["available"] == body["forecast"] == 0
    assert body["notes"] and "No traffic is recorded yet" in body["notes"][0]

    document = demo_ads_app.test_client().get("/api/openapi.json").get_json()
    operation = document["paths"]["/api/v1/forecasts"]["post"]
    assert {"200", "401", "403", "422"} <= set(operation["responses"])
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Proposal"}
    fields = document["components"]["schemas"]["Proposal"]["properties"]
    assert {"sizes", "targeting", "goal", "caps", "tier", "priority"} <= set(fields)
    assert "name" not in fields and "creatives" not in fields
