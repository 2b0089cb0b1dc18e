"""The in-process cache of the embedded default: a flask-caching backend bounded in bytes.

Two spaces, each a ``cachetools.LRUCache`` with its own byte budget: **fresh** entries
(fragments and bodies, minutes) and the **last good** copies (``FragmentCache.set_last_good``,
a day), told apart by their key prefix. A long tail of distinct pages fills both; last good
copies then evict only each other, never a fresh entry.

Values are pickled, as in flask-caching's ``SimpleCache`` (a reader cannot change what another
reads), and an entry weighs its pickle's length plus :data:`ENTRY_OVERHEAD`. Eviction is the
library's: a write to a full space costs the same at 1,000 entries as at 100,000 (SimpleCache
sorted every entry by expiry to evict one).

Expiry is checked when an entry is read: an expired entry is a miss and is dropped then, or
leaves with the least recently used. Within a space the entries' lifetimes are alike (minutes,
or a day), so the least recently used is also, nearly always, the first to expire; a
time-ordered heap beside the LRU order (``cachetools.TLRUCache``) cost a full cache about as
much per write again, and an object per entry that the garbage collector walks (below).

An entry is a tuple of its pickle and its expiry: atoms only, so the cyclic garbage collector
stops tracking it after its first collection. Objects per entry that it kept tracking (an entry
record, the time-ordered heap's item) made each full collection of a worker holding some 70,000
entries walk them all: tens of milliseconds, every thousand or so pages of a long tail.
"""

from __future__ import annotations

import pickle
import threading
import time
from typing import Any

from cachetools import LRUCache
from flask import Flask
from flask_caching.backends.base import BaseCache

from layoutserver.render.fragment_cache import LAST_GOOD_PREFIX

ENTRY_OVERHEAD = 350
"""Bytes counted per entry beyond its pickle: the key string, the spaces' dictionary slots and
order record, the entry tuple and its expiry, the objects' headers (measured with
``tracemalloc``: about 350 for a 32-character key, ``tests/render/test_memory_cache.py``)."""

NEVER = float("inf")

Entry = tuple[bytes, float]
"""A stored value: its pickle and its monotonic expiry."""


def _weight(entry: Entry) -> int:
    return len(entry[0]) + ENTRY_OVERHEAD


class BoundedMemoryCache(BaseCache):
    """flask-caching's interface over two byte-bounded LRU spaces (see the module docstring).

    ``max_bytes`` bounds the fresh entries, ``last_good_max_bytes`` the last good copies; an
    entry larger than its whole space is not stored. Safe to share between threads.
    """

    def __init__(self, max_bytes: int, last_good_max_bytes: int,
                 default_timeout: int = 300) -> None:
        super().__init__(default_timeout=default_timeout)
        self.fresh: LRUCache[str, Entry] = LRUCache(maxsize=max_bytes, getsizeof=_weight)
        self.last_good: LRUCache[str, Entry] = LRUCache(maxsize=last_good_max_bytes,
                                                        getsizeof=_weight)
        self._lock = threading.Lock()

    @classmethod
    def factory(cls, app: Flask, config: dict[str, Any], args: list[Any],
                kwargs: dict[str, Any]) -> BoundedMemoryCache:
        """flask-caching's constructor hook: the bounds from the settings."""
        return cls(max_bytes=config["CACHE_MAX_BYTES"],
                   last_good_max_bytes=config["CACHE_LAST_GOOD_MAX_BYTES"],
                   default_timeout=kwargs.get("default_timeout", config["CACHE_DEFAULT_TIMEOUT"]))

    def _space(self, key: str) -> LRUCache[str, Entry]:
        return self.last_good if key.startswith(LAST_GOOD_PREFIX) else self.fresh

    def _live(self, key: str) -> Entry | None:
        """The entry of ``key`` unless it expired (then dropped); the caller holds the lock."""
        space = self._space(key)
        entry = space.get(key)
        if entry is not None and entry[1] <= time.monotonic():
            del space[key]
            return None
        return entry

    def get(self, key: str) -> Any:
        with self._lock:
            entry = self._live(key)
        return None if entry is None else pickle.loads(entry[0])  # noqa: S301 - our own

    def set(self, key: str, value: Any, timeout: Any = None) -> bool:
        seconds = self._normalize_timeout(timeout)
        expires = NEVER if seconds == 0 else time.monotonic() + seconds
        entry = (pickle.dumps(value, pickle.HIGHEST_PROTOCOL), expires)
        space = self._space(key)
        with self._lock:
            if _weight(entry) > space.maxsize:
                space.pop(key, None)  # too large to keep: not even the older value stays
                return False
            space[key] = entry
        return True

    def add(self, key: str, value: Any, timeout: Any = None) -> bool:
        if self.has(key):
            return False
        return self.set(key, value, timeout)

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._space(key).pop(key, None) is not None

    def has(self, key: str) -> bool:
        with self._lock:
            return self._live(key) is not None

    def clear(self) -> bool:
        with self._lock:
            self.fresh.clear()
            self.last_good.clear()
        return True

    def stored_bytes(self) -> tuple[int, int]:
        """The bytes counted in the fresh and the last good space."""
        with self._lock:
            return int(self.fresh.currsize), int(self.last_good.currsize)
