"""The API's schemas: the content and ads import schemas, as created, updated and shown."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from layoutserver.ads.schemas import (
    AdvertiserSchema,
    CampaignSchema,
    CreativeSchema,
    LineItemSchema,
    SlotSchema,
)
from layoutserver.auth.audit import ACTIONS
from layoutserver.content.schemas import (
    ArticleSchema,
    AuthorSchema,
    EditorialListSchema,
    SectionSchema,
)
from layoutserver.layouts.model import REGION_ELEMENTS
from layoutserver.widgets import DEVICE_CLASSES

#: A filter longer than any name or slug matches nothing: refused (422) instead.
_FILTER = validate.Length(max=200)


class _Partial(Schema):
    """Every field optional: an update changes the fields it gives."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)


class Section(SectionSchema):
    pass


class SectionUpdate(_Partial, SectionSchema):
    class Meta:
        exclude = ("slug",)


class Author(AuthorSchema):
    pass


class AuthorUpdate(_Partial, AuthorSchema):
    class Meta:
        exclude = ("slug",)


class ArticleCreate(ArticleSchema):
    pass


class Article(ArticleSchema):
    # Shown as the service dumps them (already ISO 8601 strings with an offset).
    published_at = fields.String(  # type: ignore[assignment]
        required=True, metadata={"format": "date-time"})
    modified_at = fields.String(  # type: ignore[assignment]
        allow_none=True, metadata={"format": "date-time",
                                   "description": ArticleSchema().fields["modified_at"]
                                   .metadata["description"]})


class ArticleUpdate(_Partial, ArticleSchema):
    class Meta:
        exclude = ("slug",)


class EditorialList(EditorialListSchema):
    pass


class EditorialListUpdate(_Partial, EditorialListSchema):
    class Meta:
        exclude = ("name",)


class ArticleQuery(Schema):
    section = fields.String(validate=_FILTER, metadata={"description": "A section's slug."})
    author = fields.String(validate=_FILTER, metadata={"description": "An author's slug."})
    tag = fields.String(validate=_FILTER)
    published_after = fields.AwareDateTime(
        format="iso", metadata={"description": "Inclusive, with a UTC offset."})
    published_before = fields.AwareDateTime(
        format="iso", metadata={"description": "Exclusive, with a UTC offset."})


class AuditQuery(Schema):
    resource_type = fields.String(validate=_FILTER)
    resource_id = fields.String(validate=_FILTER)
    actor = fields.String(validate=_FILTER)


class AuditEntry(Schema):
    id = fields.Integer()
    at = fields.AwareDateTime(format="iso")
    actor = fields.String()
    action = fields.String(metadata={"enum": list(ACTIONS)})
    resource_type = fields.String()
    resource_id = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


class Placement(Schema):
    id = fields.String()
    widget = fields.String()
    available = fields.Boolean(metadata={
        "description": "False: the widget failed to load or is not installed; the placement "
                       "renders empty."})
    devices = fields.List(fields.String(metadata={"enum": list(DEVICE_CLASSES)}),
                          allow_none=True, metadata={
        "description": "The device classes it is shown to; null: every one."})
    inside = fields.String(allow_none=True, metadata={
        "description": "The id of the placement of its region it sits inside (null: none)."})
    position = fields.String(allow_none=True, metadata={
        "description": "The inner position it fills there (``after-paragraph-3``)."})


class Region(Schema):
    name = fields.String()
    element = fields.String(metadata={"enum": list(REGION_ELEMENTS)})
    label = fields.String(allow_none=True)
    placements = fields.List(fields.Nested(Placement))


class Variant(Schema):
    name = fields.String()
    sections = fields.List(fields.String(), metadata={
        "description": "The section slugs whose pages follow the variant."})
    regions = fields.List(fields.Nested(Region), metadata={
        "description": "The regions that replace the layout's own of the same names on those "
                       "pages, each with its element and label (the replaced region's unless "
                       "it gives its own)."})


class Layout(Schema):
    page_type = fields.String()
    subject = fields.String()
    title = fields.String()
    regions = fields.List(fields.Nested(Region))
    variants = fields.List(fields.Nested(Variant), metadata={
        "description": "The section variants (docs/layouts.md); empty: none."})


class WidgetOption(Schema):
    name = fields.String()
    type = fields.String()
    required = fields.Boolean()
    default = fields.Raw(allow_none=True)


class Widget(Schema):
    name = fields.String()
    version = fields.String()
    description = fields.String()
    distribution = fields.String()
    distribution_version = fields.String()
    options = fields.List(fields.Nested(WidgetOption))


# -- ads --------------------------------------------------------------------------------------


class AdSlot(SlotSchema):
    pass


class AdSlotUpdate(_Partial, SlotSchema):
    class Meta:
        exclude = ("code",)


class Advertiser(AdvertiserSchema):
    pass


class AdvertiserUpdate(_Partial, AdvertiserSchema):
    class Meta:
        exclude = ("name",)


class Campaign(CampaignSchema):
    pass


class CampaignUpdate(_Partial, CampaignSchema):
    class Meta:
        exclude = ("name",)


class Creative(CreativeSchema):
    pass


class CreativeUpdate(_Partial, CreativeSchema):
    class Meta:
        exclude = ("name",)


class LineItemCreate(LineItemSchema):
    pass


class LineItem(LineItemSchema):
    # Shown as the service dumps them (ISO 8601 strings in UTC).
    start = fields.String(  # type: ignore[assignment]
        required=True, metadata={"format": "date-time"})
    end = fields.String(  # type: ignore[assignment]
        required=True, metadata={"format": "date-time"})


class LineItemUpdate(_Partial, LineItemSchema):
    class Meta:
        exclude = ("name",)


class AdSlotQuery(Schema):
    enabled = fields.Boolean()


class CampaignQuery(Schema):
    advertiser = fields.String(validate=_FILTER,
                               metadata={"description": "An advertiser's name."})


class LineItemQuery(Schema):
    campaign = fields.String(validate=_FILTER, metadata={"description": "A campaign's name."})
    status = fields.String(validate=validate.OneOf(("draft", "active", "paused")))
    tier = fields.String(validate=validate.OneOf(("sponsorship", "standard", "house")))


class CreativeQuery(Schema):
    advertiser = fields.String(validate=_FILTER,
                               metadata={"description": "An advertiser's name."})
    kind = fields.String(validate=validate.OneOf(("image", "html", "text")))
