"""The in-process cache (``BoundedMemoryCache``): bounded in bytes, last good copies never evict
fresh entries, a full cache costs a write what an empty one does, and it is the default."""

from __future__ import annotations

import gc
import json
import pickle
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask_caching.backends import SimpleCache
from support import SEED_PATH

from layoutserver import create_app
from layoutserver.core import get_core
from layoutserver.render.fragment_cache import LAST_GOOD_PREFIX, LAST_GOOD_TTL, LocalMemo
from layoutserver.render.memory_cache import ENTRY_OVERHEAD, BoundedMemoryCache
from layoutserver.settings import IN_PROCESS_CACHE, SettingsError

KB = 1024
DEMO_CONTENT = Path(__file__).resolve().parents[2] / "layoutserver" / "demo" / "content.json"


def _value(number: int, size: int = KB) -> str:
    return f"{number:08d}" + "x" * (size - 8)


def test_stored_bytes_never_pass_the_bound_and_recent_entries_stay() -> None:
    cache = BoundedMemoryCache(max_bytes=100 * KB, last_good_max_bytes=20 * KB)
    for number in range(1000):
        cache.set(f"k{number}", _value(number), timeout=300)
        fresh, _ = cache.stored_bytes()
        assert fresh <= 100 * KB
    kept = [number for number in range(1000) if cache.get(f"k{number}") is not None]
    # About 100 KB / (1 KB + pickle header + ENTRY_OVERHEAD) entries, the most recent ones.
    assert 60 <= len(kept) < 100
    assert kept == list(range(1000 - len(kept), 1000))
    assert cache.get("k999") == _value(999)


def test_counted_bytes_cover_what_the_entries_take_in_memory() -> None:
    cache = BoundedMemoryCache(max_bytes=10**9, last_good_max_bytes=10**9)
    cache.set("first", "x")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for number in range(2000):
            cache.set(f"{number:032x}", _value(number))
        taken = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    counted = cache.stored_bytes()[0] - cache.fresh.getsizeof(cache.fresh["first"])
    assert taken * 0.9 <= counted <= taken * 1.3, (taken, counted, ENTRY_OVERHEAD)


def test_last_good_copies_never_evict_fresh_entries() -> None:
    cache = BoundedMemoryCache(max_bytes=50 * KB, last_good_max_bytes=20 * KB)
    for number in range(30):
        cache.set(f"fresh{number}", _value(number), timeout=300)
    for number in range(500):  # a long tail of last good copies, far more than their space
        cache.set(f"{LAST_GOOD_PREFIX}{number}", _value(number), timeout=LAST_GOOD_TTL)
    assert all(cache.get(f"fresh{number}") == _value(number) for number in range(30))
    _, last_good = cache.stored_bytes()
    assert last_good <= 20 * KB
    assert cache.get(f"{LAST_GOOD_PREFIX}499") == _value(499)
    assert cache.get(f"{LAST_GOOD_PREFIX}0") is None


def test_fresh_entries_never_evict_last_good_copies() -> None:
    cache = BoundedMemoryCache(max_bytes=20 * KB, last_good_max_bytes=50 * KB)
    for number in range(30):
        cache.set(f"{LAST_GOOD_PREFIX}{number}", _value(number), timeout=LAST_GOOD_TTL)
    for number in range(500):
        cache.set(f"fresh{number}", _value(number), timeout=300)
    assert all(cache.get(f"{LAST_GOOD_PREFIX}{number}") is not None for number in range(30))


def test_expired_entries_are_misses_and_leave_when_read() -> None:
    cache = BoundedMemoryCache(max_bytes=10 * KB, last_good_max_bytes=10 * KB)
    cache.set("short", _value(1), timeout=1)
    cache.set("long", _value(2), timeout=300)
    cache.get("short")  # the most recently used, but soon expired
    time.sleep(1.05)
    assert not cache.has("short")
    assert cache.get("short") is None
    assert "short" not in cache.fresh  # its bytes are free again
    for number in range(5):
        cache.set(f"more{number}", _value(number), timeout=300)
    assert cache.get("long") == _value(2)


def test_entries_are_out_of_the_garbage_collector_s_walk() -> None:
    """A worker's cache holds tens of thousands of entries: each one the cyclic collector kept
    tracking would be walked by every full collection (tens of milliseconds a collection)."""
    cache = BoundedMemoryCache(max_bytes=100 * KB, last_good_max_bytes=100 * KB)
    for number in range(20):
        cache.set(f"k{number}", ("html", (number, "head")), timeout=300)
        cache.set(f"{LAST_GOOD_PREFIX}k{number}", _value(number), timeout=LAST_GOOD_TTL)
    gc.collect()
    entries = [*cache.fresh.values(), *cache.last_good.values()]
    assert len(entries) == 40
    assert not any(gc.is_tracked(entry) for entry in entries)


def test_values_are_copies_and_none_and_zero_timeout_behave_as_in_flask_caching() -> None:
    cache = BoundedMemoryCache(max_bytes=10 * KB, last_good_max_bytes=10 * KB)
    stored = ["a", ("b", 1)]
    cache.set("list", stored, timeout=0)  # 0: never expires
    stored.append("changed")
    assert cache.get("list") == ["a", ("b", 1)]
    assert cache.get("missing") is None
    assert cache.add("list", "other") is False
    assert cache.has("list") and cache.delete("list") and not cache.has("list")
    assert cache.get_many("x", "y") == [None, None]


