"""``layoutserver ads import`` and the ad half of ``layoutserver demo load``."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import redis
from adsupport import small_config
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from layoutserver.ads.models import AdSlot, LineItem
from layoutserver.cli import main
from layoutserver.db import Database


@pytest.fixture
def database_url(cli_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LAYOUTSERVER_SITE_TIMEZONE", "America/New_York")
    return cli_database_url


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def rows(url: str, model: object) -> int:
    database = Database(url)
    try:
        with database.session() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0  # type: ignore[arg-type]
    finally:
        database.dispose()


def test_demo_load_loads_the_demo_ads_idempotently(database_url: str) -> None:
    first = run("demo", "load")
    assert first.exit_code == 0, first.output
    assert "ads.json: 40 created, 0 updated, 0 unchanged" in first.stdout
    assert rows(database_url, AdSlot) == 5
    second = run("demo", "load")
    assert "ads.json: 0 created, 0 updated, 40 unchanged" in second.stdout


def test_ads_import_writes_a_valid_file_and_refuses_an_invalid_one(
    database_url: str, tmp_path: Path
) -> None:
    assert run("db", "init").exit_code == 0
    good = tmp_path / "ads.json"
    good.write_text(json.dumps(small_config()))
    result = run("ads", "import", str(good))
    assert result.exit_code == 0, result.output
    assert "7 created" in result.stdout

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(small_config(name="other", end="2024-01-01T00:00:00Z")))
    result = run("ads", "import", str(bad))
    assert result.exit_code == 1
    assert "nothing imported" in result.stderr
    assert "line_items[0].end: Must be after start." in result.stderr
    assert rows(database_url, LineItem) == 2


def test_ads_flush_without_redis_says_there_is_nothing_to_flush(database_url: str) -> None:
    assert run("db", "upgrade").exit_code == 0
    flushed = run("ads", "flush")
    assert flushed.exit_code == 0
    assert "No REDIS_URL" in flushed.stdout


def test_ads_flush_waits_for_a_flush_another_host_is_running(
    database_url: str, redis_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in redis_settings.items():
        monkeypatch.setenv(f"LAYOUTSERVER_{name}", value)
    assert run("demo", "load").exit_code == 0
    client = redis.Redis.from_url(redis_settings["REDIS_URL"])
    prefix = redis_settings["CACHE_KEY_PREFIX"] + "r:"
    client.set(prefix + "epoch", "e1")
    client.set(prefix + "flush-lock", "another-host", ex=5)
    released = threading.Timer(0.5, client.delete, [prefix + "flush-lock"])
    released.start()
    started = time.monotonic()
    flushed = run("ads", "flush")
    assert flushed.exit_code == 0, flushed.output
    assert time.monotonic() - started >= 0.4  # it waited for the lock
    assert "flushed 0 hour window(s)" in flushed.stdout


def test_ads_import_names_an_over_long_field_on_one_line(
    database_url: str, tmp_path: Path
) -> None:
    assert run("db", "init").exit_code == 0
    config = small_config()
    config["creatives"][0]["alt"] = "x" * 501
    path = tmp_path / "long.json"
    path.write_text(json.dumps(config))
    result = run("ads", "import", str(path))
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if "alt" in line]
    assert lines == ["creatives[0].alt: Longer than maximum length 500."], result.stderr
