"""Reports: delivery per day against the goal as SVG, top slots, CTR, viewability, CSV."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from consolesupport import sign_in
from flask import Flask
from flask.testing import FlaskClient
from support import SEED_PATH

from layoutserver.console.charts import Series, bar_chart, cumulative_chart, nice_ceiling
from layoutserver.console.pacing import daily_pace, expected_by, pace_state

ITEM = "Northwind fall fares roadblock"


def serve_and_count(client: FlaskClient, times: int = 1, viewable: bool = False) -> None:
    """Load the seed page and fetch its impression beacons, as a browser would (and, with
    ``viewable``, the viewability beacons of the slots shown at once: not the lazy ones)."""
    for _ in range(times):
        page = client.get(SEED_PATH).get_data(as_text=True)
        for url in re.findall(r'class="ad-spot__beacon" src="([^"?]+)', page):
            assert client.get(url).status_code in (200, 204)
        if viewable:
            for spot in re.findall(r'<div class="ad-spot" [^>]*>', page):
                if "ad-spot__later" not in page.split(spot, 1)[1].split("ad-spot__box", 2)[1]:
                    url = re.findall(r'data-ad-view="([^"]+)"', spot)[0]
                    assert client.get(url).status_code == 204


def test_the_line_item_report_charts_delivery_against_the_goal(
    console_app: Flask, client: FlaskClient
) -> None:
    serve_and_count(console_app.test_client(), 2)
    sign_in(client, "adops")
    page = client.get(f"/admin/reports/line-item/{ITEM}").get_data(as_text=True)
    assert page.count('<svg class="chart"') == 3  # impressions, viewable, clicks
    assert "2024-10-10: 6</title>" in page  # 3 slots of the roadblock, twice
    assert "2024-10-09: 0</title>" in page  # days without delivery are zeros
    assert "<td data-label=\"slot\">article-1</td>" in page
    assert "6</strong> impressions" in page
    assert "No goal: no pace line." in page  # the demo line item has none


def test_a_goal_draws_its_pace_line(console_app: Flask, client: FlaskClient) -> None:
    from consolesupport import post

    sign_in(client, "adops")
    page = client.get(f"/admin/line-items/edit/{ITEM}").get_data(as_text=True)
    assert page
    response = post(client, f"/admin/line-items/edit/{ITEM}", {
        "campaign": "Northwind fall fares", "status": "active", "tier": "sponsorship",
        "priority": "1", "weight": "1", "start": "2024-10-01T00:00", "end": "2024-11-01T00:00",
        "creatives": ["northwind-leaderboard-a", "northwind-leaderboard-b", "northwind-rectangle",
                      "northwind-banner-a", "northwind-banner-b"],
        "targeting.slots": ["article-1", "article-2", "article-3"],
        "targeting.page_types": "article", "targeting.sections": "world",
        "goal.metric": "impressions", "goal.amount": "31000", "goal.period": "lifetime",
        "pacing": "asap", "roadblock": "1", "exclusion_labels": "airline"})
    assert response.status_code == 302, response.get_data(as_text=True)
    serve_and_count(console_app.test_client(), 2)
    page = client.get(f"/admin/reports/line-item/{ITEM}").get_data(as_text=True)
    assert page.count('<svg class="chart"') == 4
    assert "Impressions so far against the goal" in page
    assert page.count('class="chart-pace"') == 2  # the impressions bars and the running total
    assert "pace 1,000/day" in page
    # asap keeps no even pace: the report does not say it does, only what one would be
    assert "pacing asap: served as fast as it can, no even pace kept" in page
    assert "an even pace would be 1,000 a day" in page
    assert "even pace 1,000 a day" not in page
    listed = client.get("/admin/line-items").get_data(as_text=True)
    row = re.search(rf'>{ITEM}</a>.*?</tr>', listed, re.S)
    assert row, listed
    assert '<td data-label="delivered">6 of 31,000 impressions (0%)</td>' in row.group(0)
    # 9.5 of 31 days gone (noon of 2024-10-10): about 9,500 on an even pace, 6 delivered
    assert '<td data-label="pace">behind (0% of even) (asap)</td>' in row.group(0)
    assert '<td data-label="pace">no goal</td>' in listed  # the demo's other line items
    # 10 days of a 31-day flight have passed by the end of 2024-10-10: 10,000 on pace
    assert "2024-10-10: 6 delivered, 10,000 on pace" in page  # today; the flight goes on
    assert "delivered 6 by 2024-10-10" in page
    later = client.get(f"/admin/reports/line-item/{ITEM}?start=2024-10-10&end=2024-10-12"
                       ).get_data(as_text=True)
    assert "2024-10-10: 6 delivered" in later
    earlier = client.get(f"/admin/reports/line-item/{ITEM}?start=2024-10-01&end=2024-10-09"
                         ).get_data(as_text=True)
    assert "2024-10-09: 0 delivered, 9,000 on pace" in earlier


def test_a_daily_goals_pace_is_todays(console_app: Flask, client: FlaskClient) -> None:
    from layoutserver.ads import config_service as ads_service
    from layoutserver.core import get_core
    from layoutserver.db import get_database

    with get_database(console_app).session() as session:
        ads_service.update(session, "test", "line_item", ITEM,
                           {"goal": {"metric": "impressions", "amount": 10, "period": "daily"},
                            "pacing": "asap"},  # even pacing would hold it back at noon
                           get_core(console_app).timezone)
    serve_and_count(console_app.test_client(), 2)
    sign_in(client, "adops")
    listed = client.get("/admin/line-items").get_data(as_text=True)
    row = re.search(rf'>{ITEM}</a>.*?</tr>', listed, re.S)
    assert row, listed
    assert '<td data-label="delivered">6 of 10 impressions today (60%)</td>' in row.group(0), \
        re.findall(r'data-label="(?:delivered|pace)">[^<]*', row.group(0))
    # at noon an even pace has delivered half of the day's 10: 6 is 120% of that
    assert '<td data-label="pace">ahead (120% of even) (asap)</td>' in row.group(0)


def test_a_goal_in_viewable_impressions(console_app: Flask, client: FlaskClient) -> None:
    """The list's delivered column and the report's charts count the goal's unit."""
    from layoutserver.ads import config_service as ads_service
    from layoutserver.core import get_core
    from layoutserver.db import get_database

    with get_database(console_app).session() as session:
        ads_service.update(session, "test", "line_item", ITEM,
                           {"goal": {"metric": "viewable", "amount": 10, "period": "daily"},
                            "pacing": "asap"}, get_core(console_app).timezone)
    serve_and_count(console_app.test_client(), 2)  # 6 impressions, none viewable yet
    serve_and_count(console_app.test_client(), 1, viewable=True)  # 3 more, each viewable
    sign_in(client, "adops")
    listed = client.get("/admin/line-items").get_data(as_text=True)
    row = re.search(rf'>{ITEM}</a>.*?</tr>', listed, re.S)
    assert row, listed
    assert ('<td data-label="delivered">3 of 10 viewable impressions today (30%)</td>'
            in row.group(0))
    page = client.get(f"/admin/reports/line-item/{ITEM}").get_data(as_text=True)
    assert "Goal: 10 viewable impressions (daily)" in page
    viewable_chart = re.search(r'aria-label="Viewable impressions per day".*?</svg>', page, re.S)
    assert viewable_chart and 'class="chart-pace"' in viewable_chart.group(0)
    assert "9</strong> impressions" in page and "3</strong> viewable" in page
    assert "viewability <strong>100.00%</strong>" in page  # 3 measured, 3 viewable
    overview = client.get("/admin/reports").get_data(as_text=True)
    assert "<h2>Creatives</h2>" in overview
    assert re.search(r'data-label="measurable">3</td><td class="num" data-label="viewable">3'
                     r'</td><td class="num" data-label="viewability">100.00%</td>', overview)


