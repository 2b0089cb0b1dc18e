"""marshmallow schemas of the ad configuration import format (``docs/ads.md``).

Every schema rejects unknown fields (marshmallow's default), so a typo is an error rather than a
silently ignored setting. References between objects (a campaign's advertiser, a line item's
slots and creatives) are names and codes, checked by the importer against the document and the
database.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from layoutserver.validation import HTTP_URL, SITE_URL, notes, pattern, references, rule

CODE_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
DEVICES = ("desktop", "tablet", "mobile")
SIZE_KEYS = (*DEVICES, "*")
MAX_INT = 1_000_000_000

#: The most items a list may hold (and keys a mapping), by what it lists: far above any real
#: configuration, low enough that one line item stays a few hundred kilobytes at most. Every
#: text has its own maximum length too, within its database column where it has one
#: (``layoutserver/ads/models.py``); all of them show in the OpenAPI document.
MAX_SIZES = 20
"""Accepted sizes per device of a slot."""
MAX_TARGETS = 200
"""Slots, page types, sections, tags, paths of a line item's targeting; its creatives."""
MAX_KEYS = 50
"""Keys of a line item's targeting key-values."""
MAX_VALUES = 100
"""Values of one targeting key."""
MAX_DAYPARTS = 50
MAX_CAPS = 10
MAX_LABELS = 50
"""Exclusion labels of a line item."""
MAX_SIZE_TEXT = 9
"""``WIDTHxHEIGHT``, each at most four digits."""
MAX_HTML = 100_000
"""An html creative's markup, in characters."""
URL_ERROR = "Not a valid URL: only http:// and https:// URLs are allowed."
IMAGE_URL_ERROR = "Not a valid URL: use http(s):// or a path starting with '/'."


#: One side of a size: 1 to 9999 pixels in at most four digits (leading zeros allowed).
_SIDE = r"(?:[1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9])"
SIZE_PATTERN = rf"^{_SIDE}x{_SIDE}$"
SIZE_ERROR = "Not a size: use WIDTHxHEIGHT in pixels, e.g. 300x250."
IMAGE_URL = rf"^$|{SITE_URL}"
"""Empty, an http(s) URL or a site-relative path."""


def _code(**kwargs: Any) -> fields.String:
    error = "Not a valid code: use lower-case letters, digits and single hyphens."
    checks = [validate.Length(max=100), pattern(CODE_PATTERN, error)]
    return fields.String(validate=checks, **kwargs)


def _name(**kwargs: Any) -> fields.String:
    """A required, non-empty name (a reference when ``allow_none``/``load_default`` given)."""
    kwargs.setdefault("required", "load_default" not in kwargs)
    return fields.String(validate=validate.Length(min=1, max=200), **kwargs)


def _count(minimum: int, **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=MAX_INT), **kwargs)


def _strings(max_items: int = MAX_TARGETS, **kwargs: Any) -> fields.List[str]:
    item = fields.String(validate=validate.Length(min=1, max=200))
    return fields.List(item, load_default=list, validate=validate.Length(max=max_items),
                       **kwargs)


def _size(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=[validate.Length(max=MAX_SIZE_TEXT), pattern(SIZE_PATTERN, SIZE_ERROR)], **kwargs)


class SlotSchema(Schema):
    code = _code(required=True)
    name = _name()
    sizes = fields.Dict(
        keys=fields.String(validate=validate.OneOf(SIZE_KEYS)),
        values=fields.List(_size(), validate=validate.Length(min=1, max=MAX_SIZES)),
        required=True,
        validate=validate.Length(min=1, error="Give the accepted sizes of at least one device."),
        metadata={
            "description": "Accepted sizes by device; `*` for any other device.",
            "properties": {key: {"type": "array", "minItems": 1, "maxItems": MAX_SIZES,
                                 "items": {"type": "string", "maxLength": MAX_SIZE_TEXT,
                                           "pattern": SIZE_PATTERN}}
                           for key in SIZE_KEYS},
        },
    )
    label = fields.String(load_default="- Advertisement -", validate=validate.Length(max=200))
    enabled = fields.Boolean(load_default=True)
    when_empty = fields.String(
        load_default="collapse", validate=validate.OneOf(("collapse", "house"))
    )
    house_creative = _name(load_default=None, allow_none=True, metadata=notes(
        references("a creative's name"),
        rule("Required when when_empty is house; the creative's size must be one the slot "
             "accepts.")))
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
    advertiser = _name(metadata=references("an advertiser's name"))


