"""``POST /ads/decide``, the client-side path, and the files around it (ads.js, ads.txt, the
demo creatives)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from adsupport import SEED_SLOTS
from flask import Flask
from markupsafe import escape

PAGE = {"page_type": "article", "slug": "a-story", "section": "world", "tags": ["china"],
        "path": "/pages/article/a-story", "key_values": {"campaign": "autumn"}}


def test_one_decision_per_slot_with_absolute_urls(ads_app: Flask) -> None:
    response = ads_app.test_client().post(
        "/ads/decide", json={"page": PAGE, "slots": SEED_SLOTS, "device": "mobile"}
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    decisions = response.json["decisions"]
    assert [d["slot"] for d in decisions] == SEED_SLOTS
    assert [d["size"] for d in decisions] == ["320x50", "320x50", "300x250", "300x250", "300x250"]
    for decision in decisions:
        assert decision["impression_url"].startswith("http://localhost/ads/i/")
        assert decision["click_url"].startswith("http://localhost/ads/c/")
        assert decision["click_url"] in decision["html"]
        token = decision["click_url"].rsplit("/", 1)[1]  # one token for every URL of a slot
        assert decision["viewability_url"] == f"http://localhost/ads/v/{token}"
        assert f'data-ad-view="{decision["viewability_url"]}"' in decision["html"]
        assert not decision["empty"]
    image = next(d for d in decisions if 'src="http://localhost/ads/creatives/' in d["html"])
    assert image


def test_the_base_url_setting_prefixes_every_url(small_app: Callable[..., Flask]) -> None:
    app = small_app(settings={"ADS_BASE_URL": "https://ads.example.com/"})
    decision = app.test_client().post(
        "/ads/decide", json={"page": PAGE, "slots": ["top"]}
    ).json["decisions"][0]
    assert decision["click_url"].startswith("https://ads.example.com/ads/c/")
    assert 'src="https://ads.example.com/ads/creatives/acme-1.svg"' in decision["html"]


def test_an_unknown_slot_answers_empty(ads_app: Flask) -> None:
    response = ads_app.test_client().post("/ads/decide",
                                          json={"page": PAGE, "slots": ["nowhere"]})
    assert response.json["decisions"] == [
        {"slot": "nowhere", "html": "", "size": None, "empty": True, "impression_url": None,
         "click_url": None, "viewability_url": None, "line_item_id": None,
         "creative_id": None}
    ]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"slots": ["news-1"]}, {"page": ["Missing data for required field."]}),
        ({"page": PAGE, "slots": []}, {"slots": ["Length must be between 1 and 20."]}),
        ({"page": PAGE, "slots": ["Bad Code"]}, {"slots": {"0": ["Not a slot code."]}}),
        ({"page": PAGE, "slots": ["news-1"], "device": "watch"},
         {"device": ["Must be one of: desktop, tablet, mobile."]}),
        ({"page": {**PAGE, "path": "relative"}, "slots": ["news-1"]},
         {"page": {"path": ["A path starts with '/'."]}}),
        ({"page": {**PAGE, "tags": "china"}, "slots": ["news-1"]},
         {"page": {"tags": ["Not a valid list."]}}),
        ({"page": PAGE, "slots": ["news-1"], "user_key": "x"},
         {"user_key": ["Not a user key: 8 to 128 letters, digits, '_', '-', '.' or ':'."]}),
        ({"page": PAGE, "slots": ["news-1"], "extra": 1}, {"extra": ["Unknown field."]}),
        ({"page": PAGE, "slots": [f"s-{n}" for n in range(21)]},
         {"slots": ["Length must be between 1 and 20."]}),
    ],
)
def test_an_invalid_body_gets_422_with_field_messages(
    ads_app: Flask, body: dict[str, Any], errors: dict[str, Any]
) -> None:
    response = ads_app.test_client().post("/ads/decide", json=body)
    assert response.status_code == 422
    assert response.headers["Cache-Control"] == "no-store"
    document = response.json
    assert (document["code"], document["status"]) == (422, "Unprocessable Entity")
    assert document["errors"] == {"json": errors}


@pytest.mark.parametrize("data", ["not json", "[1, 2]", '"text"'])
def test_a_body_that_is_no_json_object_gets_400(ads_app: Flask, data: str) -> None:
    response = ads_app.test_client().post("/ads/decide", data=data,
                                          content_type="application/json",
                                          headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert response.json["code"] == 400
    assert "JSON object" in response.json["message"]


def test_decide_is_public_and_documented(ads_app: Flask) -> None:
    document = ads_app.test_client().get("/api/openapi.json").json
    operation = document["paths"]["/ads/decide"]["post"]
    assert operation["security"] == []
    assert {"200", "400", "422"} <= set(operation["responses"])


def test_the_script_is_served(ads_app: Flask) -> None:
    response = ads_app.test_client().get("/ads/ads.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    script = response.text
    assert 'querySelectorAll("div[data-slot]")' in script
    assert script.count("fetch(") == 1  # one request for every slot of the page


def test_ads_txt_comes_from_the_setting(small_app: Callable[..., Flask]) -> None:
    line = "google.com, pub-0000000000000000, DIRECT, f08c47fec0942fa0"
    response = small_app(settings={"ADS_TXT": line}).test_client().get("/ads.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.text == line + "\n"


def test_ads_txt_is_404_when_the_setting_is_empty(ads_app: Flask) -> None:
    assert ads_app.test_client().get("/ads.txt").status_code == 404


def test_demo_creatives_are_served_from_the_package(ads_app: Flask) -> None:
    client = ads_app.test_client()
    response = client.get("/ads/creatives/northwind-rectangle.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/ads/creatives/../ads.json").status_code == 404


def test_urls_are_escaped_in_the_markup_and_given_as_they_are(ads_app: Flask) -> None:
    response = ads_app.test_client().post(
        "/ads/decide", json={"page": PAGE, "slots": SEED_SLOTS},
        environ_overrides={"SCRIPT_NAME": "/news&views"},
    )
    for decision in response.json["decisions"]:
        assert decision["impression_url"].startswith("http://localhost/news&views/ads/i/")
        assert decision["click_url"].startswith("http://localhost/news&views/ads/c/")
        html = decision["html"]
        click = str(escape(decision["click_url"]))
        # an href, or inside an HTML creative's srcdoc (escaped twice)
        assert f'href="{click}"' in html or f'href=&#34;{escape(click)}&#34;' in html
        assert f'src="{escape(decision["impression_url"])}?f=gif"' in html
        assert f'data-ad-view="{escape(decision["viewability_url"])}"' in html
        assert "news&views" not in html


def test_a_nul_in_a_key_value_is_decided_like_any_unknown_value(ads_app: Flask) -> None:
    """``/ads/decide`` stores no text it is given, so it does not walk the body for NULs."""
    response = ads_app.test_client().post("/ads/decide", json={
        "page": {"page_type": "article", "slug": "x", "key_values": {"campaign": "a\x00b"}},
        "slots": ["news-1"]})
    assert response.status_code == 200
    assert len(response.get_json()["decisions"]) == 1
