"""A real Redis for the tests: the one ``make test`` started (``LAYOUTSERVER_TEST_REDIS_URL``),
or, without it, a throwaway ``redis-server`` on loopback for the session. Each test gets its own
key prefix, so tests never see each other's keys. :class:`RedisServer` also starts servers a
test may stop (Redis failing mid-run)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """A ``redis-server`` on 127.0.0.1, no persistence, in ``directory``."""

    def __init__(self, directory: Path) -> None:
        if not Path(REDIS_SERVER).exists():
            pytest.fail("redis-server is not installed (make test installs it: apt-get "
                        "install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = directory
        self._process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self._process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self._directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("LAYOUTSERVER_TEST_REDIS_URL")
    if given:
        yield given
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture
def redis_settings(redis_url: str) -> dict[str, Any]:
    """App settings for Redis under a key prefix of this test's own."""
    return {"REDIS_URL": redis_url, "CACHE_KEY_PREFIX": f"t{uuid.uuid4().hex[:10]}:"}


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, which it may stop and start."""
    server = RedisServer(tmp_path)
    yield server
    server.stop()
