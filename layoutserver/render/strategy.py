"""Where a page's batch of fast widgets renders: the one speed seam of rendering.

Widgets with a record of rendering fast (``render/track.py``) are rendered together, one after
another, rather than each on a thread of its own. A :class:`BatchStrategy` says where that
batch runs; the renderer is the same either way, and so is what a widget sees.

* :class:`OnRenderThread`: on one render thread of the pool, the request thread waiting for it
  within the page's budget. Works in any worker.
* :class:`OnMainThread`: on the request thread itself when it is the process's main thread (a
  gunicorn ``sync`` worker), the budget kept by a ``SIGALRM`` timer (``render/alarm.py``); it
  saves a thread handoff per page (docs/performance.md, "Main-thread renders under an alarm").
  Anywhere else it hands the batch to a render thread as :class:`OnRenderThread` does.

``RENDER_ON_MAIN_THREAD`` picks one (default: :class:`OnMainThread`).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any, Protocol

from layoutserver.render import alarm
from layoutserver.render.pool import Job, RenderPool


class BatchStrategy(Protocol):
    name: str

    def run(self, pool: RenderPool, jobs: Sequence[Job], deadline: float
            ) -> list[Future[Any]]:
        """Start (or run) ``jobs`` in order; one future per job."""


class OnRenderThread:
    name = "render-thread"

    def run(self, pool: RenderPool, jobs: Sequence[Job], deadline: float
            ) -> list[Future[Any]]:
        return pool.submit_batch(jobs)


class OnMainThread:
    name = "main-thread"

    def run(self, pool: RenderPool, jobs: Sequence[Job], deadline: float
            ) -> list[Future[Any]]:
        if alarm.usable():
            return pool.run_here(jobs, alarm.AlarmBudget(deadline))
        return pool.submit_batch(jobs)


def batch_strategy(on_main_thread: bool) -> BatchStrategy:
    """The strategy the ``RENDER_ON_MAIN_THREAD`` setting names."""
    return OnMainThread() if on_main_thread else OnRenderThread()
