"""Errors as HTML or JSON, by what the client accepts; never a bare 500 page.

Another part of the app (the admin API) can take over the errors under a path prefix with
:func:`register_error_area`: its handler then renders every HTTP error there, the unexpected
ones (as a 500) included, whatever the client accepts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    ServiceUnavailable,
)

from layoutserver.web.assets import CORE_STYLESHEET, get_assets
from layoutserver.web.site_urls import favicon_href

log = logging.getLogger(__name__)

AREAS_KEY = "layoutserver.error_areas"
AreaHandler = Callable[[HTTPException], ResponseReturnValue]


def register_error_area(app: Flask, prefix: str, handler: AreaHandler) -> None:
    """Render the HTTP errors of requests whose path starts with ``prefix`` by ``handler``."""
    app.extensions.setdefault(AREAS_KEY, {})[prefix] = handler


def _area_handler() -> AreaHandler | None:
    areas: dict[str, AreaHandler] = current_app.extensions.get(AREAS_KEY, {})
    for prefix, handler in areas.items():
        if request.path == prefix or request.path.startswith(prefix.rstrip("/") + "/"):
            return handler
    return None


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, title: str, detail: str) -> Response:
    """The error as JSON, or as an HTML page in the site's shell (its name, stylesheet and
    icon, a header and a footer), by what the client accepts."""
    if wants_json():
        response = jsonify({"status": status, "error": title, "detail": detail})
    else:
        config = current_app.config
        base = config["SITE_BASE_URL"]
        response = Response(
            render_template("error.html", status=status, title=title, detail=detail,
                            site_name=config["SITE_NAME"], locale=config["SITE_LOCALE"],
                            favicon=favicon_href(), home=f"{base}/" if base else "",
                            stylesheet=get_assets().core_url(CORE_STYLESHEET)),
            mimetype="text/html",
        )
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept")
    return response


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    handler = _area_handler()
    if handler is not None:
        return _with_allow(exc, current_app.make_response(handler(exc)))
    return site_error(exc)


def site_error(exc: HTTPException) -> Response:
    """The site's own answer to ``exc``: HTML in the site's shell or JSON (an area's handler
    may hand an error back to this)."""
    response = _with_allow(exc, error_response(exc.code or 500, exc.name,
                                               exc.description or exc.name))
    return keep_missing_subject(exc, response)


def keep_missing_subject(exc: HTTPException, response: Response) -> Response:
    """A 404 of a page (or part of one) whose subject is missing: briefly kept, with the
    subject's surrogate keys, so that creating the subject purges it."""
    keys = getattr(exc, "surrogate_keys", None)
    if exc.code == 404 and keys:
        ttl = current_app.config["NOT_FOUND_TTL"]
        response.headers["Cache-Control"] = f"public, max-age={ttl}"
        response.headers["Surrogate-Key"] = response.headers["xkey"] = " ".join(keys)
    return response


def _with_allow(exc: HTTPException, response: Response) -> Response:
    """A 405 names the methods the URL takes (``Allow``), whoever rendered it."""
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return response


def _unexpected(exc: Exception) -> ResponseReturnValue:
    log.exception("unhandled error on %s %s", request.method, request.path)
    error = InternalServerError()
    handler = _area_handler()
    if handler is not None:
        return handler(error)
    return error_response(500, error.name, "The server failed; the error is logged.")


def _database_unreachable(exc: DBAPIError) -> ResponseReturnValue:
    """A database that does not answer (connection refused or lost) is a 503, with nothing
    changed: the transaction never committed. Any other database error is unexpected (500)."""
    if not isinstance(exc, OperationalError | InterfaceError) and not exc.connection_invalidated:
        return _unexpected(exc)
    log.warning("database unreachable on %s %s: %s", request.method, request.path,
                type(exc.orig).__name__)
    message = "The database is unreachable, so nothing was changed or counted. Try again shortly."
    error = ServiceUnavailable(message)
    error.data = {"message": message}  # type: ignore[attr-defined]  # flask-smorest's message
    handler = _area_handler()
    response = handler(error) if handler is not None else error_response(
        503, error.name, error.description or error.name)
    final = current_app.make_response(response)
    final.headers["Retry-After"] = "5"
    return final


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DBAPIError, _database_unreachable)
    app.register_error_handler(Exception, _unexpected)
