"""An ad slot: its share of the page's ad decision, with label and reserved size.

All ad spots of a page are decided together in ``prepare_page`` (so competitive exclusion and
roadblocks hold across the page), then each renders its slot's share. The output is per request:
the rest of the page stays cacheable, and an edge cache including this widget's own URL by ESI
gets it uncached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import Schema, fields, validate

from layoutserver.widgets import (
    AD_SLOT_CODE,
    Assets,
    CachePolicy,
    Markup,
    PageContext,
    PlacementRequest,
    RenderContext,
    Rendered,
    ServedAd,
    Widget,
)

from . import STATIC_FOLDER


class AdSpotOptions(Schema):
    slot = fields.String(
        required=True,
        validate=validate.Regexp(AD_SLOT_CODE, error="Not a valid slot code."),
        metadata={"description": "The code of the ad slot it shows (Ads: Slots), such as "
                                 "article-1: its sizes, label and targeting are the slot's."},
    )


class AdSpot(Widget):
    name = "ad_spot"
    version = "1.0"
    description = "One ad slot, decided with the page's other slots; collapses when empty."
    options_schema = AdSpotOptions
    cache_policy = CachePolicy.per_request()
    # the ads part's script: lazy slots rendered near the viewport, viewability measured
    assets = Assets(css=("ad_spot.css",), js=("/ads/viewability.js",))
    static_folder = STATIC_FOLDER
    # A failed decision collapses the slot rather than showing a broken box.
    fallback = ""

    @classmethod
    def ad_slots(cls, options: Any) -> Sequence[str]:
        return (options["slot"],)

    @classmethod
    def prepare_page(
        cls, page: PageContext, placements: Sequence[PlacementRequest]
    ) -> Mapping[str, Any]:
        if page.ads is None:
            return {}
        served = page.ads.decide_page(page, [p.options["slot"] for p in placements])
        # Each slot's markup is ready here: handed back as Rendered, render is not called.
        return {p.placement_id: Rendered(_html(served.get(p.options["slot"])))
                for p in placements}

    def render(self, ctx: RenderContext, options: Any) -> Markup:
        """Only when the whole-page step gave nothing (no ad server, or it failed)."""
        return _html(ctx.prepared)


def _html(served: Any) -> Markup:
    return served.html if isinstance(served, ServedAd) else Markup("")
