"""Widget output in flask-caching, keyed by everything the output depends on.

A key holds the widget's name and version, its options, the values of the context keys it varies
on, the layout's digest and the content version. A second entry per placement, without the
content version and kept longer, is the "last good" output shown when a later render fails or
overruns its budget. A cache backend error is logged and treated as a miss, and the backend is
skipped for a while (:class:`~layoutserver.breaker.Breaker`): caching must never take a page
down (flask-caching lets backend errors through, see its issues #61 and #217).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from layoutserver.breaker import Breaker
from layoutserver.render.admission import Doorkeeper

if TYPE_CHECKING:
    from flask_caching.backends.base import BaseCache

log = logging.getLogger(__name__)

LAST_GOOD_TTL = 24 * 3600
LAST_GOOD_PREFIX = "good:"
"""Starts the key of every last good copy (the in-process cache keeps them apart)."""


class LocalMemo:
    """A small per-process memo in front of the shared cache, for finished bodies: a warm hit
    then costs a dict lookup instead of a backend round trip and an unpickling. The page
    pipeline puts a body here when it reads it back from the shared cache. Entries carry
    their own expiry (a body keeps the TTL it was stored with, wherever it is read from) and
    their weight in bytes; past ``max_bytes`` the oldest stored go first."""

    def __init__(self, max_bytes: int) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, Any, int]] = OrderedDict()
        self.max_bytes = max_bytes
        self.stored_bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
                    self.stored_bytes -= entry[2]
            return None
        return entry[1]

    def put(self, key: Hashable, value: Any, expires: float, weight: int) -> None:
        """Keep ``value`` until ``expires`` (monotonic); ``weight``: its size in bytes."""
        if weight > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.stored_bytes -= old[2]
            self._entries[key] = (expires, value, weight)
            self.stored_bytes += weight
            while self.stored_bytes > self.max_bytes:
                self.stored_bytes -= self._entries.popitem(last=False)[1][2]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.stored_bytes = 0


class FragmentCache:
    def __init__(self, cache: BaseCache, enabled: bool = True,
                 local_max_bytes: int = 32 * 1024 * 1024,
                 doorkeeper: Doorkeeper | None = None) -> None:
        self.backend = cache
        """The flask-caching backend itself (health checks probe it)."""
        self.enabled = enabled
        """False under NullCache: nothing is stored, not even in the local memo."""
        self.doorkeeper = doorkeeper or Doorkeeper(admit_after=1, max_keys=1)
        """Which renders are stored (``render/admission.py``): the renderer and the page
        pipeline ask :meth:`admits` before they store what they rendered."""
        self.local = LocalMemo(local_max_bytes)
        self.breaker = Breaker("fragment cache")
        """After a backend error (a shared Redis gone), the backend is skipped for a while:
        misses, rendered, instead of a socket timeout per lookup."""

    @staticmethod
    def key(*parts: object) -> str:
        digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16)
        return digest.hexdigest()

    def admits(self, key: str) -> bool:
        """Whether what was just rendered under ``key`` is to be stored."""
        return self.enabled and self.doorkeeper.admits(key)

    def get(self, key: str) -> Any:
        if not self.breaker.closed():
            return None
        try:
            return self.backend.get(key)
        except Exception as error:
            self.breaker.trip(error)
            return None

    def set(self, key: str, value: Any, ttl: int) -> None:
        if not self.breaker.closed():
            return
        try:
            self.backend.set(key, value, timeout=ttl)
        except Exception as error:
            self.breaker.trip(error)

    def get_last_good(self, key: str) -> Any:
        return self.get(LAST_GOOD_PREFIX + key)

    def set_last_good(self, key: str, value: Any) -> None:
        self.set(LAST_GOOD_PREFIX + key, value, LAST_GOOD_TTL)
