"""Render threads with single flight: concurrent misses on one key share one render."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class RenderPool:
    """Runs widget renders off the request thread so a slow one can be left behind.

    A render that overruns its budget goes on in the pool and still stores its output, which
    becomes the "last good" output for later requests.
    """

    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="render")
        self._in_flight: dict[str, Future[object]] = {}
        self._lock = threading.Lock()

    def submit(self, key: str | None, task: Callable[[], T]) -> Future[T]:
        """Run ``task``; while one with the same ``key`` is running, return that one instead."""
        if key is None:
            return self._executor.submit(task)
        with self._lock:
            running = self._in_flight.get(key)
            if running is not None:
                return running  # type: ignore[return-value]
            future = self._executor.submit(task)
            self._in_flight[key] = future  # type: ignore[assignment]
        future.add_done_callback(lambda _done: self._forget(key, future))
        return future

    def _forget(self, key: str, future: Future[T]) -> None:
        with self._lock:
            if self._in_flight.get(key) is future:
                del self._in_flight[key]

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
