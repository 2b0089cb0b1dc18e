"""``/healthz``: the process answers. ``/readyz``: what it needs answers too (the database, the
cache backend and, when configured, Redis); 503 naming what failed, for a load balancer to stop
sending traffic, and saying in ``degraded`` what this host still does without it."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify

from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.redis_store import ERRORS, get_redis

blueprint = Blueprint("health", __name__)
log = logging.getLogger(__name__)

PROBE_KEY = "readyz-probe"
DEGRADED = {
    "database": "database unreachable: pages are served from the cache and ads from the last "
                "snapshot; impressions and clicks are counted in Redis and reach the reports "
                "when it is back; uncached pages and API writes answer 503",
    "redis": "Redis unreachable: impressions and clicks are queued in the database and counted "
             "through Redis when it is back; caps and goals read the database; fragments are "
             "rendered, not shared",
    "cache": "cache unreachable: fragments are rendered on every request",
}
"""What works differently while a check fails (``degraded`` in ``/readyz``'s answer)."""


@blueprint.get("/healthz")
def healthz() -> Response:
    return _no_store(jsonify({"status": "ok"}))


@blueprint.get("/readyz")
def readyz() -> Response:
    checks = {"database": _database(), "cache": _cache()}
    if get_redis() is not None:
        checks["redis"] = _redis()
    ready = all(state == "ok" for state in checks.values())
    degraded = [DEGRADED[name] for name, state in checks.items() if state != "ok"]
    response = jsonify({"status": "ready" if ready else "not ready", "checks": checks,
                        "degraded": degraded})
    response.status_code = 200 if ready else 503
    return _no_store(response)


def _database() -> str:
    try:
        get_database().read_int("SELECT 1")
    except Exception as exc:
        log.warning("readyz: database unreachable: %s", exc)
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def _redis() -> str:
    """Ping the Redis the ad counters use. Pages keep rendering without it (counts go to the
    database), but a host whose Redis is gone is not one a load balancer should prefer."""
    store = get_redis()
    assert store is not None
    try:
        store.ping()
    except ERRORS as exc:
        log.warning("readyz: redis unreachable: %s", exc)
        return f"unreachable: {type(exc).__name__}"
    store.breaker.reset()
    return "ok"


def _cache() -> str:
    """A set and a get through the cache backend (NullCache, caching off, counts as ok)."""
    fragments = get_core().fragments
    if not fragments.enabled:
        return "ok"
    try:
        fragments.backend.set(PROBE_KEY, "1", timeout=10)
        if fragments.backend.get(PROBE_KEY) != "1":
            return "unreachable: a value set could not be read back"
    except Exception as exc:
        log.warning("readyz: cache unreachable: %s", exc)
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
