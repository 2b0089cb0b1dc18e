"""An app with the demo content and one API token per role."""

from __future__ import annotations

import pytest
from apisupport import Api
from flask import Flask

from layoutserver.auth.roles import ROLES
from layoutserver.auth.tokens import create_token
from layoutserver.db import get_database


@pytest.fixture
def api_app(demo_app: Flask) -> Flask:
    return demo_app


@pytest.fixture
def api(api_app: Flask) -> Api:
    with get_database(api_app).session() as session:
        tokens = {role: create_token(session, f"{role}-token", role) for role in ROLES}
    return Api(api_app.test_client(), tokens)
