"""Helpers of the console tests: signing in, the CSRF token of a page, posting a form."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

PASSWORD = "correct horse battery"
CONSOLE_SETTINGS = {"SECRET_KEY": "console-test-secret", "ADS_SEED": 7}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: FlaskClient, path: str = "/admin/sign-in") -> str:
    """The CSRF token the page at ``path`` puts in its forms."""
    html = client.get(path).get_data(as_text=True)
    found = TOKEN.search(html)
    assert found is not None, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: FlaskClient, role: str) -> FlaskClient:
    """Sign ``client`` in as the test user of ``role`` (see the console_app fixture)."""
    response = client.post("/admin/sign-in", data={
        "name": role, "password": PASSWORD, "csrf_token": csrf(client)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def post(client: FlaskClient, path: str, data: dict[str, Any], *,
         form_page: str | None = None) -> Any:
    """Post ``data`` to ``path`` with the CSRF token of ``form_page`` (default ``path``)."""
    token = csrf(client, form_page or "/admin/")
    return client.post(path, data={**data, "csrf_token": token})


def field_error(html: str, field_id: str) -> str:
    """The message shown beside the field whose id is ``field_id``."""
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>',
                      html)
    assert found is not None, f"no error beside {field_id}"
    return found.group(1)