def test_the_overview_lists_line_items_and_top_slots(
    console_app: Flask, client: FlaskClient
) -> None:
    serve_and_count(console_app.test_client())
    sign_in(client, "viewer")
    page = client.get("/admin/reports").get_data(as_text=True)
    assert f">{ITEM}</a>" in page
    assert re.search(r'data-label="slot">article-1</td>\s*<td class="num" data-label='
                     r'"impressions">1</td>', page)
    assert "CTR" in page


def test_csv_export(console_app: Flask, client: FlaskClient) -> None:
    serve_and_count(console_app.test_client())
    sign_in(client, "adops")
    response = client.get(f"/admin/reports/delivery.csv?start=2024-10-10&end=2024-10-10"
                          f"&group_by=slot&line_item={ITEM}")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "day,slot,impressions,clicks,ctr,measurable,viewable,viewability"
    assert "2024-10-10,article-1,1,0,0.0000,0,0," in lines
    assert client.get("/admin/reports/delivery.csv?line_item=nope").status_code == 404
    assert client.get("/admin/reports/delivery.csv?group_by=colour").status_code == 400
    assert client.get("/admin/reports/delivery.csv?start=yesterday").status_code == 400


def test_a_bad_range_is_reported_and_the_default_shown(client: FlaskClient) -> None:
    sign_in(client, "adops")
    page = client.get("/admin/reports?start=2024-10-10&end=2024-10-01").get_data(as_text=True)
    assert "is before the start" in page
    page = client.get("/admin/reports?start=someday").get_data(as_text=True)
    assert "YYYY-MM-DD" in page


