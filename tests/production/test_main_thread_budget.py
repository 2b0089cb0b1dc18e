"""Under gunicorn's sync worker, as in production: a widget with a fast record renders on the
worker's main thread, and when it turns slow the alarm stops it at the page's budget; the worker
goes on serving."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import Cluster, request
from redis_fixtures import RedisServer
from support import SEED_PATH, timing_outcomes
from testwidgets import Stall

from layoutserver.render.track import TRUST_AFTER

REPO = Path(__file__).resolve().parents[2]
LAYOUT = """subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "article_body"
id = "article"

[[regions.placements]]
widget = "test_stall"
id = "stall"
"""


@pytest.fixture
def server(layoutserver_database_url: str, redis_server: RedisServer,
           tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """One gunicorn sync worker with the test widgets; its URL, stall file and log."""
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "article.toml").write_text(LAYOUT)
    stall_file = tmp_path / "stall"
    host = Cluster(layoutserver_database_url, redis_server.url, tmp_path, hosts=1, workers=1,
                   app="widget_app:app", host_env={
                       "PYTHONPATH": f"{REPO / 'tests'}:{REPO / 'tests' / 'production'}",
                       "GUNICORN_WORKER_CLASS": "sync", "GUNICORN_LOGLEVEL": "info",
                       "LAYOUTSERVER_LAYOUTS_DIR": str(layouts),
                       "LAYOUTSERVER_CACHE_TYPE": "NullCache",
                       "LAYOUTSERVER_WIDGET_BUDGET_MS": "300",
                       Stall.STALL_FILE_ENV: str(stall_file)})
    yield host.urls[0], stall_file, tmp_path / "host-0.log"
    host.stop()


def test_a_fast_widget_turned_slow_is_stopped_on_the_workers_main_thread(
    server: tuple[str, Path, Path],
) -> None:
    url, stall_file, log_path = server
    for _ in range(TRUST_AFTER + 1):  # a record of fast renders: into the page's batch
        page = request("GET", url + SEED_PATH)
        assert page.status == 200
    assert "rendered on MainThread" in page.body

    stall_file.touch()
    started = time.monotonic()
    stalled = request("GET", url + SEED_PATH)
    elapsed = time.monotonic() - started
    stall_file.unlink()
    assert stalled.status == 200
    assert elapsed < 2.0  # stopped at the 300 ms budget, not the widget's 10 s
    assert "stall fallback" in stalled.body
    assert timing_outcomes(stalled)["stall"] == "timeout"

    # the same worker answers on, and the widget renders on a thread of its own from now on
    after = request("GET", url + SEED_PATH)
    assert after.status == 200
    assert "rendered on render" in after.body
    log = log_path.read_text(errors="replace")
    assert "overran its 300 ms budget" in log
    assert log.count("Booting worker") == 1, log  # no worker was lost
