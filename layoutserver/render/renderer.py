"""Rendering placements: from the cache when shared and fresh, else within a time budget (on a
render thread, or on the main thread under an alarm), with the widget's fallback (or its last
good output) when it fails or overruns."""

from __future__ import annotations

import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from markupsafe import Markup, escape

from layoutserver.content.scopes import ALL
from layoutserver.layouts import Layout, Placement
from layoutserver.log_context import carrying_request_id
from layoutserver.registry import InstalledWidget, WidgetRegistry
from layoutserver.render.alarm import shielded
from layoutserver.render.fragment_cache import FragmentCache
from layoutserver.render.pool import Job, RenderPool
from layoutserver.render.strategy import BatchStrategy, OnMainThread
from layoutserver.render.track import RenderTrack
from layoutserver.widgets import (
    ArticleView,
    CachePolicy,
    HeadPart,
    PageContext,
    RenderContext,
    Rendered,
    Widget,
)

log = logging.getLogger(__name__)

#: Outcomes that leave output worth storing in a page-level cache. "unavailable" (a widget that
#: failed to load or is disabled) is stable until the next start, so it counts as clean; so do
#: the per-request placements left for someone else to fill (``render/holes.py``): "reserved"
#: (the shared form an edge keeps), "client" (a slot ads.js fills) and "skipped" (a HEAD
#: request).
CLEAN_OUTCOMES = frozenset({"hit", "miss", "unavailable", "reserved", "client", "skipped"})
#: A hole left for the edge or the browser to fill: the page around it may be cached as long
#: as its other widgets allow.
INCLUDE_POLICY = CachePolicy.shared_for(ttl=24 * 3600)
#: An unavailable placement (its widget failed to load or is disabled) is empty until the next
#: start: it must not shorten the cache lifetime of what is around it.
UNAVAILABLE_POLICY = CachePolicy.shared_for(ttl=24 * 3600)


Head = tuple[HeadPart, ...]
#: A render on a render thread: the widget's HTML, what it adds to the head, and how long it
#: took, in ms.
RenderFuture = Future[tuple[Markup, Head, float]]


class WidgetFailed(Exception):
    """A widget's render raised (logged where it raised); carries how long the render ran, so
    that Server-Timing reports the widget's own time, not how long the page waited on others."""

    def __init__(self, duration_ms: float) -> None:
        super().__init__(f"the widget's render raised after {duration_ms:.2f} ms")
        self.duration_ms = duration_ms


@dataclass(frozen=True)
class CacheKeys:
    fresh: str
    last_good: str
    """The same key without the content version: the last good output outlives content edits."""


class RenderedPlacement(NamedTuple):
    """One placement's output for one page (a tuple: a page makes one per placement)."""

    placement: Placement
    html: Markup
    """The widget's output inside its wrapper element."""
    inner: Markup
    """The widget's output alone."""
    outcome: str
    """hit, miss, error, timeout, stale (last good output after error or timeout), unavailable."""
    duration_ms: float
    policy: CachePolicy
    prepared: bool = False
    """Rendered by its widget's whole-page step (``prepare_page``); ``duration_ms`` is then the
    placement's equal share of that step's time."""
    head: Head = ()
    """What the output adds to the page's ``<head>`` (``Rendered.head``)."""


