"""``/admin/forecasts``: the line item form's fields in, the figures, a chart per day, the days
and the line items it would take from out; a bad field's message beside it."""

from __future__ import annotations

import re

from consolesupport import field_error, sign_in
from flask import Flask
from flask.testing import FlaskClient
from traffic_support import record_traffic

ASK = {"forecast": "1", "start": "2024-10-10T12:00", "end": "2024-10-17T00:00",
       "tier": "standard", "priority": "4", "weight": "1", "pacing": "even",
       "sizes": "300x250", "targeting.sections": "world", "goal.metric": "impressions",
       "goal.amount": "300", "goal.period": "lifetime"}


def test_a_forecast_shows_its_figures_days_and_losers(console_app: Flask,
                                                     client: FlaskClient) -> None:
    record_traffic(console_app)
    sign_in(client, "viewer")
    form = client.get("/admin/forecasts").get_data(as_text=True)
    assert 'name="targeting.sections"' in form and 'name="sizes"' in form
    assert 'name="name"' not in form and 'name="creatives"' not in form
    assert 'href="/admin/forecasts"' in form  # in the navigation

    page = client.get("/admin/forecasts", query_string=ASK).get_data(as_text=True)
    assert "reachable</strong>" in page
    assert page.count('<svg class="chart"') == 2
    assert len(re.findall(r'<td data-label="day">2024-10-1\d</td>', page)) == 7
    assert "Fabrikam world news</a>" in page
    assert 'value="300x250"' in page  # the form keeps what was asked


def test_a_bad_field_is_named_beside_it_and_nothing_is_forecast(console_app: Flask,
                                                                client: FlaskClient) -> None:
    sign_in(client, "adops")
    page = client.get("/admin/forecasts", query_string={
        **ASK, "end": "2024-10-01T00:00", "caps": "often"}).get_data(as_text=True)
    assert "No forecast" in page and "<svg" not in page
    assert "impressions/period" in field_error(page, "f-caps")
    page = client.get("/admin/forecasts", query_string={**ASK, "end": "2024-10-01T00:00"}
                      ).get_data(as_text=True)
    assert "Must be after start" in field_error(page, "f-end")
    publisher = sign_in(console_app.test_client(), "publisher")
    assert publisher.get("/admin/forecasts").status_code == 403