def test_an_entry_larger_than_its_space_is_not_stored_and_drops_the_older_value() -> None:
    cache = BoundedMemoryCache(max_bytes=4 * KB, last_good_max_bytes=4 * KB)
    cache.set("page", _value(1))
    assert cache.set("page", _value(2, size=8 * KB)) is False
    assert cache.get("page") is None
    assert cache.stored_bytes() == (0, 0)


def _calls_per_write(cache: Any, full_at: int) -> float:
    """Python and C function calls per ``set`` on a cache holding ``full_at`` entries, measured
    over 400 writes of new keys (each evicts one)."""
    for number in range(full_at):
        cache.set(f"k{number}", "v", timeout=300 + number % 7)
    calls = 0

    def count(_frame: Any, event: str, _arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    writes = 400
    sys.setprofile(count)
    try:
        for number in range(full_at, full_at + writes):
            cache.set(f"k{number}", "v", timeout=300 + number % 7)
    finally:
        sys.setprofile(None)
    return calls / writes


def _bounded(entries: int) -> BoundedMemoryCache:
    one = ENTRY_OVERHEAD + len(pickle.dumps("v", pickle.HIGHEST_PROTOCOL))
    return BoundedMemoryCache(max_bytes=entries * one + one // 2, last_good_max_bytes=KB)


@pytest.mark.parametrize(("make", "flat"), [
    (_bounded, True),
    (lambda entries: SimpleCache(threshold=entries), False),
])
def test_a_full_cache_costs_a_write_what_a_small_one_does(
    make: Callable[[int], Any], flat: bool
) -> None:
    """Counts calls, not time. SimpleCache, which sorts every entry to evict one, is the
    counter-example: the same measure grows with its size."""
    small = _calls_per_write(make(500), 500)
    large = _calls_per_write(make(20_000), 20_000)
    assert (large <= small * 1.5) is flat, (small, large)


def test_the_default_in_process_cache_is_bounded_in_bytes(make_app: Any) -> None:
    app = make_app(settings={"CACHE_TYPE": IN_PROCESS_CACHE, "CACHE_MAX_BYTES": 300 * KB,
                             "CACHE_LAST_GOOD_MAX_BYTES": 100 * KB,
                             "WIDGETS_DISABLED": ["ad_spot"]})
    backend = get_core(app).fragments.backend
    assert isinstance(backend, BoundedMemoryCache)
    client = app.test_client()
    assert client.get(SEED_PATH).status_code == 200
    fresh, last_good = backend.stored_bytes()
    assert 0 < fresh <= 300 * KB and 0 < last_good <= 100 * KB
    assert "page-cache hit" in client.get(SEED_PATH).headers["Server-Timing"]


@pytest.mark.parametrize("value", [0, -1, "64MB", 1.5, True])
def test_a_byte_bound_that_is_not_a_positive_whole_number_is_refused(value: object) -> None:
    with pytest.raises(SettingsError, match="CACHE_MAX_BYTES must be a positive whole number"):
        create_app({"CACHE_MAX_BYTES": value})


def test_the_body_memo_is_bounded_in_bytes_and_keeps_the_latest() -> None:
    memo = LocalMemo(max_bytes=10 * KB)
    later = time.monotonic() + 300
    for number in range(100):
        memo.put(("body", number), _value(number), later, weight=KB)
        assert memo.stored_bytes <= 10 * KB
    assert memo.get(("body", 99)) == _value(99)
    assert memo.get(("body", 90)) == _value(90)
    assert memo.get(("body", 89)) is None
    memo.put(("body", 99), "again", later, weight=2 * KB)  # replaced, counted once
    assert memo.stored_bytes == 10 * KB
    memo.put("too large", "x", later, weight=11 * KB)
    assert memo.get("too large") is None


def test_a_worker_s_caches_stay_within_their_bounds_over_many_pages(make_app: Any) -> None:
    """Every article and section page of the demo: more than the bounds hold."""
    app = make_app(settings={"CACHE_TYPE": IN_PROCESS_CACHE,
                             "CACHE_MAX_BYTES": 60 * KB, "CACHE_LAST_GOOD_MAX_BYTES": 20 * KB,
                             "CACHE_MEMO_MAX_BYTES": 40 * KB, "WIDGETS_DISABLED": ["ad_spot"]})
    fragments = get_core(app).fragments
    client = app.test_client()
    demo = json.loads(DEMO_CONTENT.read_text(encoding="utf-8"))
    paths = [*(f"/pages/article/{item['slug']}" for item in demo["articles"]),
             *(f"/pages/section/{item['slug']}" for item in demo["sections"])]
    for path in paths:
        for _ in range(2):  # the second read of a body puts it in the memo
            assert client.get(path).status_code == 200, path
        assert fragments.local.stored_bytes <= 40 * KB
        fresh, last_good = fragments.backend.stored_bytes()
        assert fresh <= 60 * KB and last_good <= 20 * KB
    assert fragments.local.stored_bytes > 20 * KB  # it did fill up


def test_a_body_enters_the_memo_when_it_is_read_again(make_app: Any) -> None:
    """A long tail's pages, read once each, leave the memo to the pages read again."""
    app = make_app(settings={"CACHE_TYPE": IN_PROCESS_CACHE, "WIDGETS_DISABLED": ["ad_spot"]})
    fragments = get_core(app).fragments
    client = app.test_client()
    assert client.get(SEED_PATH).status_code == 200
    assert fragments.local.stored_bytes == 0
    assert fragments.backend.stored_bytes()[0] > 0
    again = client.get(SEED_PATH)
    assert "page-cache hit" in again.headers["Server-Timing"]
    assert fragments.local.stored_bytes > 0