class Renderer:
    def __init__(
        self,
        registry: WidgetRegistry,
        cache: FragmentCache,
        pool: RenderPool,
        budget_seconds: float,
        scope_versions: Callable[[int], Mapping[str, int]] | None = None,
        batch: BatchStrategy | None = None,
    ) -> None:
        self.batch: BatchStrategy = batch or OnMainThread()
        """Where the batch of widgets with a fast record runs (``render/strategy.py``)."""
        self.scope_versions = scope_versions
        """Content scope versions for a content version (``ContentRepository.scope_versions``);
        None: every fragment keys on the content version alone."""
        self.registry = registry
        self.cache = cache
        self.pool = pool
        self.budget_seconds = budget_seconds
        self.track = RenderTrack(budget_seconds)
        self.observers: list[Callable[[Sequence[RenderedPlacement]], None]] = []
        """Called with each render's results (``layoutserver.metrics``)."""

    def render(
        self,
        layout: Layout,
        page: PageContext,
        placements: Sequence[Placement],
        content_version: int,
    ) -> list[RenderedPlacement]:
        """Render ``placements`` of one page, in the order given."""
        started = time.perf_counter()
        deadline = started + self.budget_seconds
        results: dict[str, RenderedPlacement] = {}
        misses: list[tuple[Placement, InstalledWidget, CacheKeys | None]] = []
        for placement in placements:
            installed = self.registry.get(placement.widget) if placement.available else None
            if installed is None:
                results[placement.id] = wrap(placement, Markup(""), "unavailable", 0.0,
                                              UNAVAILABLE_POLICY)
                continue
            policy = installed.widget.cache_policy
            key = None
            if policy.shared and self.cache.enabled:
                key = self._key(layout, page, placement, installed, content_version)
                lookup_started = time.perf_counter()
                cached = self.cache.get(key.fresh)
                if cached is not None:
                    elapsed = _ms(lookup_started)
                    html, head = _stored(cached)
                    results[placement.id] = wrap(placement, html, "hit", elapsed, policy,
                                                  head=head)
                    continue
            misses.append((placement, installed, key))

        futures = self._submit(page, misses, results, deadline)
        if futures:  # one wait for all, rather than a wake-up per render
            wait([item[3] for item in futures], timeout=max(0.0, deadline - time.perf_counter()))
        for placement, installed, key, future in futures:
            results[placement.id] = self._collect(placement, installed, key, future, deadline,
                                                  started)
        ordered = [results[placement.id] for placement in placements]
        for observer in self.observers:
            observer(ordered)
        return ordered

    def _submit(
        self, page: PageContext, misses: list[tuple[Placement, InstalledWidget, CacheKeys | None]],
        results: dict[str, RenderedPlacement], deadline: float,
    ) -> list[tuple[Placement, InstalledWidget, CacheKeys | None, RenderFuture]]:
        """Hand the misses to the pool: every widget without a fast record on a thread of its
        own, the others together in one batch, run here on the main thread (before ``deadline``)
        or on one render thread. Placements the whole-page step rendered already go straight
        into ``results``."""
        shares, step_ms = self._prepare(page, misses)
        batch: list[tuple[int, Job]] = []
        alone: list[tuple[int, Job]] = []
        futures: dict[int, RenderFuture] = {}
        for index, (placement, installed, key) in enumerate(misses):
            share = shares.get(placement.id)
            if isinstance(share, Rendered):  # rendered in the whole-page step already
                results[placement.id] = self._done(placement, installed, key, share,
                                                   step_ms.get(installed.name, 0.0))
                continue
            context = RenderContext(**vars(page), placement_id=placement.id,
                                    region=placement.region, prepared=share,
                                    filled=frozenset(placement.filled))
            job = (None if key is None else key.fresh,
                   self._task(installed, placement, context, key))
            (batch if self.track.trusted(installed.name) else alone).append((index, job))
        for index, (flight, task) in alone:  # first: they run while the batch does
            futures[index] = self.pool.submit(flight, task)
        if batch:
            jobs = [job for _, job in batch]
            submitted = self.batch.run(self.pool, jobs, deadline)
            futures.update(zip((index for index, _ in batch), submitted, strict=True))
        return [(*miss, futures[index]) for index, miss in enumerate(misses)
                if index in futures]

    def _done(self, placement: Placement, installed: InstalledWidget, key: CacheKeys | None,
              share: Rendered, share_ms: float) -> RenderedPlacement:
        policy = installed.widget.cache_policy
        html = share.html if isinstance(share.html, Markup) else escape(share.html)
        if key is not None:
            self._store(key, html, share.head, policy.ttl)
        return wrap(placement, html, "miss", share_ms, policy, prepared=True, head=share.head)

    def _store(self, key: CacheKeys, html: Markup, head: Head, ttl: int) -> None:
        # The render is done: the alarm does not cut its storing in two. A Redis write stopped
        # half-way leaked its connection; the in-process cache (cachetools) was left
        # inconsistent, its next store raised, and the breaker skipped the cache for a while.
        # A write is bounded by the backend's timeout (Redis) and its breaker.
        with shielded():
            if not self.cache.admits(key.fresh):  # the doorkeeper: both copies, or neither
                return
            value = _storable(html, head)
            self.cache.set(key.fresh, value, ttl)
            self.cache.set_last_good(key.last_good, value)

    def _key(self, layout: Layout, page: PageContext, placement: Placement,
             installed: InstalledWidget, content_version: int) -> CacheKeys:
        widget = installed.widget
        vary = [f"{name}={page.vary_value(name)}" for name in widget.cache_policy.vary]
        base = ("w", widget.name, widget.version, placement.options_key, layout.digest, *vary)
        if placement.filled:  # its output holds a mark at each filled position
            base = (*base, "in=" + ",".join(placement.filled))
        return CacheKeys(fresh=self.cache.key(*base, *self._content(widget, page,
                                                                    content_version)),
                         last_good=self.cache.key(*base))

    def _content(self, widget: Widget, page: PageContext, content_version: int) -> list[str]:
        """The content versions a widget's output depends on: all content (the content
        version) unless its policy names what it reads; then ``all`` plus those scopes."""
        depends_on = widget.cache_policy.depends_on
        if depends_on is None or self.scope_versions is None:
            return [f"cv={content_version}"]
        if not depends_on:  # no content at all: no content edit touches it
            return []
        scopes = self.scope_versions(content_version)
        parts = [f"all={scopes.get(ALL, 0)}"]
        for kind in sorted(depends_on):
            if kind == "subject":
                prefix = "article" if isinstance(page.subject, ArticleView) else "section"
                kind = f"{prefix}:{page.slug}"
            parts.append(f"{kind}={scopes.get(kind, 0)}")
        return parts

    def _prepare(
        self, page: PageContext, misses: list[tuple[Placement, InstalledWidget, CacheKeys | None]]
    ) -> tuple[dict[str, Any], dict[str, float]]:
        """Run each widget's whole-page step once, with all of its placements that will render.
        Returns each placement's share by placement id, and per widget each placement's equal
        part of the step's time (ms)."""
        by_widget: dict[str, list[Placement]] = defaultdict(list)
        widgets: dict[str, InstalledWidget] = {}
        for placement, installed, _key in misses:
            by_widget[installed.name].append(placement)
            widgets[installed.name] = installed
        shares: dict[str, Any] = {}
        step_ms: dict[str, float] = {}
        for name, group in by_widget.items():
            requests = [placement.request for placement in group]
            started = time.perf_counter()
            try:
                shares.update(widgets[name].widget.prepare_page(page, requests))
            except Exception:
                log.exception("widget %s: prepare_page failed; its placements render without it",
                              name)
            step_ms[name] = _ms(started) / len(group)
        return shares, step_ms

    def _task(self, installed: InstalledWidget, placement: Placement, context: RenderContext,
              key: CacheKeys | None) -> Callable[[], tuple[Markup, Head, float]]:
        widget = installed.widget
        policy = widget.cache_policy

        def render() -> tuple[Markup, Head, float]:
            started = time.perf_counter()
            try:
                output = widget.render(context, placement.options)
                head: Head = ()
                if isinstance(output, Rendered):
                    head = tuple(output.head)
                    output = output.html
                html = output if isinstance(output, Markup) else escape(output)
            except Exception as exc:
                log.exception("widget %s failed in placement %s (%s/%s)", widget.name,
                              placement.id, context.page_type, context.slug)
                raise WidgetFailed(_ms(started)) from exc
            if key is not None:
                self._store(key, html, head, policy.ttl)
            self.track.record(widget.name, time.perf_counter() - started)
            return html, head, _ms(started)

        # wherever it runs, its log lines carry the id of the request that made it
        return carrying_request_id(render)

    def _collect(self, placement: Placement, installed: InstalledWidget, key: CacheKeys | None,
                 future: RenderFuture, deadline: float,
                 started: float) -> RenderedPlacement:
        widget = installed.widget
        policy = widget.cache_policy
        try:
            html, head, render_ms = future.result(
                timeout=max(0.0, deadline - time.perf_counter()))
            return wrap(placement, html, "miss", render_ms, policy, head=head)
        except FutureTimeout:
            log.warning("widget %s in placement %s overran its %.0f ms budget", widget.name,
                        placement.id, self.budget_seconds * 1000)
            self.track.overran(widget.name)
            outcome, duration_ms = "timeout", _ms(started)
        except WidgetFailed as failure:  # logged by the render task, once per render
            # the widget's own time: the page may have waited longer, on another widget
            outcome, duration_ms = "error", failure.duration_ms
        except Exception:  # a failure of the task itself, outside the widget
            outcome, duration_ms = "error", _ms(started)
        if key is not None:
            last_good = self.cache.get_last_good(key.last_good)
            if last_good is not None:
                html, head = _stored(last_good)
                return wrap(placement, html, "stale", duration_ms, policy, head=head)
        fallback = widget.fallback
        html = fallback if isinstance(fallback, Markup) else escape(fallback)
        return wrap(placement, html, outcome, duration_ms, policy)


