"""Under gunicorn's sync worker, as in production: a widget with a fast record renders on the
worker's main thread, and when it turns slow the alarm stops it at the page's budget; the worker
goes on serving."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import Cluster, request
from redis_fixtures import free_port
from support import SEED_PATH, timing_outcomes
from testwidgets import Stall

from layoutserver.render.track import TRUST_AFTER

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
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
def server(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """One gunicorn sync worker with the test widgets; its URL, stall file and log."""
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "article.toml").write_text(LAYOUT)
    stall_file = tmp_path / "stall"
    port = free_port()
    env = {**os.environ,
           "LAYOUTSERVER_SETTINGS": str(REPO / "config" / "demo.toml"),
           "LAYOUTSERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}",
           "LAYOUTSERVER_SECRET_KEY": "main-thread-test-secret",
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1",
           "GUNICORN_WORKER_CLASS": "sync"}
    env.pop("LAYOUTSERVER_REDIS_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run([str(BIN / "layoutserver"), "demo", "load"], cwd=REPO, env=env,
                   capture_output=True, check=True, timeout=120)
    env.update({"LAYOUTSERVER_LAYOUTS_DIR": str(layouts), "LAYOUTSERVER_CACHE_TYPE": "NullCache",
                "LAYOUTSERVER_WIDGET_BUDGET_MS": "300", Stall.STALL_FILE_ENV: str(stall_file),
                "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")})
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(REPO / "config" / "gunicorn.conf.py"),
             "--pythonpath", f"{REPO / 'tests'},{REPO / 'tests' / 'production'}",
             "widget_app:app"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        Cluster.wait_ready(url)
        yield url, stall_file, log_path
    finally:
        process.terminate()
        process.wait(timeout=30)


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
