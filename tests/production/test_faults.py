"""The fault suite (``make faults``, ``bench/faults.py``) in a short run: a small beacon burst
through Redis killed (its append-only file kept), Redis restarted empty, PostgreSQL stopped and
the network to Redis blackholed, with replays sent to the other host. Every token counts exactly
once, except that Redis restarted empty may lose the counts it held that no flush had copied
yet (docs/reliability.md). It starts a PostgreSQL and a Redis of its own, so it runs in make
test's PostgreSQL pass (where ``.ci/services`` made sure both are installed)."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import faults

SHORT = ["--tokens", "120", "--concurrency", "6", "--seconds", "8", "--lead", "2",
         "--outage", "4", "--faults",
         "redis-kill,redis-empty,postgres-stop,redis-blackhole"]


def test_no_count_is_lost_or_doubled_through_redis_and_postgresql_faults() -> None:
    if not os.environ.get("LAYOUTSERVER_TEST_DATABASE_URL"):
        pytest.skip("starts PostgreSQL: runs in make test's PostgreSQL pass")
    out = io.StringIO()
    results = faults.run(faults.parse(SHORT), out=out)
    print(out.getvalue())
    assert [result.fault for result in results] == SHORT[-1].split(",")
    for result in results:
        assert result.doubled == 0, out.getvalue()
        # only a Redis that lost its data loses counts: those it held unflushed, at most
        assert result.lost == 0 or (result.fault == "redis-empty"
                                    and result.lost <= result.unflushed), out.getvalue()
        assert result.expected > 0 and result.ok()
