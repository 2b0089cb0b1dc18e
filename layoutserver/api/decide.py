"""``POST /ads/decide``, the client-side path (``ads.js``): a page's slots and context in, one
decision per slot out (html, size, impression and click URLs, all absolute). Public: no token.

Like every page this server assembles, it may make the reader a user key, set as a cookie after
the request (``layoutserver.ads.reader``) unless consent denies storage.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from layoutserver.ads import reader
from layoutserver.ads.decisions.model import PageRequest
from layoutserver.ads.explain import MAX_SLOTS
from layoutserver.ads.extension import get_ads
from layoutserver.ads.reader import USER_KEY
from layoutserver.ads.schemas import CODE_PATTERN, DEVICES
from layoutserver.api.decide_memo import MemoParser, known_body
from layoutserver.api.headers import no_store
from layoutserver.core import get_core
from layoutserver.render.request_view import device_class, storage_consent
from layoutserver.validation import pattern, rule


class DecideBlueprint(Blueprint):  # type: ignore[misc]
    """Bodies validated before are answered from the app's memo (``api/decide_memo.py``); a body
    naming a user key is one reader's, and is not kept."""

    ARGUMENTS_PARSER = MemoParser(admit=lambda parsed: parsed["user_key"] is None)


blp = DecideBlueprint("decide", __name__, url_prefix="/ads/decide",
                      description="Ad decisions for pages this server does not assemble "
                                  "(public).")
blp.after_request(no_store)


class Page(Schema):
    page_type = fields.String(load_default="", validate=validate.Length(max=100))
    slug = fields.String(load_default="", validate=validate.Length(max=200))
    section = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    tags = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list,
                       validate=validate.Length(max=50))
    path = fields.String(load_default="/", validate=[
        validate.Length(max=2000),
        validate.Regexp(r"^/", error="A path starts with '/'."),
    ])
    key_values = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=100)),
                             values=fields.String(validate=validate.Length(max=500)),
                             load_default=dict, validate=validate.Length(max=50),
                             metadata=rule("Keys of 1 to 100 characters."))


class DecideRequest(Schema):
    page = fields.Nested(Page, required=True)
    slots = fields.List(
        fields.String(validate=pattern(CODE_PATTERN, "Not a slot code.")),
        required=True, validate=validate.Length(min=1, max=MAX_SLOTS))
    device = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(DEVICES),
                           metadata={"description": "Default: the request's device class."})
    user_key = fields.String(load_default=None, allow_none=True, validate=pattern(
        USER_KEY.pattern, "Not a user key: 8 to 128 letters, digits, '_', '-', '.' or ':'."))


#: One instance for every request: webargs would make one per request from the class.
DECIDE_REQUEST = DecideRequest()


class Decision(Schema):
    slot = fields.String()
    html = fields.String()
    size = fields.String(allow_none=True)
    empty = fields.Boolean()
    impression_url = fields.String(allow_none=True)
    click_url = fields.String(allow_none=True)
    viewability_url = fields.String(allow_none=True, metadata={
        "description": "Where ads.js reports the impression measurable (?s=m) and viewable."})
    line_item_id = fields.Integer(allow_none=True)
    creative_id = fields.Integer(allow_none=True)


class Decisions(Schema):
    decisions = fields.List(fields.Nested(Decision), metadata={
        "description": "One per slot, in the order asked."})


def json_object(view: Callable[..., Any]) -> Callable[..., Any]:
    """400 for a body that is not a JSON object, before its fields are validated (422)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not known_body() and not isinstance(request.get_json(silent=True), dict):
            abort(400, message="Send a JSON object (Content-Type: application/json).")
        return view(*args, **kwargs)

    return wrapper


@blp.route("")
class Decide(MethodView):
    @blp.doc(security=[])
    @json_object
    @blp.arguments(DECIDE_REQUEST)
    @blp.response(200, Decisions)
    @blp.alt_response(400, response="BAD_REQUEST")
    def post(self, body: dict[str, Any]) -> Any:
        """Decide a page's slots together (page rules such as roadblocks and exclusions
        apply); each answer is ready to insert."""
        # ``body`` may be shared with other requests (api/decide_memo.py): read, never changed.
        config = current_app.config
        ads, page = get_ads(), body["page"]
        consent = storage_consent(request, config["CONSENT_HEADER"],
                                  get_core().unrecognised_consent)
        user_key, new = reader.user_key(config, consent, request, body["user_key"])
        ad_request = PageRequest(
            slots=tuple(body["slots"]),
            now=ads.now(),
            device=body["device"] or device_class(request, config["DEVICE_HEADER"]),
            page_type=page["page_type"],
            slug=page["slug"],
            section=page["section"] or None,
            tags=frozenset(page["tags"]),
            path=page["path"],
            key_values=dict(page["key_values"]),
            user_key=user_key,
        )
        base_url = str(config["ADS_BASE_URL"] or f"{request.scheme}://{request.host}").rstrip("/")
        served = ads.server.serve(ad_request, base_url, new_reader=new,
                                  script_root=request.root_path)
        # The document as ``Decisions`` describes it, made here: every field is already of
        # its JSON type, so the schema's dump would only copy it.
        document = {"decisions": [
            {"slot": ad.slot, "html": str(ad.html), "size": ad.size, "empty": not ad.html,
             "impression_url": ad.impression_url, "click_url": ad.click_url,
             "viewability_url": ad.viewability_url,
             "line_item_id": ad.line_item_id, "creative_id": ad.creative_id}
            for ad in served.values()
        ]}
        response = Response(json.dumps(document), mimetype="application/json")
        if new and user_key is not None:
            response.headers.add("Set-Cookie", get_core().user_cookie.value(
                user_key, request.is_secure))
        return response


BLUEPRINTS = (blp,)
