"""``/api/v1/explain``: for each ad slot of a page, every line item considered and why it was or
was not chosen, as ``/ads/explain`` answers it (:func:`layoutserver.ads.api.explain_report`),
documented in the OpenAPI document. For ad ops: the ``explain`` area (``adops``, ``admin``)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from layoutserver.ads.api import explain_report
from layoutserver.api.auth import require

blp = Blueprint("explain", __name__, url_prefix="/explain",
                description="Why each line item won or lost each slot of a page (ad ops).")


class ExplainQuery(Schema):
    page_type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    slug = fields.String(load_default="", validate=validate.Length(max=200))
    device = fields.String(validate=validate.OneOf(("desktop", "tablet", "mobile")))
    slots = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                        metadata={"description": "Slot codes; default: the layout's ad spots."})
    section = fields.String(validate=validate.Length(max=200))
    tags = fields.List(fields.String(validate=validate.Length(max=100)))
    path = fields.String(validate=validate.Length(max=500))
    kv = fields.List(fields.String(validate=validate.Regexp(r"^[^=]+=.*$")),
                     metadata={"description": "Request key-values, each key=value."})
    user_key = fields.String(validate=validate.Length(max=128),
                             metadata={"description": "A reader's key; empty: no key."})


class Considered(Schema):
    line_item_id = fields.Integer()
    name = fields.String()
    chosen = fields.Boolean()
    reason = fields.String()


class SlotExplained(Schema):
    slot = fields.String()
    status = fields.String()
    decision = fields.Dict(allow_none=True)
    considered = fields.List(fields.Nested(Considered))


class Explained(Schema):
    page = fields.Dict()
    config_version = fields.Raw()
    slots = fields.List(fields.Nested(SlotExplained))


@blp.route("")
class Explain(MethodView):
    @require(blp, "explain")
    @blp.arguments(ExplainQuery, location="query")
    @blp.response(200, Explained)
    def get(self, query: dict[str, Any]) -> Any:
        """Explain the ad decision of a page: nothing is counted."""
        args: dict[str, str] = {"page_type": query["page_type"], "slug": query["slug"]}
        for name in ("device", "section", "path", "user_key"):
            if name in query:
                args[name] = query[name]
        for name in ("slots", "tags"):
            if name in query:
                args[name] = ",".join(query[name])
        for pair in query.get("kv", []):
            key, _, value = pair.partition("=")
            args[f"kv.{key}"] = value
        return explain_report(args)


BLUEPRINTS = (blp,)
