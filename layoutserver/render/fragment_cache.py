"""Widget output in flask-caching, keyed by everything the output depends on.

A key holds the widget's name and version, its options, the values of the context keys it varies
on, the layout's digest and the content version. A second entry per placement, without the
content version and kept longer, is the "last good" output shown when a later render fails or
overruns its budget. A cache backend error is logged and treated as a miss: caching must never
take a page down (flask-caching lets backend errors through, see its issues #61 and #217).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from flask_caching import Cache

log = logging.getLogger(__name__)

LAST_GOOD_TTL = 24 * 3600


class FragmentCache:
    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    @staticmethod
    def key(*parts: object) -> str:
        digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16)
        return digest.hexdigest()

    def get(self, key: str) -> Any:
        try:
            return self._cache.get(key)
        except Exception:
            log.exception("cache get failed; treating as a miss")
            return None

    def set(self, key: str, value: Any, ttl: int) -> None:
        try:
            self._cache.set(key, value, timeout=ttl)
        except Exception:
            log.exception("cache set failed; output not stored")

    def get_last_good(self, key: str) -> Any:
        return self.get(f"good:{key}")

    def set_last_good(self, key: str, value: Any) -> None:
        self.set(f"good:{key}", value, LAST_GOOD_TTL)
