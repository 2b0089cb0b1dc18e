"""/metrics: requests by route and status, widget renders and failures, cache hits and misses,
ad decisions per slot, impressions and clicks (values read as deltas: the registry is the
process's)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from support import PER_REQUEST, SEED_PATH

from layoutserver.ads.config_import import import_ads_file
from layoutserver.core import get_core
from layoutserver.db import get_database

sys.path.insert(0, str(Path(__file__).parent / "ads"))
from adsupport import ADS_SETTINGS, DEMO_ADS, SEED_SLOTS

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(client: FlaskClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    found: Samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_pages_widgets_caches_and_ads_are_counted(make_app: Callable[..., Flask]) -> None:
    app = make_app(settings=ADS_SETTINGS)
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    client = app.test_client()
    before = samples(client)
    first = client.get(SEED_PATH)
    second = client.get(SEED_PATH)
    assert client.get("/pages/article/no-such-story").status_code == 404
    after = samples(client)

    route = "/pages/<page_type>/<slug>"
    requests = "layoutserver_http_requests_total"
    assert delta(before, after, requests, route=route, method="GET", status="200") == 2
    assert delta(before, after, requests, route=route, method="GET", status="404") == 1
    assert delta(before, after, "layoutserver_http_request_seconds_count", route=route) == 3
    lookups = "layoutserver_cache_lookups_total"
    assert delta(before, after, lookups, cache="page", result="miss") == 1
    assert delta(before, after, lookups, cache="page", result="hit") == 1
    assert delta(before, after, lookups, cache="fragment", result="miss") == 6  # shared widgets
    renders = "layoutserver_widget_render_seconds_count"
    assert delta(before, after, renders, widget="article_body") == 1
    # per request, both times: the five spots are one whole-page step, one observation
    assert delta(before, after, renders, widget="ad_spot") == 2

    decisions = "layoutserver_ad_decisions_total"
    for code in SEED_SLOTS:
        assert delta(before, after, decisions, slot=code, filled="yes") == 2
    assert first.status_code == second.status_code == 200


def test_a_widget_failure_is_counted(make_app: Callable[..., Flask]) -> None:
    layout = PER_REQUEST.replace('widget = "test_per_request"', 'widget = "test_raising"')
    client = make_app(layouts={"article": layout}).test_client()
    before = samples(client)
    assert client.get(SEED_PATH).status_code == 200
    after = samples(client)
    assert delta(before, after, "layoutserver_widget_failures_total", widget="test_raising",
                 outcome="error") == 1


def test_an_impression_is_counted_once(make_app: Callable[..., Flask]) -> None:
    app = make_app(settings=ADS_SETTINGS)
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    client = app.test_client()
    ad = client.post("/ads/decide", json={
        "page": {"page_type": "article", "slug": "x", "path": "/x"},
        "slots": ["article-1"]}).json["decisions"][0]
    before = samples(client)
    client.get(ad["impression_url"].removeprefix("http://localhost"))
    client.get(ad["impression_url"].removeprefix("http://localhost"))  # a replay: not counted
    after = samples(client)
    assert delta(before, after, "layoutserver_ad_events_total", kind="impression",
                 slot="article-1") == 1


@pytest.mark.parametrize("how", ["esi", "head", "client"])
def test_holes_left_to_others_are_not_counted_as_renders(
    make_app: Callable[..., Flask], how: str
) -> None:
    settings = {**ADS_SETTINGS, **({"ADS_DELIVERY": "client"} if how == "client" else {})}
    client = make_app(settings=settings).test_client()
    client.get(SEED_PATH)  # the body cache holds the page now
    before = samples(client)
    if how == "head":
        client.head(SEED_PATH)
    else:
        client.get(SEED_PATH, headers={"Surrogate-Capability": 'edge="ESI/1.0"'})
    after = samples(client)
    assert delta(before, after, "layoutserver_widget_render_seconds_count",
                 widget="ad_spot") == 0
    assert delta(before, after, "layoutserver_cache_lookups_total", cache="fragment",
                 result="miss") == 0
