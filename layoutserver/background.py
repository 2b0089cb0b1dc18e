"""Work a serving process repeats in the background (the ads flush, edge purges).

A :class:`Periodic` is a daemon thread per process, started by the first request the process
answers (:func:`start_with_first_request`): in a gunicorn worker that is after the fork, as a
thread started before it would not survive, and a CLI command never starts one.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from flask import Flask

log = logging.getLogger(__name__)


class Periodic:
    """Calls ``job`` every ``interval`` seconds on a thread of its own; an exception ``job``
    raises is logged, and the next round comes as planned."""

    def __init__(self, name: str, interval: float, job: Callable[[], object]) -> None:
        self.name = name
        self._interval = interval
        self._job = job
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start once per process (after a fork, a new thread: threads do not survive it)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    @property
    def thread(self) -> threading.Thread | None:
        """The thread of this process, once started."""
        return self._thread

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._job()
            except Exception:
                log.exception("%s failed; will retry", self.name)


def start_with_first_request(app: Flask, periodic: Periodic) -> None:
    """Start ``periodic`` in each process with the first request it answers."""
    run_with_first_request(app, periodic.start)


def run_with_first_request(app: Flask, job: Callable[[], object]) -> None:
    """Run ``job`` in each process before the first request it answers. (The function stays
    registered: removing one from the list Flask is iterating would skip the next.)"""
    pid = [0]

    def first() -> None:
        if pid[0] != os.getpid():  # a new process (a forked worker) runs it again
            pid[0] = os.getpid()
            job()

    app.before_request(first)
