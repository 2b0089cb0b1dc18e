"""A render budget kept on the main thread without a render thread: SIGALRM interrupts the render.

A gunicorn ``sync`` worker answers every request on its process's main thread. Handing a fast
widget's render to a render thread and waiting for it can cost more CPU than the render itself
(docs/performance.md, "Main-thread renders under an alarm"). So the renderer runs its batch of
widgets with a fast record right there, and keeps their budget with a real-time interval
timer: when the page's deadline passes, the signal handler raises :class:`Overran` inside the
render that is running.

Why this is safe enough:

* ``Overran`` is a ``BaseException``: a widget's ``except Exception`` does not swallow it.
* SQLAlchemy invalidates a connection that a ``BaseException`` left mid-use, and redis-py
  disconnects one; ``Database.reading`` replaces an invalidated held connection.
* The timer is armed only while a task runs. If it fires in between (the renderer's own
  work), the handler does nothing; a task started after the deadline is not started at all.
* After the deadline the timer fires again every :data:`REPEAT_SECONDS`, so a render that
  swallows one interrupt (a bare ``except:``) is interrupted again; the pause leaves the code
  that cleans up after an interrupt (a ``finally``, SQLAlchemy dropping a connection) time to
  finish undisturbed. A widget that swallows every interrupt holds the page until it returns
  or gunicorn's worker timeout ends the worker: widgets must let ``BaseException`` through.
* An error raised by code cleaning up after an interrupt still counts as an overrun (with
  psycopg, SQLAlchemy's connection check on a pool checkout fails that way).
* Whatever SIGALRM handler and timer were there before are put back afterwards.

What it cannot do: interrupt C code that does not return to Python. A long SQLite statement
finishes before the handler runs. Everywhere else (a threaded worker, the development server)
the renderer hands its batch to a render thread, as it does for widgets without a fast record.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

#: After the deadline, the interval at which a render that swallowed the interrupt gets another.
REPEAT_SECONDS = 0.05

_HAS_TIMER = hasattr(signal, "setitimer") and hasattr(signal, "SIGALRM")
_active = threading.Event()
"""Set while a budget holds the timer: a render inside a render does not take it over."""


class Overran(BaseException):
    """Raised inside a render on the main thread when the page's render budget is spent."""


def usable() -> bool:
    """Whether renders may run here under an alarm: on the main thread (signal handlers run
    only there), where the platform has interval timers, and not inside another budget."""
    return (_HAS_TIMER and threading.current_thread() is threading.main_thread()
            and not _active.is_set())


class AlarmBudget:
    """Runs tasks on the main thread until ``deadline`` (a ``time.perf_counter()`` value)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._armed = False
        self._interrupted = False
        self._previous_handler: Any = None
        self._previous_timer = (0.0, 0.0)
        self._entered = 0.0

    def __enter__(self) -> AlarmBudget:
        self._entered = time.perf_counter()
        remaining = self.deadline - self._entered
        self._previous_handler = signal.signal(signal.SIGALRM, self._on_alarm)
        # setitimer(0) would mean "no timer": a spent budget still fires (at once).
        self._previous_timer = signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-6),
                                                REPEAT_SECONDS)
        _active.set()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        previous = self._previous_handler
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
        left, interval = self._previous_timer
        if left > 0:  # someone's timer was running: it goes on with the time it had left
            elapsed = time.perf_counter() - self._entered
            signal.setitimer(signal.ITIMER_REAL, max(left - elapsed, 1e-6), interval)
        _active.clear()

    @property
    def spent(self) -> bool:
        return time.perf_counter() >= self.deadline

    def run(self, task: Callable[[], T]) -> T:
        """``task()``, interrupted by :class:`Overran` if the deadline passes while it runs;
        :class:`Overran` at once when the deadline has passed already."""
        if self.spent:
            raise Overran
        self._armed = True
        self._interrupted = False
        try:
            return task()
        except Exception as exc:
            if self._interrupted:  # code cleaning up after the interrupt failed: still an overrun
                raise Overran from exc
            raise
        finally:
            self._armed = False

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if self._armed:
            self._interrupted = True
            raise Overran
