"""Ad slots, advertisers, campaigns, line items and creatives: read, create, update, delete.

No Flask here: every function takes a SQLAlchemy ``Session`` (the caller's transaction), the
actor's name (for the audit log) and plain, JSON-like dicts. A resource is named as the import
format (``docs/ads.md``) names it: slots by code, everything else by name; references between
them are codes and names too. Input is validated with the import schemas of
:mod:`layoutserver.ads.schemas` and written by the importer
(:class:`~layoutserver.ads.config_import.AdsImport`: the same reference checks, the same row
values), so an object created here is exactly what importing it would create. A
change is recorded in the audit log and bumps the ads config version in the same transaction, so
the next ad decision uses it.

An update is a merge: the fields given replace those shown, and the result is validated as a
whole (so ``end`` must still be after ``start`` when only one of them is given). The key (code or
name) cannot be changed.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Literal

from marshmallow import Schema
from PIL import Image
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from layoutserver.ads.config_import import KINDS as DOCUMENT
from layoutserver.ads.config_import import AdsImport
from layoutserver.ads.models import (
    AdSlot,
    Advertiser,
    Campaign,
    Creative,
    LineItem,
    line_item_creatives,
)
from layoutserver.ads.schemas import (
    AdvertiserSchema,
    CampaignSchema,
    CreativeSchema,
    LineItemSchema,
    SlotSchema,
)
from layoutserver.ads.version import bump_ads_version
from layoutserver.keyset import Page, SortKey, Window, count_up_to, fetch
from layoutserver.services import Conflict, Domain, Dump, Invalid, Resource, ServiceError

Kind = Literal["slot", "advertiser", "campaign", "line_item", "creative"]
Row = AdSlot | Advertiser | Campaign | LineItem | Creative

_RESOURCES: dict[Kind, Resource] = {
    "slot": Resource("slot", AdSlot, SlotSchema, "code", "slots"),
    "advertiser": Resource("advertiser", Advertiser, AdvertiserSchema, "name", "advertisers"),
    "campaign": Resource("campaign", Campaign, CampaignSchema, "name", "campaigns"),
    "line_item": Resource("line_item", LineItem, LineItemSchema, "name", "line_items"),
    "creative": Resource("creative", Creative, CreativeSchema, "name", "creatives"),
}
KINDS: tuple[Kind, ...] = tuple(_RESOURCES)
#: The filters ``list_items`` takes for each kind.
FILTERS: dict[Kind, tuple[str, ...]] = {
    "slot": ("enabled",), "advertiser": (), "campaign": ("advertiser",),
    "line_item": ("campaign", "status", "tier"), "creative": ("advertiser", "kind"),
}


def input_schema(kind: Kind, *, partial: bool = False) -> Schema:
    """The schema a create (or, ``partial``, an update) of ``kind`` validates with."""
    return _RESOURCES[kind].input_schema(partial=partial)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def dump(kind: Kind, row: Row) -> Dump:
    """``row`` as the API shows it: the import format, datetimes as ISO 8601 in UTC."""
    if isinstance(row, AdSlot):
        return {
            "code": row.code, "name": row.name, "sizes": row.sizes, "label": row.label,
            "enabled": row.enabled, "when_empty": row.when_empty,
            "house_creative": row.house_creative.name if row.house_creative else None,
            "lazy": row.lazy, "count_on_render": row.count_on_render,
        }
    if isinstance(row, Advertiser):
        return {"name": row.name, "popups_escape_sandbox": row.popups_escape_sandbox}
    if isinstance(row, Campaign):
        return {"name": row.name, "advertiser": row.advertiser.name}
    if isinstance(row, Creative):
        return {
            "name": row.name, "advertiser": row.advertiser.name if row.advertiser else None,
            "kind": row.kind, "size": f"{row.width}x{row.height}", "click_url": row.click_url,
            "image_url": row.image_url, "alt": row.alt, "html": row.html, "text": row.text,
        }
    goal = None
    if row.goal_metric is not None:
        goal = {"metric": row.goal_metric, "amount": row.goal_amount, "period": row.goal_period}
    return {
        "name": row.name, "campaign": row.campaign.name, "tier": row.tier,
        "priority": row.priority, "start": _utc(row.start), "end": _utc(row.end),
        "dayparts": row.dayparts, "goal": goal, "pacing": row.pacing, "weight": row.weight,
        "caps": row.caps, "targeting": row.targeting, "exclusion_labels": row.exclusion_labels,
        "roadblock": row.roadblock, "status": row.status,
        "creatives": [creative.name for creative in row.creatives],
    }


def _find(session: Session, kind: Kind, key: str, *, lock: bool = False) -> Row:
    row: Row = _RESOURCES[kind].find(session, key, lock=lock)
    return row


def get(session: Session, kind: Kind, key: str, *, lock: bool = False) -> Dump:
    """``kind`` ``key`` as the API shows it; ``NotFound``. ``lock``: see :meth:`Resource.find`."""
    return _DOMAIN.get(session, kind, key, lock=lock)


#: The order of each kind's list: by key (code or name, unique).
ORDERS: dict[Kind, SortKey] = {
    kind: SortKey(resource.doc, (getattr(resource.model, resource.key),))
    for kind, resource in _RESOURCES.items()
}


def list_items(
    session: Session, kind: Kind, window: Window, filters: Mapping[str, Any] | None = None,
) -> Page[Dump]:
    """One page of ``kind`` by key, by keyset (``BadCursor``); ``filters`` (of
    ``FILTERS[kind]``, ``ValueError`` for another) keep the rows whose field equals the value
    given."""
    spec = _RESOURCES[kind]
    query: Select[Any] = select(spec.model)
    for name, value in (filters or {}).items():
        if value is None:
            continue
        if name not in FILTERS[kind]:
            raise ValueError(f"a {kind} has no filter {name!r}")
        query = query.where(_condition(spec.model, name, value))
    return fetch(session, query, ORDERS[kind], window).map(lambda row: dump(kind, row))


def count(session: Session, kind: Kind, at_most: int) -> int:
    """How many of ``kind`` there are, counted up to ``at_most``."""
    return count_up_to(session, select(_RESOURCES[kind].model.id), at_most)


def _condition(model: type[Row], name: str, value: Any) -> Any:
    """A reference filter is the one id its name names (a subquery run once), so the rows are
    read from that advertiser's or campaign's index range."""
    if name == "advertiser":
        advertiser = select(Advertiser.id).where(Advertiser.name == value).scalar_subquery()
        return model.advertiser_id == advertiser  # type: ignore[union-attr]
    if name == "campaign":
        campaign = select(Campaign.id).where(Campaign.name == value).scalar_subquery()
        return LineItem.campaign_id == campaign
    return getattr(model, name) == value


def _load(kind: Kind, data: Any, timezone: tzinfo) -> dict[str, Any]:
    loaded = _RESOURCES[kind].load(data)
    if kind == "line_item":
        for name in ("start", "end"):
            if loaded[name].tzinfo is None:  # as the importer: site-local
                loaded[name] = loaded[name].replace(tzinfo=timezone)
    return loaded


def create(
    session: Session, actor: str, kind: Kind, data: Any, timezone: tzinfo = UTC
) -> Dump:
    """Create a ``kind`` from ``data``; ``Invalid`` or ``Conflict`` (its key is taken).
    A line item's start and end without a UTC offset are in ``timezone`` (the site's)."""
    return _DOMAIN.create(session, actor, kind, _load(kind, data, timezone))


def update(
    session: Session, actor: str, kind: Kind, key: str, data: Any, timezone: tzinfo = UTC
) -> Dump:
    """Change the fields of ``data`` (the others are kept); ``NotFound`` or ``Invalid``.
    An update that changes nothing is not recorded and does not bump the version."""
    return _DOMAIN.update(session, actor, kind, key, data,
                          lambda merged: _load(kind, merged, timezone))


def delete(session: Session, actor: str, kind: Kind, key: str) -> None:
    """Delete a ``kind``; ``NotFound``, or ``Conflict`` while something still names it."""
    row = _find(session, kind, key)
    users = _users(session, row)
    if users:
        raise Conflict(f"{kind.replace('_', ' ')} {key!r} is still used by "
                       + ", ".join(users))
    _DOMAIN.remove(session, actor, kind, key, row)


def _users(session: Session, row: Row) -> list[str]:
    """What still references ``row`` ("campaign 'x'", ...), at most a few of each kind."""
    found: list[str] = []

    def named(kind: str, query: Select[Any]) -> None:
        found.extend(f"{kind} {name!r}" for name in session.scalars(query.limit(5)))

    if isinstance(row, Advertiser):
        named("campaign", select(Campaign.name).where(Campaign.advertiser_id == row.id))
        named("creative", select(Creative.name).where(Creative.advertiser_id == row.id))
    elif isinstance(row, Campaign):
        named("line item", select(LineItem.name).where(LineItem.campaign_id == row.id))
    elif isinstance(row, Creative):
        named("line item", select(LineItem.name).join(
            line_item_creatives, line_item_creatives.c.line_item_id == LineItem.id,
        ).where(line_item_creatives.c.creative_id == row.id))
        named("slot", select(AdSlot.code).where(AdSlot.house_creative_id == row.id))
    elif isinstance(row, AdSlot):
        found.extend(
            f"line item {item.name!r}" for item in session.scalars(select(LineItem))
            if row.code in item.targeting.get("slots", ())
        )
    return found


def _bump(session: Session, kind: Kind, key: str) -> None:
    bump_ads_version(session)


_DOMAIN = Domain(_RESOURCES, AdsImport, DOCUMENT, dump, _bump)


# -- creative images --------------------------------------------------------------------------

#: The image types an upload may have, by their magic bytes (WebP: see ``sniff_image``).
IMAGE_TYPES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"), (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
#: The media type each stored extension is served with.
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


class TooLarge(ServiceError):
    """The upload is over the size limit."""


class Unsupported(ServiceError):
    """The upload is not an image of an accepted type."""


def sniff_image(data: bytes) -> str | None:
    """The extension of ``data``'s image type by its magic bytes (PNG, JPEG, GIF, WebP), or
    None. SVG is never one: it is XML that can carry scripts and links."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for magic, extension in IMAGE_TYPES:
        if data.startswith(magic):
            return extension
    return None


