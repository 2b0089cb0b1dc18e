"""Rendered placements put together: regions in layout order, assets listed once, what the
widgets add to the page's ``<head>`` (each part once, in a fixed order), and the cache policy of
the whole (the shortest TTL inside; private when anything inside is per-request)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup, escape

from layoutserver.layouts import Layout, Placement, Region
from layoutserver.registry import WidgetRegistry
from layoutserver.render.renderer import RenderedPlacement
from layoutserver.widgets import POSITION_MARK, Assets, HeadPart, JsonLd, Link, Meta, Subject


@dataclass(frozen=True)
class ResponsePolicy:
    shared: bool
    ttl: int

    @classmethod
    def of(cls, rendered: Iterable[RenderedPlacement]) -> ResponsePolicy:
        policies = [item.policy for item in rendered]
        if any(not policy.shared for policy in policies):
            return cls(shared=False, ttl=0)
        return cls(shared=True, ttl=min((policy.ttl for policy in policies), default=300))


@dataclass(frozen=True)
class Assembly:
    layout: Layout
    subject: Subject
    rendered: Sequence[RenderedPlacement]

    @property
    def policy(self) -> ResponsePolicy:
        return ResponsePolicy.of(self.rendered)

    def placed(self) -> list[tuple[Placement, Markup]]:
        """Each placement that is not inside another, in order, with its HTML; the placements
        inside one are in its HTML, at their positions (:func:`fill_positions`)."""
        inner: dict[str, list[RenderedPlacement]] = {}
        for item in self.rendered:
            if item.placement.inside is not None:
                inner.setdefault(item.placement.inside, []).append(item)
        return [(item.placement,
                 fill_positions(item, inner.get(item.placement.id, ()))
                 if item.placement.filled else item.html)
                for item in self.rendered if item.placement.inside is None]

    def regions(self) -> dict[str, Markup]:
        """Each region's HTML, in layout order; regions with nothing rendered are left out."""
        by_region: dict[str, list[Markup]] = {}
        for placement, html in self.placed():
            by_region.setdefault(placement.region, []).append(html)
        return {
            region.name: region_html(region, by_region[region.name])
            for region in self.layout.regions
            if region.name in by_region
        }

    def assets(self, registry: WidgetRegistry) -> Assets:
        """Each asset once, in first-seen order. Two widgets that name the same file of the same
        static folder share one URL: the first widget's."""
        return assets_of(registry, tuple(item.placement.widget for item in self.rendered))

    def timings(self) -> list[tuple[str, float, str]]:
        return timings(self.rendered)

    def head(self) -> tuple[HeadPart, ...]:
        """What the placements add to the page's head: the first of each part (by its key) in
        placement order, then sorted by kind (:func:`head_order`)."""
        found: dict[tuple[str, ...], HeadPart] = {}
        for item in self.rendered:
            for part in item.head:
                found.setdefault(part.key, part)
        return tuple(sorted(found.values(), key=head_order))

    def head_html(self) -> Markup:
        return Markup("\n").join(part.html() for part in self.head())


def fill_positions(host: RenderedPlacement, inner: Sequence[RenderedPlacement]) -> Markup:
    """The host's HTML with the HTML of the placements inside it at the marks of their
    positions (``RenderContext.position``), in order; a placement whose position's mark is not
    there (the article is shorter) is left out."""
    html = str(host.html)
    for position in host.placement.filled:
        mark = POSITION_MARK.format(host.placement.id, position)
        if mark in html:
            html = html.replace(mark, "".join(item.html for item in inner
                                              if item.placement.position == position), 1)
    return Markup(html)  # noqa: S704 - markup joined with markup


def head_order(part: HeadPart) -> int:
    """Canonical and robots first, then the description, other links, other named metas,
    Open Graph and article properties, Twitter's card, structured data last (a stable sort
    keeps placement order inside each)."""
    if isinstance(part, Link):
        return 0 if part.rel == "canonical" else 3
    if isinstance(part, JsonLd):
        return 9
    if isinstance(part, Meta):
        if part.name in ("robots", "description"):
            return 1 if part.name == "robots" else 2
        if part.name.startswith("twitter:"):
            return 6
        return 5 if part.property_ else 4
    return 8


@functools.lru_cache(maxsize=256)
def assets_of(registry: WidgetRegistry, widgets: tuple[str, ...]) -> Assets:
    """The assets of ``widgets`` in page order (kept: the installed widgets are fixed for the
    life of an app, and a site has a few lists of widgets)."""
    css: dict[object, str] = {}
    js: dict[object, str] = {}
    for name in widgets:
        installed = registry.get(name)
        if installed is None:
            continue
        widget = installed.widget
        for found, paths in ((css, widget.assets.css), (js, widget.assets.js)):
            for path in paths:
                identity = asset_identity(widget.static_folder, path)
                found.setdefault(identity, asset_url(installed.name, path))
    return Assets(css=tuple(css.values()), js=tuple(js.values()))


def server_timing(timings: Sequence[tuple[str, float, str]]) -> str:
    """Timing entries as a ``Server-Timing`` header value: ``name;dur=ms;desc="..."``."""
    entries = []
    for name, duration, description in timings:
        safe = description.replace('"', "'")
        entries.append(f'{name};dur={duration:.2f};desc="{safe}"')
    return ", ".join(entries)


def timings(rendered: Sequence[RenderedPlacement]) -> list[tuple[str, float, str]]:
    """Server-Timing entries of rendered placements: id, ms, "widget outcome"."""
    return [(item.placement.id, item.duration_ms, f"{item.placement.widget} {item.outcome}")
            for item in rendered]


def region_html(region: Region, parts: Sequence[Markup]) -> Markup:
    """A region as its element (``<header>``, ``<main id="main">``, ``<aside>``...: the page's
    landmarks), with its class names, name and accessible name; the same in a whole page and
    as the region's fragment. The main region's id is the skip link's target."""
    name = escape(region.name)
    element = region.element  # one of REGION_ELEMENTS: the loader checks it
    extra = ' id="main"' if element == "main" else ""
    if region.label is not None:
        extra += f' aria-label="{escape(region.label)}"'
    return Markup(  # noqa: S704 - the name and label are escaped, the parts are markup
        f'<{element} class="ls-region ls-region--{name}" data-region="{name}"{extra}>'
        f'{"".join(parts)}</{element}>'
    )


def asset_identity(static_folder: str | Path | None, path: str) -> object:
    """What an asset is, whichever widget names it: an absolute URL, or a file of a folder."""
    if path.startswith("/") or static_folder is None:
        return path
    return (str(static_folder), path)


def asset_url(widget: str, path: str) -> str:
    """A widget's asset path as a URL: its own static files, or an absolute path as given."""
    if path.startswith("/"):
        return path
    return f"/static/widgets/{widget}/{path}"
