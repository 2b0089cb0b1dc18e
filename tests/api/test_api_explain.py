"""``/api/v1/explain``: the explain answer through the admin API, for ad ops and admins."""

from __future__ import annotations

import pytest
from apisupport import Api
from flask import Flask

from layoutserver.auth.roles import ROLES
from layoutserver.auth.tokens import create_token
from layoutserver.db import get_database


@pytest.fixture
def explain_api(ads_api_app: Flask) -> Api:
    with get_database(ads_api_app).session() as session:
        tokens = {role: create_token(session, f"{role}-explain", role) for role in ROLES}
    return Api(ads_api_app.test_client(), tokens)


def test_ad_ops_get_every_candidate_with_its_reason(explain_api: Api) -> None:
    response = explain_api.get("/api/v1/explain?page_type=article&slots=news-1&device=mobile"
                               "&kv=campaign%3Dautumn", role="adops")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["page"]["device"] == "mobile"
    assert body["page"]["key_values"] == {"campaign": "autumn"}
    (slot,) = body["slots"]
    assert slot["slot"] == "news-1" and slot["considered"]
    assert all(item["reason"] for item in slot["considered"])
    assert sum(item["chosen"] for item in slot["considered"]) <= 1


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("viewer", 403), ("publisher", 403),
                                              ("adops", 200), ("admin", 200)])
def test_only_ad_ops_and_admins_may_explain(explain_api: Api, role: str | None,
                                            status: int) -> None:
    response = explain_api.get("/api/v1/explain?page_type=article&slots=news-1", role=role)
    assert response.status_code == status


def test_a_bad_device_is_422(explain_api: Api) -> None:
    response = explain_api.get("/api/v1/explain?page_type=article&device=fridge", role="adops")
    assert response.status_code == 422
