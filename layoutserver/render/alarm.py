"""A render budget kept on the main thread without a render thread: SIGALRM interrupts the render.

A gunicorn ``sync`` worker answers every request on its process's main thread. Handing a fast
widget's render to a render thread and waiting for it can cost more CPU than the render itself
(docs/performance.md, "Main-thread renders under an alarm"). So the renderer runs its batch of
widgets with a fast record right there, and keeps their budget with a real-time interval
timer: when the page's deadline passes, the signal handler raises :class:`Overran` inside the
render that is running.

Why this is safe enough:

* ``Overran`` is a ``BaseException``: a widget's ``except Exception`` does not swallow it.
* Code that must not be stopped half-way runs :func:`shielded`: an alarm inside a shield only
  notes that the deadline passed, and leaving the outermost shield raises ``Overran`` there.
  The database's pool shields its checkout and return (``db_pool.py``; stopped inside them,
  QueuePool was left with its queue's lock held by the main thread, so every other thread's
  next checkout waited for ever, or with a connection neither in the pool nor handed out),
  ``Database`` the switch of a read connection to autocommit, the renderer the storing of a
  finished render (a Redis write stopped half-way leaked its connection; the in-process
  cache was left inconsistent). Shields are short: the longest hold a checkout's pre-ping
  (one round trip) or new connection, and a cache write (within Redis's socket timeout); a
  widget's queries run outside them, so a slow query is still interrupted where the driver
  returns to Python.
* Nor is it raised inside the standard library's lock plumbing (``Condition`` and the logging
  handlers' lock, :func:`_lock_plumbing`): there it would leave a lock held, under a queue, a
  future or every log line. The handler tries again :data:`RETRY_SECONDS` later.
* SQLAlchemy invalidates a connection that a ``BaseException`` left mid-use, and redis-py
  disconnects one; ``Database.reading`` replaces an invalidated held connection.
* The timer is armed only while a task runs. If it fires in between (the renderer's own
  work), the handler does nothing; a task started after the deadline is not started at all.
* After the deadline the timer fires again every :data:`REPEAT_SECONDS`, so a render that
  swallows one interrupt (a bare ``except:``) is interrupted again; the pause leaves the code
  that cleans up after an interrupt (a ``finally``, SQLAlchemy dropping a connection) time to
  finish undisturbed. A widget that swallows every interrupt holds the page until it returns
  or gunicorn's worker timeout ends the worker: widgets must let ``BaseException`` through.
* An error raised by code cleaning up after an interrupt still counts as an overrun.
* Whatever SIGALRM handler and timer were there before are put back afterwards.

What it cannot do: interrupt C code that does not return to Python. A long SQLite statement
finishes before the handler runs. Everywhere else (a threaded worker, the development server)
the renderer hands its batch to a render thread, as it does for widgets without a fast record.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import CodeType, FrameType, TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

#: After the deadline, the interval at which a render that swallowed the interrupt gets another.
REPEAT_SECONDS = 0.05
#: When the alarm finds the render inside the standard library's lock plumbing, how soon it
#: tries again.
RETRY_SECONDS = 0.001

_HAS_TIMER = hasattr(signal, "setitimer") and hasattr(signal, "SIGALRM")
_active = threading.Event()
"""Set while a budget holds the timer: a render inside a render does not take it over."""


class Overran(BaseException):
    """Raised inside a render on the main thread when the page's render budget is spent."""


class _ShieldState(threading.local):
    """Per thread: how deep in shields it is, and whether the alarm fired inside them. Only
    the main thread's matters (signal handlers run there); other threads' shields count for
    nothing, at the cost of a counter."""

    depth = 0
    deferred = False


_shield_state = _ShieldState()


class _Shield:
    __slots__ = ()

    def __enter__(self) -> None:
        _shield_state.depth += 1

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        state = _shield_state
        state.depth -= 1
        if state.deferred and not state.depth:
            state.deferred = False
            raise Overran


_SHIELD = _Shield()


def shielded() -> _Shield:
    """A context manager inside which the alarm does not interrupt: when the deadline passes
    inside it, :class:`Overran` is raised as the outermost shield is left instead (over an
    exception the block raised, if any). For code that must not be stopped half-way: a pool's
    checkout and return, a lock taken by a Python-level ``__enter__``, state updated in two
    steps. Keep it short: nothing inside can be interrupted, a slow query included.

    Cheap (a per-thread counter) and re-entrant; on any thread but the main one, or without a
    budget running, it changes nothing."""
    return _SHIELD


def checked_out(take: Callable[[], T], give_back: Callable[[T], object]) -> T:
    """``take()`` shielded: a checkout (of a pooled connection) that the alarm does not cut in
    two. When the deadline passed meanwhile and this is the outermost shield, what was taken is
    given back with ``give_back`` (shielded too) before :class:`Overran` is raised, rather than
    left to the garbage collector. Inside an outer shield the caller still gets it."""
    with _SHIELD:
        taken = take()
        if _shield_state.deferred and _shield_state.depth == 1:
            give_back(taken)
    return taken


def _lock_plumbing() -> frozenset[CodeType]:
    """The standard library's Python-level lock code: where the locks under ``queue``,
    ``concurrent.futures``, ``threading.Event`` and every logging handler are taken and given
    back. Raised in there, ``Overran`` leaves the lock held (a ``Condition``'s ``__enter__``
    that took its lock but has not returned, a handler's ``acquire`` before the caller's
    ``try``), and every other thread waits on it for ever. The alarm does not raise there."""
    functions = [getattr(threading.Condition, name) for name in (
        "__enter__", "__exit__", "_release_save", "_acquire_restore", "_is_owned", "notify",
        "notify_all")]
    functions += [logging.Handler.acquire, logging.Handler.release]
    functions += [getattr(logging, name) for name in ("_acquireLock", "_releaseLock")
                  if hasattr(logging, name)]  # Python < 3.13
    return frozenset(function.__code__ for function in functions)



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
        _shield_state.deferred = False

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
            if _shield_state.depth:  # runs on the main thread: its shields
                _shield_state.deferred = True
                return
            if frame is not None and frame.f_code in _NOT_HERE:
                signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS, REPEAT_SECONDS)
                return
            raise Overran


_NOT_HERE = _lock_plumbing() | {AlarmBudget._on_alarm.__code__}
"""Code the alarm does not raise in: the lock plumbing, and the handler itself (a second alarm
can come while the first is handled, on a loaded machine: raised there, it would escape the
first one, which had decided not to raise where it was)."""
