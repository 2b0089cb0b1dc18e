"""Widgets that exist only for tests: they misbehave on purpose, or count their renders."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from marshmallow import Schema, fields, validate

from layoutserver.widgets import (
    Assets,
    CachePolicy,
    JsonLd,
    Link,
    Markup,
    Meta,
    PageContext,
    PlacementRequest,
    RenderContext,
    Rendered,
    Widget,
)


class Raising(Widget):
    name = "test_raising"
    version = "1"
    fallback = Markup('<p class="fallback">Not available right now.</p>')

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        raise RuntimeError("boom from test_raising")


class SlowOptions(Schema):
    seconds = fields.Float(load_default=2.0)


class Slow(Widget):
    """Sleeps, then renders; ``release`` ends every sleep early so tests finish quickly."""

    name = "test_slow"
    version = "1"
    options_schema = SlowOptions
    fallback = "slow fallback"
    release = threading.Event()

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        self.release.wait(options["seconds"])
        return Markup("<p>slow but done</p>")


class Counting(Widget):
    """Counts its renders (class-wide, reset by tests); takes a moment so misses overlap."""

    name = "test_counting"
    version = "1"
    cache_policy = CachePolicy.shared_for(ttl=60)
    renders = 0
    lock = threading.Lock()

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        with Counting.lock:
            Counting.renders += 1
        time.sleep(0.2)
        return Markup("<p>counted</p>")


class PerRequest(Widget):
    name = "test_per_request"
    version = "1"
    cache_policy = CachePolicy.per_request()

    def render(self, ctx: RenderContext, options: Any) -> str:
        return f"device={ctx.request.device} consent={ctx.request.consent}"


class Together(Widget):
    """Numbers its placements in one go (taking ``STEP_SECONDS``); renders them itself when
    asked to."""

    name = "test_together"
    version = "1"
    cache_policy = CachePolicy.per_request()
    calls: ClassVar[list[list[str]]] = []
    STEP_SECONDS = 0.02

    @classmethod
    def prepare_page(
        cls, page: PageContext, placements: Sequence[PlacementRequest]
    ) -> Mapping[str, Any]:
        cls.calls.append([p.placement_id for p in placements])
        time.sleep(cls.STEP_SECONDS)
        return {p.placement_id: Rendered(f"<{n} of {len(placements)}>")
                for n, p in enumerate(placements, start=1)}

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        raise AssertionError("render must not be called for a Rendered share")


class Querying(Widget):
    """Reads content over and over, never done: its budget stops it somewhere inside a
    database read."""

    name = "test_querying"
    version = "1"
    cache_policy = CachePolicy.per_request()
    fallback = "querying fallback"

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        while True:
            ctx.content.latest_articles(3, exclude=[ctx.slug])
            ctx.content.editorial_list("must-read")


class Where(Widget):
    """Notes the name of the thread it renders on (class-wide, reset by tests)."""

    name = "test_where"
    version = "1"
    cache_policy = CachePolicy.per_request()
    threads: ClassVar[list[str]] = []

    def render(self, ctx: RenderContext, options: Any) -> str:
        Where.threads.append(threading.current_thread().name)
        return "here"


class Stall(Widget):
    """Renders at once, naming the thread it rendered on; while the file named by
    ``STALL_FILE_ENV`` exists it stalls first (for at most 10 s). A fast widget that turns slow
    in a server process, where a test can only reach it through a file."""

    name = "test_stall"
    version = "1"
    cache_policy = CachePolicy.per_request()
    fallback = "stall fallback"
    STALL_FILE_ENV = "LAYOUTSERVER_TEST_STALL_FILE"

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        stall_file = os.environ.get(self.STALL_FILE_ENV)
        give_up = time.monotonic() + 10
        while stall_file and os.path.exists(stall_file) and time.monotonic() < give_up:
            time.sleep(0.01)
        return Markup("<p>rendered on {}</p>").format(threading.current_thread().name)


class HouseAdOptions(Schema):
    slots = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class HouseAd(Widget):
    """An ad widget of another package: it fills several slots from one placement, through
    the same page-wide decision (``PageContext.ads``) as the built-in ad spot."""

    name = "test_house_ad"
    version = "1"
    options_schema = HouseAdOptions
    cache_policy = CachePolicy.per_request()

    @classmethod
    def ad_slots(cls, options: Any) -> Sequence[str]:
        return tuple(options["slots"])

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        if ctx.ads is None:
            return Markup("")
        served = ctx.ads.decide_page(ctx, options["slots"])
        return Markup("").join(Markup('<div class="house-ad">{}</div>').format(ad.html)
                               for ad in served.values())


class HeadOptions(Schema):
    description = fields.String(required=True)


class Heading(Widget):
    """Adds to the page's head: a description (its option), a canonical link, an og:type, a
    tag and structured data, and counts its renders (a cache hit must bring its head back)."""

    name = "test_heading"
    version = "1"
    options_schema = HeadOptions
    cache_policy = CachePolicy.shared_for(ttl=300, vary=("slug",))
    renders = 0

    def render(self, ctx: RenderContext, options: Any) -> Rendered:
        type(self).renders += 1
        return Rendered(Markup("<p>heading</p>"), head=(
            JsonLd({"@type": "Thing", "name": options["description"]}),
            Meta(options["description"], name="description"),
            Meta("website", property_="og:type"),
            Meta(options["description"], property_="article:tag"),
            Link("canonical", f"/pages/{ctx.page_type}/{ctx.slug}"),
        ))


class ByDevice(Widget):
    """Shared, one output per device class: long enough to be a part of its own behind an edge
    doing ESI (``INLINE_PART_BYTES``)."""

    name = "test_by_device"
    version = "1"
    cache_policy = CachePolicy.shared_for(300, vary=("device",), depends_on=())

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        return Markup("<p>device={}</p><!--{}-->").format(ctx.request.device, "x" * 600)


class Scripted(Widget):
    """Names a stylesheet and a script by absolute path (its Link headers name both)."""

    name = "test_scripted"
    version = "1"
    cache_policy = CachePolicy.shared_for(ttl=300)
    assets = Assets(css=("/static/scripted.css",), js=("/static/scripted.js",))

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        return Markup("<p>scripted</p>")


TEST_WIDGETS = [Raising, Slow, Counting, PerRequest, Together, Querying, Where, Stall, HouseAd,
                Heading, ByDevice, Scripted]
