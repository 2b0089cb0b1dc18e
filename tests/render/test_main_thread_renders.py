"""Widgets with a fast record render on the main thread (a gunicorn sync worker's request
thread) under an alarm; elsewhere, or when switched off, on render threads. A render the alarm
stops in the middle of database reads leaves every connection usable; one it stops while
storing its output finishes storing first."""

from __future__ import annotations

import contextlib
import gc
import itertools
import threading
import time
from typing import Any

import pytest
from markupsafe import Markup
from support import SEED_PATH, SEED_SLUG, timing_outcomes, trust
from testwidgets import Where

from layoutserver.core import get_core
from layoutserver.db import Database, get_database
from layoutserver.render.alarm import AlarmBudget, Overran
from layoutserver.render.memory_cache import BoundedMemoryCache
from layoutserver.render.memory_cache import _weight as stored_weight
from layoutserver.render.renderer import CacheKeys
from layoutserver.settings import SettingsError

WHERE = """subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "test_where"
id = "where"
"""

QUERYING = """subject = "article"

[[regions]]
name = "main"

[[regions.placements]]
widget = "latest_news"
id = "latest"
options = { count = 3 }

[[regions.placements]]
widget = "test_querying"
id = "busy"

[[regions.placements]]
widget = "must_read"
id = "must-read"
"""


def render_thread_of(client: Any, on_other_thread: bool = False) -> str:
    Where.threads.clear()
    if on_other_thread:
        thread = threading.Thread(target=lambda: client.get(SEED_PATH), name="request")
        thread.start()
        thread.join(10)
    else:
        assert client.get(SEED_PATH).status_code == 200
    [name] = Where.threads
    return name


def test_a_widget_with_a_fast_record_renders_on_the_main_thread(make_app: Any) -> None:
    app = make_app(layouts={"article": WHERE})
    client = app.test_client()
    assert render_thread_of(client).startswith("render")  # no record yet: a thread of its own
    trust(app, "test_where")
    assert render_thread_of(client) == "MainThread"
    # a request answered on another thread (a threaded worker) hands the batch to the pool
    assert render_thread_of(client, on_other_thread=True).startswith("render")


def test_main_thread_renders_can_be_switched_off(make_app: Any) -> None:
    app = make_app(layouts={"article": WHERE}, settings={"RENDER_ON_MAIN_THREAD": False})
    trust(app, "test_where")
    assert render_thread_of(app.test_client()).startswith("render")


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_the_setting_must_be_true_or_false(make_app: Any, value: Any) -> None:
    with pytest.raises(SettingsError, match="RENDER_ON_MAIN_THREAD must be true or false"):
        make_app(settings={"RENDER_ON_MAIN_THREAD": value})


def test_renders_stopped_inside_database_reads_leave_the_connections_usable(
    make_app: Any,
) -> None:
    """The alarm lands at a different point of a read each time (SQLAlchemy's statement
    handling, the driver, the pool's checkout and return, the held connection); every page
    after it must still read content, and another thread (a render thread) must still get a
    connection: on PostgreSQL an alarm inside the pool's checkout left its lock held, and that
    thread waited for ever."""
    app = make_app(layouts={"article": QUERYING},
                   settings={"WIDGET_BUDGET_MS": 100, "CACHE_TYPE": "NullCache"})
    client = app.test_client()
    # Earlier tests' garbage (their apps' connections, closed by finalizers) is collected now,
    # not inside a round's 100 ms budget, which it can take whole.
    gc.collect()
    for _round in range(12):
        trust(app, "latest_news", "test_querying", "must_read")  # all three in the batch
        response = client.get(f"/fragments/article/{SEED_SLUG}",
                              headers={"Accept": "application/json"})
        assert response.status_code == 200
        assert timing_outcomes(response) == {"latest": "miss", "busy": "timeout",
                                             "must-read": "timeout"}
        # the same thread's next reads, through the widget endpoint and the page's subject
        for placement, text in (("latest", "Latest news"), ("must-read", "Must read")):
            alone = client.get(f"/widgets/article/{SEED_SLUG}/{placement}")
            assert alone.status_code == 200
            assert text in alone.get_data(as_text=True), alone.get_data(as_text=True)[:300]
        assert reads_on_another_thread(get_database(app))


def reads_on_another_thread(database: Database) -> bool:
    done = threading.Event()

    def read() -> None:
        with database.reading() as connection:
            connection.exec_driver_sql("select 1")
        done.set()

    threading.Thread(target=read, daemon=True).start()  # a daemon: it may be stuck for good
    return done.wait(10)


def test_a_store_the_alarm_lands_in_is_finished_first(make_app: Any) -> None:
    """Storing a finished render is not cut in two: stopped half-way, the in-process cache was
    left inconsistent (its count of bytes wrong, the next store raising, and the cache skipped
    for a while), and a Redis write leaked its connection."""
    # in-process, spaces small enough that storing evicts too
    app = make_app(demo=False, settings={"CACHE_MAX_BYTES": 20_000,
                                         "CACHE_LAST_GOOD_MAX_BYTES": 20_000})
    core = get_core(app)
    backend = core.fragments.backend
    writes = itertools.count()

    def store_for_ever() -> None:
        while True:
            number = next(writes)
            key = CacheKeys(fresh=f"fresh-{number % 40}", last_good=f"good-{number % 40}")
            core.renderer._store(key, Markup("x" * (100 + number % 300)), (), 60)

    for _ in range(100):
        with (AlarmBudget(time.perf_counter() + 0.001) as budget,
              contextlib.suppress(Overran)):
            budget.run(store_for_ever)
    assert next(writes) > 100
    # a store cut in two broke the cache for the next one (cachetools raised KeyError), which
    # then skipped the cache for a while
    assert core.fragments.breaker.closed()
    if isinstance(backend, BoundedMemoryCache):
        for space in (backend.fresh, backend.last_good):
            assert space.currsize == sum(stored_weight(entry) for entry in space.values())
    else:  # Redis: every connection back in the pool
        pool = backend._write_client.connection_pool
        assert not pool._in_use_connections
