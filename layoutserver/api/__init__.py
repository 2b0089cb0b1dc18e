"""The JSON API: flask-smorest blueprints, the admin API under ``/api/v1`` and the ad
endpoints ``/ads/decide`` (public) and ``/ads/explain``; one OpenAPI document at
``/api/openapi.json`` and an interactive docs page at ``/api/docs`` (Swagger UI, served from the
``swagger-ui-bundle`` package, no CDN).

Their errors are always JSON in flask-smorest's shape (``code``, ``status``, ``message``,
``errors``), whatever the client accepts: each path is an error area
(:func:`layoutserver.web.errors.register_error_area`) handled by the Api's
``handle_http_exception``. flask-smorest registers that handler for every ``HTTPException``
when it is initialised; ``create_app`` initialises the web layer after it, whose site-wide
handler replaces it and hands these areas back to it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, send_from_directory
from flask_smorest import Api
from marshmallow import fields

from layoutserver.api.headers import explained_errors
from layoutserver.api.input_guard import (
    DECIDE_MAX_BODY_BYTES,
    DEFAULT_MAX_QUERY_BYTES,
    MAX_DEPTH,
    refuse_bad_text,
    refuse_deep_json,
)
from layoutserver.api.paging import DEFAULT_PAGE_MAX_BYTES, PageMetadata
from layoutserver.web.errors import register_error_area

EXTENSION_KEY = "layoutserver.api"
PREFIX = "/api"
URL_PREFIX = f"{PREFIX}/v1"
SECURITY_SCHEME = "bearerAuth"
SWAGGER_ASSETS = f"{PREFIX}/docs/assets/"
ADS_DECIDE = "/ads/decide"
ADS_EXPLAIN = "/ads/explain"

DEFAULTS: dict[str, Any] = {
    "API_TITLE": "layoutserver",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    # Uploaded creative images: where they are stored (empty: ad-uploads in the instance
    # folder) and how large one may be.
    "API_UPLOADS_DIR": "",
    "API_UPLOAD_MAX_BYTES": 1024 * 1024,
    # The widest or tallest an uploaded image may be, in pixels (read from its header).
    "API_UPLOAD_MAX_SIDE": 4096,
    # The most bytes a list page's JSON may take; a page stops before the item that would go
    # over (layoutserver.api.paging).
    "API_PAGE_MAX_BYTES": DEFAULT_PAGE_MAX_BYTES,
    # The longest query string the API reads (414 over it): layoutserver.api.input_guard.
    "API_MAX_QUERY_BYTES": DEFAULT_MAX_QUERY_BYTES,
}


#: ``*`` or a list of entity tags, each quoted, weak ones with ``W/`` (RFC 9110, 8.8.3).
IF_MATCH_PATTERN = r'^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$'


def init_app(app: Flask) -> Api:
    """Bind the API to ``app``; before ``layoutserver.web.init_app`` (see the module doc)."""
    from layoutserver.api import (
        ads,
        catalog,
        content,
        decide,
        decide_memo,
        explain,
        forecasts,
        layouts,
        reports,
    )

    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    assets = _swagger_ui_path()
    if assets is not None:
        app.config.setdefault("OPENAPI_SWAGGER_UI_URL", SWAGGER_ASSETS)
        app.register_blueprint(_assets_blueprint(assets))
    decide_memo.init_app(app)
    api = Api(spec_kwargs={"security": [{SECURITY_SCHEME: []}], **_input_notes(app)})
    api.init_app(app)
    api.ma_plugin.converter.add_attribute_function(_mapping_size)
    api.ma_plugin.converter.add_attribute_function(_nullable_nested)
    # A PATCH or DELETE must send the ETag last read: a rule on the value, not its form.
    api.spec.components.parameter("IF_MATCH", "header", {
        "name": "If-Match", "required": True,
        # entity tags as RFC 9110 writes them (a value that holds none is no If-Match)
        "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
        "description": "The ETag of the resource as last read (428 without one).",
        "x-rule": "The resource's current ETag: 412 when it changed since, or never had it.",
    }, lazy=True)
    api.spec.components.security_scheme(SECURITY_SCHEME, {
        "type": "http", "scheme": "bearer",
        "description": "An API token: `layoutserver tokens create NAME --role ROLE`.",
    })
    # X-Pagination is a JSON object: OpenAPI describes that with ``content``, a header's
    # ``schema`` alone meaning the ``simple`` style (``total,5,page,1``). Replaces the lazy
    # component flask-smorest registered.
    api.spec.components.header("PAGINATION", {
        "description": "Pagination metadata",
        "content": {"application/json": {"schema": PageMetadata}},
    }, lazy=True)
    mounts = [(blp, blp.name, URL_PREFIX + blp.url_prefix)
              for blp in (*content.BLUEPRINTS, *ads.BLUEPRINTS, *reports.BLUEPRINTS,
                          *forecasts.BLUEPRINTS, *explain.BLUEPRINTS, *catalog.BLUEPRINTS,
                          *layouts.BLUEPRINTS)]
    mounts += [(decide.blp, decide.blp.name, ADS_DECIDE),
               (explain.blp, "ads_explain", ADS_EXPLAIN)]
    for blueprint, name, url_prefix in mounts:
        api.register_blueprint(blueprint, name=name, url_prefix=url_prefix)
        # On the app, not the blueprint: the blueprints are shared by every app made.
        # /ads/decide stores no text it is given: only its nesting is checked.
        guard = refuse_deep_json if blueprint is decide.blp else refuse_bad_text
        app.before_request_funcs.setdefault(name, []).append(guard)
    for area in (PREFIX, ADS_DECIDE, ADS_EXPLAIN):
        register_error_area(app, area, explained_errors(api.handle_http_exception))
    app.register_blueprint(ads.uploads)
    app.extensions[EXTENSION_KEY] = api
    return api


def _input_notes(app: Flask) -> dict[str, Any]:
    """What every operation refuses, for the document's root (``docs/api.md``, "Limits")."""
    return {
        "x-text": "NUL (U+0000) and lone surrogates are refused in every string (422), and a "
                  "NUL in the path is 404.",
        "x-max-body-bytes": {"default": int(app.config["MAX_BODY_BYTES"]),
                             ADS_DECIDE: DECIDE_MAX_BODY_BYTES},
        "x-max-json-depth": MAX_DEPTH,
        "x-max-query-bytes": int(app.config["API_MAX_QUERY_BYTES"]),
        "x-query-parameters": "Query parameters the operation does not declare are ignored.",
    }


