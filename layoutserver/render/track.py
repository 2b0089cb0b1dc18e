"""Which widgets have earned a place in a shared render batch.

A widget renders on a thread of its own until it has rendered ``TRUST_AFTER`` times in a row in
under a tenth of the budget; then it joins the page's batch, run on one thread (cheaper, see
``render/pool.py``). A render slower than a quarter of the budget, or one that overran, sends it
back to a thread of its own at once. A hung widget in a batch can make the widgets after it in
that one batch miss the budget (they show their last good output); never the page.
"""

from __future__ import annotations

import threading

TRUST_AFTER = 20


class RenderTrack:
    def __init__(self, budget_seconds: float) -> None:
        self._fast = budget_seconds / 10
        self._slow = budget_seconds / 4
        self._streaks: dict[str, int] = {}
        self._lock = threading.Lock()

    def trusted(self, widget: str) -> bool:
        return self._streaks.get(widget, 0) >= TRUST_AFTER

    def record(self, widget: str, seconds: float) -> None:
        with self._lock:
            streak = self._streaks.get(widget, 0)
            if seconds >= self._slow:
                self._streaks[widget] = 0
            elif seconds < self._fast:
                self._streaks[widget] = min(streak + 1, TRUST_AFTER)

    def overran(self, widget: str) -> None:
        with self._lock:
            self._streaks[widget] = 0
