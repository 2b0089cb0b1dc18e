"""The database's connection pool under the render alarm (``db_pool.py``): a checkout or return
that the alarm lands in is finished first. Without that, QueuePool was left with its queue's
lock held by the main thread (another thread's next checkout waited for ever) or with a
connection neither in the pool nor handed out."""

from __future__ import annotations

import contextlib
import gc
import threading
import time

from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import Pool

from layoutserver.db import Database
from layoutserver.db_pool import ShieldedQueuePool, pool_class
from layoutserver.render.alarm import AlarmBudget, Overran


def checkouts_for_ever(pool: Pool) -> None:
    while True:
        pool.connect().close()


def checks_out_on_another_thread(pool: Pool) -> bool:
    done = threading.Event()

    def check_out() -> None:
        pool.connect().close()
        done.set()

    # a daemon: if the pool's lock is held for good, the thread must not hold up the exit
    threading.Thread(target=check_out, daemon=True).start()
    return done.wait(5)


def test_the_database_uses_it_where_sqlalchemy_would_use_a_queue_pool(
    layoutserver_database_url: str,
) -> None:
    for url, shielded in ((layoutserver_database_url, True), ("sqlite://", False)):
        database = Database(url)  # in memory: SQLAlchemy's one connection per thread
        try:
            assert isinstance(database.engine.pool, ShieldedQueuePool) is shielded, url
        finally:
            database.dispose()


def test_checkouts_the_alarm_stops_leave_the_pool_whole(layoutserver_database_url: str) -> None:
    url = make_url(layoutserver_database_url)
    # The pool alone, without the database's pre-ping: a checkout is then all pool code, where
    # the alarm must land to find the bug (on PostgreSQL the ping's round trip would take most
    # of the time).
    engine = create_engine(url, poolclass=pool_class(url))
    pool = engine.pool
    try:
        for _ in range(200):  # the alarm lands at a different point of a checkout each time
            with (AlarmBudget(time.perf_counter() + 0.001) as budget,
                  contextlib.suppress(Overran)):
                budget.run(lambda: checkouts_for_ever(pool))
            # as a render thread would, between two pages
            assert checks_out_on_another_thread(pool), pool.status()
        gc.collect()  # what an interrupt left to the collector goes back to the pool now
        assert pool.checkedout() == 0, pool.status()  # type: ignore[attr-defined]
    finally:
        engine.dispose()
