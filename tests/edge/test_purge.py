"""Purges by surrogate key: queued with each change, sent to every configured endpoint from its
cursor, retried while an endpoint fails, in the style the endpoint takes (xkey or Fastly's
purge API)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from flask import Flask
from support import SEED_SLUG

from layoutserver.auth.tokens import create_token
from layoutserver.db import get_database
from layoutserver.edge.extension import get_edge
from layoutserver.edge.purge import PurgeEndpoint, PurgeSender, PurgeSettingError
from layoutserver.settings import SettingsError


class FastlyApi:
    """A stand-in for Fastly's purge-by-keys API on loopback: records each purge, and answers
    503 while ``down``."""

    def __init__(self) -> None:
        self.purges: list[dict[str, str]] = []
        self.down = False
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if api.down:
                    self.send_response(503)
                else:
                    api.purges.append({"path": self.path, **dict(self.headers.items())})
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/service/SVC123/purge"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fastly() -> Iterator[FastlyApi]:
    api = FastlyApi()
    yield api
    api.server.shutdown()


def edit_title(app: Flask, title: str) -> None:
    with get_database(app).session() as session:
        token = create_token(session, f"editor-{title[:8]}", "admin")
    client, path = app.test_client(), f"/api/v1/articles/{SEED_SLUG}"
    auth = {"Authorization": f"Bearer {token}"}
    etag = client.get(path, headers=auth).headers["ETag"].strip('"')
    response = client.patch(path, headers={**auth, "If-Match": etag}, json={"title": title})
    assert response.status_code == 200, response.get_json()


def purging_app(make_app: Callable[..., Flask], fastly: FastlyApi
                ) -> tuple[Flask, PurgeSender]:
    """An app purging ``fastly``, its sender's cursor at the end of the queue."""
    app = make_app(settings={"EDGE_PURGE": [f"fastly {fastly.url}"]})
    sender = get_edge(app).sender
    assert sender is not None
    sender.send_pending()
    return app, sender


def test_an_api_edit_is_purged_through_a_fastly_style_api(
    make_app: Callable[..., Flask], fastly: FastlyApi
) -> None:
    app = make_app(settings={"EDGE_PURGE": [f"fastly {fastly.url}"],
                             "EDGE_PURGE_TOKEN": "fastly-secret"})
    sender = get_edge(app).sender
    assert sender is not None
    assert sender.send_pending() == 0  # nothing queued since the endpoint was configured
    edit_title(app, "Purged at Fastly")
    assert sender.send_pending() == 1
    (purge,) = fastly.purges
    assert purge["path"] == "/service/SVC123/purge"
    assert purge["Fastly-Key"] == "fastly-secret"
    assert set(purge["Surrogate-Key"].split()) == {
        f"article:{SEED_SLUG}", "articles", "lists", "content"}
    assert sender.send_pending() == 0  # sent once


def test_purges_queued_while_an_edge_is_down_are_sent_when_it_is_back(
    make_app: Callable[..., Flask], fastly: FastlyApi
) -> None:
    app, sender = purging_app(make_app, fastly)
    fastly.down = True
    edit_title(app, "First while down")
    assert sender.send_pending() == 0
    edit_title(app, "Second while down")
    sender._retry_at.clear()  # the back-off would wait half a second
    assert sender.send_pending() == 0
    fastly.down = False
    sender._retry_at.clear()
    assert sender.send_pending() == 1  # both changes in one request
    assert len(fastly.purges) == 1
    assert f"article:{SEED_SLUG}" in fastly.purges[0]["Surrogate-Key"].split()


def test_a_failing_endpoint_is_tried_again_later_not_at_once(
    make_app: Callable[..., Flask], fastly: FastlyApi
) -> None:
    app, sender = purging_app(make_app, fastly)
    fastly.down = True
    edit_title(app, "Down again")
    sender.send_pending()
    fastly.down = False
    assert sender.send_pending() == 0  # still waiting out its back-off
    assert fastly.purges == []


@pytest.mark.parametrize("setting", [["varnish http://x/"], ["xkey ftp://x/"], ["xkey"]])
def test_a_bad_purge_endpoint_is_a_clear_settings_error(
    make_app: Callable[..., Flask], setting: list[str]
) -> None:
    with pytest.raises(SettingsError, match=r"EDGE_PURGE: .* is not 'STYLE URL'"):
        make_app(settings={"EDGE_PURGE": setting})


def test_an_xkey_purge_is_a_purge_request_with_the_keys() -> None:
    request = PurgeEndpoint.parse("xkey http://127.0.0.1:6081/").request(["a", "b"])
    assert request.get_method() == "PURGE"
    assert request.get_header("Xkey-purge") == "a b"
    with pytest.raises(PurgeSettingError):
        PurgeEndpoint.parse("fastly not-a-url")
