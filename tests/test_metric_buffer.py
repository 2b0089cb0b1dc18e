"""Batched metric updates: written, they are what prometheus-client's own calls would have
made; until then nothing shows; a writer thread and a fork behave."""

from __future__ import annotations

import math
import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from layoutserver.metric_buffer import MetricBuffer

BUCKETS = (0.001, 0.01, 0.1, 1.0)
#: Values below, on and between the bounds, past the last one, zero and a negative one.
VALUES = (0.0, 0.0005, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.99, 1.0, 1.5, 120.0, -0.2)


def metrics() -> tuple[CollectorRegistry, Counter, Histogram]:
    registry = CollectorRegistry()
    counter = Counter("things", "Things", ["kind"], registry=registry)
    histogram = Histogram("seconds", "Seconds", ["route"], buckets=BUCKETS, registry=registry)
    return registry, counter, histogram


def exposition(registry: CollectorRegistry) -> list[str]:
    """The samples, without the ``_created`` timestamps (they differ between registries)."""
    return [line for line in generate_latest(registry).decode().splitlines()
            if "_created" not in line]


def test_written_updates_equal_prometheus_clients_own() -> None:
    direct, direct_counter, direct_histogram = metrics()
    batched, batched_counter, batched_histogram = metrics()
    buffer = MetricBuffer(seconds=3600)
    for value in VALUES:
        direct_histogram.labels("/a").observe(value)
        buffer.observe(batched_histogram.labels("/a"), value)
    for kind, amount in (("x", 1.0), ("y", 2.5), ("x", 4.0)):
        direct_counter.labels(kind).inc(amount)
        buffer.inc(batched_counter.labels(kind), amount)
    for kinds in (["x", "z", "x"], []):
        for kind in kinds:
            direct_counter.labels(kind).inc()
        buffer.inc_each([batched_counter.labels(kind) for kind in kinds])
    buffer.write()
    assert exposition(batched) == exposition(direct)
    assert 'seconds_bucket{le="0.001",route="/a"} 4.0' in exposition(batched)  # 0, -, on bound
    assert 'things_total{kind="x"} 7.0' in exposition(batched)


def test_nothing_shows_until_written_and_nothing_is_written_twice() -> None:
    registry, counter, histogram = metrics()
    buffer = MetricBuffer(seconds=3600)
    buffer.inc(counter.labels("x"))
    buffer.observe(histogram.labels("/a"), 0.05)
    assert registry.get_sample_value("things_total", {"kind": "x"}) == 0.0
    assert registry.get_sample_value("seconds_count", {"route": "/a"}) == 0.0
    buffer.write()
    buffer.write()
    assert registry.get_sample_value("things_total", {"kind": "x"}) == 1.0
    assert registry.get_sample_value("seconds_count", {"route": "/a"}) == 1.0
    assert math.isclose(registry.get_sample_value("seconds_sum", {"route": "/a"}) or 0, 0.05)


def test_the_writer_thread_writes_within_its_period() -> None:
    registry, counter, _ = metrics()
    buffer = MetricBuffer(seconds=0.05)
    buffer.inc(counter.labels("x"), 3)
    deadline = time.monotonic() + 5
    while registry.get_sample_value("things_total", {"kind": "x"}) != 3.0:
        assert time.monotonic() < deadline, "the writer thread did not write"
        time.sleep(0.01)


def test_a_forked_child_starts_empty_with_a_writer_of_its_own() -> None:
    registry, counter, _ = metrics()
    buffer = MetricBuffer(seconds=3600)
    buffer.inc(counter.labels("parent"))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        status = 1
        try:
            pending_empty = buffer._counts == {}
            buffer.inc(counter.labels("child"))
            writer = buffer._writer
            status = 0 if pending_empty and writer is not None and writer.is_alive() else 2
        finally:
            os.write(write, bytes([status]))
            os._exit(0)
    os.close(write)
    assert os.read(read, 1) == bytes([0])
    os.waitpid(pid, 0)
    os.close(read)
    buffer.write()  # the parent's own update is still there, once
    assert registry.get_sample_value("things_total", {"kind": "parent"}) == 1.0
    assert registry.get_sample_value("things_total", {"kind": "child"}) is None
