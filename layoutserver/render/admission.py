"""Which rendered output the caches take: on its first render, or on a later one.

A long tail of pages each asked for once (an archive crawled, old links followed) would fill
the caches with entries no one reads: each costs its pickle when stored, evicts an entry that
would have been read, and adds to what the garbage collector walks. A :class:`Doorkeeper`
admits a widget's output or a page's body into the cache only at its ``admit_after``-th render
within its memory of recent keys: with 2, a page asked for twice renders twice and is then
served from the cache, and a page asked for once is never stored. 1 stores every render.

The setting ``CACHE_ADMIT_AFTER`` (unset: 2 with the in-process cache, whose entries only the
worker that rendered them reads; 1 with a shared cache such as Redis, where one worker's render
serves every worker and host). The memory of recent keys is bounded: it keeps the hashes of at
most ``max_keys`` keys, dropping the oldest first (about 100 bytes each).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

BYTES_PER_REMEMBERED_KEY = 1024
"""The doorkeeper remembers one key per this many bytes of the cache's budget
(``CACHE_MAX_BYTES``): 131,072 keys, about 13 MB, for the default 128 MB."""


class Doorkeeper:
    """Counts the renders of each key and admits the ``admit_after``-th."""

    def __init__(self, admit_after: int, max_keys: int) -> None:
        if admit_after < 1:
            raise ValueError(f"admit_after must be at least 1, not {admit_after}")
        self.admit_after = admit_after
        self.max_keys = max(1, max_keys)
        self._renders: OrderedDict[int, int] = OrderedDict()
        self._lock = threading.Lock()

    def admits(self, key: str) -> bool:
        """Whether the output rendered under ``key`` now goes into the cache (counting this
        render)."""
        if self.admit_after == 1:
            return True
        digest = hash(key)
        with self._lock:
            renders = self._renders.pop(digest, 0) + 1
            if renders >= self.admit_after:
                return True
            self._renders[digest] = renders
            if len(self._renders) > self.max_keys:
                self._renders.popitem(last=False)
        return False

    def remembered(self) -> int:
        """How many keys it counts renders of now."""
        return len(self._renders)