def _mapping_size(self: Any, field: fields.Field[Any], ret: dict[str, Any],
                  **_: Any) -> dict[str, Any]:
    """apispec attribute function: a mapping's ``Length`` is its number of keys
    (``minProperties``, ``maxProperties``), not a string's ``minLength``, ``maxLength``; a
    mapping whose metadata lists its ``properties`` has no others."""
    if isinstance(field, fields.Dict):
        if "properties" in ret:
            ret["additionalProperties"] = False
        for bound in ("min", "max"):
            if f"{bound}Length" in ret:
                ret[f"{bound}Properties"] = ret.pop(f"{bound}Length")
    return {}


def _nullable_nested(self: Any, field: fields.Field[Any], ret: dict[str, Any],
                     **_: Any) -> dict[str, Any]:
    """apispec attribute function: a nested schema that may be null is the schema or null;
    apispec's ``{"type": "object", "nullable": true}`` alternative would be any object."""
    alternatives = ret.get("anyOf")
    if isinstance(field, fields.Nested) and isinstance(alternatives, list):
        ret["anyOf"] = [{"type": "object", "nullable": True, "enum": [None]}
                        if alternative == {"type": "object", "nullable": True} else alternative
                        for alternative in alternatives]
    return {}


def _swagger_ui_path() -> str | None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:  # the docs page is optional; the document is not
        return None
    return str(swagger_ui_path)


def _assets_blueprint(directory: str) -> Blueprint:
    blueprint = Blueprint("api_docs_assets", __name__)

    @blueprint.get(f"{SWAGGER_ASSETS}<path:filename>")
    def asset(filename: str) -> Response:
        return send_from_directory(directory, filename, max_age=86400)

    return blueprint