@pytest.mark.parametrize(("value", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (120, 200),
                                            (999, 1000), (1001, 2000)])
def test_the_axis_top(value: float, top: int) -> None:
    assert nice_ceiling(value) == top


def test_the_chart_escapes_and_scales() -> None:
    svg = str(bar_chart(["2024-10-01", "2024-10-02"],
                        Series("<Imps>", [5, 10], "impressions", pace=8.0)))
    assert "&lt;Imps&gt;" in svg and "<Imps>" not in svg
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert heights[1] == pytest.approx(2 * heights[0])
    assert 'class="chart-pace"' in svg and "pace 8/day" in svg


def test_the_pace_to_a_lifetime_goal() -> None:
    start = datetime(2024, 10, 1, tzinfo=UTC)
    end = datetime(2024, 10, 11, tzinfo=UTC)
    assert expected_by(1000, start, end, start) == 0
    assert expected_by(1000, start, end, datetime(2024, 10, 6, tzinfo=UTC)) == 500
    assert expected_by(1000, start, end, datetime(2024, 12, 1, tzinfo=UTC)) == 1000
    assert expected_by(1000, start, end, datetime(2024, 9, 1, tzinfo=UTC)) == 0


def test_the_running_total_chart() -> None:
    svg = str(cumulative_chart(["2024-10-01", "2024-10-02"], [3, 9], [5.0, 10.0],
                               "impressions"))
    assert svg.count("<polyline") == 2
    assert "2024-10-02: 9 delivered, 10 on pace" in svg
    partial = str(cumulative_chart(["2024-10-01", "2024-10-02"], [3], [5.0, 10.0], "clicks"))
    assert "2024-10-01: 3 delivered, 5 on pace" in partial


def test_the_daily_pace() -> None:
    start = datetime(2024, 10, 1, tzinfo=UTC)
    end = datetime(2024, 10, 11, tzinfo=UTC)
    assert daily_pace(None, start, end) is None
    assert daily_pace({"amount": 100, "period": "daily"}, start, end) == 100
    assert daily_pace({"amount": 1000, "period": "lifetime"}, start, end) == 100


@pytest.mark.parametrize(("count", "expected", "before", "after", "state"), [
    (100, 50.0, False, False, "goal met"),
    (0, 0.0, True, False, "not started"),
    (10, 50.0, False, True, "ended short"),
    (50, 50.0, False, False, "on pace"),
    (60, 50.0, False, False, "ahead (120% of even)"),
    (20, 50.0, False, False, "behind (40% of even)"),
])
def test_the_pace_state(count: int, expected: float, before: bool, after: bool,
                        state: str) -> None:
    assert pace_state(count, 100, expected, before, after) == state

