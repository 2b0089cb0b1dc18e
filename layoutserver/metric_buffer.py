"""Metric updates kept in process memory and written to prometheus-client in batches.

Under gunicorn, prometheus-client's multiprocess mode makes every counter increment a locked
write into a memory-mapped file, and every histogram observation two, and a page with ad spots
makes about a dozen updates on every request (their cost: docs/performance.md). Here an update
adds to a dict; :meth:`MetricBuffer.write` adds what piled up to the metrics' values at once:

* from a daemon thread of the process, every ``seconds`` (started by the first update after the
  process began or forked), so ``/metrics`` of any worker lags at most that much behind;
* before ``/metrics`` answers in this process, which then shows its own updates exactly;
* when the process exits normally. A worker killed outright loses at most its last
  ``seconds`` of metric updates (never an ad count: those are stored before a beacon is
  answered, see ``layoutserver.ads.tally``).

A histogram's observations are kept as their sum and a count per bucket, and written as
prometheus-client's own ``observe`` would have left them (its child's ``_sum`` and
``_buckets`` values; ``tests/test_metric_buffer.py`` holds the exposition of both ways equal).
"""

from __future__ import annotations

import atexit
import bisect
import os
import threading
import time
from collections.abc import Iterable
from typing import Any


class MetricBuffer:
    """Pending updates of prometheus-client metric children (labels applied), written every
    ``seconds`` by a thread of the process; thread-safe."""

    def __init__(self, seconds: float = 1.0) -> None:
        self.seconds = seconds
        self._counts: dict[Any, float] = {}
        """Counter child -> amount not written yet."""
        self._observed: dict[Any, list[float]] = {}
        """Histogram child -> [sum, count in bucket 0, in bucket 1, ...] not written yet."""
        self._lock = threading.Lock()
        self._writer: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._forked)
        atexit.register(self.write)

    def inc(self, counter: Any, amount: float = 1.0) -> None:
        """``counter.inc(amount)``, later."""
        with self._lock:
            self._counts[counter] = self._counts.get(counter, 0.0) + amount
        if self._writer is None:
            self._start()

    def inc_each(self, counters: Iterable[Any]) -> None:
        """``counter.inc()`` of each of ``counters``, later (one lock for all of them)."""
        counts = self._counts
        with self._lock:
            for counter in counters:
                counts[counter] = counts.get(counter, 0.0) + 1.0
        if self._writer is None:
            self._start()

    def observe(self, histogram: Any, value: float) -> None:
        """``histogram.observe(value)``, later (``histogram``: a child, labels applied)."""
        bounds = histogram._upper_bounds  # ascending, the last +Inf
        with self._lock:
            totals = self._observed.get(histogram)
            if totals is None:
                totals = self._observed[histogram] = [0.0] * (len(bounds) + 1)
            totals[0] += value
            # observe() counts a value in the first bucket whose bound is >= it
            totals[1 + bisect.bisect_left(bounds, value)] += 1
        if self._writer is None:
            self._start()

    def write(self) -> None:
        """Add everything kept so far to the metrics' values."""
        with self._lock:
            counts, self._counts = self._counts, {}
            observed, self._observed = self._observed, {}
        for counter, amount in counts.items():
            counter.inc(amount)
        for histogram, totals in observed.items():
            histogram._sum.inc(totals[0])
            for bucket, count in zip(histogram._buckets, totals[1:], strict=True):
                if count:
                    bucket.inc(count)

    def _start(self) -> None:
        with self._lock:
            if self._writer is not None:
                return
            self._writer = threading.Thread(target=self._write_every, name="metric-buffer",
                                            daemon=True)
        self._writer.start()

    def _write_every(self) -> None:
        while True:
            time.sleep(self.seconds)
            self.write()

    def _forked(self) -> None:
        """In a new child: no writer thread yet; the parent's pending updates are its own."""
        self._lock = threading.Lock()
        self._counts, self._observed = {}, {}
        self._writer = None
