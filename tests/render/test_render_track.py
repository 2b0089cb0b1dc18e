"""Render batching: widgets with a record of rendering fast share one render thread per page;
a slow render sends a widget back to a thread of its own; a batch never holds a page past its
budget."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from support import SEED_PATH, trust
from testwidgets import Slow

from layoutserver.core import get_core
from layoutserver.render.alarm import AlarmBudget
from layoutserver.render.pool import RenderPool
from layoutserver.render.track import TRUST_AFTER, RenderTrack


def test_a_widget_is_trusted_after_a_run_of_fast_renders_and_loses_it_when_slow() -> None:
    track = RenderTrack(budget_seconds=0.3)
    for _ in range(TRUST_AFTER - 1):
        track.record("w", 0.001)
    assert not track.trusted("w")
    track.record("w", 0.001)
    assert track.trusted("w")
    track.record("w", 0.05)  # neither fast nor slow: the record stands
    assert track.trusted("w")
    track.record("w", 0.2)  # slower than a quarter of the budget
    assert not track.trusted("w")
    for _ in range(TRUST_AFTER):
        track.record("w", 0.001)
    track.overran("w")
    assert not track.trusted("w")


def test_a_batch_runs_in_order_on_one_thread_and_shares_single_flight() -> None:
    pool = RenderPool(4)
    threads: list[str] = []
    release = threading.Event()

    def job(n: int) -> Any:
        def run() -> int:
            threads.append(threading.current_thread().name)
            release.wait(2)
            return n
        return run

    first = pool.submit_batch([("k1", job(1)), (None, job(2))])
    again = pool.submit_batch([("k1", job(99))])  # k1 is in flight: the same future
    assert again[0] is first[0]
    release.set()
    assert [f.result(timeout=5) for f in first] == [1, 2]
    assert len(set(threads)) == 1
    pool.shutdown()


def test_a_batch_run_here_shares_single_flight_and_stops_at_its_budget() -> None:
    pool = RenderPool(2)
    release = threading.Event()
    ran: list[str] = []

    def job(name: str, block: bool = False) -> Any:
        def run() -> str:
            ran.append(name)
            if block:
                release.wait(5)  # pure waiting: the alarm interrupts it
            return name
        return run

    elsewhere = pool.submit_batch([("k1", job("elsewhere", block=True))])[0]
    try:
        futures = pool.run_here([("k1", job("k1 again")), (None, job("first")),
                                 ("k2", job("hangs", block=True)), (None, job("never"))],
                                AlarmBudget(time.perf_counter() + 0.5))
        assert futures[0] is elsewhere and not elsewhere.done()  # k1 is not rendered twice
        assert futures[1].result(timeout=0) == "first"
        for stopped in futures[2:]:
            assert isinstance(stopped.exception(timeout=0), TimeoutError)
        # "k1 again" shared the render in flight; "never" came after the deadline
        assert sorted(ran) == ["elsewhere", "first", "hangs"]
        # k2 is no longer in flight: the next page renders it
        [again] = pool.run_here([("k2", job("k2 again"))], AlarmBudget(time.perf_counter() + 1))
        assert again.result(timeout=0) == "k2 again"
    finally:
        release.set()
        pool.shutdown()


LAYOUT = """subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "test_slow"
id = "sluggish"
options = { seconds = 5 }

[[regions.placements]]
widget = "article_body"
id = "article"
"""


@pytest.mark.parametrize("on_main_thread", [True, False], ids=["main-thread", "render-thread"])
def test_a_trusted_widget_turning_slow_still_cannot_hold_the_page(
    make_app: Any, on_main_thread: bool
) -> None:
    app = make_app(layouts={"article": LAYOUT},
                   settings={"WIDGET_BUDGET_MS": 200, "CACHE_TYPE": "NullCache",
                             "RENDER_ON_MAIN_THREAD": on_main_thread})
    track = get_core(app).renderer.track
    trust(app, "test_slow", "article_body")
    assert track.trusted("test_slow")  # both will go to the page's batch
    Slow.release.clear()
    try:
        started = time.monotonic()
        response = app.test_client().get(SEED_PATH)
        elapsed = time.monotonic() - started
    finally:
        Slow.release.set()
    assert response.status_code == 200
    assert elapsed < 2.0  # not the slow widget's 5 s: the page went on at its budget
    timing = response.headers["Server-Timing"]
    assert 'desc="test_slow timeout"' in timing
    # behind the slow one in the batch, article_body missed this page too (its fallback),
    assert 'desc="article_body timeout"' in timing
    assert not track.trusted("test_slow")  # and the slow widget renders alone from now on
    Slow.release.clear()