class CreativeSchema(Schema):
    name = _name()
    advertiser = _name(load_default=None, allow_none=True,
                       metadata=references("an advertiser's name"))
    kind = fields.String(required=True, validate=validate.OneOf(("image", "html", "text")))
    size = _size(required=True)
    click_url = fields.String(required=True, validate=[
        validate.Length(max=2000), pattern(HTTP_URL, URL_ERROR)])
    image_url = fields.String(
        load_default="",
        validate=[validate.Length(max=2000), pattern(IMAGE_URL, IMAGE_URL_ERROR)],
        metadata=rule("May be empty for a creative of kind image until its image is uploaded "
                      "(POST /api/v1/creatives/<name>/image); a creative without an image "
                      "does not serve."))
    alt = fields.String(load_default="", validate=validate.Length(max=500),
                        metadata=rule("Required (not empty) for a creative of kind image."))
    html = fields.String(load_default="", validate=validate.Length(max=MAX_HTML),
                         metadata=rule("Required (not empty) for a creative of kind html."))
    text = fields.String(load_default="", validate=validate.Length(max=500),
                         metadata=rule("Required (not empty) for a creative of kind text."))

    @validates_schema
    def _by_kind(self, data: dict[str, Any], **_: Any) -> None:
        kind = data.get("kind")
        # an image creative's image_url may come later, by upload (not served until then)
        needs = {"image": ("alt",), "html": ("html",), "text": ("text",)}
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
        validate=validate.Length(min=1, max=7),
    )
    start_hour = fields.Integer(strict=True, required=True, validate=validate.Range(0, 23))
    end_hour = fields.Integer(strict=True, required=True, validate=validate.Range(1, 24),
                              metadata=rule("Differs from start_hour."))

    @validates_schema
    def _span(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("start_hour") == data.get("end_hour"):
            raise ValidationError("start_hour and end_hour must differ.", "end_hour")


class GoalSchema(Schema):
    metric = fields.String(required=True,
                           validate=validate.OneOf(("impressions", "viewable", "clicks")),
                           metadata={"description": "viewable: viewable impressions "
                                                    "(docs/viewability.md)."})
    amount = _count(1, required=True)
    period = fields.String(load_default="lifetime", validate=validate.OneOf(("lifetime", "daily")))


class CapSchema(Schema):
    impressions = _count(1, required=True)
    period = fields.String(
        required=True, validate=validate.OneOf(("hour", "day", "week", "flight"))
    )


PATH_ERROR = "A path pattern starts with '/', e.g. /pages/article/*."


class TargetingSchema(Schema):
    slots = fields.List(_code(), load_default=list, validate=validate.Length(max=MAX_TARGETS),
                        metadata=references("ad slots' codes"))
    page_types = _strings()
    sections = _strings()
    tags = _strings()
    devices = fields.List(fields.String(validate=validate.OneOf(DEVICES)), load_default=list,
                          validate=validate.Length(max=len(DEVICES)))
    key_values = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=100)),
        values=fields.List(fields.String(validate=validate.Length(max=200)),
                           validate=validate.Length(min=1, max=MAX_VALUES)),
        load_default=dict,
        validate=validate.Length(max=MAX_KEYS),
        metadata=rule("Keys of 1 to 100 characters."),
    )
    paths = fields.List(fields.String(validate=[validate.Length(max=500),
                                                pattern(r"^/[\s\S]*$", PATH_ERROR)]),
                        load_default=list, validate=validate.Length(max=MAX_TARGETS))


class LineItemSchema(Schema):
    name = _name()
    campaign = _name(metadata=references("a campaign's name"))
    tier = fields.String(
        required=True, validate=validate.OneOf(("sponsorship", "standard", "house"))
    )
    priority = _count(0, load_default=5)
    start = fields.DateTime(format="iso", required=True)
    end = fields.DateTime(format="iso", required=True, metadata=rule(
        "After start; start and end both with a UTC offset or both without."))
    dayparts = fields.List(fields.Nested(DayPartSchema), load_default=list,
                           validate=validate.Length(max=MAX_DAYPARTS))
    goal = fields.Nested(GoalSchema, load_default=None, allow_none=True)
    pacing = fields.String(load_default="even", validate=validate.OneOf(("even", "asap")))
    weight = _count(0, load_default=1)
    caps = fields.List(fields.Nested(CapSchema), load_default=list,
                       validate=validate.Length(max=MAX_CAPS))
    targeting = fields.Nested(TargetingSchema, load_default=lambda: TargetingSchema().load({}))
    exclusion_labels = _strings(MAX_LABELS)
    roadblock = fields.Boolean(load_default=False)
    status = fields.String(
        load_default="draft", validate=validate.OneOf(("draft", "active", "paused"))
    )
    creatives = fields.List(_name(), load_default=list, validate=validate.Length(max=MAX_TARGETS),
                            metadata=references("creatives' names"))

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
