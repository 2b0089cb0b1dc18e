"""Prometheus metrics at ``/metrics``: requests by route and status, widget render time and
failures, fragment and page cache hits and misses, ad decisions and fill per slot, impressions,
clicks, measurable and viewable impressions.

The metrics are module-level (prometheus-client keeps one registry per process). Under gunicorn,
``config/gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker imports this
module, so each worker writes its values to files there and ``/metrics`` answers for all
workers of the host (prometheus-client's multiprocess mode); without it, for this process.

Hooks, not calls sprinkled through the code: an ``after_request`` function, an observer on the
renderer, a listener on the ad tally and one on the ad server's decisions. Updates are batched
per process and written at most a second apart (:mod:`layoutserver.metric_buffer`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask, Response, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

from layoutserver.ads.counting import Kind, Tracked
from layoutserver.metric_buffer import MetricBuffer
from layoutserver.render.renderer import RenderedPlacement
from layoutserver.web.serving import PAGE_CACHE_OUTCOME
from layoutserver.widgets import ServedAd

REQUESTS = Counter("layoutserver_http_requests", "HTTP requests answered",
                   ["route", "method", "status"])
REQUEST_SECONDS = Histogram("layoutserver_http_request_seconds", "Time to answer a request",
                            ["route"], buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5,
                                                1, 2.5))
WIDGET_SECONDS = Histogram("layoutserver_widget_render_seconds", "Time to render a widget",
                           ["widget"], buckets=(.0005, .001, .0025, .005, .01, .025, .05, .1,
                                                .25, .5, 1))
WIDGET_FAILURES = Counter("layoutserver_widget_failures",
                          "Widget renders that raised or overran their budget",
                          ["widget", "outcome"])
CACHE_LOOKUPS = Counter("layoutserver_cache_lookups", "Fragment and page cache lookups",
                        ["cache", "result"])
AD_DECISIONS = Counter("layoutserver_ad_decisions", "Slot decisions, filled or empty",
                       ["slot", "filled"])
AD_EVENTS = Counter("layoutserver_ad_events",
                    "Impressions, clicks, measurable and viewable impressions counted",
                    ["kind", "slot"])

_FAILED = frozenset({"error", "timeout", "stale"})
_PAGE_HIT = CACHE_LOOKUPS.labels("page", "hit")
_PAGE_MISS = CACHE_LOOKUPS.labels("page", "miss")
_STARTED = "layoutserver.started"
BUFFER = MetricBuffer(seconds=1.0)
"""Every update below goes through it (see ``layoutserver.metric_buffer``)."""


class _Children:
    """A metric's children by label values, looked up in a dict: ``labels()`` validates its
    values and takes a lock on every call, and these count every render, decision and beacon."""

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


_WIDGET_SECONDS = _Children(WIDGET_SECONDS)
_WIDGET_FAILURES = _Children(WIDGET_FAILURES)
_AD_DECISIONS = _Children(AD_DECISIONS)
_AD_EVENTS = _Children(AD_EVENTS)
_FRAGMENT_HIT = CACHE_LOOKUPS.labels("fragment", "hit")
_FRAGMENT_MISS = CACHE_LOOKUPS.labels("fragment", "miss")


def observe_render(rendered: Sequence[RenderedPlacement]) -> None:
    """Placements a widget's whole-page step rendered together (the ad spots of a page) are one
    render, observed once with the step's time."""
    hits = misses = 0
    steps: dict[str, float] = {}
    for item in rendered:
        outcome = item.outcome
        if outcome == "hit":
            hits += 1
            continue
        if outcome == "unavailable":  # a widget that failed to load or is disabled
            continue
        widget = item.placement.widget
        if item.prepared:
            steps[widget] = steps.get(widget, 0.0) + item.duration_ms
        else:
            BUFFER.observe(_WIDGET_SECONDS(widget), item.duration_ms / 1000)
        if outcome in _FAILED:
            BUFFER.inc(_WIDGET_FAILURES(widget, outcome))
        if item.policy.shared:
            misses += 1
    for widget, step_ms in steps.items():
        BUFFER.observe(_WIDGET_SECONDS(widget), step_ms / 1000)
    if hits:
        BUFFER.inc(_FRAGMENT_HIT, hits)
    if misses:
        BUFFER.inc(_FRAGMENT_MISS, misses)


def observe_decisions(served: Mapping[str, ServedAd]) -> None:
    children = _AD_DECISIONS
    BUFFER.inc_each([children(code, "no" if ad.creative_id is None else "yes")
                     for code, ad in served.items()])


def observe_count(kind: Kind, tracked: Tracked) -> None:
    BUFFER.inc(_AD_EVENTS(kind, tracked.slot))


class _StartClock:
    """WSGI middleware noting when a request arrived, before Flask handles it, in the environ
    it is given (a ``before_request`` hook would start later and reach the environ through the
    request proxy)."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        environ[_STARTED] = time.perf_counter()
        return self.wsgi_app(environ, start_response)


_REQUEST_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}
"""(route, method, status) -> its request counter and timer: ``labels()`` validates and locks
on every call."""


def _children(route: str, method: str, status: int) -> tuple[Any, Any]:
    key = (route, method, status)
    found = _REQUEST_CHILDREN.get(key)
    if found is None:
        found = _REQUEST_CHILDREN[key] = (REQUESTS.labels(route, method, str(status)),
                                          REQUEST_SECONDS.labels(route))
    return found


def _answered(response: Response) -> Response:
    current = request._get_current_object()  # type: ignore[attr-defined]  # used 3 times below
    rule = current.url_rule
    route = rule.rule if rule is not None else "(unmatched)"
    counter, timer = _children(route, current.method, response.status_code)
    BUFFER.inc(counter)
    started = current.environ.get(_STARTED)
    if started is not None:
        BUFFER.observe(timer, time.perf_counter() - started)
    outcome = current.environ.get(PAGE_CACHE_OUTCOME)
    if outcome is not None:
        BUFFER.inc(_PAGE_HIT if outcome == "hit" else _PAGE_MISS)
    return response


def metrics() -> Response:
    BUFFER.write()  # this process's own updates, exactly
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest()
    response = Response(body, mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """After the core and ads are bound: hook the renderer, the tally and the ad server."""
    from layoutserver.ads.extension import get_ads
    from layoutserver.core import get_core

    app.wsgi_app = _StartClock(app.wsgi_app)  # type: ignore[method-assign]
    app.after_request(_answered)
    app.add_url_rule("/metrics", "metrics", metrics)
    get_core(app).renderer.observers.append(observe_render)
    ads = get_ads(app)
    ads.tally.listeners.append(observe_count)
    ads.server.observers.append(observe_decisions)
