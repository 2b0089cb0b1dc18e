"""Shared fixtures. ``layoutserver.testing`` (the fixtures plugin authors get) is loaded as a
pytest plugin through its ``pytest11`` entry point; these add the demo site and test layouts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import DEMO_SETTINGS, SEED_PATH, SEED_SLUG
from testwidgets import TEST_WIDGETS

from layoutserver import create_app
from layoutserver.content.importer import import_file
from layoutserver.core import get_core
from layoutserver.db import Database, get_database
from layoutserver.edge.extension import get_edge
from layoutserver.scratch import create_tables

REPO = Path(__file__).resolve().parent.parent
__all__ = ["DEMO_SETTINGS", "SEED_PATH", "SEED_SLUG"]

#: live_server and browser (the system Chromium through Playwright); a real Redis.
pytest_plugins = ["browser_fixtures", "edge_fixtures", "node_fixtures", "redis_fixtures"]

DEMO_CONTENT = REPO / "layoutserver" / "demo" / "content.json"



AppFactory = Callable[..., Flask]


def demo_content(url: str) -> None:
    """The seed of make_app's databases: every table and the demo content."""
    database = Database(url)
    try:
        database.create_all()
        import_file(database, DEMO_CONTENT)
    finally:
        database.dispose()


@pytest.fixture
def make_app(
    tmp_path: Path,
    layoutserver_new_database: Callable[..., str],
    layoutserver_redis_url: str | None,
) -> Iterator[AppFactory]:
    """``make_app(layouts={"article": TOML}, settings={...}, demo=True)``: an app on a fresh
    database (SQLite, or PostgreSQL and Redis under ``.ci/services``), with the test widgets
    registered and, by default, the demo content loaded. Without ``layouts`` it uses the
    project's config/layouts."""
    apps: list[Flask] = []

    def factory(
        layouts: Mapping[str, str] | None = None,
        settings: Mapping[str, Any] | None = None,
        demo: bool = True,
    ) -> Flask:
        number = len(apps)
        values: dict[str, Any] = {
            **DEMO_SETTINGS,
            "DATABASE_URL": layoutserver_new_database(demo_content if demo else create_tables),
        }
        if layoutserver_redis_url:  # keys of this app's own: no test sees another's
            values["REDIS_URL"] = layoutserver_redis_url
            values["CACHE_KEY_PREFIX"] = f"t{uuid.uuid4().hex[:12]}:"
        if layouts is not None:
            directory = tmp_path / f"layouts{number}"
            directory.mkdir()
            for page_type, text in layouts.items():
                (directory / f"{page_type}.toml").write_text(text)
            values["LAYOUTS_DIR"] = str(directory)
        values.update(settings or {})
        app = create_app(values, extra_widgets=TEST_WIDGETS)
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield factory
    for app in apps:
        edge = get_edge(app)
        if edge.background is not None:
            edge.background.stop()
        get_core(app).close()
        get_database(app).dispose()


@pytest.fixture
def database(layoutserver_new_database: Callable[..., str]) -> Iterator[Database]:
    """A Database with every table, on a fresh database, without Flask."""
    database = Database(layoutserver_new_database(create_tables))
    yield database
    database.dispose()


@pytest.fixture
def cli_database_url(layoutserver_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Settings only from the environment, the way an operator runs the ``layoutserver``
    command: a fresh database (its URL is returned) and the project's layouts."""
    for name in list(os.environ):
        if name.startswith("LAYOUTSERVER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LAYOUTSERVER_DATABASE_URL", layoutserver_database_url)
    monkeypatch.setenv("LAYOUTSERVER_LAYOUTS_DIR", str(REPO / "config" / "layouts"))
    return layoutserver_database_url


@pytest.fixture
def demo_app(make_app: AppFactory) -> Flask:
    return make_app()


@pytest.fixture
def demo_client(demo_app: Flask) -> FlaskClient:
    return demo_app.test_client()
