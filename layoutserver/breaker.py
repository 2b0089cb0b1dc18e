"""A circuit breaker for a shared service (Redis): after a failure the service is skipped for a
while, so that an unreachable Redis costs one socket timeout every few seconds instead of one on
every request; then the next call tries it again."""

from __future__ import annotations

import logging
import threading
from time import monotonic

log = logging.getLogger(__name__)


class Breaker:
    def __init__(self, name: str, open_seconds: float = 2.0) -> None:
        self.name = name
        self._open_seconds = open_seconds
        self._open_until = 0.0
        self._lock = threading.Lock()
        self.trips = 0
        """How many times the service failed and was skipped since start (tests, metrics)."""

    def closed(self) -> bool:
        """May the service be called now?"""
        return self._open_until <= monotonic()

    def trip(self, error: BaseException) -> None:
        """The service failed: skip it for ``open_seconds``. Logged once per trip, not per
        skipped call."""
        with self._lock:
            if self._open_until > monotonic():
                return
            self._open_until = monotonic() + self._open_seconds
            self.trips += 1
        log.warning("%s unreachable (%s: %s); skipped for %.1f s", self.name,
                    type(error).__name__, error, self._open_seconds)

    def reset(self) -> None:
        """Close the breaker now (the service is known to be back)."""
        self._open_until = 0.0
