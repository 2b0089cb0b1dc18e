"""The console enforces the API's role table (``layoutserver.auth.roles``): the same roles may
see and change the same areas."""

from __future__ import annotations

import pytest
from consolesupport import post, sign_in
from flask.testing import FlaskClient

from layoutserver.auth.roles import ROLES, allowed
from layoutserver.console.resources import RESOURCES

NEW = {"advertisers": {"name": "Role test"}, "sections": {"slug": "role-test", "name": "R"}}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_and_changes_exactly_what_the_table_allows(
    client: FlaskClient, role: str
) -> None:
    sign_in(client, role)
    for resource in RESOURCES:
        reads = client.get(f"/admin/{resource.path}").status_code
        assert reads == (200 if allowed(role, resource.area, False) else 403), resource.path
        new_form = client.get(f"/admin/{resource.path}/new").status_code
        assert new_form == (200 if allowed(role, resource.area, True) else 403), resource.path
    for path, data in NEW.items():
        area = "ads" if path == "advertisers" else "content"
        status = post(client, f"/admin/{path}/new", data).status_code
        assert status == (302 if allowed(role, area, True) else 403), path  # type: ignore[arg-type]
    reports = client.get("/admin/reports").status_code
    assert reports == (200 if allowed(role, "reports", False) else 403)
    assert client.get("/admin/reports/delivery.csv").status_code == reports


def test_a_viewer_sees_a_form_it_cannot_submit(client: FlaskClient) -> None:
    sign_in(client, "viewer")
    page = client.get("/admin/line-items/edit/Northwind fall fares roadblock").get_data(
        as_text=True)
    assert '<fieldset disabled class="plain">' in page
    assert "may look, not change" in page
    assert ">Save</button>" not in page and "Delete line item" not in page
    for path in ("/admin/line-items/edit/Northwind fall fares roadblock",
                 "/admin/line-items/set/Northwind fall fares roadblock",
                 "/admin/line-items/delete/Northwind fall fares roadblock",
                 "/admin/editorial-lists/move/must-read"):
        response = post(client, path, {"action": "Pause", "index": "1", "direction": "up"})
        assert response.status_code == 403, path
        assert "may not change" in response.get_data(as_text=True)


def test_the_navigation_offers_only_what_the_role_may_see(client: FlaskClient) -> None:
    sign_in(client, "publisher")
    page = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/articles"' in page
    assert 'href="/admin/reports"' not in page
    assert "New line item" not in client.get("/admin/line-items").get_data(as_text=True)
