"""Impression and click URLs: counted once per token, durably, per line item, creative, slot and
hour; a click goes only to the creative's stored URL; bad tokens count nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import itsdangerous
import pytest
from adsupport import LANDING, counts, reader_counts, small_config
from flask import Flask
from flask.testing import FlaskClient

from layoutserver.ads.config_import import import_ads
from layoutserver.ads.counting import Tracked
from layoutserver.ads.extension import get_ads
from layoutserver.ads.tokens import Tokens
from layoutserver.core import get_core
from layoutserver.db import Database, get_database

PAGE = {"page_type": "article", "slug": "a-story", "path": "/pages/article/a-story"}
HOUR = "2024-10-10T16:00:00+00:00"  # the pinned site clock, 12:00 in New York


def decide(client: FlaskClient, **extra: Any) -> dict[str, Any]:
    response = client.post("/ads/decide", json={"page": PAGE, "slots": ["top"], **extra})
    assert response.status_code == 200, response.json
    decision: dict[str, Any] = response.json["decisions"][0]
    return decision


def path_of(url: str) -> str:
    return url.removeprefix("http://localhost")


@pytest.fixture
def app(small_app: Callable[..., Flask]) -> Flask:
    return small_app()


def test_an_impression_counts_once_and_durably(
    small_app: Callable[..., Flask], fresh_database: Callable[[Flask], Database]
) -> None:
    app = small_app(caps=[{"impressions": 5, "period": "week"}])
    client = app.test_client()
    ad = decide(client, user_key="reader-0001")
    first = client.get(path_of(ad["impression_url"]))
    assert first.status_code == 204 and first.data == b""
    assert first.headers["Cache-Control"] == "no-store"
    database = fresh_database(app)  # what was committed before the response
    assert counts(database) == [(1, ad["creative_id"], "top", HOUR, 1, 0)]
    assert reader_counts(app) == {("reader-0001", 1): 1}

    replay = client.get(path_of(ad["impression_url"]) + "?f=gif")
    assert replay.status_code == 200 and replay.mimetype == "image/gif"
    assert replay.data.startswith(b"GIF89a")
    assert counts(database) == [(1, ad["creative_id"], "top", HOUR, 1, 0)]
    assert reader_counts(app) == {("reader-0001", 1): 1}


def test_counts_are_kept_per_hour_line_item_creative_and_slot(
    app: Flask, fresh_database: Callable[[Flask], Database]
) -> None:
    client, core = app.test_client(), get_core(app)
    for _ in range(2):
        client.get(path_of(decide(client)["impression_url"]))
    assert reader_counts(app) == {}  # kept only for line items with caps
    assert core.pinned_now is not None
    core.pinned_now += timedelta(hours=1)
    ad = decide(client)
    client.get(path_of(ad["impression_url"]))
    client.get(path_of(ad["click_url"]))
    later = "2024-10-10T17:00:00+00:00"
    assert counts(fresh_database(app)) == [
        (1, ad["creative_id"], "top", HOUR, 2, 0),
        (1, ad["creative_id"], "top", later, 1, 1),
    ]


def test_a_click_counts_once_and_goes_to_the_stored_url(
    app: Flask, fresh_database: Callable[[Flask], Database]
) -> None:
    client = app.test_client()
    ad = decide(client)
    for _ in range(2):  # the second click still lands, but is not counted
        response = client.get(path_of(ad["click_url"]))
        assert response.status_code == 302
        assert response.headers["Location"] == LANDING
        assert response.headers["Cache-Control"] == "no-store"
    assert counts(fresh_database(app)) == [(1, ad["creative_id"], "top", HOUR, 0, 1)]


@pytest.mark.parametrize(
    "query",
    ["?url=https://evil.example.com/", "?next=https://evil.example.com/&redirect=//evil",
     "?f=gif&destination=https%3A%2F%2Fevil.example.com"],
)
def test_no_query_string_changes_where_a_click_goes(app: Flask, query: str) -> None:
    client = app.test_client()
    response = client.get(path_of(decide(client)["click_url"]) + query)
    assert response.headers["Location"] == LANDING


def test_a_click_of_a_forged_payload_goes_nowhere(
    app: Flask, fresh_database: Callable[[Flask], Database]
) -> None:
    """A payload naming a URL, signed with the app's own secret and kind, is still refused."""
    client = app.test_client()
    serializer = itsdangerous.URLSafeTimedSerializer("test-secret", salt="layoutserver.ads.click")
    forged = serializer.dumps(["click", "d", "top", 1, "https://evil.example.com/", None])
    response = client.get(f"/ads/c/{forged}")
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert counts(fresh_database(app)) == []


def other_tokens(app: Flask) -> dict[str, str]:
    ad_tokens = get_ads(app).tokens()
    tracked = Tracked("d1", "top", 1, 1, None)
    return {
        "foreign secret": Tokens("another secret", 60).sign(tracked),
        "tampered": ad_tokens.sign(tracked)[:-3] + "xyz",
        "old-format impression token": itsdangerous.TimestampSigner(
            "test-secret", salt="layoutserver.ads.impression").sign("impression~d1~top~1~1~")
        .decode(),
    }


@pytest.mark.parametrize("kind", ["foreign secret", "tampered", "old-format impression token"])
def test_a_bad_click_token_gets_400_and_counts_nothing(
    app: Flask, fresh_database: Callable[[Flask], Database], kind: str
) -> None:
    response = app.test_client().get(f"/ads/c/{other_tokens(app)[kind]}",
                                     headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.json["detail"] == "Not counted: invalid token."
    assert "Location" not in response.headers
    assert counts(fresh_database(app)) == []


def test_an_expired_token_gets_400(
    app: Flask, fresh_database: Callable[[Flask], Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    ad = decide(client)
    real = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() + 86400 + 5)
    for url in (ad["impression_url"], ad["click_url"]):
        response = client.get(path_of(url), headers={"Accept": "application/json"})
        assert response.status_code == 400
        assert response.json["detail"] == "Not counted: expired token."
    assert counts(fresh_database(app)) == []


def test_a_slots_token_counts_one_impression_and_one_click(
    app: Flask, fresh_database: Callable[[Flask], Database]
) -> None:
    """Both URLs of a slot carry its one token; the replay guard is per kind, so the token
    counts one impression and one click, each once, whichever URL it is used at."""
    client = app.test_client()
    ad = decide(client)
    token = ad["impression_url"].rsplit("/", 1)[1]
    assert ad["click_url"].rsplit("/", 1)[1] == token
    for _ in range(2):
        assert client.get(f"/ads/i/{token}").status_code == 204
        assert client.get(f"/ads/c/{token}").status_code == 302
    assert counts(fresh_database(app)) == [(1, ad["creative_id"], "top", HOUR, 1, 1)]


def test_a_slots_house_creative_is_counted_under_line_item_0(
    app: Flask, fresh_database: Callable[[Flask], Database]
) -> None:
    document = small_config()
    for item in document["line_items"]:
        item["status"] = "paused"
    document["slots"][0].update(when_empty="house", house_creative="house-1")
    import_ads(get_database(app), document, get_core(app).timezone)
    client = app.test_client()
    ad = decide(client)
    assert ad["line_item_id"] is None and ad["html"]
    client.get(path_of(ad["impression_url"]))
    assert client.get(path_of(ad["click_url"])).headers["Location"] == \
        "https://www.example.com/subscribe"
    assert counts(fresh_database(app)) == [(0, ad["creative_id"], "top", HOUR, 1, 1)]
