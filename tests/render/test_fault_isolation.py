"""Fault isolation: a widget that raises or overruns its budget costs the page only its own
spot (its fallback, or its last good output), never the page, and is logged."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import json_log_lines, timing_outcomes
from testwidgets import Slow

from layoutserver.content.importer import import_content
from layoutserver.db import get_database

SEED_SLUG = "east-turkistan-government-in-exile-condemns-china-pakistan-cooperation"
SEED_PATH = f"/pages/article/{SEED_SLUG}"
SEED_TITLE = "East Turkistan Government in Exile Condemns China-Pakistan Cooperation"
DEMO_CONTENT = Path(__file__).resolve().parents[2] / "layoutserver" / "demo" / "content.json"
JSON = {"Accept": "application/json"}

RAISING = """\
subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "article_body"
id = "article"

[[regions.placements]]
widget = "test_raising"
id = "broken-box"

[[regions.placements]]
widget = "author_box"
id = "author"
"""

SLOW = """\
subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "article_body"
id = "article"

[[regions.placements]]
widget = "test_slow"
id = "sluggish"
options = { seconds = 5 }
"""

FAST_BUDGET = {"WIDGET_BUDGET_MS": 100}


@pytest.fixture(autouse=True)
def slow_is_held() -> Iterator[None]:
    """test_slow sleeps until released; release it after each test so no render lingers."""
    Slow.release.clear()
    yield
    Slow.release.set()
    Slow.release.clear()


def outcomes(client: Any) -> dict[str, str]:
    return timing_outcomes(client.get(f"/fragments/article/{SEED_SLUG}", headers=JSON))




def max_age(response: Any) -> int:
    cache_control = response.headers["Cache-Control"]
    assert cache_control.startswith("public, max-age="), cache_control
    return int(cache_control.removeprefix("public, max-age=").split(",")[0])


# --- A widget that raises -----------------------------------------------------------------------


def test_a_raising_widget_leaves_the_page_up_with_its_fallback(make_app: Any) -> None:
    client = make_app(layouts={"article": RAISING}).test_client()
    response = client.get(SEED_PATH)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert (
        '<div class="ls-widget ls-widget--test_raising" data-widget="test_raising" '
        'data-placement="broken-box"><p class="fallback">Not available right now.</p></div>'
    ) in html
    assert SEED_TITLE in html  # the widgets around it render
    assert "Pia Sherman" in html
    assert "boom from test_raising" not in html
    assert 'broken-box;dur=' in response.headers["Server-Timing"]
    assert 'desc="test_raising error"' in response.headers["Server-Timing"]


def test_a_raising_widget_is_logged_by_widget_and_placement(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(layouts={"article": RAISING}).test_client()
    with caplog.at_level(logging.ERROR, logger="layoutserver"):
        client.get(SEED_PATH)
    failures = [record for record in caplog.records
                if record.levelno >= logging.ERROR and "test_raising" in record.getMessage()]
    assert len(failures) == 1, [record.getMessage() for record in caplog.records]
    record = failures[0]
    assert "broken-box" in record.getMessage()
    assert record.exc_info is not None
    assert "boom from test_raising" in str(record.exc_info[1])


def test_a_page_with_a_fallback_is_not_cached_for_long(make_app: Any) -> None:
    client = make_app(layouts={"article": RAISING}).test_client()
    first = client.get(SEED_PATH)
    assert max_age(first) <= 10
    second = client.get(SEED_PATH)
    assert "page-cache" not in second.headers["Server-Timing"]
    assert 'desc="test_raising error"' in second.headers["Server-Timing"]
    assert outcomes(client) == {"article": "hit", "broken-box": "error", "author": "hit"}


def test_a_raising_widget_alone_through_the_widget_endpoint(make_app: Any) -> None:
    client = make_app(layouts={"article": RAISING}).test_client()
    response = client.get(f"/widgets/article/{SEED_SLUG}/broken-box")
    assert response.status_code == 200
    assert "Not available right now." in response.get_data(as_text=True)


RAISING_BESIDE_SLOW = RAISING.replace('widget = "author_box"\nid = "author"',
                                      'widget = "test_slow"\nid = "sluggish"\n'
                                      'options = { seconds = 5 }')


def durations(response: Any) -> dict[str, float]:
    """Placement id -> its Server-Timing duration (ms)."""
    found = re.findall(r'([\w-]+);dur=([\d.]+)', response.headers["Server-Timing"])
    return {placement: float(duration) for placement, duration in found}


def test_a_raising_widget_is_timed_by_its_own_render_not_by_the_pages_wait(
    make_app: Any
) -> None:
    """The page waits its whole budget on the slow widget; the widget that raised at once
    must not be reported as having taken that long (it once was: 302 ms of a 300 ms budget).
    """
    client = make_app(layouts={"article": RAISING_BESIDE_SLOW},
                      settings={"WIDGET_BUDGET_MS": 400}).test_client()
    response = client.get(SEED_PATH)
    assert timing_outcomes(response) == {"article": "miss", "broken-box": "error",
                                         "sluggish": "timeout"}
    took = durations(response)
    assert took["sluggish"] >= 400  # the page's wait, which the slow widget used up
    assert took["broken-box"] < took["sluggish"] / 2


def test_a_render_threads_error_log_line_carries_the_request_id(make_app: Any) -> None:
    app = make_app(layouts={"article": RAISING}, settings={"RENDER_ON_MAIN_THREAD": False})
    with json_log_lines("layoutserver") as lines:
        app.test_client().get(SEED_PATH, headers={"X-Request-Id": "req-render-7"})
        logging.getLogger("layoutserver").warning("after the request")
    failed = [line for line in lines if "test_raising failed" in line["message"]]
    assert [line["request_id"] for line in failed] == ["req-render-7"]
    assert "boom from test_raising" in failed[0]["exception"]
    assert lines[-1]["request_id"] == "-"  # the id does not outlive its request


# --- A widget that overruns its budget ----------------------------------------------------------


def test_a_slow_widget_is_not_waited_for(make_app: Any) -> None:
    client = make_app(layouts={"article": SLOW}, settings=FAST_BUDGET).test_client()
    started = time.monotonic()
    response = client.get(SEED_PATH)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0  # the widget sleeps 5 s; the page must not wait for it
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "slow fallback" in html
    assert "slow but done" not in html
    assert SEED_TITLE in html
    assert 'desc="test_slow timeout"' in response.headers["Server-Timing"]
    assert max_age(response) <= 10


def test_an_overrun_is_logged(make_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    client = make_app(layouts={"article": SLOW}, settings=FAST_BUDGET).test_client()
    with caplog.at_level(logging.WARNING, logger="layoutserver"):
        client.get(SEED_PATH)
    messages = [record.getMessage() for record in caplog.records
                if record.levelno >= logging.WARNING]
    assert any("test_slow" in message and "sluggish" in message for message in messages), messages


def _wait_until_rendered(client: Any) -> Any:
    """After Slow.release is set, the render left behind finishes; wait for its output."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        response = client.get(f"/widgets/article/{SEED_SLUG}/sluggish")
        if "slow but done" in response.get_data(as_text=True):
            return response
        time.sleep(0.02)
    pytest.fail("the slow render never finished after release")


