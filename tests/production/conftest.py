"""Fixtures of the production-mode tests: gunicorn hosts sharing a database and a Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import Cluster
from redis_fixtures import RedisServer


@pytest.fixture
def cluster(layoutserver_database_url: str, redis_server: RedisServer,
            tmp_path: Path) -> Iterator[Cluster]:
    """Two gunicorn hosts (two workers each) on one empty database (PostgreSQL under
    ``.ci/services``, else a SQLite file) and a Redis of this test's own."""
    running = Cluster(layoutserver_database_url, redis_server.url, tmp_path)
    yield running
    running.stop()
