"""marshmallow schemas of the ad configuration import format (``docs/ads.md``).

Every schema rejects unknown fields (marshmallow's default), so a typo is an error rather than a
silently ignored setting. References between objects (a campaign's advertiser, a line item's
slots and creatives) are names and codes, checked by the importer against the document and the
database.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from layoutserver.ads.decisions.model import SIZE

CODE_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
DEVICES = ("desktop", "tablet", "mobile")
SIZE_KEYS = (*DEVICES, "*")
MAX_INT = 1_000_000_000


def check_size(value: str) -> None:
    match = SIZE.match(value)
    if match is None or int(match.group(1)) == 0 or int(match.group(2)) == 0:
        raise ValidationError("Not a size: use WIDTHxHEIGHT in pixels, e.g. 300x250.")


def check_http_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or _has_space(value):
        raise ValidationError("Not a valid URL: only http:// and https:// URLs are allowed.")


def check_image_url(value: str) -> None:
    """Empty, an http(s) URL or a site-relative path ("//host" and "/\\host" are other
    sites)."""
    if not value or (value.startswith("/") and not value.startswith("//")
                     and not _has_space(value)):
        return
    try:
        check_http_url(value)
    except ValidationError:
        raise ValidationError(
            "Not a valid URL: use http(s):// or a path starting with '/'."
        ) from None


def _has_space(value: str) -> bool:
    return any(c.isspace() or c == "\\" for c in value)


def _code(**kwargs: Any) -> fields.String:
    error = "Not a valid code: use lower-case letters, digits and single hyphens."
    checks = [validate.Length(max=100), validate.Regexp(CODE_PATTERN, error=error)]
    return fields.String(validate=checks, **kwargs)


def _name(**kwargs: Any) -> fields.String:
    """A required, non-empty name (a reference when ``allow_none``/``load_default`` given)."""
    kwargs.setdefault("required", "load_default" not in kwargs)
    return fields.String(validate=validate.Length(min=1, max=200), **kwargs)


def _count(minimum: int, **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=MAX_INT), **kwargs)


def _strings(**kwargs: Any) -> fields.List[str]:
    item = fields.String(validate=validate.Length(min=1, max=200))
    return fields.List(item, load_default=list, **kwargs)


class SlotSchema(Schema):
    code = _code(required=True)
    name = _name()
    sizes = fields.Dict(
        keys=fields.String(validate=validate.OneOf(SIZE_KEYS)),
        values=fields.List(
            fields.String(validate=check_size), validate=validate.Length(min=1)
        ),
        required=True,
        validate=validate.Length(min=1, error="Give the accepted sizes of at least one device."),
    )
    label = fields.String(load_default="- Advertisement -", validate=validate.Length(max=200))
    enabled = fields.Boolean(load_default=True)
    when_empty = fields.String(
        load_default="collapse", validate=validate.OneOf(("collapse", "house"))
    )
    house_creative = _name(load_default=None, allow_none=True)
    lazy = fields.Boolean(load_default=False)
    count_on_render = fields.Boolean(load_default=False)

    @validates_schema
    def _house(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("when_empty") == "house" and not data.get("house_creative"):
            raise ValidationError("A slot that shows a house creative needs one.",
                                  "house_creative")


POPUPS_ESCAPE_SANDBOX = (
    "Let windows that this advertiser's HTML creatives open (a link's target _blank, "
    "window.open) leave the creative's sandbox. Off (the default), such a window stays "
    "sandboxed: an opaque origin, with no cookies, no storage and no access to the opened "
    "site's own data. On, it is an ordinary window of the site it opens, whose scripts run "
    "with that site's full rights: only for an advertiser whose creatives you trust."
)


class AdvertiserSchema(Schema):
    name = _name()
    popups_escape_sandbox = fields.Boolean(
        load_default=False, metadata={"description": POPUPS_ESCAPE_SANDBOX})


class CampaignSchema(Schema):
    name = _name()
    advertiser = _name()


class CreativeSchema(Schema):
    name = _name()
    advertiser = _name(load_default=None, allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(("image", "html", "text")))
    size = fields.String(required=True, validate=check_size)
    click_url = fields.String(required=True, validate=[validate.Length(max=2000), check_http_url])
    image_url = fields.String(load_default="", validate=[validate.Length(max=2000),
                                                         check_image_url])
    alt = fields.String(load_default="", validate=validate.Length(max=500))
    html = fields.String(load_default="", validate=validate.Length(max=100_000))
    text = fields.String(load_default="", validate=validate.Length(max=500))

    @validates_schema
    def _by_kind(self, data: dict[str, Any], **_: Any) -> None:
        kind = data.get("kind")
        needs = {"image": ("image_url", "alt"), "html": ("html",), "text": ("text",)}
        missing = {
            name: [f"Required for a creative of kind {kind}."]
            for name in needs.get(str(kind), ())
            if not data.get(name)
        }
        if missing:
            raise ValidationError(missing)


class DayPartSchema(Schema):
    weekdays = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=0, max=6)),
        load_default=lambda: list(range(7)),
        validate=validate.Length(min=1),
    )
    start_hour = fields.Integer(strict=True, required=True, validate=validate.Range(0, 23))
    end_hour = fields.Integer(strict=True, required=True, validate=validate.Range(1, 24))

    @validates_schema
    def _span(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("start_hour") == data.get("end_hour"):
            raise ValidationError("start_hour and end_hour must differ.", "end_hour")


class GoalSchema(Schema):
    metric = fields.String(required=True, validate=validate.OneOf(("impressions", "clicks")))
    amount = _count(1, required=True)
    period = fields.String(load_default="lifetime", validate=validate.OneOf(("lifetime", "daily")))


class CapSchema(Schema):
    impressions = _count(1, required=True)
    period = fields.String(
        required=True, validate=validate.OneOf(("hour", "day", "week", "flight"))
    )


def _check_path(value: str) -> None:
    if not value.startswith("/"):
        raise ValidationError("A path pattern starts with '/', e.g. /pages/article/*.")


class TargetingSchema(Schema):
    slots = fields.List(_code(), load_default=list)
    page_types = _strings()
    sections = _strings()
    tags = _strings()
    devices = fields.List(fields.String(validate=validate.OneOf(DEVICES)), load_default=list)
    key_values = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=100)),
        values=fields.List(fields.String(validate=validate.Length(max=200)),
                           validate=validate.Length(min=1)),
        load_default=dict,
    )
    paths = fields.List(fields.String(validate=[validate.Length(max=500), _check_path]),
                        load_default=list)


class LineItemSchema(Schema):
    name = _name()
    campaign = _name()
    tier = fields.String(
        required=True, validate=validate.OneOf(("sponsorship", "standard", "house"))
    )
    priority = _count(0, load_default=5)
    start = fields.DateTime(format="iso", required=True)
    end = fields.DateTime(format="iso", required=True)
    dayparts = fields.List(fields.Nested(DayPartSchema), load_default=list)
    goal = fields.Nested(GoalSchema, load_default=None, allow_none=True)
    pacing = fields.String(load_default="even", validate=validate.OneOf(("even", "asap")))
    weight = _count(0, load_default=1)
    caps = fields.List(fields.Nested(CapSchema), load_default=list)
    targeting = fields.Nested(TargetingSchema, load_default=lambda: TargetingSchema().load({}))
    exclusion_labels = _strings()
    roadblock = fields.Boolean(load_default=False)
    status = fields.String(
        load_default="draft", validate=validate.OneOf(("draft", "active", "paused"))
    )
    creatives = fields.List(_name(), load_default=list)

    @validates_schema
    def _flight(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return
        if (start.tzinfo is None) != (end.tzinfo is None):
            raise ValidationError("Give start and end both with a UTC offset or both without.",
                                  "end")
        if end <= start:
            raise ValidationError("Must be after start.", "end")


class AdsDocumentSchema(Schema):
    slots = fields.List(fields.Nested(SlotSchema), load_default=list)
    advertisers = fields.List(fields.Nested(AdvertiserSchema), load_default=list)
    campaigns = fields.List(fields.Nested(CampaignSchema), load_default=list)
    creatives = fields.List(fields.Nested(CreativeSchema), load_default=list)
    line_items = fields.List(fields.Nested(LineItemSchema), load_default=list)
