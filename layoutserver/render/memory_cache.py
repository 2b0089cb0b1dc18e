"""The in-process cache of the embedded default: a flask-caching backend bounded in bytes.

Two spaces, each a ``cachetools.TLRUCache`` (per-entry expiry, then least recently used) with
its own byte budget: **fresh** entries (fragments and bodies, minutes) and the **last good**
copies (``FragmentCache.set_last_good``, a day), told apart by their key prefix. A long tail of
distinct pages fills both; last good copies then evict only each other, never a fresh entry.

Values are pickled, as in flask-caching's ``SimpleCache`` (a reader cannot change what another
reads), and an entry weighs its pickle's length plus :data:`ENTRY_OVERHEAD`. Eviction is the
library's: a write to a full space costs the same at 1,000 entries as at 100,000 (SimpleCache
sorted every entry by expiry to evict one).
"""

from __future__ import annotations

import pickle
import threading
import time
from typing import Any

from cachetools import TLRUCache
from flask import Flask
from flask_caching.backends.base import BaseCache

from layoutserver.render.fragment_cache import LAST_GOOD_PREFIX

ENTRY_OVERHEAD = 400
"""Bytes counted per entry beyond its pickle: the key string, the two dictionaries' slots, the
expiry records and the objects' headers (measured with ``tracemalloc``: about 390 for a
32-character key, ``tests/render/test_memory_cache.py``)."""

NEVER = float("inf")


class Entry:
    """A stored value: its pickle and its monotonic expiry."""

    __slots__ = ("expires", "pickled")

    def __init__(self, pickled: bytes, expires: float) -> None:
        self.pickled = pickled
        self.expires = expires


def _weight(entry: Entry) -> int:
    return len(entry.pickled) + ENTRY_OVERHEAD


def _expiry(_key: str, entry: Entry, _now: float) -> float:
    return entry.expires


class BoundedMemoryCache(BaseCache):
    """flask-caching's interface over two byte-bounded LRU spaces (see the module docstring).

    ``max_bytes`` bounds the fresh entries, ``last_good_max_bytes`` the last good copies; an
    entry larger than its whole space is not stored. Safe to share between threads.
    """

    def __init__(self, max_bytes: int, last_good_max_bytes: int,
                 default_timeout: int = 300) -> None:
        super().__init__(default_timeout=default_timeout)
        self.fresh: TLRUCache[str, Entry] = TLRUCache(
            maxsize=max_bytes, ttu=_expiry, timer=time.monotonic, getsizeof=_weight)
        self.last_good: TLRUCache[str, Entry] = TLRUCache(
            maxsize=last_good_max_bytes, ttu=_expiry, timer=time.monotonic, getsizeof=_weight)
        self._lock = threading.Lock()

    @classmethod
    def factory(cls, app: Flask, config: dict[str, Any], args: list[Any],
                kwargs: dict[str, Any]) -> BoundedMemoryCache:
        """flask-caching's constructor hook: the bounds from the settings."""
        return cls(max_bytes=config["CACHE_MAX_BYTES"],
                   last_good_max_bytes=config["CACHE_LAST_GOOD_MAX_BYTES"],
                   default_timeout=kwargs.get("default_timeout", config["CACHE_DEFAULT_TIMEOUT"]))

    def _space(self, key: str) -> TLRUCache[str, Entry]:
        return self.last_good if key.startswith(LAST_GOOD_PREFIX) else self.fresh

    def get(self, key: str) -> Any:
        with self._lock:
            entry = self._space(key).get(key)
        return None if entry is None else pickle.loads(entry.pickled)  # noqa: S301 - our own

    def set(self, key: str, value: Any, timeout: Any = None) -> bool:
        seconds = self._normalize_timeout(timeout)
        expires = NEVER if seconds == 0 else time.monotonic() + seconds
        entry = Entry(pickle.dumps(value, pickle.HIGHEST_PROTOCOL), expires)
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
            return key in self._space(key)

    def clear(self) -> bool:
        with self._lock:
            self.fresh.clear()
            self.last_good.clear()
        return True

    def stored_bytes(self) -> tuple[int, int]:
        """The bytes counted in the fresh and the last good space."""
        with self._lock:
            return int(self.fresh.currsize), int(self.last_good.currsize)
