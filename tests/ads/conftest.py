"""Fixtures of the ad serving tests: apps on a fresh SQLite file with the demo content and an ad
configuration (the demo's, or a small one a test shapes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from adsupport import ADS_SETTINGS, DEMO_ADS, small_config
from flask import Flask

from layoutserver.ads.config_import import import_ads, import_ads_file
from layoutserver.ads.extension import get_ads
from layoutserver.core import get_core
from layoutserver.db import Database, get_database


@pytest.fixture
def ads_app(make_app: Callable[..., Flask]) -> Flask:
    """The demo site with the demo ad configuration."""
    app = make_app(settings=ADS_SETTINGS)
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    return app


@pytest.fixture
def small_app(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """``small_app(settings={...}, **acme)``: the demo site with :func:`small_config`."""

    def factory(settings: dict[str, Any] | None = None, **acme: Any) -> Flask:
        app = make_app(settings={**ADS_SETTINGS, **(settings or {})})
        import_ads(get_database(app), small_config(**acme), get_core(app).timezone)
        return app

    return factory


@pytest.fixture
def fresh_database() -> Iterator[Callable[[Flask], Database]]:
    """A new engine on an app's database: reads what was committed, nothing cached (after a
    flush of the app's Redis counters, when it has a Redis)."""
    opened: list[Database] = []

    def open_for(app: Flask) -> Database:
        flusher = get_ads(app).flusher
        if flusher is not None:  # counts in Redis: what a flush would store
            flusher.flush()
        database = Database(get_database(app).url)
        opened.append(database)
        return database

    yield open_for
    for database in opened:
        database.dispose()
