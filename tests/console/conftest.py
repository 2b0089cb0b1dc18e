"""A demo app with the demo ad configuration and one console user per role (named after it)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from consolesupport import PASSWORD
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from layoutserver.ads.config_import import import_ads_file
from layoutserver.auth.models import User
from layoutserver.auth.roles import ROLES
from layoutserver.auth.users import create_user
from layoutserver.core import get_core
from layoutserver.db import get_database

DEMO_ADS = Path(__file__).resolve().parents[2] / "layoutserver" / "demo" / "ads.json"
CONSOLE_SETTINGS = {"SECRET_KEY": "console-test-secret", "ADS_SEED": 7}


@functools.cache
def _password_hash() -> str:
    """The test password's hash, made once: hashing is slow on purpose."""
    return generate_password_hash(PASSWORD)


def add_users(app: Flask) -> None:
    """One user per role, named after it, with the test password (as ``create_user`` stores
    users, without hashing the same password four times per test)."""
    with get_database(app).session() as session:
        create_user(session, ROLES[0], ROLES[0], PASSWORD)
        for role in ROLES[1:]:
            session.add(User(name=role, role=role, password_hash=_password_hash(),
                             created_at=datetime.now(UTC)))


@pytest.fixture
def console_app(make_app: Callable[..., Flask]) -> Flask:
    app = make_app(settings=CONSOLE_SETTINGS)
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    add_users(app)
    return app


@pytest.fixture
def client(console_app: Flask) -> FlaskClient:
    return console_app.test_client()
