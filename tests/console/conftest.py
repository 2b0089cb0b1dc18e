"""A demo app with the demo ad configuration and one console user per role (named after it)."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from consolesupport import CONSOLE_SETTINGS, LAPTOP, PASSWORD
from flask import Flask
from flask.testing import FlaskClient
from support import DEMO_SETTINGS
from werkzeug.security import generate_password_hash

from layoutserver import create_app
from layoutserver.ads.config_import import import_ads_file
from layoutserver.auth.models import User
from layoutserver.auth.roles import ROLES
from layoutserver.content.importer import import_file
from layoutserver.core import get_core
from layoutserver.db import get_database

DEMO = Path(__file__).resolve().parents[2] / "layoutserver" / "demo"
DEMO_ADS, DEMO_CONTENT = DEMO / "ads.json", DEMO / "content.json"


@functools.cache
def _password_hash() -> str:
    """The test password's hash, made once and cheap to check: the console's hashes are slow
    on purpose (scrypt), which would cost every test that signs in a tenth of a second.
    ``check_password_hash`` reads the method from the hash, so signing in is the real path."""
    return generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def add_users(app: Flask) -> None:
    """One user per role, named after it, with the test password."""
    with get_database(app).session() as session:
        for role in ROLES:
            session.add(User(name=role, role=role, password_hash=_password_hash(),
                             created_at=datetime.now(UTC)))


@pytest.fixture(scope="session")
def console_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the demo content, the demo ads and the users, made once: each test
    gets a copy (copying a file is much cheaper than importing the demo again)."""
    path = tmp_path_factory.mktemp("console") / "template.sqlite3"
    app = create_app({**DEMO_SETTINGS, **CONSOLE_SETTINGS, "DATABASE_URL": f"sqlite:///{path}"})
    database = get_database(app)
    database.create_all()
    import_file(database, DEMO_CONTENT)
    import_ads_file(database, DEMO_ADS, get_core(app).timezone)
    add_users(app)
    get_core(app).close()
    database.dispose()  # the last connection closed: the WAL is checkpointed into the file
    return path


@pytest.fixture
def console_app(make_app: Callable[..., Flask], console_database: Path, tmp_path: Path
                ) -> Flask:
    copy = tmp_path / "console.sqlite3"
    shutil.copyfile(console_database, copy)
    return make_app(settings={**CONSOLE_SETTINGS, "DATABASE_URL": f"sqlite:///{copy}"},
                    demo=False)


@pytest.fixture
def client(console_app: Flask) -> FlaskClient:
    return console_app.test_client()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A Playwright page in a laptop-sized window of its own (the browser tests')."""
    context = browser.new_context(viewport=LAPTOP)
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()