def wrap(placement: Placement, html: Markup, outcome: str, duration_ms: float,
         policy: CachePolicy, prepared: bool = False, head: Head = ()) -> RenderedPlacement:
    """A placement's output in its wrapper element."""
    # Joined rather than Markup.format: this runs for every placement of every page.
    wrapped = Markup("".join((_opening(placement.widget, placement.id), html,  # noqa: S704
                              "</div>")))
    return RenderedPlacement(placement, wrapped, html, outcome, duration_ms,
                             policy if outcome in CLEAN_OUTCOMES else _not_for_long(policy),
                             prepared, head)


def _storable(html: Markup, head: Head) -> str | tuple[str, Head]:
    """What the fragment cache keeps of an output: its HTML, with its head parts if any."""
    return (str(html), head) if head else str(html)


def _stored(value: Any) -> tuple[Markup, Head]:
    """An output back from the fragment cache (see :func:`_storable`): ours, so markup."""
    if isinstance(value, tuple):
        return Markup(value[0]), tuple(value[1])  # noqa: S704
    return Markup(value), ()  # noqa: S704


@functools.lru_cache(maxsize=1024)
def _opening(widget: str, placement_id: str) -> str:
    """The wrapper's opening tag, names escaped (the same few for every page)."""
    name, pid = escape(widget), escape(placement_id)
    return f'<div class="ls-widget ls-widget--{name}" data-widget="{name}" data-placement="{pid}">'


def _not_for_long(policy: CachePolicy) -> CachePolicy:
    """A fallback or stale output should not be cached downstream for the widget's full TTL."""
    return replace(policy, ttl=min(policy.ttl, 10)) if policy.shared else policy


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
