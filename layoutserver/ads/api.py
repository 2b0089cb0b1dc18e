"""JSON endpoints: ``POST /ads/decide`` (the client-side path) and ``GET /ads/explain``.

``/ads/decide`` takes a page's slots and context and answers one decision per slot (html, size,
impression and click URLs, all absolute). ``/ads/explain`` answers, for each slot of a page,
every line item considered and why it was or was not chosen.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate

from layoutserver.ads.decisions.model import PageRequest, SlotDecision
from layoutserver.ads.extension import get_ads
from layoutserver.ads.reader import USER_KEY
from layoutserver.ads.schemas import CODE_PATTERN, DEVICES
from layoutserver.api.auth import bearer_token
from layoutserver.auth.roles import allowed
from layoutserver.auth.tokens import authenticate
from layoutserver.core import get_core
from layoutserver.db import get_database
from layoutserver.layouts import Layout
from layoutserver.render.request_view import device_class, storage_consent
from layoutserver.widgets import ArticleView

blueprint = Blueprint("ads_api", __name__)

NEW_READER = "explain:new-reader"
"""The user key /ads/explain decides for unless told otherwise: a reader with no history."""
MAX_SLOTS = 20
_code = fields.String(validate=validate.Regexp(CODE_PATTERN, error="Not a slot code."))


class PageSchema(Schema):
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
                             load_default=dict, validate=validate.Length(max=50))


class DecideSchema(Schema):
    page = fields.Nested(PageSchema, required=True)
    slots = fields.List(_code, required=True, validate=validate.Length(min=1, max=MAX_SLOTS))
    device = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(DEVICES))
    user_key = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        USER_KEY, error="Not a user key: 8 to 128 letters, digits, '_', '-', '.' or ':'."))


def _json(document: Mapping[str, Any], status: int = 200) -> Response:
    response = jsonify(document)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _denied() -> Response | None:
    """None when the request's bearer token may read ``ads``; else the 401 or 403 answer."""
    token = bearer_token()
    principal = None
    if token is not None:
        with get_database().session() as session:
            principal = authenticate(session, token)
    if principal is None:
        message = ("A bearer token is required." if token is None
                   else "The bearer token is unknown or revoked.")
        response = _json({"code": 401, "status": "Unauthorized", "message": message}, 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="layoutserver"'
        return response
    if not allowed(principal.role, "explain", False):
        return _json({"code": 403, "status": "Forbidden",
                      "message": f"Role {principal.role!r} may not use explain: it is "
                                 "for ad ops."}, 403)
    return None


def _field_errors(messages: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            sub = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else key
            yield from _field_errors(value, path if key == "_schema" else sub)
    elif isinstance(messages, list):
        for message in messages:
            yield from _field_errors(message, path)
    else:
        yield path or "(body)", str(messages)


@blueprint.post("/ads/decide")
def decide() -> Response:
    """JSON in: ``{"page": {"page_type", "slug", "section", "tags", "path", "key_values"},
    "slots": [...], "device": optional, "user_key": optional}``; JSON out: one decision per
    slot, in the order asked. 400 for a body that is not a JSON object, 422 with each field's
    messages for one that does not validate."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _json({"status": 400, "error": "Bad Request",
                      "detail": "Send a JSON object (Content-Type: application/json)."}, 400)
    try:
        data = DecideSchema().load(body)
    except ValidationError as error:
        errors: dict[str, list[str]] = {}
        for field, message in _field_errors(error.messages):
            errors.setdefault(field, []).append(message)
        return _json({"status": 422, "error": "Unprocessable Entity", "errors": errors}, 422)
    config = current_app.config
    ads, page = get_ads(), data["page"]
    consent = storage_consent(request, config["CONSENT_HEADER"])
    ad_request = PageRequest(
        slots=tuple(data["slots"]),
        now=ads.now(),
        device=data["device"] or device_class(request, config["DEVICE_HEADER"]),
        page_type=page["page_type"],
        slug=page["slug"],
        section=page["section"] or None,
        tags=frozenset(page["tags"]),
        path=page["path"],
        key_values=page["key_values"],
        user_key=ads.server.user_key(consent, data["user_key"]),
    )
    base_url = str(config["ADS_BASE_URL"] or request.host_url).rstrip("/")
    served = ads.server.serve(ad_request, base_url)
    decisions = [
        {"slot": ad.slot, "html": str(ad.html), "size": ad.size, "empty": not ad.html,
         "impression_url": ad.impression_url, "click_url": ad.click_url,
         "line_item_id": ad.line_item_id, "creative_id": ad.creative_id}
        for ad in served.values()
    ]
    return _json({"decisions": decisions})


@blueprint.get("/ads/explain")
def explain() -> Response:
    """``?page_type=&slug=&device=&kv.<key>=<value>`` (optional ``slots=a,b``, ``section=``,
    ``tags=a,b``, ``path=``, ``user_key=``: a reader's key, empty for none as when consent
    is denied; default a reader with no history): for each slot of the page type's layout, or
    of ``slots``, every line item considered and why it was or was not chosen. Nothing is
    counted. For ad ops: it takes a bearer token that may read ``ads`` (401 or 403 as JSON,
    in the admin API's error shape, otherwise)."""
    denied = _denied()
    if denied is not None:
        return denied
    return _json(explain_report(request.args))


def explain_report(args: Mapping[str, str]) -> dict[str, Any]:
    """The explain answer for query-string-like ``args`` (see :func:`explain`); aborts 400/404
    on a bad device or an unknown page type. The admin API's ``/api/v1/explain`` uses it too."""
    core = get_core()
    page_type, slug = args.get("page_type", ""), args.get("slug", "")
    layout = core.layouts.get(page_type)
    if "slots" in args:
        slots = [code.strip() for code in args["slots"].split(",") if code.strip()]
    elif layout is not None:
        slots = list(layout.ad_slots)
    else:
        abort(404, f"Unknown page type {page_type!r}: give a known one, or slots=.")
    section, tags = _page_subject(layout, slug)
    if "section" in args:
        section = args["section"] or None
    if "tags" in args:
        tags = frozenset(tag.strip() for tag in args["tags"].split(",") if tag.strip())
    device = args.get("device") or device_class(request, current_app.config["DEVICE_HEADER"])
    if device not in DEVICES:
        abort(400, f"device must be one of {', '.join(DEVICES)}.")
    ads = get_ads()
    ad_request = PageRequest(
        slots=tuple(slots[:MAX_SLOTS]), now=ads.now(), device=device, page_type=page_type,
        slug=slug, section=section, tags=tags,
        path=args.get("path") or (f"/pages/{page_type}/{slug}" if slug else "/"),
        key_values={key[3:]: value for key, value in args.items() if key.startswith("kv.")},
        user_key=args.get("user_key", NEW_READER) or None,
    )
    snapshot, decision = ads.server.decide(ad_request, explain=True)
    report = []
    for code in ad_request.slots:
        slot = snapshot.slots.get(code)
        status = "unknown slot" if slot is None else "ok" if slot.enabled else "disabled"
        report.append({
            "slot": code,
            "status": status,
            "decision": _decision(decision.slots[code]),
            "considered": [
                {"line_item_id": c.line_item_id, "name": c.name, "chosen": c.chosen,
                 "reason": c.reason}
                for c in decision.considered.get(code, ())
            ],
        })
    page = {"page_type": page_type, "slug": slug, "section": section, "tags": sorted(tags),
            "device": device, "path": ad_request.path, "key_values": ad_request.key_values,
            "user_key": ad_request.user_key, "now": ad_request.now.isoformat()}
    return {"page": page, "config_version": snapshot.version, "slots": report}


def _page_subject(layout: Layout | None, slug: str) -> tuple[str | None, frozenset[str]]:
    """The section and tags of the page's subject, as the page itself would have them."""
    if layout is None or not slug:
        return None, frozenset()
    if layout.subject == "section":
        return slug, frozenset()
    core = get_core()
    article = core.content.article(slug, published_before=core.site_view().now)
    if not isinstance(article, ArticleView):
        return None, frozenset()
    return (article.section.slug if article.section else None), frozenset(article.tags)


def _decision(decision: SlotDecision) -> dict[str, Any] | None:
    if decision.creative is None:
        return None
    return {"line_item_id": decision.line_item_id, "creative_id": decision.creative.id,
            "size": str(decision.size) if decision.size else None, "house": decision.house}
