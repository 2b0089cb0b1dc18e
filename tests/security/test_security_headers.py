"""Security headers: every site response carries nosniff, a Referrer-Policy and a
Content-Security-Policy made from the settings; the console a strict policy of its own (no
inline script, never framed by another page); and with CONSOLE_HOST the console and the site
share no origin. In Chromium, neither the seed page with its ads nor the console breaks any
of its own policies."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import SEED_PATH, SEED_SLUG
from werkzeug.security import generate_password_hash

from layoutserver.auth.models import User
from layoutserver.db import get_database
from layoutserver.settings import SettingsError

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SITE_PATHS = [SEED_PATH, f"/fragments/article/{SEED_SLUG}/main",
              f"/widgets/article/{SEED_SLUG}/latest-news", "/pages/article/no-such-article",
              "/api/docs", "/api/v1/articles", "/healthz"]
SETTINGS = {"SECRET_KEY": "headers-secret"}


def policy(response: Any) -> dict[str, str]:
    """The Content-Security-Policy of ``response``, directive by directive."""
    value = response.headers["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
            for part in (p.strip() for p in value.split(";"))}


def signed_in(app: Flask) -> FlaskClient:
    with get_database(app).session() as session:
        session.add(User(name="ops", role="admin", created_at=datetime.now(UTC),
                         password_hash=generate_password_hash(PASSWORD,
                                                              method="pbkdf2:sha256:1000")))
    client = app.test_client()
    token = TOKEN.search(client.get("/admin/sign-in").get_data(as_text=True))
    assert token is not None
    answer = client.post("/admin/sign-in", data={"name": "ops", "password": PASSWORD,
                                                  "csrf_token": token.group(1)})
    assert answer.status_code == 302
    return client


@pytest.mark.parametrize("path", SITE_PATHS)
def test_every_site_response_has_the_site_headers(make_app: Callable[..., Flask],
                                                  path: str) -> None:
    client = make_app(settings={**SETTINGS, "AD_ORIGINS": ["https://ads.example.net"]}
                      ).test_client()
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    found = policy(response)
    for directive in ("script-src", "img-src", "frame-src", "connect-src"):
        assert found[directive].split()[0] == "'self'"
        assert "https://ads.example.net" in found[directive].split(), directive
    assert "*" not in response.headers["Content-Security-Policy"]
    assert found["object-src"] == "'none'" and found["base-uri"] == "'self'"


def test_the_site_policy_and_referrer_policy_are_settings(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(settings={**SETTINGS, "SITE_REFERRER_POLICY": "no-referrer",
                             "AD_ORIGINS": ["https://a.example", "http://b.example:8080"],
                             "SITE_CSP": "default-src 'self' {ad_origins}; object-src 'none'"})
    response = app.test_client().get(SEED_PATH)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self' https://a.example http://b.example:8080; object-src 'none'")
    none = make_app(settings={**SETTINGS, "SITE_CSP": ""}).test_client().get(SEED_PATH)
    assert "Content-Security-Policy" not in none.headers
    assert none.headers["X-Content-Type-Options"] == "nosniff"


def test_the_origin_of_a_separate_tracking_host_is_allowed(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(settings={**SETTINGS, "ADS_BASE_URL": "https://track.example.net/base"})
    found = policy(app.test_client().get(SEED_PATH))
    assert "https://track.example.net" in found["connect-src"].split()


@pytest.mark.parametrize(("settings", "message"), [
    ({"AD_ORIGINS": "https://ads.example.net"}, "AD_ORIGINS must be a list of origins"),
    ({"AD_ORIGINS": ["https://ads.example.net/path"]}, "AD_ORIGINS must be a list of origins"),
    ({"AD_ORIGINS": ["javascript:alert(1)"]}, "AD_ORIGINS must be a list of origins"),
    ({"SITE_REFERRER_POLICY": "sometimes"}, "SITE_REFERRER_POLICY must be one of"),
    ({"SITE_CSP": "default-src 'self'\r\nSet-Cookie: x=1"}, "SITE_CSP must be one line"),
])
def test_bad_header_settings_stop_the_start(make_app: Callable[..., Flask],
                                            settings: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        make_app(settings={**SETTINGS, **settings})


def test_the_console_has_a_strict_policy_and_is_never_framed_by_another_page(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(settings={**SETTINGS, "AD_ORIGINS": ["https://ads.example.net"]})
    client = signed_in(app)
    for path in ("/admin/sign-in", "/admin/", "/admin/advertisers", "/admin/no-such-page",
                 f"/admin/preview?page_type=article&slug={SEED_SLUG}"):
        response = client.get(path)
        found = policy(response)
        assert found["script-src"] == "'self'", path  # no inline script, no other origin
        assert found["frame-ancestors"] == "'none'", path
        assert found["object-src"] == "'none'" and found["base-uri"] == "'none'"
        assert found["form-action"] == "'self'"
        assert "https://ads.example.net" in found["img-src"].split()
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    framed = client.get(f"/admin/preview/page?page_type=article&slug={SEED_SLUG}")
    assert framed.status_code == 200
    assert policy(framed)["frame-ancestors"] == "'self'"  # the console's own preview frame
    assert framed.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_console_templates_hold_no_inline_script_nor_event_handler(
        make_app: Callable[..., Flask]) -> None:
    client = signed_in(make_app(settings=SETTINGS))
    for path in ("/admin/", "/admin/advertisers", "/admin/line-items/new",
                 f"/admin/preview?page_type=article&slug={SEED_SLUG}"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\son[a-z]+=", html), path


def test_with_a_console_host_the_console_and_the_site_share_no_origin(
        make_app: Callable[..., Flask]) -> None:
    client = make_app(settings={**SETTINGS, "CONSOLE_HOST": "admin.example.com"}).test_client()
    site, console = {"Host": "www.example.com"}, {"Host": "admin.example.com"}
    assert client.get("/admin/sign-in", headers=console).status_code == 200
    assert client.get("/admin/sign-in", headers=site).status_code == 404
    assert client.get("/admin", headers=site).status_code == 404
    assert client.get(SEED_PATH, headers=site).status_code == 200
    assert client.get(SEED_PATH, headers=console).status_code == 404
    assert client.get(f"/fragments/article/{SEED_SLUG}/main", headers=console).status_code == 404
    for path in ("/healthz", "/api/openapi.json"):  # on every host
        assert client.get(path, headers=site).status_code == 200
        assert client.get(path, headers=console).status_code == 200


CSP_VIOLATIONS = """() => new Promise(done => {
  const seen = [];
  document.addEventListener('securitypolicyviolation',
                            e => seen.push(e.violatedDirective + ' ' + e.blockedURI));
  setTimeout(() => done(seen), 300);
})"""


def test_in_chromium_the_seed_page_and_the_console_break_no_policy_of_theirs(
        make_app: Callable[..., Flask], live_server: Any, browser: Any) -> None:
    app = make_app(settings=SETTINGS)
    signed_in(app)  # the user exists
    server = live_server(app)
    context = browser.new_context()
    page = context.new_page()
    reports: list[str] = []
    page.on("console", lambda message: reports.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(server.url + SEED_PATH)
    assert "East Turkistan" in page.content()
    page.goto(f"{server.url}/admin/sign-in")
    page.fill("#name", "ops")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("text=Hello, ops")
    page.goto(f"{server.url}/admin/preview?page_type=article&slug={SEED_SLUG}")
    page.wait_for_load_state("load")
    assert page.evaluate(CSP_VIOLATIONS) == []
    context.close()
    assert reports == []
