"""Explain, for ad ops: ``GET /api/v1/explain`` and ``GET /ads/explain`` (one blueprint,
registered at both), for each ad slot of a page, every line item considered and why it was or
was not chosen (:func:`layoutserver.ads.explain.explain_page`). Nothing is counted. The
``explain`` area (``adops``, ``admin``).

Both take the same query: ``slots`` and ``tags`` repeated or comma-separated, key-values as
``kv=key=value`` (repeatable) or ``kv.<key>=<value>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, post_load, pre_load, validate

from layoutserver.ads.explain import NEW_READER, ExplainQuery, UnknownPageType, explain_page
from layoutserver.ads.extension import get_ads
from layoutserver.ads.schemas import DEVICES
from layoutserver.api.auth import require
from layoutserver.api.headers import no_store
from layoutserver.core import get_core
from layoutserver.render.request_view import device_class

blp = Blueprint("explain", __name__, url_prefix="/explain",
                description="Why each line item won or lost each slot of a page (ad ops).")
blp.after_request(no_store)

KV_PREFIX = "kv."


class CommaList(fields.List[str]):
    """A repeatable query parameter whose values may each hold several, comma-separated
    (``slots=a,b&slots=c``); blanks are dropped."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        values = value if isinstance(value, list | tuple) else [value]
        if all(isinstance(item, str) for item in values):
            value = [part.strip() for item in values for part in item.split(",")
                     if part.strip()]
        return super()._deserialize(value, attr, data, **kwargs)


class ExplainArgs(Schema):
    page_type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    slug = fields.String(load_default="", validate=validate.Length(max=200))
    device = fields.String(validate=validate.OneOf(DEVICES), metadata={
        "description": "Default: the request's device class."})
    slots = CommaList(fields.String(validate=validate.Length(min=1, max=100)), metadata={
        "description": "Slot codes; default: the slots the page type's layout declares."})
    section = fields.String(validate=validate.Length(max=200), metadata={
        "description": "Default: the section of the slug's article; empty: none."})
    tags = CommaList(fields.String(validate=validate.Length(max=100)), metadata={
        "description": "Default: the tags of the slug's article."})
    path = fields.String(validate=validate.Length(max=2000))
    kv = fields.List(fields.String(validate=validate.Regexp(r"^[^=]+=.*$")), metadata={
        "description": "Request key-values, each key=value (or give kv.<key>=<value>)."})
    user_key = fields.String(load_default=NEW_READER, validate=validate.Length(max=128),
                             metadata={"description": "A reader's key; empty: no key. "
                                                      "Default: a reader with no history."})

    @pre_load
    def _prefixed_key_values(self, data: Mapping[str, Any], **_: Any) -> Mapping[str, Any]:
        """``kv.<key>=<value>`` parameters join ``kv`` as ``<key>=<value>``."""
        prefixed = [f"{key[len(KV_PREFIX):]}={data[key]}" for key in data
                    if key.startswith(KV_PREFIX)]
        if not prefixed:
            return data
        plain = {key: data[key] for key in data if not key.startswith(KV_PREFIX)}
        return {**plain, "kv": [*plain.get("kv", ()), *prefixed]}

    @post_load
    def _typed(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        pairs = (pair.partition("=") for pair in data.pop("kv", ()))
        data["key_values"] = {key: value for key, _, value in pairs}
        if "slots" in data:
            data["slots"] = tuple(data["slots"])
        if "tags" in data:
            data["tags"] = frozenset(data["tags"])
        data["user_key"] = data["user_key"] or None
        return data


class Considered(Schema):
    line_item_id = fields.Integer()
    name = fields.String()
    chosen = fields.Boolean()
    reason = fields.String()


class ExplainedDecision(Schema):
    line_item_id = fields.Integer(allow_none=True, metadata={
        "description": "None for a slot's house creative shown because nothing was eligible."})
    creative_id = fields.Integer(attribute="creative.id")
    size = fields.String(allow_none=True)
    house = fields.Boolean()


class SlotExplained(Schema):
    slot = fields.String()
    status = fields.String(metadata={"description": "ok, disabled or unknown slot"})
    decision = fields.Nested(ExplainedDecision, allow_none=True)
    considered = fields.List(fields.Nested(Considered))


class SortedList(fields.List[str]):
    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return super()._serialize(None if value is None else sorted(value), attr, obj,
                                  **kwargs)


class ExplainedPage(Schema):
    page_type = fields.String()
    slug = fields.String()
    section = fields.String(allow_none=True)
    tags = SortedList(fields.String())
    device = fields.String()
    path = fields.String()
    key_values = fields.Dict(keys=fields.String(), values=fields.String())
    user_key = fields.String(allow_none=True)
    now = fields.DateTime()


class Explained(Schema):
    page = fields.Nested(ExplainedPage)
    config_version = fields.Raw()
    slots = fields.List(fields.Nested(SlotExplained))


@blp.route("")
class Explain(MethodView):
    @require(blp, "explain")
    @blp.arguments(ExplainArgs, location="query")
    @blp.response(200, Explained)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, args: dict[str, Any]) -> Any:
        """Explain the ad decision of a page: nothing is counted. 404 for a page type without
        a layout when no ``slots`` are given."""
        device = args.pop("device", None) or device_class(
            request, current_app.config["DEVICE_HEADER"])
        try:
            return explain_page(ExplainQuery(device=device, **args), get_core(), get_ads())
        except UnknownPageType as error:
            abort(404, message=str(error))


BLUEPRINTS = (blp,)
