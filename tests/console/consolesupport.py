"""Helpers of the console tests: signing in, the CSRF token of a page, posting a form."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

PASSWORD = "correct horse battery"
#: Where the browser tests save their screenshots (the docs show them).
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
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


def shot(page: Any, name: str) -> None:
    """The top of a Playwright page as the user sees it (PNG, the viewport only: small
    files), into docs/screenshots/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def sign_in_page(page: Any, site: str, name: str) -> None:
    """Sign a Playwright page in as the test user ``name`` through the sign-in form."""
    page.goto(f"{site}/admin/")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector(f"text=Hello, {name}")
