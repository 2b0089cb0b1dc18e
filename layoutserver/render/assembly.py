"""Rendered placements put together: regions in layout order, assets listed once, and the cache
policy of the whole (the shortest TTL inside; private when anything inside is per-request)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from layoutserver.layouts import Layout
from layoutserver.registry import WidgetRegistry
from layoutserver.render.renderer import CLEAN_OUTCOMES, RenderedPlacement
from layoutserver.widgets import Assets, Subject


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

    @property
    def clean(self) -> bool:
        """Every placement rendered or came from the cache: nothing fell back."""
        return all(item.outcome in CLEAN_OUTCOMES for item in self.rendered)

    def regions(self) -> dict[str, Markup]:
        """Each region's HTML, in layout order; regions with nothing rendered are left out."""
        by_region: dict[str, list[Markup]] = {}
        for item in self.rendered:
            by_region.setdefault(item.placement.region, []).append(item.html)
        return {
            region.name: region_html(region.name, by_region[region.name])
            for region in self.layout.regions
            if region.name in by_region
        }

    def assets(self, registry: WidgetRegistry) -> Assets:
        css: dict[str, None] = {}
        js: dict[str, None] = {}
        for item in self.rendered:
            installed = registry.get(item.placement.widget)
            if installed is None:
                continue
            declared = installed.widget.assets
            css.update(dict.fromkeys(asset_url(installed.name, path) for path in declared.css))
            js.update(dict.fromkeys(asset_url(installed.name, path) for path in declared.js))
        return Assets(css=tuple(css), js=tuple(js))

    def timings(self) -> list[tuple[str, float, str]]:
        return [(item.placement.id, item.duration_ms, f"{item.placement.widget} {item.outcome}")
                for item in self.rendered]


def region_html(name: str, parts: Sequence[Markup]) -> Markup:
    return Markup('<div class="ls-region ls-region--{0}" data-region="{0}">{1}</div>').format(
        name, Markup("").join(parts)
    )


def asset_url(widget: str, path: str) -> str:
    """A widget's asset path as a URL: its own static files, or an absolute path as given."""
    if path.startswith("/"):
        return path
    return f"/static/widgets/{widget}/{path}"
