"""Sign-in, sign-out, CSRF, the session cookie, and the users CLI."""

from __future__ import annotations

import time

from click.testing import CliRunner
from consolesupport import PASSWORD, csrf, post, sign_in
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from layoutserver.auth.models import User
from layoutserver.auth.users import delete_user
from layoutserver.cli import main
from layoutserver.db import get_database
from layoutserver.keyset import Window


def test_every_console_page_asks_to_sign_in_first(client: FlaskClient) -> None:
    response = client.get("/admin/line-items?status=active")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/sign-in?next=")
    assert "line-items" in response.headers["Location"]
    assert client.get("/admin/sign-in").status_code == 200


def test_a_next_page_with_control_characters_is_not_offered(client: FlaskClient) -> None:
    page = client.get("/admin/sign-in?next=/admin%0d%0aX-Evil:%201")
    assert page.status_code == 200
    assert "X-Evil" not in page.get_data(as_text=True)


def test_signing_in_goes_back_to_the_page_wanted(client: FlaskClient) -> None:
    response = client.post("/admin/sign-in", data={
        "name": "adops", "password": PASSWORD, "csrf_token": csrf(client),
        "next": "/admin/line-items"})
    assert response.headers["Location"] == "/admin/line-items"
    page = client.get("/admin/line-items").get_data(as_text=True)
    assert "adops <small>(adops)</small>" in page


def test_the_next_page_is_never_another_site(client: FlaskClient) -> None:
    for target in ("https://evil.example/", "//evil.example/admin", "/pages/x",
                   "/\\evil.example", "/admin\r\nX-Evil: 1", "/admin/\x00"):
        client.get("/admin/sign-in")  # a fresh token (signing in renews the session)
        response = client.post("/admin/sign-in", data={
            "name": "admin", "password": PASSWORD, "csrf_token": csrf(client), "next": target})
        assert response.headers["Location"] == "/admin/", target
        post(client, "/admin/sign-out", {})


def test_a_wrong_password_or_name_is_refused_alike(client: FlaskClient) -> None:
    for name, password in (("admin", "wrong password"), ("nobody", PASSWORD)):
        response = client.post("/admin/sign-in", data={
            "name": name, "password": password, "csrf_token": csrf(client)})
        assert response.status_code == 401
        page = response.get_data(as_text=True)
        assert "do not match a user" in page
        assert f'value="{name}"' in page  # the name is kept, the password is not
    assert client.get("/admin/").status_code == 302


def test_signing_out_ends_the_session(client: FlaskClient) -> None:
    sign_in(client, "viewer")
    assert client.get("/admin/").status_code == 200
    response = post(client, "/admin/sign-out", {})
    assert response.headers["Location"] == "/admin/sign-in"
    assert client.get("/admin/").status_code == 302


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session", path="/admin")
    assert cookie is not None
    return cookie.value


def test_signing_out_ends_every_session_copies_of_the_cookie_included(
    console_app: Flask, client: FlaskClient
) -> None:
    sign_in(client, "adops")
    copied = session_cookie(client)
    other = sign_in(console_app.test_client(), "adops")  # the same user on another device
    post(client, "/admin/sign-out", {})
    thief = console_app.test_client()
    thief.set_cookie("session", copied, path="/admin")
    assert thief.get("/admin/").status_code == 302
    assert thief.get("/admin/line-items").status_code == 302
    assert other.get("/admin/").status_code == 302
    assert sign_in(client, "adops").get("/admin/").status_code == 200  # signing in again


def test_a_new_password_ends_every_session(console_app: Flask, client: FlaskClient) -> None:
    sign_in(client, "viewer")
    result = CliRunner().invoke(main, ["users", "password", "viewer", "--password-stdin"],
                                input="a brand new password\n", obj=_script_info(console_app))
    assert result.exit_code == 0, result.output
    assert "their sessions have ended" in result.output
    assert client.get("/admin/").status_code == 302


def test_a_new_role_ends_every_session(console_app: Flask, client: FlaskClient) -> None:
    sign_in(client, "admin")
    result = CliRunner().invoke(main, ["users", "role", "admin", "viewer"],
                                obj=_script_info(console_app))
    assert result.exit_code == 0, result.output
    assert "admin is now viewer; their sessions have ended" in result.output
    assert client.get("/admin/").status_code == 302
    refused = CliRunner().invoke(main, ["users", "role", "nobody", "viewer"],
                                 obj=_script_info(console_app))
    assert refused.exit_code != 0 and "no user named 'nobody'" in refused.output


def test_a_session_unused_for_the_idle_time_ends(console_app: Flask,
                                                  client: FlaskClient) -> None:
    sign_in(client, "viewer")
    assert client.get("/admin/").status_code == 200
    with client.session_transaction(path="/admin/") as session:
        session["seen"] = int(time.time()) - 61 * 60  # the default idle time is 60 minutes
    assert client.get("/admin/").status_code == 302


