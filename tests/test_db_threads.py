"""On SQLite each thread keeps its read connections (``Database.reading``, ``read_int``); a
thread that ends gives them back to the pool at once, without waiting for the garbage
collector: with a thread per request (a threaded WSGI server, the browser tests' live server)
the pool used to run dry, and a page waited 30 s for a connection."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from layoutserver.db import Database


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'threads.sqlite3'}")
    yield database
    database.dispose()


def read_in_a_thread(database: Database) -> None:
    def read() -> None:
        with database.reading() as connection:
            assert connection.execute(text("select 1")).scalar() == 1
        assert database.read_int("select 2") == 2

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()


def test_an_ended_threads_connections_go_back_to_the_pool(database: Database) -> None:
    pool = database.engine.pool
    collecting = gc.isenabled()
    gc.disable()  # what the collector would give back late must not be needed
    try:
        for _ in range(40):  # past the pool's 5 + 10 overflow many times over
            read_in_a_thread(database)
            assert pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        if collecting:
            gc.enable()


def test_a_living_thread_keeps_its_connections(database: Database) -> None:
    with database.reading() as first:
        pass
    with database.reading() as second:
        pass
    assert first is second
    assert database.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