def test_the_render_left_behind_is_kept_and_then_served_as_last_good(make_app: Any) -> None:
    app = make_app(layouts={"article": SLOW}, settings=FAST_BUDGET)
    client = app.test_client()
    assert "slow fallback" in client.get(SEED_PATH).get_data(as_text=True)

    Slow.release.set()  # the render that overran now finishes, in the background
    _wait_until_rendered(client)
    done = client.get(SEED_PATH)
    assert "slow but done" in done.get_data(as_text=True)
    assert "slow fallback" not in done.get_data(as_text=True)

    # Content changes, so the widget renders again, and is slow again: the page shows the last
    # good output rather than the fallback, and says so.
    Slow.release.clear()
    document = json.loads(DEMO_CONTENT.read_text(encoding="utf-8"))
    article = next(a for a in document["articles"] if a["slug"] == SEED_SLUG)
    article["title"] = "A retitled article"
    assert import_content(get_database(app), {"articles": [article]}).changed

    started = time.monotonic()
    stale = client.get(SEED_PATH)
    assert time.monotonic() - started < 2.0
    html = stale.get_data(as_text=True)
    assert "A retitled article" in html
    assert "slow but done" in html
    assert "slow fallback" not in html
    assert 'desc="test_slow stale"' in stale.headers["Server-Timing"]
    assert max_age(stale) <= 10
    assert outcomes(client)["sluggish"] == "stale"
