"""An app with the demo content and one API token per role."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from apisupport import Api
from flask import Flask

from layoutserver.ads.config_import import import_ads_file
from layoutserver.auth.roles import ROLES
from layoutserver.auth.tokens import create_token
from layoutserver.core import get_core
from layoutserver.db import get_database

DEMO_ADS = Path(__file__).resolve().parents[2] / "layoutserver" / "demo" / "ads.json"
ADS_SETTINGS = {"SECRET_KEY": "test-secret", "ADS_SEED": 7}


@pytest.fixture
def api_app(demo_app: Flask) -> Flask:
    return demo_app


@pytest.fixture
def ads_api_app(make_app: Callable[..., Flask]) -> Flask:
    """The demo site with the demo ad configuration."""
    app = make_app(settings=ADS_SETTINGS)
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    return app


@pytest.fixture
def api(api_app: Flask) -> Api:
    with get_database(api_app).session() as session:
        tokens = {role: create_token(session, f"{role}-token", role) for role in ROLES}
    return Api(api_app.test_client(), tokens)
