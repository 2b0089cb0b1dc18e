"""What an edit page shows beside its form: a creative's preview in the site's sandbox, a
campaign's line items, an advertiser's campaigns and creatives, and (for admins, who may read
the audit log) who changed it lately and what."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from layoutserver.ads import config_service as ads_service
from layoutserver.ads.decisions.model import CreativeSpec, Size, SlotSpec
from layoutserver.ads.markup import Links, slot_html
from layoutserver.auth.audit import audit_entries
from layoutserver.console.access import may
from layoutserver.console.resources import Resource
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.keyset import Window

RELATED_LIMIT = 200
HISTORY_LIMIT = 10


def extra_context(resource: Resource, key: str, shown: Mapping[str, Any] | None
                  ) -> dict[str, Any]:
    """The template values of the resource's extra panels, and its recent history for the
    roles that may read the audit log."""
    if shown is None:
        return {}
    found: dict[str, Any] = {"history": history(resource.kind, key) if may("audit") else None}
    if resource.kind == "slot":
        found["placements"] = placements(key)
    elif resource.kind == "creative":
        found["creative_preview"] = creative_preview(shown)
    elif resource.kind == "campaign":
        found["related"] = {"line_item": _related("line_item", {"campaign": key})}
    elif resource.kind == "advertiser":
        found["related"] = {"campaign": _related("campaign", {"advertiser": key}),
                            "creative": _related("creative", {"advertiser": key})}
    return found


@dataclass(frozen=True)
class Change:
    at: str
    actor: str
    action: str
    fields: list[str]
    """The fields an update changed."""


def history(kind: str, key: str) -> list[Change]:
    """The latest changes of the resource, newest first, from the audit log."""
    timezone = get_core().timezone
    with get_database().session() as session:
        entries = audit_entries(session, resource_type=kind, resource_id=key,
                                limit=HISTORY_LIMIT)
        return [Change(entry.at.astimezone(timezone).strftime("%Y-%m-%d %H:%M"), entry.actor,
                       entry.action, _changed_fields(entry.before, entry.after))
                for entry in entries]


def _changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
                    ) -> list[str]:
    if before is None or after is None:
        return []
    return sorted(name for name in {*before, *after} if before.get(name) != after.get(name))


def placements(code: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(page type, placement id, the sections of its variant: none for the layout's own
    regions) of each placement that fills slot ``code``, in every layout."""
    found: list[tuple[str, str, tuple[str, ...]]] = []
    for layout in get_core().layouts:
        scopes = [((), layout.regions),
                  *((variant.sections, variant.regions) for variant in layout.variants)]
        found += [(layout.page_type, placement.id, sections)
                  for sections, regions in scopes for region in regions
                  for placement in region.placements if code in placement.ad_slots]
    return found


def _related(kind: ads_service.Kind, filters: dict[str, Any]) -> list[dict[str, Any]]:
    with get_database().session() as session:
        return ads_service.list_items(session, kind, Window(RELATED_LIMIT), filters).items


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
