"""What an edit page shows beside its form: a creative's preview in the site's sandbox, a
campaign's line items, an advertiser's campaigns and creatives, links to a line item's report
and to page previews."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from layoutserver.ads.decisions.model import CreativeSpec, Size, SlotSpec
from layoutserver.ads.markup import Links, slot_html
from layoutserver.api.services import ads as ads_service
from layoutserver.console.resources import Resource
from layoutserver.db import get_database

RELATED_LIMIT = 200


def extra_context(resource: Resource, key: str, shown: Mapping[str, Any] | None
                  ) -> dict[str, Any]:
    """The template values of the resource's extra panels."""
    if shown is None:
        return {}
    if resource.kind == "creative":
        return {"creative_preview": creative_preview(shown)}
    if resource.kind == "campaign":
        return {"related": {"line_item": _related("line_item", {"campaign": key})}}
    if resource.kind == "advertiser":
        return {"related": {"campaign": _related("campaign", {"advertiser": key}),
                            "creative": _related("creative", {"advertiser": key})}}
    return {}


def _related(kind: ads_service.Kind, filters: dict[str, Any]) -> list[dict[str, Any]]:
    with get_database().session() as session:
        rows, _ = ads_service.list_items(session, kind, limit=RELATED_LIMIT, filters=filters)
    return rows


def creative_preview(shown: Mapping[str, Any]) -> Markup:
    """The creative as a slot on the site shows it (``ads.markup``: HTML in the same sandboxed
    iframe), with its own click URL and no impression beacon: a preview counts nothing."""
    try:
        size = Size.parse(str(shown["size"]))
    except ValueError:
        return Markup("")
    creative = CreativeSpec(
        id=0, kind=shown["kind"], size=size, click_url=shown["click_url"],
        image_url=shown.get("image_url") or "", alt=shown.get("alt") or "",
        html=shown.get("html") or "", text=shown.get("text") or "",
    )
    slot = SlotSpec(code="preview", name="Preview", sizes={"*": (size,)})
    return slot_html(slot, creative, size, Links(click=creative.click_url, impression=None))
