"""Slowing down password guessing: after ``MAX_FAILURES`` failed sign-ins for one name from one
address within ``WINDOW``, further tries from there are refused (429) until the window has
passed, without checking the password. Kept in the process's memory: with several workers each
counts on its own, which still bounds guessing to a few tries a minute per worker. A name is
never locked for everyone (that would let anyone lock a user out), only for the address guessing.
"""

from __future__ import annotations

import threading
import time
from collections import deque

MAX_FAILURES = 5
WINDOW = 15 * 60.0
MAX_KEYS = 10_000


class Throttle:
    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, name: str, address: str, now: float | None = None) -> float:
        """Seconds until ``address`` may try ``name`` again; 0 when it may now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            failures = self._recent((name, address), now)
            if len(failures) < self.max_failures:
                return 0.0
            return failures[0] + self.window - now

    def failed(self, name: str, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._failures) >= MAX_KEYS:  # bounded memory: forget the oldest keys
                for key in list(self._failures)[: MAX_KEYS // 10]:
                    del self._failures[key]
            self._recent((name, address), now).append(now)

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            self._failures.pop((name, address), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures
