"""Health probes, request ids, and JSON log lines that carry them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from support import DEMO_SETTINGS, SEED_PATH, json_log_lines

from layoutserver import create_app


def test_healthz_answers_without_touching_anything(demo_client: Any) -> None:
    response = demo_client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_checks_the_database_and_the_cache(demo_app: Any) -> None:
    response = demo_app.test_client().get("/readyz")
    assert response.status_code == 200
    checks = {"database": "ok", "cache": "ok"}
    if demo_app.config["REDIS_URL"]:  # the PostgreSQL and Redis pass
        checks["redis"] = "ok"
    assert response.get_json() == {"status": "ready", "checks": checks, "degraded": []}


def test_readyz_is_503_naming_the_database_when_it_is_gone(tmp_path: Path) -> None:
    app = create_app({**DEMO_SETTINGS,
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'no-such-folder' / 'x.sqlite3'}"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"].startswith("unreachable")
    assert body["checks"]["cache"] == "ok"
    assert app.test_client().get("/healthz").status_code == 200


def test_a_request_id_is_made_or_kept_and_echoed(demo_client: Any) -> None:
    made = demo_client.get(SEED_PATH).headers["X-Request-Id"]
    assert len(made) == 32
    kept = demo_client.get(SEED_PATH, headers={"X-Request-Id": "lb-1234.abc"})
    assert kept.headers["X-Request-Id"] == "lb-1234.abc"
    odd = demo_client.get(SEED_PATH, headers={"X-Request-Id": "<script>" + "x" * 300})
    assert odd.headers["X-Request-Id"] != "<script>" + "x" * 300
    assert len(odd.headers["X-Request-Id"]) == 32


def test_json_log_lines_carry_the_request_id(demo_app: Any) -> None:
    logger = logging.getLogger("layoutserver.test")
    with json_log_lines("layoutserver.test") as lines:
        with demo_app.test_request_context(SEED_PATH, headers={"X-Request-Id": "req-42"}):
            demo_app.preprocess_request()
            logger.warning("something %s", "happened")
        logger.warning("outside")
    inside, outside = lines
    assert inside["message"] == "something happened"
    assert inside["request_id"] == "req-42"
    assert inside["level"] == "WARNING" and inside["logger"] == "layoutserver.test"
    assert outside["request_id"] == "-"