def test_a_deleted_user_is_signed_out_at_once(console_app: Flask, client: FlaskClient) -> None:
    sign_in(client, "adops")
    with get_database(console_app).session() as session:
        delete_user(session, "adops")
    assert client.get("/admin/").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(
    console_app: Flask, client: FlaskClient
) -> None:
    response = client.post("/admin/sign-in", data={"name": "admin", "password": PASSWORD})
    assert response.status_code == 400
    sign_in(client, "admin")
    for token in (None, "forged"):
        data = {"name": "Sneaky"} if token is None else {"name": "Sneaky", "csrf_token": token}
        response = client.post("/admin/advertisers/new", data=data)
        assert response.status_code == 400
        assert "security token" in response.get_data(as_text=True)
    with get_database(console_app).session() as session:
        from layoutserver.ads import config_service as ads

        names = [row["name"] for row in ads.list_items(session, "advertiser", Window(100)).items]
    assert names
    assert "Sneaky" not in names


def test_signing_in_renews_the_csrf_token(client: FlaskClient) -> None:
    before = csrf(client)
    sign_in(client, "admin")
    assert csrf(client, "/admin/") != before


def test_the_session_cookie_is_the_consoles_only(client: FlaskClient) -> None:
    response = client.post("/admin/sign-in", data={
        "name": "admin", "password": PASSWORD, "csrf_token": csrf(client)})
    cookie = response.headers["Set-Cookie"]
    assert "Path=/admin" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_console_pages_are_not_cached_nor_framed_elsewhere(client: FlaskClient) -> None:
    sign_in(client, "admin")
    response = client.get("/admin/")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_cli_creates_lists_and_deletes_users(console_app: Flask) -> None:
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
        result = runner.invoke(main, list(args), input=stdin,
                               obj=_script_info(console_app))
        return result.exit_code, result.output

    code, out = run("users", "create", "alice", "--role", "adops", "--password-stdin",
                    stdin="a long password\n")
    assert code == 0, out
    assert "created user alice (adops)" in out
    code, out = run("users", "create", "bob", "--role", "viewer",
                    stdin="another password\nanother password\n")
    assert code == 0, out
    code, out = run("users", "create", "alice", "--role", "admin", "--password-stdin",
                    stdin="a long password\n")
    assert code == 1 and "already a user named 'alice'" in out
    code, out = run("users", "create", "carol", "--role", "admin", "--password-stdin",
                    stdin="short\n")
    assert code == 1 and "at least 8 characters" in out
    code, out = run("users", "create", "dave", "--role", "king", "--password-stdin",
                    stdin="a long password\n")
    assert code == 2 and "king" in out
    code, out = run("users", "list")
    assert "alice\tadops" in out and "bob\tviewer" in out
    assert "a long password" not in out
    with get_database(console_app).session() as session:
        stored = session.scalar(select(User.password_hash).where(User.name == "alice"))
    assert stored and "a long password" not in stored and stored.startswith(("scrypt", "pbkdf2"))
    client = console_app.test_client()
    response = client.post("/admin/sign-in", data={
        "name": "alice", "password": "a long password", "csrf_token": csrf(client)})
    assert response.status_code == 302
    code, out = run("users", "delete", "alice")
    assert code == 0
    code, out = run("users", "delete", "alice")
    assert code == 1 and "no user named 'alice'" in out


def _script_info(app: Flask) -> object:
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


def test_password_guessing_is_slowed_down(client: FlaskClient) -> None:
    from layoutserver.console.sign_in import THROTTLE_KEY

    client.application.extensions[THROTTLE_KEY].clock = lambda: 1_000_000.0  # time stands still
    for _ in range(5):
        response = client.post("/admin/sign-in", data={
            "name": "admin", "password": "guess", "csrf_token": csrf(client)})
        assert response.status_code == 401
    response = client.post("/admin/sign-in", data={
        "name": "admin", "password": PASSWORD, "csrf_token": csrf(client)})
    assert response.status_code == 429  # even the right password, from this address, for now
    assert "Too many failed sign-ins from here: try again in 1 second." in \
        response.get_data(as_text=True)  # more in tests/security/test_sign_in_throttling.py
    sign_in(client, "adops")  # other names are not held back


def test_an_unknown_console_url_is_a_console_page(client: FlaskClient) -> None:
    sign_in(client, "viewer")
    response = client.get("/admin/slots/edit")
    assert response.status_code == 404
    assert "layoutserver console" in response.get_data(as_text=True)
    response = client.get("/admin/no/such/page/at/all")
    assert response.status_code == 404
    assert "Back to the console" in response.get_data(as_text=True)


def test_the_console_ships_everything_it_shows() -> None:
    """No CDN, web font or outside script: the only absolute URL in the console's templates
    and style sheets is SVG's namespace, which is never fetched."""
    from pathlib import Path

    import layoutserver.console

    root = Path(layoutserver.console.__file__).parent
    files = [*root.glob("templates/console/*.html"), *root.glob("static/*"), *root.glob("*.py")]
    assert len(files) > 20
    for path in files:
        text = path.read_text(encoding="utf-8").replace("http://www.w3.org/2000/svg", "")
        assert "http://" not in text and "https://" not in text and "@import" not in text, path


def test_a_form_over_the_body_limit_is_413(client: FlaskClient) -> None:
    sign_in(client, "admin")
    response = client.post("/admin/sign-in", data={"name": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413
