"""Render threads with single flight: concurrent misses on one key share one render.

Renders are handed to the pool in batches: the renders in one batch run one after another on one
thread. Handing each render to its own thread costs more than a fast widget's whole render (the
GIL is handed back and forth), so the renderer batches the widgets with a record of rendering
fast, and gives every other widget a thread of its own (see ``render/track.py``). On a process's
main thread the batch can run right there instead, its budget kept by an alarm
(:meth:`RenderPool.run_here`, ``render/alarm.py``); single flight holds for it all the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from layoutserver.render.alarm import AlarmBudget, Overran

T = TypeVar("T")

Job = tuple[str | None, Callable[[], Any]]
"""A single-flight key (None: never shared) and the render to run."""
Pending = Sequence[tuple[str | None, Callable[[], Any], Future[Any]]]
"""Jobs this caller runs, each with the future it settles."""


class RenderPool:
    """Runs widget renders off the request thread so a slow one can be left behind.

    A render that overruns its budget goes on in the pool and still stores its output, which
    becomes the "last good" output for later requests.
    """

    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="render")
        self._in_flight: dict[str, Future[Any]] = {}
        self._lock = threading.Lock()

    def submit(self, key: str | None, task: Callable[[], T]) -> Future[T]:
        """Run ``task`` alone; while one with the same ``key`` is running, return that one."""
        return self.submit_batch([(key, task)])[0]

    def submit_batch(self, jobs: Sequence[Job]) -> list[Future[Any]]:
        """Run ``jobs`` one after another on one thread; a job whose key is already in flight
        is not run again: its future is the running one's."""
        futures, pending = self._claim(jobs)
        if pending:
            self._executor.submit(self._run, pending, _call)
        return futures

    def run_here(self, jobs: Sequence[Job], budget: AlarmBudget) -> list[Future[Any]]:
        """Run ``jobs`` one after another on this (the main) thread within ``budget``, with
        single flight as in :meth:`submit_batch`. A job the budget interrupted, or did not
        reach, ends in ``TimeoutError``; the futures of jobs in flight elsewhere may still run."""
        futures, pending = self._claim(jobs)
        if pending:
            with budget:
                self._run(pending, budget.run)
        return futures

    def _claim(self, jobs: Sequence[Job]) -> tuple[list[Future[Any]], Pending]:
        """Each job's future, and the jobs to run (not in flight already), now in flight."""
        futures: list[Future[Any]] = []
        pending: list[tuple[str | None, Callable[[], Any], Future[Any]]] = []
        with self._lock:
            for key, task in jobs:
                running = self._in_flight.get(key) if key is not None else None
                if running is not None:
                    futures.append(running)
                    continue
                future: Future[Any] = Future()
                if key is not None:
                    self._in_flight[key] = future
                futures.append(future)
                pending.append((key, task, future))
        return futures, pending

    def _run(self, pending: Pending, call: Callable[[Callable[[], Any]], Any]) -> None:
        for key, task, future in pending:
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = call(task)
            except Overran:
                future.set_exception(TimeoutError("the page's render budget ran out"))
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)
            else:
                future.set_result(result)
            finally:
                if key is not None:
                    with self._lock:
                        if self._in_flight.get(key) is future:
                            del self._in_flight[key]

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _call(task: Callable[[], T]) -> T:
    return task()
