"""The app's Redis client, shared by the ad counters and the readiness check, bound by
``init_app`` when ``REDIS_URL`` is set (the fragment cache has its own client, flask-caching's).

Every client has short socket timeouts, and :attr:`RedisStore.breaker` skips Redis for a while
after a failure: the callers fall back (counts to the database, fragments rendered) and pages
keep answering.
"""

from __future__ import annotations

import redis
from flask import Flask, current_app

from layoutserver.breaker import Breaker
from layoutserver.settings import REDIS_TIMEOUT_SECONDS

EXTENSION_KEY = "layoutserver.redis"

ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
"""What an unreachable or failing Redis raises through redis-py."""


class RedisStore:
    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        """Every key this app writes starts with it (``CACHE_KEY_PREFIX`` plus ``r:``)."""
        self.client: redis.Redis = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            health_check_interval=30,
        )
        self.breaker = Breaker("Redis")

    def ping(self) -> None:
        """Raises when Redis does not answer (the readiness check)."""
        self.client.ping()

    def close(self) -> None:
        self.client.close()


def init_app(app: Flask) -> RedisStore | None:
    url = app.config["REDIS_URL"]
    if not url:
        return None
    store = RedisStore(url, f"{app.config['CACHE_KEY_PREFIX']}r:")
    app.extensions[EXTENSION_KEY] = store
    return store


def get_redis(app: Flask | None = None) -> RedisStore | None:
    store: RedisStore | None = (app or current_app).extensions.get(EXTENSION_KEY)
    return store
