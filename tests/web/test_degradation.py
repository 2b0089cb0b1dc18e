"""What still works when a shared part fails: with Redis gone pages render (no shared cache) and
counts go to the database, and /readyz says so; with the database gone cached pages are still
served and writes answer 503, changing nothing."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from netproxy import TcpProxy
from redis_fixtures import RedisServer, free_port
from support import JSON, SEED_PATH, timing_outcomes

from layoutserver.auth.tokens import create_token
from layoutserver.core import get_core
from layoutserver.db import get_database

OTHER = "/pages/article/dystopia"  # not requested before Redis stops: it must be rendered


def test_two_apps_share_fragments_through_redis(
    make_app: Callable[..., Flask], redis_settings: dict[str, Any]
) -> None:
    first = make_app(settings=redis_settings)
    assert first.config["CACHE_TYPE"] == "RedisCache"
    rendered = timing_outcomes(first.test_client().get(SEED_PATH))
    shared = {placement for placement in rendered if not placement.startswith("ad-")}
    assert {rendered[placement] for placement in shared} == {"miss"}
    second = make_app(settings={**redis_settings, "DATABASE_URL": get_database(first).url},
                      demo=False)
    served = timing_outcomes(second.test_client().get(SEED_PATH))  # the first it serves
    assert {served[placement] for placement in shared} == {"page-cache"}


def test_pages_render_and_readyz_says_so_when_redis_stops(
    make_app: Callable[..., Flask], redis_server: RedisServer
) -> None:
    app = make_app(settings={"REDIS_URL": redis_server.url})
    client = app.test_client()
    assert client.get(SEED_PATH).status_code == 200
    assert client.get("/readyz").json["checks"]["redis"] == "ok"
    redis_server.stop()
    page = client.get(OTHER)
    assert page.status_code == 200 and "Dystopia" in page.get_data(as_text=True)
    assert client.get(SEED_PATH).status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["redis"].startswith("unreachable")
    assert ready.json["checks"]["database"] == "ok"
    assert "Redis unreachable" in [line.split(":")[0] for line in ready.json["degraded"]]
    # skipped for a while after a failure, not tried again on every lookup
    assert 1 <= get_core(app).fragments.breaker.trips <= 2
    redis_server.start()
    assert client.get("/readyz").status_code == 200


def test_a_database_that_refuses_connections_gives_503_not_500(
    make_app: Callable[..., Flask],
) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing"
    app = make_app(settings={"DATABASE_URL": url}, demo=False)
    client = app.test_client()
    page = client.get(SEED_PATH, headers=JSON)
    assert page.status_code == 503
    assert "database is unreachable" in page.json["detail"]
    assert page.headers["Retry-After"] == "5"
    assert client.get("/readyz").status_code == 503


@pytest.fixture
def proxied_postgres(make_app: Callable[..., Flask]) -> Iterator[tuple[Flask, TcpProxy]]:
    """An app whose PostgreSQL connection goes through a proxy the test can cut."""
    given = os.environ.get("LAYOUTSERVER_TEST_DATABASE_URL")
    if not given:
        pytest.skip("needs PostgreSQL: runs in make test's PostgreSQL pass")
    app = make_app()
    url = urlsplit(str(get_database(app).engine.url.render_as_string(hide_password=False)))
    proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 5432)
    through = url._replace(netloc=f"{url.username or ''}"
                           f"{':' + url.password if url.password else ''}@127.0.0.1:{proxy.port}")
    cut_off = make_app(settings={"DATABASE_URL": through.geturl()}, demo=False)
    yield cut_off, proxy
    proxy.close()


def test_with_the_database_gone_cached_pages_are_served_and_writes_get_503(
    proxied_postgres: tuple[Flask, TcpProxy],
) -> None:
    app, proxy = proxied_postgres
    client = app.test_client()
    with get_database(app).session() as session:
        token = create_token(session, "editor", "publisher")
    warm = client.get(SEED_PATH)
    assert warm.status_code == 200
    proxy.cut()
    again = client.get(SEED_PATH)
    assert again.status_code == 200 and again.data == warm.data
    write = client.post("/api/v1/sections", json={"slug": "new", "name": "New"},
                        headers={"Authorization": f"Bearer {token}"})
    assert write.status_code == 503
    assert "database is unreachable" in write.json["message"]
    assert write.headers["Retry-After"] == "5"