#: Pillow's name of each accepted format, by extension.
PILLOW_FORMATS = {"png": "PNG", "jpg": "JPEG", "gif": "GIF", "webp": "WEBP"}


def image_size(data: bytes, extension: str) -> tuple[int, int]:
    """The width and height ``data`` declares, read by Pillow from its header (and checked as
    a whole: a truncated or corrupt file is refused); ``Unsupported`` when it does not decode
    as the type its first bytes claim."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            size, found = image.size, image.format
            image.verify()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise Unsupported(f"not a readable {extension.upper()} image ({error})") from None
    if found != PILLOW_FORMATS[extension]:
        raise Unsupported(f"its first bytes say {extension.upper()}, its content {found}")
    return size


def image_filename(data: bytes, max_side: int | None = None) -> str:
    """The name an accepted image is stored under: its SHA-256 and its type's extension, so the
    URL of a file never changes what it shows (and may be cached for good). With ``max_side``,
    an image wider or taller than that many pixels is ``Invalid``."""
    extension = sniff_image(data)
    if extension is None:
        raise Unsupported("not a PNG, JPEG, GIF or WebP image")
    width, height = image_size(data, extension)
    if max_side is not None and max(width, height) > max_side:
        raise Invalid({"file": [f"The image is {width}x{height} pixels; at most {max_side} "
                                "on a side are allowed."]})
    return f"{hashlib.sha256(data).hexdigest()}.{extension}"


def store_image(
    session: Session, actor: str, name: str, data: bytes, *, directory: Path, url_prefix: str,
    max_bytes: int, max_side: int | None = None,
) -> Dump:
    """Store ``data`` as creative ``name``'s image (in ``directory``, served at
    ``url_prefix/<file name>``) and point its ``image_url`` at it. ``NotFound``; ``TooLarge``;
    ``Unsupported`` for anything but PNG, JPEG, GIF or WebP by its magic bytes (SVG is
    refused, not sanitized), or that does not decode as one; ``Invalid`` for an empty file, an
    image over ``max_side`` pixels on a side, or a creative not of kind image."""
    row = _find(session, "creative", name)
    assert isinstance(row, Creative)
    if len(data) > max_bytes:
        raise TooLarge(f"the image is {len(data)} bytes; at most {max_bytes} are allowed")
    if not data:
        raise Invalid({"file": ["The file is empty."]})
    filename = image_filename(data, max_side)
    if row.kind != "image":
        raise Invalid({"file": [f"Creative {name!r} is of kind {row.kind}, not image."]})
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / filename
    if not target.exists():  # the same bytes, the same name: nothing to rewrite
        partial = directory / f".{filename}.{os.getpid()}.part"
        partial.write_bytes(data)
        os.replace(partial, target)
    before = dump("creative", row)
    row.image_url = f"{url_prefix.rstrip('/')}/{filename}"
    session.flush()
    after = dump("creative", row)
    if after != before:
        _DOMAIN.changed(session, actor, "update", "creative", name, before, after)
    return after
