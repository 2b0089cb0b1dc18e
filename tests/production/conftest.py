"""Fixtures of the production-mode tests: gunicorn hosts sharing a database and a Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import Cluster
from redis_fixtures import RedisServer


@pytest.fixture
def shared_database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shared.sqlite3'}"


@pytest.fixture
def cluster(shared_database_url: str, redis_server: RedisServer,
            tmp_path: Path) -> Iterator[Cluster]:
    """Two gunicorn hosts (two workers each) on one database and a Redis of this test's own."""
    running = Cluster(shared_database_url, redis_server.url, tmp_path)
    yield running
    running.stop()
